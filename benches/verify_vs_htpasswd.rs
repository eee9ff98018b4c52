//! `authtui verify` against Apache's `htpasswd -vb` (issue 5, section 1): the same N users,
//! the same bcrypt cost (10), the real release binary against the tool people would use
//! instead. Target at 10,000 users: authtui within 1.25x of htpasswd, and authtui's own
//! cost over a bare in-process bcrypt verify under 5 ms.
//!
//! Run: `cargo bench --bench verify_vs_htpasswd` (1,000, 10,000 and 100,000 users), or
//!
//! ```text
//! cargo bench --bench verify_vs_htpasswd -- 10000
//! AUTHTUI_BENCH_N=1000,10000 AUTHTUI_BENCH_RUNS=21 cargo bench --bench verify_vs_htpasswd
//! ```
//!
//! The authtui binary is the one cargo builds for this bench (`CARGO_BIN_EXE_authtui`:
//! `target/release/authtui` under `cargo bench`), or `$AUTHTUI_BIN`. `htpasswd` is looked
//! up on `$PATH` (or `$AUTHTUI_HTPASSWD`); without it that column is skipped, with a word
//! on how to get it. Nothing is installed. See `bench/README.md`.

mod common;

use common::*;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use authtui::auth::{Cost, Password, Service};
use authtui::store::{JsonFile, UserStore};

const DEFAULT_SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const DEFAULT_RUNS: usize = 31;
const SMOKE_SIZES: [usize; 1] = [1_000];
/// The cost of every hash here: htpasswd's usual `-B -C 10`, and OWASP's minimum.
const COST: u32 = 10;
const PASSWORD: &str = "correct horse battery staple";
/// The size the targets are stated at.
const TARGET_N: usize = 10_000;
const TARGET_RATIO: f64 = 1.25;
const TARGET_OVERHEAD_MS: f64 = 5.0;

