//! End to end: the real `authtui` binary in a real pseudo-terminal at 80x24, read back
//! through a terminal emulator (vt100). Each test has its own data file at bcrypt cost 4.
//! Waits poll the emulated screen until a deadline; nothing is asserted after a fixed sleep.
#![cfg(unix)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use tempfile::TempDir;

/// The password the scenario signs up with (a test password only).
const PW: &str = "correct horse battery staple";
/// A wrong one, for the failed login.
const WRONG: &str = "wrong password here";
/// How long any one wait may take: generous, for a debug build on a busy machine.
const DEADLINE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);
const ROWS: u16 = 24;
const COLS: u16 = 80;

const TAB: &str = "\t";
const ENTER: &str = "\r";
const CTRL_N: &str = "\x0e";
const CTRL_C: &str = "\x03";

const ENTER_ALT_SCREEN: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";
const ENABLE_PASTE: &[u8] = b"\x1b[?2004h";
const DISABLE_PASTE: &[u8] = b"\x1b[?2004l";

/// Text that must never reach the terminal: the whole of each password, and every 6-character
/// piece of the real one (so a partly shown password is caught too). The wrong password's
/// pieces are left out: "password" is also a label on screen.
fn secrets() -> Vec<String> {
    let chars: Vec<char> = PW.chars().collect();
    let mut out: Vec<String> = chars.windows(6).map(|w| w.iter().collect()).collect();
    out.push(PW.to_owned());
    out.push(WRONG.to_owned());
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The app running in a pseudo-terminal, its screen kept up to date by a reader thread.
struct App {
    dir: TempDir,
    child: Box<dyn Child + Send + Sync>,
    /// Kept open while the child runs: closing it would hang the terminal up.
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// The first screen that showed a secret, as the reader thread saw it.
    leak: Arc<Mutex<Option<String>>>,
    /// Disconnected when the reader thread has read everything (EOF or EIO).
    reader_done: Receiver<()>,
}

impl App {
    /// Starts `authtui` with a fresh data file and waits for the Log in screen.
    fn start(no_color: bool) -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_authtui"));
        cmd.arg("--data-file");
        cmd.arg(dir.path().join("users.json"));
        cmd.args(["--cost", "4"]);
        cmd.cwd(dir.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", dir.path());
        cmd.env("XDG_DATA_HOME", dir.path());
        cmd.env("AUTHTUI_BCRYPT_COST", "4");
        cmd.env_remove("AUTHTUI_DATA_FILE");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let child = pty.slave.spawn_command(cmd).expect("spawn authtui");
        // Only the child holds the slave now, so reads end when it exits.
        drop(pty.slave);

        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let leak = Arc::new(Mutex::new(None));
        let (done_tx, reader_done) = mpsc::channel::<()>();
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        {
            let (parser, raw, leak) = (parser.clone(), raw.clone(), leak.clone());
            let secrets = secrets();
            thread::spawn(move || {
                let _done = done_tx;
                let mut buf = [0u8; 8192];
                loop {
                    // Linux answers EIO once the child has gone: that is the end, like EOF.
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    raw.lock().unwrap().extend_from_slice(&buf[..n]);
                    let mut parser = parser.lock().unwrap();
                    parser.process(&buf[..n]);
                    // Every intermediate screen is checked, not only those a wait sees.
                    let screen = parser.screen().contents();
                    let mut leak = leak.lock().unwrap();
                    if leak.is_none() && secrets.iter().any(|s| screen.contains(s.as_str())) {
                        *leak = Some(screen);
                    }
                }
            });
        }
        let app = App {
            dir,
            child,
            master: Some(pty.master),
            writer: Some(writer),
            parser,
            raw,
            leak,
            reader_done,
        };
        app.wait_for("Log in");
        app.wait_for("Create an account");
        app
    }

    fn data_file(&self) -> PathBuf {
        self.dir.path().join("users.json")
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// The screen's rows, for messages and for looking at one row.
    fn rows(&self) -> Vec<String> {
        self.parser.lock().unwrap().screen().rows(0, COLS).collect()
    }

    /// The first row that contains `text`.
    fn row_with(&self, text: &str) -> String {
        self.rows()
            .into_iter()
            .find(|r| r.contains(text))
            .unwrap_or_else(|| panic!("no row contains {text:?}:\n{}", self.dump()))
    }

    fn dump(&self) -> String {
        let rows = self.rows();
        let mut out = String::from(
            "+--------------------------------------------------------------------------------+\n",
        );
        for r in rows {
            out.push_str(&format!("|{r:<80}|\n"));
        }
        out.push_str("+--------------------------------------------------------------------------------+");
        out
    }

    fn send(&mut self, keys: &str) {
        let writer = self.writer.as_mut().expect("the app is still running");
        writer.write_all(keys.as_bytes()).expect("write to the pty");
        writer.flush().expect("flush the pty");
    }

    /// Types text and waits until the screen shows it (plain fields only).
    fn type_visible(&mut self, text: &str) {
        self.send(text);
        self.wait_for(text);
    }

    /// Types a password and waits for its bullets in a field (the field must be empty).
    fn type_password(&mut self, password: &str, bullets_before: usize) {
        self.send(password);
        let bullets = "•".repeat(password.chars().count());
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.assert_no_leak();
            if self.screen().matches(bullets.as_str()).count() > bullets_before {
                return;
            }
            if Instant::now() > deadline {
                panic!("the password's bullets never appeared:\n{}", self.dump());
            }
            thread::sleep(POLL);
        }
    }

    /// Polls the screen until it contains `text`; panics with the screen at the deadline.
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.assert_no_leak();
            if self.screen().contains(text) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {text:?}; the screen:\n{}", self.dump());
            }
            thread::sleep(POLL);
        }
    }

    fn assert_no_leak(&self) {
        // Cloned out first: panicking with the lock held would poison it for the reader.
        let leaked = self.leak.lock().unwrap().clone();
        if let Some(screen) = leaked {
            panic!("a password was on screen:\n{screen}");
        }
        let screen = self.screen();
        for secret in secrets() {
            assert!(
                !screen.contains(&secret),
                "{secret:?} is on screen:\n{}",
                self.dump()
            );
        }
    }

    /// Waits for the child to exit, kills it at the deadline, and waits for the reader to
    /// drain the terminal. Returns the exit status.
    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the app did not exit in time; the screen:\n{}", self.dump());
            }
            thread::sleep(POLL);
        };
        // The reader ends when the terminal is drained (EIO on Linux, EOF elsewhere).
        match self.reader_done.recv_timeout(DEADLINE) {
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
            _ => panic!("the pty reader did not finish"),
        }
        self.writer = None;
        self.master = None;
        self.assert_no_leak();
        status
    }

    fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    fn pid(&self) -> u32 {
        self.child.process_id().expect("child pid")
    }

    /// After exit: the terminal is back on the main screen with bracketed paste off, both in
    /// the emulator's state and in the bytes sent.
    fn assert_terminal_restored(&self) {
        let raw = self.raw();
        let entered = rfind(&raw, ENTER_ALT_SCREEN).expect("the app entered the alternate screen");
        assert!(
            find(&raw[entered..], LEAVE_ALT_SCREEN).is_some(),
            "no \\e[?1049l after the last \\e[?1049h"
        );
        let enabled = rfind(&raw, ENABLE_PASTE).expect("the app enabled bracketed paste");
        assert!(
            find(&raw[enabled..], DISABLE_PASTE).is_some(),
            "no \\e[?2004l after the last \\e[?2004h"
        );
        let parser = self.parser.lock().unwrap();
        assert!(
            !parser.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!parser.screen().bracketed_paste(), "bracketed paste still on");
    }

    /// The raw bytes never held a password.
    fn assert_raw_clean(&self) {
        let raw = self.raw();
        for secret in secrets() {
            assert!(
                find(&raw, secret.as_bytes()).is_none(),
                "{secret:?} was written to the terminal"
            );
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // A failed test must not leave the app running (nor hang on it).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value in a Dashboard row: "│  Login count       2      │" -> "2".
fn fact(app: &App, label: &str) -> String {
    let row = app.row_with(label);
    let (_, rest) = row.split_once(label).unwrap();
    rest.trim().trim_end_matches('│').trim().to_owned()
}

#[test]
fn sign_up_log_out_fail_log_in_and_quit() {
    let mut app = App::start(false);

    // Sign up.
    app.send(CTRL_N);
    app.wait_for("Confirm password");
    app.wait_for("Create account");
    app.type_visible("alice");
    app.send(TAB);
    app.type_password(PW, 0);
    app.send(TAB);
    app.type_password(PW, 1);
    app.send(ENTER);
    app.wait_for("Welcome, alice");
    app.wait_for("Account created");
    app.wait_for("Dashboard");
    assert!(app.screen().contains("signed in as alice"), "{}", app.dump());
    assert_eq!(fact(&app, "Login count"), "1", "{}", app.dump());
    assert_eq!(fact(&app, "Previous login"), "First login", "{}", app.dump());

    // Log out.
    app.send("l");
    app.wait_for("Logged out");
    app.wait_for("Log in");
    app.wait_for("Create an account");
    assert!(
        !app.screen().contains("alice"),
        "fields are not empty:\n{}",
        app.dump()
    );

    // A wrong password: the username stays, the banner says why.
    app.type_visible("alice");
    app.send(ENTER); // next field
    app.type_password(WRONG, 0);
    app.send(ENTER); // submit
    app.wait_for("Invalid username or password");
    assert!(app.row_with("Username").contains("alice"), "{}", app.dump());
    assert!(
        !app.row_with("Password").contains('•'),
        "the password was not cleared:\n{}",
        app.dump()
    );

    // The right password: the cursor is already in the Password field.
    app.type_password(PW, 0);
    app.send(ENTER);
    app.wait_for("Welcome, alice");
    app.wait_for("Login count");
    assert_eq!(fact(&app, "Login count"), "2", "{}", app.dump());
    app.wait_for("There was 1 failed login attempt since your last login.");
    assert!(!app.screen().contains("Account created"), "{}", app.dump());

    // Log out and quit.
    app.send("q");
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
    app.assert_raw_clean();

    let text = std::fs::read_to_string(app.data_file()).expect("users.json written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("users.json is JSON");
    let hash = json["users"]["alice"]["password_hash"]
        .as_str()
        .unwrap_or_else(|| panic!("no users.alice.password_hash in {text}"));
    assert!(hash.starts_with("$2b$04$"), "not a cost-4 bcrypt hash: {hash}");
    assert!(!text.contains(PW), "the password is in users.json");
}

#[test]
fn ctrl_c_on_log_in_quits_and_restores_the_terminal() {
    let mut app = App::start(true);
    app.send(CTRL_C);
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
}

#[test]
fn sigterm_restores_the_terminal_and_exits() {
    let mut app = App::start(true);
    let killed = Command::new("kill")
        .arg(app.pid().to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
}

#[test]
fn a_pasted_newline_does_not_submit() {
    let mut app = App::start(true);
    app.send("\x1b[200~alice\r\n\x1b[201~");
    app.wait_for("alice");
    // A key after the paste: once it shows, the paste has been handled in full, and the
    // focus is still on Username (the newline did not move it nor submit).
    app.send("x");
    app.wait_for("alicex");
    app.send("\x7f"); // Backspace
    let deadline = Instant::now() + DEADLINE;
    while app.screen().contains("alicex") {
        assert!(Instant::now() < deadline, "Backspace ignored:\n{}", app.dump());
        thread::sleep(POLL);
    }
    let screen = app.screen();
    assert!(
        !screen.contains("Enter your password"),
        "the paste submitted:\n{}",
        app.dump()
    );
    assert!(
        !screen.contains("Logging in"),
        "the paste submitted:\n{}",
        app.dump()
    );
    let username = app.row_with("Username");
    assert!(username.contains("› Username"), "focus moved:\n{}", app.dump());
    assert!(username.contains("alice"), "{}", app.dump());

    app.send(CTRL_C);
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
}
