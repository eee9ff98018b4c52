//! A throwaway PostgreSQL server for the tests: one cluster per test binary, made with
//! Debian's `initdb` in a temporary directory, listening only on a Unix socket there, and
//! a database per test.
//!
//! The server is started by a small `sh` that reads from a pipe whose other end only this
//! test process holds: when the process ends, however it ends (passing, failing, killed),
//! the pipe closes, `read` returns, and the shell stops the server (fast shutdown) and
//! removes the directory. Statics are never dropped, so nothing else could be relied on.
//!
//! Without PostgreSQL these tests fail and say what to install; they never skip.
#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The running cluster.
pub struct Cluster {
    /// The socket directory (and the data directory's parent).
    pub dir: PathBuf,
    /// Keeps the guard shell's pipe open while the process lives.
    _guard: Mutex<(Child, ChildStdin)>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

const INSTALL: &str = "these tests need PostgreSQL's server programs (initdb, postgres) from \
     /usr/lib/postgresql/*/bin: apt-get install postgresql";

/// The cluster of this test binary, started on first use; panics (the test fails) with
/// what to install or what went wrong.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster,
        Err(why) => panic!("cannot start a throwaway PostgreSQL server: {why}"),
    }
}

/// The newest `/usr/lib/postgresql/N/bin` that has initdb and postgres.
fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| INSTALL.to_owned())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| INSTALL.to_owned())
}

/// The command that runs `program` as the `postgres` user when we are root (PostgreSQL
/// refuses to run as root), or as ourselves otherwise.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn start() -> Result<Cluster, String> {
    let bin = bin_dir()?;
    if is_root() {
        let known = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !known {
            return Err(format!(
                "running as root, the server must run as the 'postgres' user, which does not exist: {INSTALL} (it creates the user)"
            ));
        }
        if Command::new("setpriv").arg("--version").output().is_err() {
            return Err("setpriv is missing: apt-get install util-linux".to_owned());
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("authtui-pg.")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?
        .keep();
    if is_root() {
        let chown = Command::new("chown")
            .arg("postgres:postgres")
            .arg(&dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !chown.success() {
            return Err(format!("cannot give {} to the postgres user", dir.display()));
        }
    }
    let data = dir.join("data");
    let init = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !init.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr).trim()
        ));
    }
    // The guard: start the server in the background, wait for our pipe to close, stop it,
    // remove the directory. fsync stays on: a test here kills connections and counts what
    // was acknowledged, and that must not rest on a server setting made for speed.
    let script = r#"
        "$0" -D "$1/data" -k "$1" -c listen_addresses= -c max_connections=400 \
            -c shared_buffers=32MB -c unix_socket_permissions=0777 \
            -c log_min_messages=warning >"$1/server.log" 2>&1 &
        pid=$!
        # A signal to the whole process group (Ctrl+C) stops the server by itself; the
        # guard stays to remove the directory once the test process is gone.
        trap '' INT TERM HUP
        read _ignored
        kill -INT "$pid"
        wait "$pid"
        rm -rf "$1"
    "#;
    let mut guard = as_server_user(Path::new("/bin/sh"))
        .arg("-c")
        .arg(script)
        .arg(bin.join("postgres"))
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let stdin = guard.stdin.take().ok_or("no pipe to the server's guard")?;
    let cluster = Cluster {
        dir,
        _guard: Mutex::new((guard, stdin)),
    };
    // Ready when a connection succeeds.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls) {
            Ok(_) => return Ok(cluster),
            Err(e) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(cluster.dir.join("server.log")).unwrap_or_default();
                return Err(format!(
                    "the server did not start within 60 s ({e}); its log: {log}"
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

impl Cluster {
    /// The URL of database `db` (over the Unix socket, as the `postgres` role).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@{}/{db}", encode(&self.dir.to_string_lossy()))
    }

    /// A connection to database `db`, for the tests' own reads and writes.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to the test server's {db}: {e}"))
    }

    /// A new, empty database named `name` (dropped first if a previous run left it); its URL.
    pub fn database(&self, name: &str) -> String {
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        let mut admin = self.client("postgres");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url(name)
    }
}

/// Percent-encodes a socket directory for the host part of a URL.
fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
