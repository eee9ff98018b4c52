//! What a login costs as `users.json` grows (issue 2, the store section; issue 5, "Growth";
//! issue 10, the journal): one login that records its facts, as a multiple of a bare bcrypt
//! verify at cost 12. Target (issue 10): at most 1.05x up to 100,000 users and 1.25x at
//! 1,000,000 (issue 5 asked for 1.5x at 100,000).
//!
//! Run: `cargo bench --bench store_growth` (1,000, 10,000, 100,000 and 1,000,000 users,
//! about a minute), or choose the sizes and the number of timed runs:
//!
//! ```text
//! cargo bench --bench store_growth -- 1000 100000
//! AUTHTUI_BENCH_N=1000,100000 AUTHTUI_BENCH_RUNS=7 cargo bench --bench store_growth
//! ```
//!
//! A full run of two sizes or more draws a plot to `$AUTHTUI_BENCH_PLOT` when it names a
//! file (by default none: `assets/growth.svg`, one line per store, is `store_backends`'s). Files are made in a temporary directory under `$TMPDIR`
//! (default `/tmp`; the 1,000,000-user file is 231 MB): point it at the disk you care
//! about, since fsync is part of the cost. See `bench/README.md` for what each column
//! means and the figures measured so far.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use authtui::auth::{Cost, Password, Service};
use authtui::store::{Change, JsonFile, UserMap, UserStore};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

const DEFAULT_SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const DEFAULT_RUNS: usize = 7;
const SMOKE_SIZES: [usize; 1] = [1_000];
const PASSWORD: &str = "correct horse battery staple";
/// Issue 10: a login costs at most 1.05 bare bcrypt verifies up to 100,000 users…
const TARGET_N: usize = 100_000;
const TARGET_RATIO: f64 = 1.05;
/// … and 1.25 at 1,000,000.
const TARGET_BIG_N: usize = 1_000_000;
const TARGET_BIG_RATIO: f64 = 1.25;
/// Folds timed per size, after the logins (a fold rewrites users.json, which the next login
/// would then read anew).
const FOLDS: usize = 3;

fn main() {
    // `cargo test --benches` (or `--all-targets`) runs this binary too, without the
    // `--bench` flag that `cargo bench` passes: then only a quick smoke run, unless sizes
    // were asked for.
    let smoke = !std::env::args().any(|a| a == "--bench") && sizes_asked().is_none();
    let sizes = if smoke { SMOKE_SIZES.to_vec() } else { sizes() };
    let runs = if smoke {
        1
    } else {
        env_usize("AUTHTUI_BENCH_RUNS").unwrap_or(DEFAULT_RUNS).max(1)
    };
    if smoke {
        println!("(not run by `cargo bench`: a smoke run only; the figures mean little)");
    }
    let dir = tempfile::Builder::new()
        .prefix("authtui-bench-")
        .tempdir()
        .expect("create a temporary directory");

    println!("authtui store_growth: login cost against users.json size");
    println!("machine: {}", machine());
    println!("files in: {}", dir.path().display());
    println!(
        "sizes: {}; {runs} timed runs each after one warm-up; bcrypt cost {}",
        sizes
            .iter()
            .map(|n| group(*n as u64))
            .collect::<Vec<_>>()
            .join(", "),
        Cost::DEFAULT
    );

    let started = Instant::now();
    let hash = bcrypt::hash(PASSWORD, Cost::DEFAULT.get()).expect("bcrypt hash");
    println!(
        "one cost-{} hash made in {:.0} ms, shared by every user\n",
        Cost::DEFAULT,
        ms(started.elapsed())
    );

    let mut rows = Vec::new();
    for &n in &sizes {
        let row = measure(dir.path(), n, runs, &hash);
        eprintln!(
            "  measured {} users in {:.1} s",
            group(n as u64),
            row.wall.as_secs_f64()
        );
        rows.push(row);
    }

    println!();
    print_main_table(&rows);
    println!();
    print_breakdown_table(&rows);
    println!();
    print_serde_table(&rows);
    println!();
    print_target(&rows);
    // A smoke run's figures would make a misleading plot; so would a single point.
    match plot_path() {
        Some(path) if !smoke && rows.len() >= 2 => {
            fs::write(&path, growth_svg(&rows, runs))
                .unwrap_or_else(|e| panic!("write the plot {}: {e}", path.display()));
            println!("plot written to {}", path.display());
        }
        Some(_) => println!("(no plot: it needs a full run of two sizes or more)"),
        None => {}
    }
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}

