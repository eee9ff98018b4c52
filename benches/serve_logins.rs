//! Logins a second through `authtui serve`, against the machine's bcrypt limit. A load
//! client of our own on russh, loopback only, bounded in count (CLIENTS, at most 200) and
//! time (WARMUP + SECS, plus the set-up). Not a timed test: it prints a Markdown table on
//! stdout and progress on stderr.
//!
//! - **The limit**: one `bcrypt::verify` at cost 12 in this process, the median of 9, before
//!   and again after the run; limit = cores / one verify (every core doing nothing but
//!   bcrypt).
//! - **Measured**: CLIENTS (default 50) accounts at cost 12 (`authtui import-htpasswd`,
//!   one hash for all), the release `authtui serve --cost 12` on a temp store, and CLIENTS
//!   sessions at 80x24, each logging in to its own account as a person would (name, Enter,
//!   password, Enter), waiting for its Dashboard, logging out (`l`), and again. All start
//!   at once; the logins completed between WARMUP (default 3 s) and WARMUP + SECS (default
//!   20 s) are counted. Target: at least 80 % of the limit.
//!
//! The server's per-address caps are raised for the run (every client is 127.0.0.1):
//! `--max-per-ip`, `--max-sessions` and `--accept-burst` to CLIENTS + 10, `--accept-rate
//! 1000`. No login fails, so the failed-login back-off never applies. The pool has one
//! thread per core (the default) and, unless AUTH_QUEUE says otherwise, room for every
//! client to wait: `--auth-queue` 2 x CLIENTS, as a logout waits in the same queue (and
//! counts against it) and the client's next login is queued right behind it. AUTH_QUEUE=0
//! keeps the server's default (4 per thread); clients then meet "busy, try again" and
//! retry after 100 ms (counted).
//!
//! `cargo bench --bench serve_logins` (or `CLIENTS=50 SECS=20 WARMUP=3 AUTH_QUEUE=0 ...`)
//!
//! Run by `cargo test --benches` (without `--bench`): a smoke run only, 4 clients at cost 4
//! for 1 s; the figures mean nothing.

mod common;
#[path = "common/ssh.rs"]
mod ssh;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::Channel;
use russh::client::Msg;
use tokio::sync::{Barrier, watch};

use common::{fmt_ms, machine, median, print_table};
use ssh::{cpu_ticks, env_or, load_average};

const PASSWORD: &str = "correct horse battery staple";
/// The banner of a login the pool had no room for (`tui::app::BUSY`).
const BUSY: &str = "The server is busy: try again in a moment";
/// Any one step (a screen to appear) that takes longer ends that client.
const STEP_LIMIT: Duration = Duration::from_secs(120);

fn name(i: usize) -> String {
    format!("bench{i:03}")
}

/// Bytes of output all clients received (frames: the spinners of waiting logins too).
static RECEIVED: AtomicU64 = AtomicU64::new(0);

/// One client's session: the channel and the screen it draws, read through vt100.
struct Screen {
    channel: Channel<Msg>,
    parser: vt100::Parser,
}

impl Screen {
    async fn send(&mut self, text: &str) -> Result<(), String> {
        self.channel
            .data(text.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// Reads output until `ok` holds for the screen's text; the text then.
    async fn until(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + STEP_LIMIT;
        loop {
            let text = self.parser.screen().contents();
            if ok(&text) {
                return Ok(text);
            }
            match tokio::time::timeout_at(deadline, ssh::next_data(&mut self.channel)).await {
                Ok(Some(data)) => {
                    RECEIVED.fetch_add(data.len() as u64, Ordering::Relaxed);
                    self.parser.process(&data);
                }
                Ok(None) => return Err(format!("the session closed waiting for {what}:\n{text}")),
                Err(_) => return Err(format!("no {what} in {} s:\n{text}", STEP_LIMIT.as_secs())),
            }
        }
    }
}

/// The number of bullets in the Password field of a screen's text.
fn bullets(text: &str) -> usize {
    text.lines()
        .find(|l| l.contains("Password"))
        .map_or(0, |l| l.matches('•').count())
}

#[derive(Default)]
struct Tally {
    /// When each login reached its Dashboard.
    logins: Vec<Instant>,
    /// Logins the pool refused ("busy, try again"), each retried.
    refused: usize,
    errors: Vec<String>,
}

/// One person: waits for Log in, then (from `go`) logs in, sees the Dashboard, logs out,
/// and again until `end`.
async fn client(
    port: u16,
    i: usize,
    ready: Arc<Barrier>,
    mut go: watch::Receiver<Option<Instant>>,
    end: Duration,
    tally: Arc<Mutex<Tally>>,
) {
    let fail = |e: String| tally.lock().unwrap().errors.push(format!("client {i}: {e}"));
    // "x" is no username: nothing is pre-filled.
    let opened = ssh::open_session(port, "x", 80, 24).await;
    let (_session, channel) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            fail(e);
            ready.wait().await;
            return;
        }
    };
    let mut s = Screen {
        channel,
        parser: vt100::Parser::new(24, 80, 0),
    };
    let first = s
        .until("the Log in screen", |t| t.contains("Create an account"))
        .await;
    ready.wait().await;
    if let Err(e) = first {
        return fail(e);
    }
    let Ok(started) = go.wait_for(Option::is_some).await.map(|t| t.expect("the start")) else {
        return fail("no start".to_owned());
    };
    let me = name(i);
    let welcome = format!("Welcome, {me}");
    while started.elapsed() < end {
        if let Err(e) = log_in_and_out(&mut s, &me, &welcome, &tally).await {
            return fail(e);
        }
    }
}

