//! The app as a person runs it (issue 5, "The UI"): the real `authtui` binary in a
//! pseudo-terminal at 80x24 (TERM=xterm-256color, colour on), its output read by a
//! terminal emulator (vt100) on a reader thread that time-stamps every chunk. Measured:
//!
//! 1. **time to first frame** at 10,000 and 100,000 users: from just before the spawn to
//!    the chunk that puts "Log in" on the emulated screen, and to the chunk that completes
//!    the frame (the footer's last key, drawn last); median of 10 runs. It includes the
//!    process start (exec, the dynamic loader, clap), the terminal setup (raw mode, the
//!    alternate screen, bracketed paste, mouse capture), the threads, the first draw and
//!    the pty's delivery. The app does not read `users.json` until a login, so the number
//!    of users should not matter; both sizes are run to show it. `authtui --version` in
//!    the same pty is the floor (process start and clap, no terminal).
//! 2. **CPU at rest**: utime+stime of the process (`/proc/PID/stat`, in clock ticks) over
//!    5 s touching nothing, on Log in and on the Dashboard; also the threads' CPU time in
//!    ns (`/proc/PID/task/*/schedstat`) and their context switches (each one a wake-up).
//! 3. **frames per second while a hash runs**: a login of a user with a cost-14 hash
//!    (about 0.85 s here). Every spinner character (⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏) in the raw byte stream
//!    between the Enter and the chunk that shows the Dashboard is one frame drawn (ratatui
//!    writes only cells that change, and the spinner cell changes on every frame), divided
//!    by that time. 3 logins at 10,000 users and 1 at 100,000.
//! 4. **peak memory**: VmHWM (`/proc/PID/status`) of the app at the first frame and after
//!    the logins (each reads `users.json` and writes it back), at 10,000 and 100,000
//!    users; and the peak RSS of `authtui verify` (the CLI's login) at both sizes, read by
//!    `/usr/bin/time -v` (Debian's `time` package; skipped without it).
//!
//! `users.json` is written directly as compact JSON: users `u000000`… with
//! `password_hash` and `created_at`, all sharing one cost-12 hash but the user in the
//! middle, whose hash has cost 14.
//!
//! Run: `cargo bench --bench ui_live` (about 15 s after the build). Cargo builds the
//! release binary itself and passes its path (`CARGO_BIN_EXE_authtui`): no separate
//! `cargo build --release` is needed. Linux only for the /proc figures. Settings:
//! `AUTHTUI_UI_RUNS` (first-frame runs, default 10), `AUTHTUI_UI_REST_SECS` (default 5),
//! `TMPDIR` (where the files go). `cargo test --benches` runs this binary without
//! `--bench`: then only a smoke run (one first frame on a 100-user file, then Ctrl+C).
//! See `bench/UI.md`.

mod common;

use common::*;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty};

#[path = "../tests/pty/spawn.rs"]
mod spawn;

