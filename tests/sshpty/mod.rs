//! The harness of the `authtui serve` tests: the real server binary on 127.0.0.1 (a free
//! port, bcrypt cost 4, its own temporary directory), and the real OpenSSH client in a
//! pseudo-terminal read back through a terminal emulator (vt100). Waits poll until a
//! deadline; nothing is asserted after a fixed sleep.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use tempfile::TempDir;

pub const DEADLINE: Duration = Duration::from_secs(15);
pub const POLL: Duration = Duration::from_millis(20);

pub const TAB: &str = "\t";
pub const ENTER: &str = "\r";
pub const ESC: &str = "\x1b";
pub const CTRL_N: &str = "\x0e";

pub const SSH: &str = "/usr/bin/ssh";

/// Fails (never skips) on a machine without the OpenSSH client.
pub fn require_ssh() {
    assert!(
        Path::new(SSH).exists(),
        "these tests need the OpenSSH client at {SSH}: apt-get install openssh-client"
    );
}

/// Polls `ok` until it holds; panics with `what` (and `dump()`) at the deadline.
pub fn wait(what: &str, ok: impl FnMut() -> bool, dump: impl Fn() -> String) {
    wait_within(DEADLINE, what, ok, dump);
}

/// [`wait`] with a deadline of its own (for slow work: a high bcrypt cost).
pub fn wait_within(limit: Duration, what: &str, mut ok: impl FnMut() -> bool, dump: impl Fn() -> String) {
    let deadline = Instant::now() + limit;
    while !ok() {
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}:\n{}", dump());
        }
        thread::sleep(POLL);
    }
}