/// The figures for one N. Durations are kept raw: every summary is computed from them.
struct Row {
    n: usize,
    file_bytes: u64,
    bcrypt: Vec<Duration>,
    login: Vec<Duration>,
    /// `get` then `update_user` on a second `JsonFile`: the store's share of a login
    /// (one of its two appends).
    store: Vec<Duration>,
    /// A whole-set `update` that saves: the journal folded into a rewrite of users.json.
    fold: Vec<Duration>,
    /// What one login adds to the journal, bytes.
    journal_per_login: Vec<u64>,
    get: Vec<Duration>,
    update: Vec<Duration>,
    /// The same work done by hand with serde_json, one piece at a time.
    read: Vec<Duration>,
    parse: Vec<Duration>,
    serialize: Vec<Duration>,
    write_sync: Vec<Duration>,
    rename_dir_sync: Vec<Duration>,
    /// What parse and serialize cost without the timestamps as `DateTime`s.
    scan: Vec<Duration>,
    parse_text_times: Vec<Duration>,
    serialize_text_times: Vec<Duration>,
    wall: Duration,
}

fn measure(dir: &Path, n: usize, runs: usize, hash: &str) -> Row {
    let started = Instant::now();
    let case_dir = dir.join(format!("n{n}"));
    fs::create_dir(&case_dir).expect("create the case directory");
    let path = case_dir.join("users.json");
    write_users_file(&path, n, hash);
    let who = username(n / 2);

    let service = Service::new(JsonFile::new(&path), Cost::DEFAULT);
    let store = JsonFile::new(&path);
    let password = Password::from(PASSWORD);

    let mut row = Row {
        n,
        file_bytes: 0,
        bcrypt: Vec::new(),
        login: Vec::new(),
        store: Vec::new(),
        fold: Vec::new(),
        journal_per_login: Vec::new(),
        get: Vec::new(),
        update: Vec::new(),
        read: Vec::new(),
        parse: Vec::new(),
        serialize: Vec::new(),
        write_sync: Vec::new(),
        rename_dir_sync: Vec::new(),
        scan: Vec::new(),
        parse_text_times: Vec::new(),
        serialize_text_times: Vec::new(),
        wall: Duration::ZERO,
    };

    // Run 0 is the warm-up (first touch of the file, allocator growth); it is dropped.
    // The kinds of measurement take turns within a run, so a noisy neighbour on a shared
    // machine hurts them alike rather than one of them.
    for run in 0..=runs {
        let keep = run > 0;

        let t = Instant::now();
        let ok = bcrypt::verify(PASSWORD, hash).expect("bcrypt verify");
        let bcrypt_time = t.elapsed();
        assert!(ok, "the password must match its hash");

        let journal_before = fs::metadata(store.journal_path()).map_or(0, |m| m.len());
        let t = Instant::now();
        let session = service.login(&who, &password).expect("login");
        let login_time = t.elapsed();
        assert_eq!(session.username().as_str(), who);
        let journal_after = fs::metadata(store.journal_path()).map_or(0, |m| m.len());

        let t = Instant::now();
        let record = store.get(&who).expect("get").expect("the user exists");
        let get_time = t.elapsed();
        let t = Instant::now();
        store
            .update_user(&who, &mut |r| {
                let r = r.as_mut().expect("the user exists");
                r.login_count = record.login_count + 1;
                Change::Save
            })
            .expect("update_user");
        let update_time = t.elapsed();

        let pieces = by_hand(&path);

        if keep {
            row.bcrypt.push(bcrypt_time);
            row.login.push(login_time);
            row.get.push(get_time);
            row.update.push(update_time);
            row.store.push(get_time + update_time);
            row.journal_per_login
                .push(journal_after.saturating_sub(journal_before));
            row.read.push(pieces.read);
            row.parse.push(pieces.parse);
            row.serialize.push(pieces.serialize);
            row.write_sync.push(pieces.write_sync);
            row.rename_dir_sync.push(pieces.rename_dir_sync);
            row.scan.push(pieces.scan);
            row.parse_text_times.push(pieces.parse_text_times);
            row.serialize_text_times.push(pieces.serialize_text_times);
        }
    }

    // A fold: the whole file rewritten with the journal in it, as an account change or a
    // full journal makes it.
    for _ in 0..FOLDS {
        let t = Instant::now();
        store
            .update(&mut |users| {
                users.get_mut(&who).expect("the user exists").login_count += 1;
                Change::Save
            })
            .expect("update");
        row.fold.push(t.elapsed());
        assert!(!store.journal_path().exists(), "a fold removes the journal");
    }

    // As the store itself wrote it, after the logins.
    row.file_bytes = fs::metadata(&path).expect("stat users.json").len();
    let users = store.all().expect("read back");
    assert_eq!(users.len(), n, "no user lost");
    assert_eq!(
        users[&who].login_count,
        initial_login_count(n / 2) + 2 * (runs as u64 + 1) + FOLDS as u64,
        "every login and every update was recorded"
    );
    drop(users);
    fs::remove_dir_all(&case_dir).expect("remove the case directory");
    row.wall = started.elapsed();
    row
}

