//! Helpers shared by the integration tests: a private data file per test, the `authtui`
//! binary run as a real child process (always at bcrypt cost 4, never on the real data
//! directory, never without a time limit), and the fixtures.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A password every policy rule accepts (for usernames that are not in it).
pub const PW: &str = "correct horse battery staple";
/// Another one.
pub const PW2: &str = "violet marmot sings under quartz";
/// The line the CLI prints on stderr for every hashing command at cost 4.
pub const COST_WARNING: &str = "authtui: warning: bcrypt cost 4 is for tests only; use 10 or more";
/// No child may take longer than this; a hang is a failure, not a stuck test run.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_authtui")
}

/// A fixture file's path.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `(password, hash)` of each entry of a JSON fixture array, with its `over72` flag.
pub fn fixture_vectors(name: &str) -> Vec<(String, String, bool)> {
    fixture_json(name)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["password"].as_str().unwrap().to_owned(),
                v["hash"].as_str().unwrap().to_owned(),
                v["over72"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// What a finished child did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code; `None` if a signal ended it.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stderr without the cost-4 warning line: what the command itself said.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| *l != COST_WARNING).collect()
    }

    /// Panics, showing everything, unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code: {self:#?}");
        self
    }

    /// Panics unless the child ended on its own (no signal: no abort, no stack overflow)
    /// without a panic message.
    #[track_caller]
    pub fn expect_no_panic(&self) -> &Self {
        assert!(
            self.code.is_some(),
            "killed by signal {:?}: {self:#?}",
            self.signal
        );
        assert!(!self.stderr.contains("panicked"), "it panicked: {self:#?}");
        self
    }
}

/// A private temporary home for one test: the data file lives inside it, and the child's
/// `XDG_DATA_HOME` points inside it too, so the real default data file is never touched.
pub struct Sandbox {
    pub dir: TempDir,
    pub data: PathBuf,
}

impl Sandbox {
    /// Data file `<tmp>/data/users.json` (its directory not yet created).
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data").join("users.json");
        Sandbox { dir, data }
    }

    /// A sandbox whose data file already holds `bytes` (its directory created 0700).
    pub fn with_file(bytes: &[u8]) -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.write_data(bytes);
        sandbox
    }

    pub fn write_data(&self, bytes: &[u8]) {
        use std::os::unix::fs::DirBuilderExt;
        let parent = self.data.parent().unwrap();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .unwrap();
        std::fs::write(&self.data, bytes).unwrap();
    }

    pub fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    pub fn xdg(&self) -> PathBuf {
        self.dir.path().join("xdg")
    }

    /// `authtui --data-file DATA --cost 4 ARGS…` with a clean environment for authtui,
    /// stdin null, stdout and stderr piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.arg("--data-file")
            .arg(&self.data)
            .args(["--cost", "4"])
            .args(args);
        self.isolate(&mut cmd);
        cmd
    }

    /// [`Sandbox::command`] run through `sh` with core dumps off (`ulimit -c 0`, then
    /// `exec`, so the child is still authtui itself): for children that are meant to abort.
    pub fn command_without_core_dumps(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "ulimit -c 0 && exec \"$0\" \"$@\"", bin(), "--data-file"])
            .arg(&self.data)
            .args(["--cost", "4"])
            .args(args);
        self.isolate(&mut cmd);
        cmd
    }

    /// The same environment, but no options added: for tests of the options themselves.
    pub fn bare_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args);
        self.isolate(&mut cmd);
        cmd
    }

    fn isolate(&self, cmd: &mut Command) {
        cmd.env_remove("AUTHTUI_DATA_FILE")
            .env_remove("AUTHTUI_BCRYPT_COST")
            .env_remove("AUTHTUI_TEST_CRASH_AT")
            .env("XDG_DATA_HOME", self.xdg())
            .env("HOME", self.dir.path().join("home"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }

    /// Runs `authtui … ARGS` with nothing on stdin.
    pub fn run(&self, args: &[&str]) -> Output {
        run(self.command(args), None)
    }

    /// Runs `authtui … ARGS` with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        run(self.command(args), Some(input))
    }

    /// `user add NAME --password-stdin`, password followed by a newline.
    pub fn add(&self, name: &str, password: &str) -> Output {
        self.run_stdin(
            &["user", "add", name, "--password-stdin"],
            format!("{password}\n").as_bytes(),
        )
    }

    /// `verify NAME --password-stdin`, password followed by a newline.
    pub fn verify(&self, name: &str, password: &str) -> Output {
        self.run_stdin(
            &["verify", name, "--password-stdin"],
            format!("{password}\n").as_bytes(),
        )
    }

    /// `user list --json`, parsed; panics unless it exits 0 with a JSON array.
    pub fn list_json(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["user", "list", "--json"]);
        out.expect_code(0);
        match serde_json::from_str(&out.stdout) {
            Ok(serde_json::Value::Array(list)) => list,
            other => panic!("user list --json printed no JSON array ({other:?}): {out:#?}"),
        }
    }

    /// The usernames `user list --json` shows.
    pub fn usernames(&self) -> Vec<String> {
        self.list_json()
            .iter()
            .map(|a| a["username"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The data file parsed as JSON.
    pub fn data_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.data).unwrap()).unwrap()
    }

    /// The names in the data file's directory, sorted.
    pub fn dir_entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.data.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// Runs a prepared command to completion within [`TIMEOUT`], feeding `input` to its stdin.