/// `authtui serve` running on a temporary store.
pub struct Server {
    pub dir: TempDir,
    child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        Server::start_in(tempfile::tempdir().expect("temp dir"), extra)
    }

    pub fn start_in(dir: TempDir, extra: &[&str]) -> Server {
        Server::start_at_cost(dir, 4, extra)
    }

    /// The server at bcrypt cost `cost` (the global `--cost`), with `extra` options of `serve`.
    pub fn start_at_cost(dir: TempDir, cost: u32, extra: &[&str]) -> Server {
        require_ssh();
        let mut child = Command::new(env!("CARGO_BIN_EXE_authtui"))
            .arg("--data-file")
            .arg(dir.path().join("users.json"))
            .args(["--cost", &cost.to_string(), "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("AUTHTUI_DATA_FILE")
            .env_remove("AUTHTUI_STORE")
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start authtui serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut server = Server {
            dir,
            child,
            port: 0,
            log,
        };
        let log = Arc::clone(&server.log);
        wait(
            "the server to listen",
            || log.lock().unwrap().contains("listening on 127.0.0.1:"),
            || server.log.lock().unwrap().clone(),
        );
        let text = server.log();
        let port = text
            .split("listening on 127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .expect("a port in the log");
        server.port = port;
        server
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn wait_log(&self, text: &str) {
        wait(
            &format!("{text:?} in the server's log"),
            || self.log().contains(text),
            || self.log(),
        );
    }

    pub fn data_file(&self) -> PathBuf {
        self.dir.path().join("users.json")
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("events.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop:\n{}",
                self.log()
            );
            thread::sleep(POLL);
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// CPU time (user + system, in clock ticks) the server's thread named `name` has
    /// used, from `/proc/PID/task/*/stat` (Linux); `None` while no thread has that name.
    pub fn thread_ticks(&self, name: &str) -> Option<u64> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).ok()?;
        tasks.flatten().find_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if comm.trim_end() != name {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // Fields after the ")" that ends the name: utime and stime are the 12th and 13th.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let tick = |i: usize| fields.get(i)?.parse::<u64>().ok();
            Some(tick(11)? + tick(12)?)
        })
    }

    /// Runs `ssh` with `args` (no pty) and returns (exit code, stdout+stderr).
    pub fn ssh_plain(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::new(SSH)
            .args(ssh_options(self.port))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code(), text)
    }

    /// An OpenSSH client in a pseudo-terminal of `cols` x `rows`, as `user`.
    pub fn connect(&self, user: &str, cols: u16, rows: u16) -> Client {
        Client::start(self.port, user, cols, rows)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn ssh_options(port: u16) -> Vec<String> {
    [
        "-p",
        &port.to_string(),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
        "-F",
        "/dev/null",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The OpenSSH client in a pseudo-terminal, its screen kept by a reader thread.
pub struct Client {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    reader_done: Receiver<()>,
}

impl Client {
    fn start(port: u16, user: &str, cols: u16, rows: u16) -> Client {
        require_ssh();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(SSH);
        cmd.args(ssh_options(port));
        cmd.arg("-tt");
        cmd.arg(format!("{user}@127.0.0.1"));
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).expect("spawn ssh");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, reader_done) = mpsc::channel::<()>();
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        {
            let (parser, raw) = (Arc::clone(&parser), Arc::clone(&raw));
            thread::spawn(move || {
                let _done = done_tx;
                let mut buf = [0u8; 8192];
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    raw.lock().unwrap().extend_from_slice(&buf[..n]);
                    parser.lock().unwrap().process(&buf[..n]);
                }
            });
        }
        let writer = pty.master.take_writer().expect("pty writer");
        Client {
            child,
            master: pty.master,
            writer,
            parser,
            raw,
            reader_done,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn rows(&self) -> Vec<String> {
        let parser = self.parser.lock().unwrap();
        let (_, cols) = parser.screen().size();
        parser.screen().rows(0, cols).collect()
    }

    pub fn dump(&self) -> String {
        self.rows().join("\n")
    }

    pub fn find_row(&self, text: &str) -> Option<String> {
        self.rows().into_iter().find(|r| r.contains(text))
    }

    pub fn value_of(&self, label: &str) -> Option<String> {
        let row = self.find_row(label)?;
        Some(row.split_once(label)?.1.to_owned())
    }

    pub fn bullets_in(&self, label: &str) -> Option<usize> {
        Some(self.value_of(label)?.matches('•').count())
    }

    pub fn send(&mut self, keys: &str) {
        self.send_bytes(keys.as_bytes());
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to the pty");
        self.writer.flush().expect("flush the pty");
    }

    pub fn wait_until(&self, what: &str, mut ok: impl FnMut(&Client) -> bool) {
        wait(what, || ok(self), || self.dump());
    }

    /// Waits, up to `limit`, for `text` on the screen.
    pub fn wait_for_within(&self, limit: Duration, text: &str) {
        wait_within(
            limit,
            &format!("{text:?}"),
            || self.screen().contains(text),
            || self.dump(),
        );
    }

    pub fn wait_for(&self, text: &str) {
        self.wait_until(&format!("{text:?}"), |c| c.screen().contains(text));
    }

    pub fn type_into(&mut self, label: &str, text: &str) {
        self.send(text);
        self.wait_until(&format!("{text:?} in the {label:?} field"), |c| {
            c.value_of(label).is_some_and(|v| v.contains(text))
        });
    }

    pub fn type_password_into(&mut self, label: &str, password: &str) {
        self.send(password);
        let want = password.chars().count();
        self.wait_until(&format!("{want} bullets in the {label:?} field"), |c| {
            c.bullets_in(label) == Some(want)
        });
    }

    /// Resizes the pty (ssh sends a window-change) and the emulator with it.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.lock().unwrap().screen_mut().set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pty");
    }

    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Waits for ssh to exit and for its output to be read; returns its exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for ssh") {
                break status;
            }
            assert!(Instant::now() < deadline, "ssh did not exit:\n{}", self.dump());
            thread::sleep(POLL);
        };
        let _ = self.reader_done.recv_timeout(Duration::from_secs(2));
        status.exit_code()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// The client's terminal is back as it was: off the alternate screen, with bracketed
    /// paste and mouse reporting off, the cursor shown.
    pub fn assert_terminal_restored(&self) {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen");
        assert!(!screen.bracketed_paste(), "bracketed paste still on");
        assert_eq!(
            screen.mouse_protocol_mode(),
            vt100::MouseProtocolMode::None,
            "mouse still reported"
        );
        assert!(!screen.hide_cursor(), "cursor still hidden");
        drop(parser);
        let raw = self.raw();
        let entered = rfind(&raw, b"\x1b[?1049h").expect("the app entered the alternate screen");
        assert!(
            rfind(&raw[entered..], b"\x1b[?1049l").is_some(),
            "no \\e[?1049l after the last \\e[?1049h"
        );
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Signs up `name` from the Log in screen and waits for the Dashboard.
pub fn sign_up(c: &mut Client, name: &str, password: &str) {
    c.send(CTRL_N);
    c.wait_for("Confirm password");
    c.type_into("Username", name);
    c.send(TAB);
    c.type_password_into("Password", password);
    c.send(TAB);
    c.type_password_into("Confirm", password);
    c.send(ENTER);
    wait_dashboard(c, name);
}

/// Logs in from the Log in screen (empty fields) and waits for the Dashboard.
pub fn log_in(c: &mut Client, name: &str, password: &str) {
    c.type_into("Username", name);
    c.send(ENTER);
    c.type_password_into("Password", password);
    c.send(ENTER);
    wait_dashboard(c, name);
}

pub fn wait_dashboard(c: &Client, name: &str) {
    c.wait_for(&format!("Welcome, {name}"));
    c.wait_for("Login count");
}

pub fn log_out(c: &mut Client) {
    c.send("l");
    c.wait_for("Logged out");
    c.wait_for("Create an account");
}