fn main() {
    // `cargo test --benches` runs this binary without `--bench`: a smoke run only.
    let smoke = !std::env::args().any(|a| a == "--bench") && sizes_asked().is_none();
    let sizes = if smoke {
        SMOKE_SIZES.to_vec()
    } else {
        sizes_asked().unwrap_or_else(|| DEFAULT_SIZES.to_vec())
    };
    let runs = if smoke {
        1
    } else {
        env_usize("AUTHTUI_BENCH_RUNS").unwrap_or(DEFAULT_RUNS).max(1)
    };
    if smoke {
        println!("(not run by `cargo bench`: a smoke run only; the figures mean little)");
    }

    let authtui = authtui_binary();
    let htpasswd = find_htpasswd();
    let dir = tempfile::Builder::new()
        .prefix("authtui-bench-")
        .tempdir()
        .expect("create a temporary directory");

    println!("authtui verify_vs_htpasswd: `authtui verify` against `htpasswd -vb`, bcrypt cost {COST}");
    println!("machine: {}", machine());
    println!("authtui: {}", authtui.display());
    match &htpasswd {
        Some(path) => println!("htpasswd: {}", path.display()),
        None => {
            println!("htpasswd: not found on $PATH, so its columns are skipped.");
            println!("  To compare, install it (Debian/Ubuntu: `apt-get install apache2-utils`;");
            println!("  Fedora: `dnf install httpd-tools`) or point $AUTHTUI_HTPASSWD at it.");
        }
    }
    println!("files in: {}", dir.path().display());
    println!(
        "sizes: {}; {runs} timed runs each after one warm-up",
        sizes
            .iter()
            .map(|n| group(*n as u64))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let started = Instant::now();
    // One hash for everybody: `$2b$` (what authtui writes) in users.json, the same salt
    // and digest as `$2y$` (what `htpasswd -B` writes) in the htpasswd file.
    let hash_b = bcrypt::hash(PASSWORD, COST).expect("bcrypt hash");
    let hash_y = format!("$2y${}", &hash_b[4..]);
    println!(
        "one cost-{COST} hash made in {:.0} ms, shared by every user\n",
        ms(started.elapsed())
    );

    let mut rows = Vec::new();
    for &n in &sizes {
        let row = measure(
            dir.path(),
            n,
            runs,
            &hash_b,
            &hash_y,
            &authtui,
            htpasswd.as_deref(),
        );
        eprintln!(
            "  measured {} users in {:.1} s",
            group(n as u64),
            row.wall.as_secs_f64()
        );
        rows.push(row);
    }

    println!();
    print_main_table(&rows, htpasswd.is_some());
    println!();
    print_breakdown_table(&rows, htpasswd.is_some());
    println!();
    print_targets(&rows);
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}

struct Row {
    n: usize,
    users_json_bytes: u64,
    htpasswd_bytes: u64,
    /// `bcrypt::verify` in this process: the baseline.
    bcrypt: Vec<Duration>,
    /// `authtui verify NAME --password-stdin`, spawn to exit.
    authtui: Vec<Duration>,
    /// `htpasswd -vb FILE NAME PASSWORD`, spawn to exit.
    htpasswd: Vec<Duration>,
    /// The same on a file of that one user: htpasswd's start and bcrypt, without the scan.
    htpasswd_one: Vec<Duration>,
    /// `authtui --version`: what starting the process costs.
    start: Vec<Duration>,
    /// `Service::login` in this process on the same file: the CLI's work without a process.
    login: Vec<Duration>,
    wall: Duration,
}

#[derive(Clone, Copy)]
enum Kind {
    Bcrypt,
    Authtui,
    Htpasswd,
    HtpasswdOne,
    Start,
    Login,
}

fn measure(
    dir: &Path,
    n: usize,
    runs: usize,
    hash_b: &str,
    hash_y: &str,
    authtui: &Path,
    htpasswd: Option<&Path>,
) -> Row {
    let started = Instant::now();
    let case_dir = dir.join(format!("n{n}"));
    fs::create_dir(&case_dir).expect("create the case directory");
    let users_json = case_dir.join("users.json");
    let ht_file = case_dir.join("htpasswd");
    let ht_one = case_dir.join("htpasswd-one");
    write_users_file(&users_json, n, hash_b);
    write_htpasswd_file(&ht_file, n, hash_y);
    let who = username(n / 2);
    fs::write(&ht_one, format!("{who}:{hash_y}\n")).expect("write htpasswd-one");

    let cost = Cost::new(COST).expect("a valid cost");
    let service = Service::new(JsonFile::new(&users_json), cost);
    let password = Password::from(PASSWORD);

    // Both tools must refuse a wrong password (untimed); authtui's refusal is a failure
    // on the account, cleared again.
    assert_eq!(
        authtui_verify(authtui, &users_json, &who, "wrong password").1,
        Some(1)
    );
    service.unlock(&who).expect("unlock");
    if let Some(ht) = htpasswd {
        let (_, code) = htpasswd_verify(ht, &ht_file, &who, "wrong password");
        assert!(code.is_some_and(|c| c != 0), "htpasswd accepted a wrong password");
    }

    let mut row = Row {
        n,
        users_json_bytes: 0,
        htpasswd_bytes: fs::metadata(&ht_file).expect("stat htpasswd").len(),
        bcrypt: Vec::new(),
        authtui: Vec::new(),
        htpasswd: Vec::new(),
        htpasswd_one: Vec::new(),
        start: Vec::new(),
        login: Vec::new(),
        wall: Duration::ZERO,
    };
    let mut kinds = vec![Kind::Bcrypt, Kind::Authtui, Kind::Start, Kind::Login];
    if htpasswd.is_some() {
        kinds.insert(2, Kind::Htpasswd);
        kinds.push(Kind::HtpasswdOne);
    }

    // Run 0 is a warm-up and dropped. Within a run the kinds take turns, in an order
    // rotated from run to run, so that drift and noisy neighbours hurt them alike.
    for run in 0..=runs {
        let keep = run > 0;
        let mut order = kinds.clone();
        order.rotate_left(run % kinds.len());
        for kind in order {
            let (time, list) = match kind {
                Kind::Bcrypt => {
                    let t = Instant::now();
                    let ok = bcrypt::verify(PASSWORD, hash_b).expect("bcrypt verify");
                    let time = t.elapsed();
                    assert!(ok, "the password must match its hash");
                    (time, &mut row.bcrypt)
                }
                Kind::Authtui => {
                    let (time, code) = authtui_verify(authtui, &users_json, &who, PASSWORD);
                    assert_eq!(code, Some(0), "authtui verify must accept the password");
                    (time, &mut row.authtui)
                }
                Kind::Htpasswd => {
                    let ht = htpasswd.expect("htpasswd is there");
                    let (time, code) = htpasswd_verify(ht, &ht_file, &who, PASSWORD);
                    assert_eq!(code, Some(0), "htpasswd -vb must accept the password");
                    (time, &mut row.htpasswd)
                }
                Kind::HtpasswdOne => {
                    let ht = htpasswd.expect("htpasswd is there");
                    let (time, code) = htpasswd_verify(ht, &ht_one, &who, PASSWORD);
                    assert_eq!(code, Some(0), "htpasswd -vb must accept the password");
                    (time, &mut row.htpasswd_one)
                }
                Kind::Start => {
                    let t = Instant::now();
                    let out = Command::new(authtui)
                        .arg("--version")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .expect("run authtui --version");
                    let time = t.elapsed();
                    assert!(out.success(), "authtui --version failed");
                    (time, &mut row.start)
                }
                Kind::Login => {
                    let t = Instant::now();
                    let session = service.login(&who, &password).expect("login");
                    let time = t.elapsed();
                    assert_eq!(session.username().as_str(), who);
                    (time, &mut row.login)
                }
            };
            if keep {
                list.push(time);
            }
        }
    }

    row.users_json_bytes = fs::metadata(&users_json).expect("stat users.json").len();
    let store = JsonFile::new(&users_json);
    let record = store.get(&who).expect("read back").expect("the user is there");
    assert_eq!(
        record.login_count,
        initial_login_count(n / 2) + 2 * (runs as u64 + 1),
        "every login (the CLI's and the library's) was recorded"
    );
    assert_eq!(store.all().expect("read back").len(), n, "no user lost");
    fs::remove_dir_all(&case_dir).expect("remove the case directory");
    row.wall = started.elapsed();
    row
}

/// `authtui --data-file F --cost 10 verify NAME --password-stdin`: its time from spawn to
/// exit, and its exit code. `--cost 10` matters: at the default cost 12 a login upgrades a
/// cost-10 hash, which is a second, slower bcrypt.
fn authtui_verify(bin: &Path, users_json: &Path, who: &str, password: &str) -> (Duration, Option<i32>) {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .arg("--data-file")
        .arg(users_json)
        .args(["--cost", &COST.to_string(), "verify", who, "--password-stdin"])
        .env_remove("AUTHTUI_DATA_FILE")
        .env_remove("AUTHTUI_BCRYPT_COST")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    {
        let mut stdin = child.stdin.take().expect("a stdin pipe");
        writeln!(stdin, "{password}").expect("write the password");
    }
    let out = child.wait_with_output().expect("wait for authtui");
    let time = t.elapsed();
    let code = out.status.code();
    if code != Some(0) && code != Some(1) {
        panic!(
            "authtui verify exited with {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (time, code)
}

/// `htpasswd -vb FILE NAME PASSWORD`: its time and exit code (0 match, 3 mismatch).
fn htpasswd_verify(bin: &Path, file: &Path, who: &str, password: &str) -> (Duration, Option<i32>) {
    let t = Instant::now();
    let out = Command::new(bin)
        .arg("-vb")
        .arg(file)
        .args([who, password])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    (t.elapsed(), out.status.code())
}

/// The binary cargo built for this bench (the release one under `cargo bench`), unless
/// `$AUTHTUI_BIN` names another.
fn authtui_binary() -> PathBuf {
    let path = std::env::var_os("AUTHTUI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_authtui")));
    assert!(
        path.is_file(),
        "{} does not exist: run through `cargo bench`, or set AUTHTUI_BIN",
        path.display()
    );
    path
}

/// `$AUTHTUI_HTPASSWD`, else `htpasswd` on `$PATH`.
fn find_htpasswd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AUTHTUI_HTPASSWD") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("htpasswd"))
        .find(|p| p.is_file())
}