const ROWS: u16 = 24;
const COLS: u16 = 80;
const PASSWORD: &str = "correct horse battery staple";
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/// Any one wait: generous, for a busy machine.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(1);
/// On screen once Log in is drawn: in the header and the card's title.
const LOGIN_SHOWN: &str = "Log in";
/// The Log in footer's last key: the last cell of the first frame ratatui writes.
const LOGIN_DRAWN: &str = "F1 help";
/// On the Dashboard only.
const DASHBOARD_SHOWN: &str = "Login count";
const CTRL_C: &str = "\x03";
const ENTER: &str = "\r";

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_authtui"));
    let bench = std::env::args().any(|a| a == "--bench");
    if !bench {
        smoke(&bin);
        return;
    }
    let runs = env_usize("AUTHTUI_UI_RUNS").unwrap_or(10).max(1);
    let rest = Duration::from_secs(env_usize("AUTHTUI_UI_REST_SECS").unwrap_or(5) as u64);
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("authtui-ui-")
        .tempdir()
        .expect("create a temporary directory");
    println!("authtui ui_live: the release binary in a pty at {COLS}x{ROWS}");
    println!("binary: {}", bin.display());
    println!("machine: {}", machine());
    println!("files in: {}", dir.path().display());

    let t = Instant::now();
    let hash12 = bcrypt::hash(PASSWORD, 12).expect("bcrypt hash");
    let hash12_ms = ms(t.elapsed());
    let t = Instant::now();
    let hash14 = bcrypt::hash(PASSWORD, 14).expect("bcrypt hash");
    let hash14_ms = ms(t.elapsed());
    println!("bcrypt hash in-process: cost 12 {hash12_ms:.0} ms, cost 14 {hash14_ms:.0} ms\n");

    let mut cases = Vec::new();
    for n in [10_000, 100_000] {
        let case = dir.path().join(format!("n{n}"));
        fs::create_dir(&case).expect("create the case directory");
        let file = case.join("users.json");
        write_users(&file, n, &hash12, &hash14);
        cases.push(Case {
            n,
            dir: case,
            bytes: fs::metadata(&file).map_or(0, |m| m.len()),
        });
    }

    // 1. Time to first frame.
    let floor = version_floor(&bin, runs, dir.path());
    let mut first = Vec::new();
    for case in &cases {
        let mut shown = Vec::new();
        let mut drawn = Vec::new();
        let mut first_byte = Vec::new();
        for _ in 0..runs {
            let app = Live::start(&bin, &case.dir);
            shown.push(app.wait_watch(LOGIN_SHOWN) - app.spawned);
            drawn.push(app.wait_watch(LOGIN_DRAWN) - app.spawned);
            first_byte.push(app.first_byte() - app.spawned);
            app.quit();
        }
        eprintln!("  first frame at {} users: {runs} runs", group(case.n as u64));
        first.push(FirstFrame {
            n: case.n,
            byte: first_byte,
            shown,
            drawn,
        });
    }

    // 2-4 at 10,000 users: rest on Log in, 3 logins, rest on the Dashboard.
    let mut live = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let logins = if i == 0 { 3 } else { 1 };
        let app = Live::start(&bin, &case.dir);
        app.wait_watch(LOGIN_DRAWN);
        let hwm_start = app.status_kb("VmHWM");
        let rest_login = if i == 0 { Some(app.rest(rest)) } else { None };
        let mut spins = Vec::new();
        for round in 0..logins {
            if round > 0 {
                app.send("l");
                app.wait_screen("Logged out");
            }
            spins.push(app.login(&username(case.n / 2)));
        }
        let rest_dash = if i == 0 { Some(app.rest(rest)) } else { None };
        let hwm_end = app.status_kb("VmHWM");
        let rss_end = app.status_kb("VmRSS");
        app.quit();
        eprintln!("  live run at {} users done", group(case.n as u64));
        live.push(LiveRow {
            n: case.n,
            bytes: case.bytes,
            hwm_start,
            hwm_end,
            rss_end,
            rest_login,
            rest_dash,
            spins,
        });
    }

    // 4. The CLI's login.
    let verify: Vec<(usize, Option<Verify>)> = cases
        .iter()
        .map(|c| (c.n, verify_peak(&bin, &c.dir, &username(c.n / 2 + 1))))
        .collect();

    println!();
    print_first(&floor, &first);
    println!();
    print_rest(&live);
    println!();
    print_spinner(&live);
    println!();
    print_memory(&live, &verify);
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}