/// The file's shape, mirrored here because the store's own reader and writer are private.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[allow(dead_code)]
    version: u64,
    users: UserMap,
}

#[derive(Serialize)]
struct FileOut<'a, U> {
    version: u64,
    users: &'a U,
}

/// The file again, with the times left as text: what parse and serialize cost without
/// chrono's RFC 3339 parsing and formatting. It writes the same bytes as the store.
#[derive(Deserialize)]
struct TextFileIn {
    #[allow(dead_code)]
    version: u64,
    users: BTreeMap<String, TextRecord>,
}

#[derive(Deserialize, Serialize)]
struct TextRecord {
    password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_login_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_login_at: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    login_count: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    failed_attempts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked_until: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

struct Pieces {
    read: Duration,
    parse: Duration,
    serialize: Duration,
    write_sync: Duration,
    rename_dir_sync: Duration,
    scan: Duration,
    parse_text_times: Duration,
    serialize_text_times: Duration,
}

/// One read-modify-write like the store's full rewrite, split into its parts. It writes the
/// same bytes to a copy beside the file (renamed over the copy, as a save is over the
/// file), so users.json itself stays untouched and the store's cache of it valid, as
/// between real logins.
fn by_hand(path: &Path) -> Pieces {
    let temp = path.with_extension("json.bench-tmp");
    let copy = path.with_extension("json.bench-copy");

    let t = Instant::now();
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .expect("read users.json");
    let read = t.elapsed();

    let t = Instant::now();
    let parsed: FileIn = serde_json::from_slice(&bytes).expect("parse users.json");
    let parse = t.elapsed();

    let t = Instant::now();
    let mut out = Vec::with_capacity(bytes.len() + 64);
    serde_json::to_writer(
        &mut out,
        &FileOut {
            version: 1,
            users: &parsed.users,
        },
    )
    .expect("serialize");
    out.push(b'\n');
    let serialize = t.elapsed();
    assert!(out == bytes, "the mirror writes the bytes the store wrote");

    let t = Instant::now();
    let mut file = File::create(&temp).expect("create the temp file");
    file.write_all(&out).expect("write the temp file");
    file.sync_all().expect("fsync the temp file");
    drop(file);
    let write_sync = t.elapsed();

    let t = Instant::now();
    fs::rename(&temp, &copy).expect("rename");
    File::open(path.parent().expect("a parent directory"))
        .and_then(|d| d.sync_all())
        .expect("fsync the directory");
    let rename_dir_sync = t.elapsed();

    drop(parsed);

    // The parse and serialize split further, on the same bytes.
    let t = Instant::now();
    let _: IgnoredAny = serde_json::from_slice(&bytes).expect("scan users.json");
    let scan = t.elapsed();

    let t = Instant::now();
    let text: TextFileIn = serde_json::from_slice(&bytes).expect("parse users.json");
    let parse_text_times = t.elapsed();

    let t = Instant::now();
    let mut out_text = Vec::with_capacity(bytes.len() + 64);
    serde_json::to_writer(
        &mut out_text,
        &FileOut {
            version: 1,
            users: &text.users,
        },
    )
    .expect("serialize");
    out_text.push(b'\n');
    let serialize_text_times = t.elapsed();
    assert!(out_text == out, "times as text round-trip to the same bytes");

    Pieces {
        read,
        parse,
        serialize,
        write_sync,
        rename_dir_sync,
        scan,
        parse_text_times,
        serialize_text_times,
    }
}

// --- The N-user file ---

// --- Settings and the machine ---

/// Sizes from the command line (`cargo bench` passes `--bench`, which is skipped), else
/// from `AUTHTUI_BENCH_N` (comma-separated), else the defaults.
fn sizes() -> Vec<usize> {
    sizes_asked().unwrap_or_else(|| DEFAULT_SIZES.to_vec())
}

// --- Summaries and tables ---

fn print_main_table(rows: &[Row]) {
    println!("Login at N users, ms as median / min of the timed runs:");
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                group(r.n as u64),
                format!("{:.2}", r.file_bytes as f64 / 1e6),
                med_min(&r.bcrypt),
                med_min(&r.login),
                fmt_ms(median(&r.login) - median(&r.bcrypt)),
                med_min(&r.store),
                med_min(&r.fold),
                format!("{:.3}", amortized_fold(r)),
                format!("{:.2}", median(&r.login) / median(&r.bcrypt)),
            ]
        })
        .collect();
    print_table(
        &[
            "N users",
            "file MB",
            "bare bcrypt ms",
            "login ms",
            "overhead ms",
            "store-only ms",
            "fold ms",
            "fold per login ms",
            "login/bcrypt",
        ],
        &table,
    );
}

