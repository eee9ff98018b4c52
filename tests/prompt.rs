//! The CLI's password prompt gives the terminal back as it found it, whichever way it
//! ends: Enter, Ctrl+C, Ctrl+D, SIGTERM, SIGHUP. `authtui user add NAME` runs in a real
//! pseudo-terminal; afterwards `stty -a` on the same terminal must show `echo` and
//! `icanon` again, and the exit code says how it ended (128 + the signal's number).
#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, MasterPty};
use tempfile::TempDir;

#[path = "pty/spawn.rs"]
mod spawn;

const DEADLINE: Duration = Duration::from_secs(10);

struct Prompt {
    _dir: TempDir,
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Prompt {
    /// Starts `authtui user add alice` (or `args`) in a fresh pty and waits for `want`.
    fn start(args: &[&str], want: &str) -> Prompt {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = spawn::command(env!("CARGO_BIN_EXE_authtui"), dir.path());
        cmd.arg("--data-file");
        cmd.arg(dir.path().join("users.json"));
        cmd.args(["--cost", "4"]);
        cmd.args(args);
        let spawn::Spawned {
            child,
            master,
            mut reader,
            writer,
        } = spawn::spawn(cmd, 24, 80);
        let output = Arc::new(Mutex::new(Vec::new()));
        {
            let output = output.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
        let prompt = Prompt {
            _dir: dir,
            child,
            master,
            writer,
            output,
        };
        prompt.wait_for(want);
        prompt
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, want: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.text().contains(want) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {want:?}; output: {:?}",
                self.text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the terminal has echo off: the prompt is reading.
    fn wait_reading(&self) {
        let deadline = Instant::now() + DEADLINE;
        while self.modes().contains(&"echo".to_owned()) {
            assert!(Instant::now() < deadline, "echo never went off at the prompt");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).expect("write");
        self.writer.flush().expect("flush");
    }

    fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }

    fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.exit_code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("authtui did not exit; output: {:?}", self.text());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The terminal's local modes as `stty -a` prints them on it ("echo" or "-echo", …).
    fn modes(&self) -> Vec<String> {
        let name = self.master.tty_name().expect("the pty's name");
        let tty = File::open(&name).unwrap_or_else(|e| panic!("open {}: {e}", name.display()));
        let out = Command::new("stty")
            .arg("-a")
            .stdin(tty)
            .output()
            .expect("run stty -a");
        assert!(
            out.status.success(),
            "stty -a: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split(|c: char| c.is_whitespace() || c == ';')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn assert_restored(&self) {
        let modes = self.modes();
        for mode in ["echo", "icanon", "isig", "icrnl", "opost"] {
            assert!(
                modes.contains(&mode.to_owned()),
                "the terminal was left without {mode}: {modes:?}"
            );
        }
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
}

const ADD: &[&str] = &["user", "add", "alice"];

#[test]
fn ctrl_c_at_the_prompt_restores_the_terminal_and_exits_130() {
    let mut p = Prompt::start(ADD, "New password:");
    p.wait_reading();
    p.send("half a pass");
    p.send("\x03");
    assert_eq!(p.wait_exit(), 130, "output: {:?}", p.text());
    p.assert_restored();
}

#[test]
fn ctrl_c_at_the_second_prompt_restores_the_terminal_too() {
    let mut p = Prompt::start(ADD, "New password:");
    p.wait_reading();
    p.send("violet marmot sings under quartz\r");
    p.wait_for("Retype new password:");
    p.wait_reading();
    p.send("\x03");
    assert_eq!(p.wait_exit(), 130, "output: {:?}", p.text());
    p.assert_restored();
}

#[test]
fn sigterm_at_the_prompt_restores_the_terminal_and_exits_143() {
    let mut p = Prompt::start(ADD, "New password:");
    p.wait_reading();
    signal(p.pid(), "TERM");
    assert_eq!(p.wait_exit(), 143, "output: {:?}", p.text());
    p.assert_restored();
}

#[test]
fn sighup_at_the_prompt_restores_the_terminal_and_exits_129() {
    let mut p = Prompt::start(ADD, "New password:");
    p.wait_reading();
    signal(p.pid(), "HUP");
    assert_eq!(p.wait_exit(), 129, "output: {:?}", p.text());
    p.assert_restored();
}

#[test]
fn sigint_from_outside_at_the_prompt_exits_130() {
    let mut p = Prompt::start(&["user", "passwd", "nobody-here"], "authtui:");
    // No such user: refused before any prompt, terminal untouched.
    assert_eq!(p.wait_exit(), 1, "output: {:?}", p.text());
    p.assert_restored();
    let mut p = Prompt::start(ADD, "New password:");
    p.wait_reading();
    signal(p.pid(), "INT");
    assert_eq!(p.wait_exit(), 130, "output: {:?}", p.text());
    p.assert_restored();
}

#[test]
fn end_of_input_at_the_prompt_restores_the_terminal_and_fails() {
    let mut p = Prompt::start(ADD, "New password:");
    p.wait_reading();
    p.send("\x04");
    let code = p.wait_exit();
    assert_ne!(code, 0, "output: {:?}", p.text());
    p.assert_restored();
}

#[test]
fn a_password_typed_twice_creates_the_account_and_restores_the_terminal() {
    let mut p = Prompt::start(ADD, "New password:");
    p.wait_reading();
    // Backspace edits: "violet marmot sings under quartzz" minus the last z.
    p.send("violet marmot sings under quartzz\x7f\r");
    p.wait_for("Retype new password:");
    p.wait_reading();
    p.send("violet marmot sings under quartz\r");
    assert_eq!(p.wait_exit(), 0, "output: {:?}", p.text());
    assert!(p.text().contains("Created account alice"), "{:?}", p.text());
    assert!(
        !p.text().contains("violet"),
        "the password was echoed: {:?}",
        p.text()
    );
    p.assert_restored();
}