/// Without `--bench` (`cargo test --benches`): that the binary is there and the harness
/// works, in about a second, with no figures.
fn smoke(bin: &Path) {
    println!("ui_live: not run by `cargo bench`: a smoke run only (cargo bench --bench ui_live measures)");
    if !bin.exists() {
        println!("ui_live: no binary at {}: skipped", bin.display());
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let hash = bcrypt::hash(PASSWORD, 4).expect("bcrypt hash");
    write_users(&dir.path().join("users.json"), 100, &hash, &hash);
    let app = Live::start(bin, dir.path());
    let drawn = app.wait_watch(LOGIN_DRAWN) - app.spawned;
    let proc_ok = app.stat_ticks().is_some();
    app.quit();
    println!(
        "ui_live smoke: first frame in {:.1} ms ({}); /proc readable: {proc_ok}; /usr/bin/time: {}",
        ms(drawn),
        bin.display(),
        Path::new("/usr/bin/time").exists()
    );
}

struct Case {
    n: usize,
    dir: PathBuf,
    bytes: u64,
}

/// Spawn to: the first byte, "Log in" on screen, the frame complete; one per run.
struct FirstFrame {
    n: usize,
    byte: Vec<Duration>,
    shown: Vec<Duration>,
    drawn: Vec<Duration>,
}

struct LiveRow {
    n: usize,
    bytes: u64,
    hwm_start: Option<u64>,
    hwm_end: Option<u64>,
    rss_end: Option<u64>,
    rest_login: Option<Rest>,
    rest_dash: Option<Rest>,
    spins: Vec<Spin>,
}

/// What the process used while nobody touched it.
struct Rest {
    secs: f64,
    ticks: Option<u64>,
    cpu_ns: Option<u64>,
    switches: Option<u64>,
    threads: usize,
}

/// One login's spinner: the frames written between Enter and the Dashboard.
struct Spin {
    /// Enter to the chunk that showed the Dashboard.
    elapsed: Duration,
    /// When each spinner character arrived, from Enter.
    frames: Vec<Duration>,
    /// The threads' CPU time from Enter to the Dashboard (bcrypt, the store, the frames).
    cpu_ns: Option<u64>,
}

struct Verify {
    peak_kb: u64,
    wall: Option<String>,
    ok: bool,
}

// --- The app in a pty ---

/// Text the reader thread looks for after every chunk, and when it first saw it.
struct Watch {
    text: String,
    seen: Option<(Instant, usize)>,
}

struct Shared {
    parser: vt100::Parser,
    raw: Vec<u8>,
    /// The end offset in `raw` of each chunk read, and when it was read.
    chunks: Vec<(usize, Instant)>,
    watches: Vec<Watch>,
}

impl Shared {
    fn check(&mut self, now: Instant) {
        let screen = self.parser.screen().contents();
        let at = self.raw.len();
        for w in self.watches.iter_mut().filter(|w| w.seen.is_none()) {
            if screen.contains(&w.text) {
                w.seen = Some((now, at));
            }
        }
    }

    /// When byte `offset` of the output arrived.
    fn time_of(&self, offset: usize) -> Instant {
        let i = self.chunks.partition_point(|&(end, _)| end <= offset);
        self.chunks[i.min(self.chunks.len() - 1)].1
    }
}

struct Live {
    child: Mutex<Box<dyn Child + Send + Sync>>,
    /// Kept open while the child runs: closing it hangs the terminal up.
    _master: Box<dyn MasterPty + Send>,
    writer: Mutex<Box<dyn Write + Send>>,
    shared: Arc<Mutex<Shared>>,
    spawned: Instant,
    pid: u32,
}

fn pty_command(bin: &Path, dir: &Path) -> CommandBuilder {
    let mut cmd = spawn::command(bin, dir);
    cmd.env_remove("AUTHTUI_BCRYPT_COST");
    cmd.env_remove("NO_COLOR");
    cmd
}

impl Live {
    /// Spawns the app on `dir/users.json`, watching for the Log in screen from the start.
    fn start(bin: &Path, dir: &Path) -> Live {
        let mut cmd = pty_command(bin, dir);
        cmd.arg("--data-file");
        cmd.arg(dir.join("users.json"));
        Live::spawn(cmd, &[LOGIN_SHOWN, LOGIN_DRAWN])
    }

    fn spawn(cmd: CommandBuilder, watch: &[&str]) -> Live {
        let spawn::Opened {
            master,
            slave,
            mut reader,
            writer,
        } = spawn::open(ROWS, COLS);
        let shared = Arc::new(Mutex::new(Shared {
            parser: vt100::Parser::new(ROWS, COLS, 0),
            raw: Vec::with_capacity(1 << 16),
            chunks: Vec::new(),
            watches: watch
                .iter()
                .map(|t| Watch {
                    text: (*t).to_owned(),
                    seen: None,
                })
                .collect(),
        }));
        {
            let shared = shared.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    // Linux answers EIO once the child has gone: the end, like EOF.
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let now = Instant::now();
                    let mut s = shared.lock().unwrap();
                    s.raw.extend_from_slice(&buf[..n]);
                    let end = s.raw.len();
                    s.chunks.push((end, now));
                    s.parser.process(&buf[..n]);
                    s.check(now);
                }
            });
        }
        let spawned = Instant::now();
        let child = spawn::start(slave, cmd);
        let pid = child.process_id().expect("child pid");
        Live {
            child: Mutex::new(child),
            _master: master,
            writer: Mutex::new(writer),
            shared,
            spawned,
            pid,
        }
    }

    fn send(&self, keys: &str) {
        let mut w = self.writer.lock().unwrap();
        w.write_all(keys.as_bytes()).expect("write to the pty");
        w.flush().expect("flush the pty");
    }

    fn screen(&self) -> String {
        self.shared.lock().unwrap().parser.screen().contents()
    }

    fn watch(&self, text: &str) {
        let mut s = self.shared.lock().unwrap();
        s.watches.push(Watch {
            text: text.to_owned(),
            seen: None,
        });
        // Already on screen: seen now.
        s.check(Instant::now());
    }

    /// Waits until the reader has seen `text` (watched before it could appear); returns
    /// when the chunk that showed it arrived.
    fn wait_watch(&self, text: &str) -> Instant {
        self.wait_watch_at(text).0
    }

    fn wait_watch_at(&self, text: &str) -> (Instant, usize) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            {
                let s = self.shared.lock().unwrap();
                let w = s.watches.iter().rev().find(|w| w.text == text).expect("watched");
                if let Some(seen) = w.seen {
                    return seen;
                }
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {text:?}; the screen:\n{}", self.screen());
            }
            thread::sleep(POLL);
        }
    }

    /// Polls the screen (no timing) until it contains `text`.
    fn wait_screen(&self, text: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.screen().contains(text) {
            if Instant::now() > deadline {
                panic!("timed out waiting for {text:?}; the screen:\n{}", self.screen());
            }
            thread::sleep(POLL);
        }
    }

    fn first_byte(&self) -> Instant {
        self.shared.lock().unwrap().chunks.first().expect("output").1
    }

    /// Logs in as `user` (on Log in, fields empty) and returns the spinner's frames.
    fn login(&self, user: &str) -> Spin {
        self.send(&format!("{user}{ENTER}{PASSWORD}"));
        let bullets = "•".repeat(PASSWORD.chars().count());
        self.wait_screen(&bullets);
        // Watched afresh for each login (the newest watch of a text is the one waited on).
        self.watch(DASHBOARD_SHOWN);
        let cpu = self.task_cpu_ns();
        let from = self.shared.lock().unwrap().raw.len();
        let entered = Instant::now();
        self.send(ENTER);
        let (shown, to) = self.wait_watch_at(DASHBOARD_SHOWN);
        let cpu = cpu.zip(self.task_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
        let s = self.shared.lock().unwrap();
        let spinner: Vec<[u8; 3]> = SPINNER.iter().map(|c| utf8(*c)).collect();
        // Byte by byte, so that a character cut by a chunk boundary is still found: it is
        // timed by the chunk that holds its first byte.
        let frames = s.raw[from..to]
            .windows(3)
            .enumerate()
            .filter(|(_, w)| spinner.iter().any(|c| c == w))
            .map(|(i, _)| s.time_of(from + i).saturating_duration_since(entered))
            .collect();
        Spin {
            elapsed: shown - entered,
            frames,
            cpu_ns: cpu,
        }
    }

    /// Touches nothing for `secs` and returns what the process used meanwhile.
    fn rest(&self, secs: Duration) -> Rest {
        let (t0, a) = (Instant::now(), self.stat_ticks());
        let (b, c) = (self.task_cpu_ns(), self.task_switches());
        thread::sleep(secs);
        let (a2, b2, c2) = (self.stat_ticks(), self.task_cpu_ns(), self.task_switches());
        let diff = |x: Option<u64>, y: Option<u64>| Some(y?.saturating_sub(x?));
        Rest {
            secs: t0.elapsed().as_secs_f64(),
            ticks: diff(a, a2),
            cpu_ns: diff(b, b2),
            switches: diff(c, c2),
            threads: self.tasks().len(),
        }
    }

    /// utime + stime of the whole process, in clock ticks.
    fn stat_ticks(&self) -> Option<u64> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after "(comm)": the 3rd field of the line is the first here; utime and
        // stime are the 14th and 15th.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    fn tasks(&self) -> Vec<PathBuf> {
        fs::read_dir(format!("/proc/{}/task", self.pid))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// The threads' time on a CPU, in ns (the first field of each `schedstat`).
    fn task_cpu_ns(&self) -> Option<u64> {
        let mut total = 0;
        for t in self.tasks() {
            let s = fs::read_to_string(t.join("schedstat")).ok()?;
            total += s.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(total)
    }

    /// The threads' context switches, voluntary and not: each is a wake-up or a preemption.
    fn task_switches(&self) -> Option<u64> {
        let mut total = 0;
        for t in self.tasks() {
            let s = fs::read_to_string(t.join("status")).ok()?;
            for key in ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"] {
                total += status_field(&s, key)?;
            }
        }
        Some(total)
    }

    /// A `kB` line of `/proc/PID/status`.
    fn status_kb(&self, key: &str) -> Option<u64> {
        status_field(
            &fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?,
            key,
        )
    }

    /// Ctrl+C, then waits for the exit (kills it at the deadline).
    fn quit(self) {
        self.send(CTRL_C);
        let deadline = Instant::now() + DEADLINE;
        let mut child = self.child.lock().unwrap();
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the app did not exit after Ctrl+C");
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn utf8(c: char) -> [u8; 3] {
    let mut out = [0; 3];
    c.encode_utf8(&mut out);
    out
}

fn status_field(status: &str, key: &str) -> Option<u64> {
    let line = status
        .lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))?;
    line[key.len() + 1..].split_whitespace().next()?.parse().ok()
}