async fn log_in_and_out(s: &mut Screen, me: &str, welcome: &str, tally: &Mutex<Tally>) -> Result<(), String> {
    s.send(&format!("{me}\r{PASSWORD}\r")).await?;
    loop {
        let text = s
            .until("the Dashboard or the busy banner", |t| {
                (t.contains(welcome) && t.contains("Login count"))
                    || t.contains(BUSY)
                    || t.contains("Invalid")
            })
            .await?;
        if text.contains(welcome) {
            break;
        }
        if !text.contains(BUSY) {
            return Err(format!("the login failed:\n{text}"));
        }
        // Refused: the password went with the request. Typed again, then sent once the
        // field shows it, so that its clearing tells that Enter was handled.
        tally.lock().unwrap().refused += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.send(PASSWORD).await?;
        let want = PASSWORD.chars().count();
        s.until("the password typed again", |t| bullets(t) == want)
            .await?;
        s.send("\r").await?;
        s.until("the retried login sent", |t| bullets(t) == 0).await?;
    }
    tally.lock().unwrap().logins.push(Instant::now());
    s.send("l").await?;
    s.until("the Log in screen after logging out", |t| {
        t.contains("Logged out")
    })
    .await?;
    Ok(())
}

/// One bcrypt verify of `hash`, in ms: the median of `n` by the clock, and the mean CPU
/// time of this thread (in 10 ms ticks, so only as a mean).
fn one_verify(hash: &str, n: usize) -> (f64, f64) {
    let cpu = cpu_ticks("thread-self");
    let times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            assert!(bcrypt::verify(PASSWORD, hash).expect("bcrypt verify"));
            t.elapsed()
        })
        .collect();
    let cpu_ms = (cpu_ticks("thread-self") - cpu) as f64 * TICK_MS / n as f64;
    (median(&times), cpu_ms)
}

/// A clock tick of `/proc/PID/stat` (USER_HZ, 100 on Linux).
const TICK_MS: f64 = 10.0;