fn print_breakdown_table(rows: &[Row]) {
    println!(
        "Where the store's time goes, ms as median / min (the store's get and update, then the same work by hand with serde_json):"
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                group(r.n as u64),
                format!("{}", r.file_bytes),
                med_min(&r.get),
                med_min(&r.update),
                med_min(&r.read),
                med_min(&r.parse),
                med_min(&r.serialize),
                med_min(&r.write_sync),
                med_min(&r.rename_dir_sync),
            ]
        })
        .collect();
    print_table(
        &[
            "N users",
            "file bytes",
            "get",
            "update",
            "read",
            "parse",
            "serialize",
            "write+fsync",
            "rename+dir fsync",
        ],
        &table,
    );
}

fn print_serde_table(rows: &[Row]) {
    println!("Parse and serialize split, ms as median / min (serde_json on the same bytes):");
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                group(r.n as u64),
                med_min(&r.scan),
                med_min(&r.parse_text_times),
                med_min(&r.parse),
                med_min(&r.serialize_text_times),
                med_min(&r.serialize),
            ]
        })
        .collect();
    print_table(
        &[
            "N users",
            "JSON scan only",
            "parse, times as text",
            "parse",
            "serialize, times as text",
            "serialize",
        ],
        &table,
    );
}

/// A fold's cost (ms) shared among the logins that fill the journal up to its bound.
fn amortized_fold(r: &Row) -> f64 {
    let mut per_login = r.journal_per_login.clone();
    per_login.sort_unstable();
    let bytes = per_login.get(per_login.len() / 2).copied().unwrap_or(0).max(1);
    let logins_per_fold = (JsonFile::JOURNAL_LIMIT / bytes).max(1);
    median(&r.fold) / logins_per_fold as f64
}

fn print_target(rows: &[Row]) {
    for r in rows {
        let target = if r.n <= TARGET_N {
            TARGET_RATIO
        } else if r.n == TARGET_BIG_N {
            TARGET_BIG_RATIO
        } else {
            continue;
        };
        let ratio = median(&r.login) / median(&r.bcrypt);
        println!(
            "At {} users: login/bcrypt {ratio:.2} (target at most {target}): {}",
            group(r.n as u64),
            if ratio <= target { "met" } else { "MISSED" }
        );
    }
}

// --- The plot ---

/// `$AUTHTUI_BENCH_PLOT`, when it names a file (empty or `none`: no plot). By default this
/// bench draws nothing: `assets/growth.svg` is `store_backends`'s, one line per store.
fn plot_path() -> Option<PathBuf> {
    match std::env::var("AUTHTUI_BENCH_PLOT") {
        Ok(p) if p.trim().is_empty() || p.trim() == "none" => None,
        Ok(p) => Some(PathBuf::from(p)),
        Err(_) => None,
    }
}

/// The login as a multiple of a bare bcrypt verify against the number of users (log
/// scale), with the bcrypt baseline and the targets: the plot `store_backends` draws, with
/// users.json's line alone.
fn growth_svg(rows: &[Row], runs: usize) -> String {
    let points: Vec<(usize, f64, f64)> = rows
        .iter()
        .map(|r| (r.n, median(&r.login) / median(&r.bcrypt), median(&r.login)))
        .collect();
    let bcrypt_ms = median(
        &rows
            .iter()
            .flat_map(|r| r.bcrypt.iter().copied())
            .collect::<Vec<_>>(),
    );
    plot::svg(&plot::Plot {
        title: format!("Login as users.json grows (bcrypt cost {})", Cost::DEFAULT),
        subtitle: "login = verify + two journal appends, as a multiple of one bare bcrypt verify".to_owned(),
        name: "authtui: login cost as users.json grows".to_owned(),
        desc: format!(
            "A login (bcrypt verify plus what it records: two journal appends) as a multiple of a bare bcrypt verify at cost {}, for {}.",
            Cost::DEFAULT,
            plot::describe(&points)
        ),
        x_title: "users in users.json (log scale)".to_owned(),
        legend_note: format!("median of {runs}"),
        bcrypt_ms,
        targets: vec![
            plot::Target {
                ratio: TARGET_RATIO,
                at: None,
                label: String::new(),
            },
            plot::Target {
                ratio: TARGET_BIG_RATIO,
                at: Some(TARGET_BIG_N),
                label: format!("{TARGET_BIG_RATIO}×"),
            },
        ],
        target_legend: format!("target {TARGET_RATIO}× to 100k, {TARGET_BIG_RATIO}× at 1M"),
        footer: vec![
            format!(
                "{} · {}",
                chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
                machine()
            ),
            format!(
                "load average (1, 5, 15 min) {} at the end · cargo bench --bench store_growth",
                load_average()
            ),
        ],
        series: vec![plot::Series {
            label: "login (Service::login, JsonFile)".to_owned(),
            points,
        }],
    })
}
