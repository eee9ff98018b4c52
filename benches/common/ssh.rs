//! What the `authtui serve` benchmarks share: the release server on a free loopback port,
//! a russh client that trusts its host key and opens a session in a pty, and the server's
//! memory and CPU read from `/proc`. Included by path (`#[path = "common/ssh.rs"]`), so
//! the store benchmarks do not build it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use russh::client::{Handle, Msg};
use russh::{Channel, ChannelMsg};

/// Accepts any host key: the server is our own, on loopback.
pub struct Trusting;

impl russh::client::Handler for Trusting {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// `authtui serve` running on 127.0.0.1, killed when dropped.
pub struct Served {
    child: Child,
    pub port: u16,
    pub pid: u32,
    /// The server's stderr after the "listening" line (the last 1000 lines).
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Starts `authtui --data-file DIR/users.json --cost COST serve --listen 127.0.0.1:0
/// SERVE_ARGS` and waits for its port.
/// `authtui serve` flags that let `clients` sessions (and a few spare) connect at once
/// from one address, as a load client on loopback does.
pub fn caps_for(clients: usize) -> Vec<String> {
    let cap = (clients + 10).to_string();
    [
        "--max-sessions",
        &cap,
        "--max-per-ip",
        &cap,
        "--accept-burst",
        &cap,
        "--accept-rate",
        "1000",
    ]
    .map(str::to_owned)
    .to_vec()
}

pub fn start_server(dir: &Path, cost: u32, serve_args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authtui"))
        .arg("--data-file")
        .arg(dir.join("users.json"))
        .args(["--cost", &cost.to_string(), "serve", "--listen", "127.0.0.1:0"])
        .args(serve_args)
        .env_remove("AUTHTUI_DATA_FILE")
        .env_remove("AUTHTUI_STORE")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start authtui serve");
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines
            .next()
            .expect("the server ended before it listened")
            .expect("the server's log");
        if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
            break rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                if log.len() >= 1000 {
                    log.remove(0);
                }
                log.push(line);
            }
        });
    }
    Served {
        child,
        port,
        pid,
        log,
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects as `user` (no SSH credentials: the server takes "none") and opens a shell
/// in a pty of `cols` x `rows`. The handle must be kept as long as the channel is used.
pub async fn open_session(
    port: u16,
    user: &str,
    cols: u32,
    rows: u32,
) -> Result<(Handle<Trusting>, Channel<Msg>), String> {
    let config = Arc::new(russh::client::Config {
        inactivity_timeout: None,
        ..Default::default()
    });
    let mut session = russh::client::connect(config, ("127.0.0.1", port), Trusting)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    session
        .authenticate_none(user)
        .await
        .map_err(|e| format!("authenticate: {e}"))?;
    let channel = session
        .channel_open_session()
        .await
        .map_err(|e| format!("open a session: {e}"))?;
    channel
        .request_pty(false, "xterm", cols, rows, 0, 0, &[])
        .await
        .map_err(|e| format!("request a pty: {e}"))?;
    channel
        .request_shell(false)
        .await
        .map_err(|e| format!("request a shell: {e}"))?;
    Ok((session, channel))
}

/// The next data on `channel`, skipping other messages; `None` when it closes.
pub async fn next_data(channel: &mut Channel<Msg>) -> Option<Vec<u8>> {
    loop {
        match channel.wait().await? {
            ChannelMsg::Data { data } => return Some(data.to_vec()),
            ChannelMsg::Close | ChannelMsg::Eof => return None,
            _ => {}
        }
    }
}

/// A whole number from the environment, else `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of process `pid` (`"self"` for this one), in clock ticks.
pub fn cpu_ticks(pid: impl std::fmt::Display) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// The 1-minute load average, as `/proc/loadavg` has it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}
