//! The end-to-end harness shared by `e2e_tui.rs` and `e2e_account.rs`: the real `authtui`
//! binary in a real pseudo-terminal at 80x24, read back through a terminal emulator
//! (vt100) by a reader thread. Each app has its own temporary directory and runs at bcrypt
//! cost 4. Waits poll the emulated screen (or a file) until a deadline; nothing is asserted
//! after a fixed sleep.
//!
//! Every screen the reader thread sees is checked for the secrets a test forbids (whole
//! passwords and their 6-character pieces), and so are the raw bytes at the end.
#![allow(dead_code)] // each test file uses its own part

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, MasterPty};
use tempfile::TempDir;

pub mod spawn;

/// How long any one wait may take: generous, for a debug build on a busy machine.
pub const DEADLINE: Duration = Duration::from_secs(10);
pub const POLL: Duration = Duration::from_millis(20);
pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

pub const TAB: &str = "\t";
pub const ENTER: &str = "\r";
pub const ESC: &str = "\x1b";
pub const CTRL_N: &str = "\x0e";
pub const CTRL_C: &str = "\x03";
pub const CTRL_R: &str = "\x12";

const ENTER_ALT_SCREEN: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";
const ENABLE_PASTE: &[u8] = b"\x1b[?2004h";
const DISABLE_PASTE: &[u8] = b"\x1b[?2004l";

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// A password and every 6-character piece of it (so a partly shown password is caught too).
fn pieces(password: &str) -> Vec<String> {
    let chars: Vec<char> = password.chars().collect();
    let mut out: Vec<String> = chars.windows(6).map(|w| w.iter().collect()).collect();
    out.push(password.to_owned());
    out
}

/// Text that must not reach the terminal from byte `since` of the output on.
#[derive(Clone, Debug)]
struct Secret {
    text: String,
    since: usize,
}

/// A temporary directory with `users.json` in it, and how to start the app on it.
pub struct Setup {
    dir: TempDir,
    args: Vec<String>,
    no_color: bool,
    secrets: Vec<String>,
    cost: u32,
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
            no_color: true,
            secrets: Vec::new(),
            cost: 4,
        }
    }

    /// The app's bcrypt cost (4 unless a test needs a slow hash).
    pub fn cost(mut self, cost: u32) -> Setup {
        self.cost = cost;
        self
    }

    pub fn data_file(&self) -> PathBuf {
        self.dir.path().join("users.json")
    }

    /// An extra argument for the app (after `--data-file F --cost 4`).
    pub fn arg(mut self, arg: &str) -> Setup {
        self.args.push(arg.to_owned());
        self
    }

    pub fn color(mut self, color: bool) -> Setup {
        self.no_color = !color;
        self
    }

    /// Neither the password nor any 6-character piece of it may be shown.
    pub fn forbid(mut self, password: &str) -> Setup {
        self.secrets.extend(pieces(password));
        self
    }

    /// The whole text may not be shown (for text whose pieces are words on screen).
    pub fn forbid_whole(mut self, text: &str) -> Setup {
        self.secrets.push(text.to_owned());
        self
    }

    /// Creates an account with the CLI: `authtui user add NAME --password-stdin`.
    pub fn add_user(self, name: &str, password: &str) -> Setup {
        let mut child = Command::new(env!("CARGO_BIN_EXE_authtui"))
            .arg("--data-file")
            .arg(self.data_file())
            .args(["--cost", "4", "user", "add", name, "--password-stdin"])
            .env_remove("AUTHTUI_DATA_FILE")
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run authtui user add");
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .expect("write the password");
        drop(stdin);
        let out = child.wait_with_output().expect("wait for authtui user add");
        assert!(
            out.status.success(),
            "authtui user add {name} failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        self
    }

    /// Starts `authtui` and waits for the Log in screen.
    pub fn start(self) -> App {
        let Setup {
            dir,
            args,
            no_color,
            secrets,
            cost,
        } = self;
        let mut cmd = spawn::command(env!("CARGO_BIN_EXE_authtui"), dir.path());
        cmd.arg("--data-file");
        cmd.arg(dir.path().join("users.json"));
        cmd.args(["--cost", &cost.to_string()]);
        cmd.args(&args);
        cmd.env("AUTHTUI_BCRYPT_COST", cost.to_string());
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let spawn::Spawned {
            child,
            master,
            mut reader,
            writer,
        } = spawn::spawn(cmd, ROWS, COLS);

        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let leak = Arc::new(Mutex::new(None));
        let secrets = Arc::new(Mutex::new(
            secrets
                .into_iter()
                .map(|text| Secret { text, since: 0 })
                .collect::<Vec<_>>(),
        ));
        let (done_tx, reader_done) = mpsc::channel::<()>();
        {
            let (parser, raw, leak, secrets) = (parser.clone(), raw.clone(), leak.clone(), secrets.clone());
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
                    let secrets = secrets.lock().unwrap();
                    let mut leak = leak.lock().unwrap();
                    if leak.is_none() && secrets.iter().any(|s| screen.contains(s.text.as_str())) {
                        *leak = Some(screen);
                    }
                }
            });
        }
        let app = App {
            dir,
            child,
            master: Some(master),
            writer: Some(writer),
            parser,
            raw,
            leak,
            secrets,
            reader_done,
        };
        app.wait_for("Log in");
        app.wait_for("Create an account");
        app
    }
}