pub fn run(cmd: Command, input: Option<&[u8]>) -> Output {
    run_with_timeout(cmd, input, TIMEOUT)
}

/// [`run`] with another time limit: kills the child and panics if it outlives `timeout`.
pub fn run_with_timeout(mut cmd: Command, input: Option<&[u8]>, timeout: Duration) -> Output {
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn authtui");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        // A child that exits before reading all of it closes the pipe: not our failure.
        let _ = stdin.write_all(input);
    }
    wait_with_timeout(child, timeout)
}

/// Waits for a child whose stdin is already dealt with, collecting its output; kills it
/// and panics if it outlives `timeout`.
pub fn wait_with_timeout(mut child: Child, timeout: Duration) -> Output {
    drop(child.stdin.take());
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("authtui did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(2));
    };
    Output {
        code: status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The permission bits of a path (not following a symlink).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The crash hook's environment variable (src/store/json_file.rs): the process aborts at
/// the named step of a save.
pub const CRASH_AT: &str = "AUTHTUI_TEST_CRASH_AT";
/// The steps of a save the hook can abort at, in the order a save passes them.
pub const CRASH_STEPS: [&str; 4] = [
    "after-temp-write",
    "after-temp-sync",
    "after-rename",
    "after-dir-sync",
];
/// SIGABRT, what `std::process::abort` ends a process with.
pub const SIGABRT: i32 = 6;

/// The cost-4 hash of [`PW`] made by Python's bcrypt (a fixture).
pub fn pw_hash() -> String {
    let (password, hash, _) = &fixture_vectors("python-bcrypt.json")[0];
    assert_eq!(password, PW);
    hash.clone()
}

/// A current-format `users.json` (compact JSON) holding `names`, each with
/// password [`PW`]: hundreds of accounts without hashing any.
pub fn users_file<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Vec<u8> {
    let hash = pw_hash();
    let users: serde_json::Map<String, serde_json::Value> = names
        .into_iter()
        .map(|n| {
            let record = serde_json::json!({ "password_hash": hash, "created_at": "2026-01-02T03:04:05Z" });
            (n.as_ref().to_owned(), record)
        })
        .collect();
    let mut bytes = serde_json::json!({ "version": 1, "users": users })
        .to_string()
        .into_bytes();
    bytes.push(b'\n');
    bytes
}

/// Starts every command with stdin piped, then writes `input` to each in turn, so that
/// children that wait for their stdin (a password) all start work together; waits for
/// each within `limit`.
#[allow(dead_code)]
pub fn run_released(commands: Vec<Command>, input: &[u8], limit: Duration) -> Vec<Output> {
    let mut children: Vec<Child> = commands
        .into_iter()
        .map(|mut cmd| {
            cmd.stdin(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let stdins: Vec<_> = children.iter_mut().map(|c| c.stdin.take().unwrap()).collect();
    for mut stdin in stdins {
        stdin.write_all(input).unwrap();
    }
    children
        .into_iter()
        .map(|c| wait_with_timeout(c, limit))
        .collect()
}