/// `authtui --version` in the same kind of pty: process start and clap, no terminal setup.
fn version_floor(bin: &Path, runs: usize, dir: &Path) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let mut cmd = pty_command(bin, dir);
            cmd.arg("--version");
            let app = Live::spawn(cmd, &["authtui"]);
            let at = app.wait_watch("authtui") - app.spawned;
            let mut child = app.child.lock().unwrap();
            let _ = child.wait();
            drop(child);
            at
        })
        .collect()
}

/// The peak RSS of `authtui verify USER --password-stdin`, by `/usr/bin/time -v`.
fn verify_peak(bin: &Path, dir: &Path, user: &str) -> Option<Verify> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let mut child = Command::new(time)
        .arg("-v")
        .arg(bin)
        .arg("--data-file")
        .arg(dir.join("users.json"))
        .args(["verify", user, "--password-stdin"])
        .env_remove("AUTHTUI_DATA_FILE")
        .env_remove("AUTHTUI_BCRYPT_COST")
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()?
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .ok()?;
    let out = child.wait_with_output().ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let field = |key: &str| {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().to_owned())
    };
    Some(Verify {
        peak_kb: field("Maximum resident set size (kbytes):")?.parse().ok()?,
        wall: field("Elapsed (wall clock) time (h:mm:ss or m:ss):"),
        ok: out.status.success(),
    })
}