fn main() {
    // `cargo test --benches` runs this binary without `--bench`: a smoke run only.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (cost, clients, warmup, secs) = if smoke {
        println!("(not run by `cargo bench`: a smoke run only, at cost 4; the figures mean little)");
        (4, 4, 0, 1)
    } else {
        (
            12,
            env_or("CLIENTS", 50).clamp(1, 200),
            env_or("WARMUP", 3).min(60) as u64,
            env_or("SECS", 20).clamp(1, 300) as u64,
        )
    };
    let queue = match std::env::var("AUTH_QUEUE")
        .ok()
        .and_then(|q| q.trim().parse::<usize>().ok())
    {
        Some(0) => None,
        Some(q) => Some(q),
        // A login and the logout before it may both wait, for each client.
        None => Some(2 * clients),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = load_average();
    eprintln!("{}; load average {load_before}", machine());

    let hash = bcrypt::hash(PASSWORD, cost).expect("bcrypt hash");
    let (verify_before, cpu_before) = one_verify(&hash, 9);
    eprintln!("one verify at cost {cost}: {} ms", fmt_ms(verify_before));

    // The accounts: one htpasswd line each, all with the same hash, imported at once.
    let dir = tempfile::Builder::new()
        .prefix("authtui-bench-")
        .tempdir()
        .expect("a temporary directory");
    let htpasswd = dir.path().join("accounts.htpasswd");
    let lines: String = (0..clients).map(|i| format!("{}:{hash}\n", name(i))).collect();
    std::fs::write(&htpasswd, lines).expect("write the htpasswd file");
    let import = std::process::Command::new(env!("CARGO_BIN_EXE_authtui"))
        .arg("--data-file")
        .arg(dir.path().join("users.json"))
        .args(["--cost", &cost.to_string(), "import-htpasswd"])
        .arg(&htpasswd)
        .env_remove("AUTHTUI_DATA_FILE")
        .env_remove("AUTHTUI_STORE")
        .output()
        .expect("run authtui import-htpasswd");
    assert!(
        import.status.success(),
        "import-htpasswd: {}",
        String::from_utf8_lossy(&import.stderr)
    );

    let mut caps = ssh::caps_for(clients);
    if let Some(q) = queue {
        caps.extend(["--auth-queue".to_owned(), q.to_string()]);
    }
    let args: Vec<&str> = caps.iter().map(String::as_str).collect();
    let server = ssh::start_server(dir.path(), cost, &args);
    eprintln!("authtui serve {}", args.join(" "));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let ready = Arc::new(Barrier::new(clients + 1));
    let (go, go_rx) = watch::channel(None);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let window = Duration::from_secs(warmup + secs);
    let opened = Instant::now();
    for i in 0..clients {
        rt.spawn(client(
            server.port,
            i,
            Arc::clone(&ready),
            go_rx.clone(),
            window,
            Arc::clone(&tally),
        ));
    }
    // All sessions on Log in: then every client starts at once.
    rt.block_on(ready.wait());
    let started = Instant::now();
    go.send_replace(Some(started));
    eprintln!(
        "{clients} sessions on Log in after {:.1} s; logging in for {} s ({warmup} s warm-up)",
        opened.elapsed().as_secs_f64(),
        warmup + secs
    );
    std::thread::sleep(Duration::from_secs(warmup));
    let (server_warm, own_warm) = (cpu_ticks(server.pid), cpu_ticks("self"));
    let received_warm = RECEIVED.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(secs));
    let (server_end, own_end) = (cpu_ticks(server.pid), cpu_ticks("self"));
    let received = RECEIVED.load(Ordering::Relaxed) - received_warm;
    let load_after = load_average();
    let from = started + Duration::from_secs(warmup);
    let to = started + window;
    rt.shutdown_timeout(Duration::from_secs(1));
    drop(server);

    let tally = tally.lock().unwrap();
    let counted = tally.logins.iter().filter(|t| **t >= from && **t < to).count();
    let (verify_after, cpu_after) = one_verify(&hash, 9);
    eprintln!(
        "one verify at cost {cost} after the run: {} ms",
        fmt_ms(verify_after)
    );
    for e in tally.errors.iter().take(5) {
        eprintln!("{e}");
    }
    let verify = (verify_before + verify_after) / 2.0;
    let limit = cores as f64 / (verify / 1e3);
    let measured = counted as f64 / secs as f64;
    let ratio = measured / limit * 100.0;
    let busy = |a: u64, b: u64| (b - a) as f64 * TICK_MS / 1e3 / secs as f64 / cores as f64 * 100.0;
    let verify_cpu = (cpu_before + cpu_after) / 2.0;
    let server_cpu_per_login = (server_end - server_warm) as f64 * TICK_MS / counted.max(1) as f64;

    println!(
        "Logins a second through `authtui serve --cost {cost}`, {clients} clients at once, {secs} s after {warmup} s of warm-up; {}; load average {load_before} before, {load_after} after:",
        machine()
    );
    println!();
    print_table(
        &[
            "cores",
            "one verify ms (before / after)",
            "limit logins/s",
            "measured logins/s",
            "ratio",
            "target >= 80 %",
        ],
        &[vec![
            cores.to_string(),
            format!(
                "{} ({} / {})",
                fmt_ms(verify),
                fmt_ms(verify_before),
                fmt_ms(verify_after)
            ),
            format!("{limit:.2}"),
            format!("{measured:.2}"),
            format!("{ratio:.0} %"),
            if ratio >= 80.0 { "met" } else { "missed" }.to_owned(),
        ]],
    );
    println!();
    println!(
        "{counted} logins counted ({} in all); {} refused busy and retried; {} clients failed; pool: {} thread(s), queue {}; CPU of all cores in the counted window: server {:.0} %, load client {:.0} %.",
        tally.logins.len(),
        tally.refused,
        tally.errors.len(),
        cores,
        queue.map_or_else(|| format!("{} (default)", cores * 4), |q| q.to_string()),
        busy(server_warm, server_end),
        busy(own_warm, own_end),
    );
    println!(
        "Server CPU per login (log in, Dashboard, log out): {} ms, {:.2}x one verify's CPU time ({} ms): the server's own work over bcrypt, whatever share of the machine it got. Output to the clients: {:.0} KiB/s, {:.1} KiB per login.",
        fmt_ms(server_cpu_per_login),
        server_cpu_per_login / verify_cpu,
        fmt_ms(verify_cpu),
        received as f64 / 1024.0 / secs as f64,
        received as f64 / 1024.0 / counted.max(1) as f64,
    );
    if smoke {
        assert!(tally.errors.is_empty(), "{:?}", tally.errors);
        assert!(!tally.logins.is_empty(), "no login in the smoke run");
    }
}