/// The app running in a pseudo-terminal, its screen kept up to date by a reader thread.
pub struct App {
    dir: TempDir,
    child: Box<dyn Child + Send + Sync>,
    /// Kept open while the child runs: closing it would hang the terminal up.
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// The first screen that showed a secret, as the reader thread saw it.
    leak: Arc<Mutex<Option<String>>>,
    secrets: Arc<Mutex<Vec<Secret>>>,
    /// Disconnected when the reader thread has read everything (EOF or EIO).
    reader_done: Receiver<()>,
}

impl App {
    pub fn data_file(&self) -> PathBuf {
        self.dir.path().join("users.json")
    }

    pub fn events_file(&self) -> PathBuf {
        self.dir.path().join("events.jsonl")
    }

    /// The activity log's complete lines, parsed (none if there is no log yet).
    pub fn events(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.events_file()).unwrap_or_default();
        // A line being appended right now is not complete yet: only whole lines count.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        complete
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad events.jsonl line {l:?}: {e}")))
            .collect()
    }

    /// How many events of `kind` the log holds for `user`.
    pub fn count_events(&self, kind: &str, user: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| e["event"] == kind && e["username"] == user)
            .count()
    }

    /// `users.json`, parsed.
    pub fn users_json(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.data_file()).expect("users.json written");
        serde_json::from_str(&text).expect("users.json is JSON")
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// The screen's rows, for messages and for looking at one row.
    pub fn rows(&self) -> Vec<String> {
        self.parser.lock().unwrap().screen().rows(0, COLS).collect()
    }

    /// The first row that contains `text`, if any.
    pub fn find_row(&self, text: &str) -> Option<String> {
        self.rows().into_iter().find(|r| r.contains(text))
    }

    /// The first row that contains `text`.
    pub fn row_with(&self, text: &str) -> String {
        self.find_row(text)
            .unwrap_or_else(|| panic!("no row contains {text:?}:\n{}", self.dump()))
    }

    /// What a form row shows after its label: "│ › Username    bob    │" -> "bob    │".
    pub fn value_of(&self, label: &str) -> Option<String> {
        let row = self.find_row(label)?;
        Some(row.split_once(label)?.1.to_owned())
    }

    pub fn dump(&self) -> String {
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

    pub fn send(&mut self, keys: &str) {
        let writer = self.writer.as_mut().expect("the app is still running");
        writer.write_all(keys.as_bytes()).expect("write to the pty");
        writer.flush().expect("flush the pty");
    }

    /// Types text and waits until the screen shows it (plain fields only).
    pub fn type_visible(&mut self, text: &str) {
        self.send(text);
        self.wait_for(text);
    }

    /// Types into the focused plain field and waits until the row labelled `label` shows it.
    pub fn type_into(&mut self, label: &str, text: &str) {
        self.send(text);
        self.wait_until(&format!("{text:?} in the {label:?} field"), |app| {
            app.value_of(label).is_some_and(|v| v.contains(text))
        });
    }

    /// Types a password and waits for its bullets in a field (the field must be empty).
    pub fn type_password(&mut self, password: &str, bullets_before: usize) {
        self.send(password);
        let bullets = "•".repeat(password.chars().count());
        self.wait_until("the password's bullets", |app| {
            app.screen().matches(bullets.as_str()).count() > bullets_before
        });
    }

    /// Types a password into the focused (empty) field labelled `label`, and waits until
    /// that row shows one bullet per character.
    pub fn type_password_into(&mut self, label: &str, password: &str) {
        self.send(password);
        let want = password.chars().count();
        self.wait_until(&format!("{want} bullets in the {label:?} field"), |app| {
            app.bullets_in(label) == Some(want)
        });
    }

    /// How many bullets the row labelled `label` shows.
    pub fn bullets_in(&self, label: &str) -> Option<usize> {
        Some(self.value_of(label)?.matches('•').count())
    }

    /// Polls until `ok` holds, checking for leaks each time; panics with the screen at
    /// the deadline.
    pub fn wait_until(&self, what: &str, mut ok: impl FnMut(&App) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.assert_no_leak();
            if ok(self) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen:\n{}", self.dump());
            }
            thread::sleep(POLL);
        }
    }

    /// Polls the screen until it contains `text`; panics with the screen at the deadline.
    pub fn wait_for(&self, text: &str) {
        self.wait_until(&format!("{text:?}"), |app| app.screen().contains(text));
    }

    /// Polls the screen until it no longer contains `text`.
    pub fn wait_gone(&self, text: &str) {
        self.wait_until(&format!("{text:?} to go"), |app| !app.screen().contains(text));
    }

    /// Allows a password (and its pieces) on screen from now on, e.g. while it is revealed.
    pub fn exempt(&self, password: &str) {
        let pieces = pieces(password);
        self.secrets.lock().unwrap().retain(|s| !pieces.contains(&s.text));
    }

    /// Forbids a password (and its pieces) from now on: on every screen, and in the raw
    /// output after this point.
    pub fn forbid(&self, password: &str) {
        let since = self.raw.lock().unwrap().len();
        self.secrets
            .lock()
            .unwrap()
            .extend(pieces(password).into_iter().map(|text| Secret { text, since }));
        self.assert_no_leak();
    }

    pub fn assert_no_leak(&self) {
        // Cloned out first: panicking with the lock held would poison it for the reader.
        let leaked = self.leak.lock().unwrap().clone();
        if let Some(screen) = leaked {
            panic!("a password was on screen:\n{screen}");
        }
        let screen = self.screen();
        let secrets = self.secrets.lock().unwrap().clone();
        for secret in secrets {
            assert!(
                !screen.contains(&secret.text),
                "{:?} is on screen:\n{}",
                secret.text,
                self.dump()
            );
        }
    }

    /// The child has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the child to exit, kills it at the deadline, and waits for the reader to
    /// drain the terminal. Returns the exit status.
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
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

    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("child pid")
    }

    /// After exit: the terminal is back on the main screen with bracketed paste off, both in
    /// the emulator's state and in the bytes sent.
    pub fn assert_terminal_restored(&self) {
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

    /// The raw bytes never held a forbidden secret (each from the point it was forbidden).
    pub fn assert_raw_clean(&self) {
        let raw = self.raw();
        let secrets = self.secrets.lock().unwrap().clone();
        for secret in secrets {
            let from = secret.since.min(raw.len());
            assert!(
                find(&raw[from..], secret.text.as_bytes()).is_none(),
                "{:?} was written to the terminal",
                secret.text
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