// --- The data ---

fn username(i: usize) -> String {
    format!("u{i:06}")
}

/// N users as compact JSON, every one with `hash` but the one in the middle (`special`).
fn write_users(path: &Path, n: usize, hash: &str, special: &str) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create users.json"));
    out.write_all(br#"{"version":1,"users":{"#).unwrap();
    let mut entry = String::with_capacity(160);
    for i in 0..n {
        entry.clear();
        if i > 0 {
            entry.push(',');
        }
        let h = if i == n / 2 { special } else { hash };
        let _ = write!(
            entry,
            r#""{}":{{"password_hash":"{h}","created_at":"2026-01-01T00:00:00Z"}}"#,
            username(i)
        );
        out.write_all(entry.as_bytes()).unwrap();
    }
    out.write_all(b"}}\n").unwrap();
    out.flush().expect("write users.json");
}

// --- Tables ---

fn print_first(floor: &[Duration], first: &[FirstFrame]) {
    let runs = floor.len();
    println!("Time to first frame, ms as median / min / max of {runs} runs (target: under 50 ms at 10,000):");
    println!("| N users | first byte | \"Log in\" on screen | frame complete | target |");
    println!("|--------:|-----------:|-------------------:|---------------:|:-------|");
    for FirstFrame {
        n,
        byte,
        shown,
        drawn,
    } in first
    {
        let ok = if *n == 10_000 {
            if median(drawn) < 50.0 { "met" } else { "MISSED" }
        } else {
            "-"
        };
        println!(
            "| {:>7} | {} | {} | {} | {ok} |",
            group(*n as u64),
            stats(byte),
            stats(shown),
            stats(drawn)
        );
    }
    println!(
        "Floor: `authtui --version` in the same pty, spawn to its output: {}",
        stats(floor)
    );
}