// --- The N-user files ---

/// An htpasswd file of the same users, one `name:hash` line each, as `htpasswd -B` writes.
fn write_htpasswd_file(path: &Path, n: usize, hash: &str) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create htpasswd"));
    for i in 0..n {
        writeln!(out, "{}:{hash}", username(i)).unwrap();
    }
    out.into_inner()
        .expect("flush htpasswd")
        .sync_all()
        .expect("fsync htpasswd");
}

// --- Settings and the machine ---

// --- Summaries and tables ---

const SKIPPED: &str = "(no htpasswd)";

fn print_main_table(rows: &[Row], with_htpasswd: bool) {
    println!("Verify at N users, cost {COST}, ms as median / min of the timed runs:");
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (ht, ratio) = if with_htpasswd {
                (
                    med_min(&r.htpasswd),
                    format!("{:.2}", median(&r.authtui) / median(&r.htpasswd)),
                )
            } else {
                (SKIPPED.to_owned(), SKIPPED.to_owned())
            };
            vec![
                group(r.n as u64),
                med_min(&r.bcrypt),
                med_min(&r.authtui),
                ht,
                ratio,
                fmt_ms(median(&r.authtui) - median(&r.bcrypt)),
            ]
        })
        .collect();
    print_table(
        &[
            "N users",
            "bare bcrypt ms",
            "authtui verify ms",
            "htpasswd -vb ms",
            "authtui/htpasswd",
            "authtui over bcrypt ms",
        ],
        &table,
    );
}