fn print_rest(rows: &[LiveRow]) {
    let tck = clock_ticks();
    println!("CPU at rest, touching nothing (target: 0 ticks; 1 tick = {tck}):");
    println!("| screen | seconds | CPU ticks | CPU time (threads) | context switches | threads | target |");
    println!("|:-------|--------:|----------:|-------------------:|-----------------:|--------:|:-------|");
    for row in rows {
        for (name, rest) in [("Log in", &row.rest_login), ("Dashboard", &row.rest_dash)] {
            let Some(r) = rest else { continue };
            let ok = match r.ticks {
                Some(0) => "met",
                Some(_) => "MISSED",
                None => "?",
            };
            println!(
                "| {name} ({} users) | {:.1} | {} | {} | {} | {} | {ok} |",
                group(row.n as u64),
                r.secs,
                opt(r.ticks),
                r.cpu_ns
                    .map_or("?".into(), |ns| format!("{:.3} ms", ns as f64 / 1e6)),
                opt(r.switches),
                r.threads
            );
        }
    }
}

fn print_spinner(rows: &[LiveRow]) {
    println!("Frames while a cost-14 hash runs (Enter to Dashboard; target: at least 10 per second):");
    println!(
        "| N users | login | Enter to Dashboard ms | CPU ms | Enter to 1st frame ms | spinner frames | frames/s | median gap ms | max gap ms | target |"
    );
    println!(
        "|--------:|------:|----------------------:|-------:|----------------------:|---------------:|---------:|--------------:|-----------:|:-------|"
    );
    for row in rows {
        for (i, s) in row.spins.iter().enumerate() {
            let fps = s.frames.len() as f64 / s.elapsed.as_secs_f64();
            let gaps: Vec<Duration> = s.frames.windows(2).map(|w| w[1] - w[0]).collect();
            let max_gap = gaps.iter().max().map_or(0.0, |d| ms(*d));
            println!(
                "| {:>7} | {} | {:.0} | {} | {} | {} | {fps:.1} | {} | {max_gap:.0} | {} |",
                group(row.n as u64),
                i + 1,
                ms(s.elapsed),
                s.cpu_ns
                    .map_or("?".into(), |ns| format!("{:.0}", ns as f64 / 1e6)),
                s.frames.first().map_or("-".into(), |d| format!("{:.1}", ms(*d))),
                s.frames.len(),
                if gaps.is_empty() {
                    "-".into()
                } else {
                    format!("{:.0}", median(&gaps))
                },
                if fps >= 10.0 { "met" } else { "MISSED" }
            );
        }
    }
}

fn print_memory(rows: &[LiveRow], verify: &[(usize, Option<Verify>)]) {
    println!("Peak memory (VmHWM / max RSS), MB of 2^20 bytes:");
    println!(
        "| N users | users.json MB | app at first frame | app after login | app RSS after login | `authtui verify` | verify wall |"
    );
    println!(
        "|--------:|--------------:|-------------------:|----------------:|--------------------:|-----------------:|------------:|"
    );
    for row in rows {
        let v = verify
            .iter()
            .find(|(n, _)| *n == row.n)
            .and_then(|(_, v)| v.as_ref());
        println!(
            "| {:>7} | {:.1} | {} | {} | {} | {} | {} |",
            group(row.n as u64),
            row.bytes as f64 / 1048576.0,
            mb(row.hwm_start),
            mb(row.hwm_end),
            mb(row.rss_end),
            v.map_or("skipped".into(), |v| {
                format!("{}{}", mb(Some(v.peak_kb)), if v.ok { "" } else { " (FAILED)" })
            }),
            v.and_then(|v| v.wall.clone()).unwrap_or_else(|| "-".into()),
        );
    }
    if verify.iter().all(|(_, v)| v.is_none()) {
        println!("(`authtui verify` skipped: no /usr/bin/time; on Debian: apt-get install time)");
    }
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("?".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
}

fn opt(x: Option<u64>) -> String {
    x.map_or("?".into(), |x| x.to_string())
}

fn stats(xs: &[Duration]) -> String {
    let min = xs.iter().min().map_or(0.0, |d| ms(*d));
    let max = xs.iter().max().map_or(0.0, |d| ms(*d));
    format!("{:.1} / {min:.1} / {max:.1}", median(xs))
}

fn env_usize(key: &str) -> Option<usize> {
    std::env::var(key).ok()?.trim().parse().ok()
}

/// The clock tick, from `getconf CLK_TCK` (std has no sysconf).
fn clock_ticks() -> String {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map_or("1/100 s, usually".into(), |hz| format!("{:.0} ms", 1000.0 / hz))
}