fn print_breakdown_table(rows: &[Row], with_htpasswd: bool) {
    println!("Where authtui's time goes, ms as median / min (differences of medians):");
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (ht_one, ht_over) = if with_htpasswd {
                (
                    med_min(&r.htpasswd_one),
                    fmt_ms(median(&r.htpasswd) - median(&r.bcrypt)),
                )
            } else {
                (SKIPPED.to_owned(), SKIPPED.to_owned())
            };
            vec![
                group(r.n as u64),
                format!("{:.2}", r.users_json_bytes as f64 / 1e6),
                format!("{:.2}", r.htpasswd_bytes as f64 / 1e6),
                med_min(&r.start),
                med_min(&r.login),
                fmt_ms(median(&r.login) - median(&r.bcrypt)),
                fmt_ms(median(&r.authtui) - median(&r.login)),
                ht_one,
                ht_over,
            ]
        })
        .collect();
    print_table(
        &[
            "N users",
            "users.json MB",
            "htpasswd MB",
            "authtui --version ms",
            "in-process login ms",
            "login over bcrypt",
            "CLI over login",
            "htpasswd, 1-user file ms",
            "htpasswd over bcrypt",
        ],
        &table,
    );
}

fn print_targets(rows: &[Row]) {
    let Some(r) = rows.iter().find(|r| r.n == TARGET_N) else {
        println!(
            "(targets are stated at {} users, which was not measured)",
            group(TARGET_N as u64)
        );
        return;
    };
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let overhead = median(&r.authtui) - median(&r.bcrypt);
    println!(
        "At {} users: authtui over a bare bcrypt verify {} ms (target under {TARGET_OVERHEAD_MS} ms): {}",
        group(TARGET_N as u64),
        fmt_ms(overhead),
        verdict(overhead < TARGET_OVERHEAD_MS)
    );
    if !r.htpasswd.is_empty() {
        let ratio = median(&r.authtui) / median(&r.htpasswd);
        println!(
            "At {} users: authtui/htpasswd {ratio:.2} (target at most {TARGET_RATIO}): {}",
            group(TARGET_N as u64),
            verdict(ratio <= TARGET_RATIO)
        );
    }
}
