//! Enumeration timing: does a login take as long for a username that does not exist as
//! for a wrong password of one that does, whatever the stored hash's cost (an account
//! imported from `htpasswd -B` at cost 5) and whatever the case the name is typed in? If not, the time of a failed
//! login tells an attacker which names have accounts. Target: medians over 50 tries of each
//! kind within 5% of each other. A benchmark with its figure, not a pass/fail test: the
//! machines are shared and noisy.
//!
//! Run: `cargo bench --bench enumeration` (costs 10 and 12, at 1,000, 10,000 and 100,000
//! users, on users.json, SQLite and PostgreSQL), or choose:
//!
//! ```text
//! cargo bench --bench enumeration -- 10000
//! AUTHTUI_BENCH_COSTS=12 AUTHTUI_BENCH_N=100k AUTHTUI_BENCH_TRIES=50 cargo bench --bench enumeration
//! AUTHTUI_BENCH_STORES=sqlite,postgres cargo bench --bench enumeration
//! ```
//!
//! Every try goes through `Service::login` over the store and its activity log, opened as
//! the app opens them (`authtui::setup::open_store`): `users.json` and `events.jsonl` in a
//! temporary directory, a SQLite database there, or a database of a throwaway PostgreSQL
//! cluster the bench starts itself (as the tests do) and removes when it ends; without
//! PostgreSQL installed it says what to install and measures the others. See
//! `bench/README.md`.

mod common;

use common::stores::{self, Kind as Store};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

use authtui::auth::{AuthError, Cost, Password};
use authtui::store::UserStore;

const DEFAULT_SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const DEFAULT_COSTS: [u32; 2] = [10, 12];
const DEFAULT_TRIES: usize = 50;
const PASSWORD: &str = "correct horse battery staple";
const WRONG: &str = "correct horse battery stapler";
const TARGET_PERCENT: f64 = 5.0;

fn main() {
    // `cargo test --benches` runs this binary without `--bench`: a smoke run only.
    let smoke = !std::env::args().any(|a| a == "--bench") && sizes_asked().is_none();
    let sizes = if smoke {
        vec![100]
    } else {
        sizes_asked().unwrap_or_else(|| DEFAULT_SIZES.to_vec())
    };
    let costs = if smoke { vec![4] } else { costs() };
    let tries = if smoke {
        4
    } else {
        env_usize("AUTHTUI_BENCH_TRIES").unwrap_or(DEFAULT_TRIES).max(2)
    };
    if smoke {
        println!("(not run by `cargo bench`: a smoke run only, at cost 4; the figures mean little)");
    }
    let started = Instant::now();
    let load_start = load_average();
    let dir = tempfile::Builder::new()
        .prefix("authtui-bench-")
        .tempdir()
        .expect("create a temporary directory");

    println!("authtui enumeration: a login for an unknown user against a wrong password");
    println!("machine: {}", machine());
    let kinds = stores::kinds_asked();
    println!("files in: {}", dir.path().display());
    println!(
        "stores: {}; costs: {}; sizes: {}; {tries} tries of each kind, interleaved, after one warm-up round",
        kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join(", "),
        costs.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        sizes
            .iter()
            .map(|n| group(*n as u64))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("load average (1, 5, 15 min) at the start: {load_start}");
    println!();

    let mut rows = Vec::new();
    for &cost in &costs {
        let hash = bcrypt::hash(PASSWORD, cost).expect("bcrypt hash");
        for &n in &sizes {
            for &store in &kinds {
                let row = measure(dir.path(), store, n, cost, tries, &hash);
                eprintln!(
                    "  {}, cost {cost}, {} users: wrong/unknown {:+.1}%, {:.1} s, load {}",
                    store.label(),
                    group(n as u64),
                    percent(row.of(Kind::Wrong), row.of(Kind::Unknown)),
                    row.wall.as_secs_f64(),
                    row.load
                );
                rows.push(row);
            }
        }
    }

    println!();
    print_table_of(&rows);
    println!();
    for r in &rows {
        for kind in &KINDS[1..] {
            let diff = percent(r.of(*kind), r.of(Kind::Unknown));
            println!(
                "{}, cost {}, {} users: {} {:+.1}% against unknown user (target within {TARGET_PERCENT}%): {}",
                r.store.label(),
                r.cost,
                group(r.n as u64),
                kind.label(),
                diff,
                if diff.abs() < TARGET_PERCENT {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
    }
    println!("load average (1, 5, 15 min) at the end: {}", load_average());
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}

/// The kinds of failed login timed, each against the unknown name: a wrong password of an
/// account at the configured cost, of one imported at cost 5 (as `htpasswd -B` makes them),
/// and both kinds of name typed with a capital letter (looked up lower-cased, then as
/// typed, for names from the legacy file).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Wrong,
    WrongImported,
    UnknownCapital,
    WrongCapital,
}

const KINDS: [Kind; 5] = [
    Kind::Unknown,
    Kind::Wrong,
    Kind::WrongImported,
    Kind::UnknownCapital,
    Kind::WrongCapital,
];

/// The cost `htpasswd -B` uses by default.
const IMPORTED_COST: u32 = 5;

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Unknown => "unknown user",
            Kind::Wrong => "wrong password",
            Kind::WrongImported => "wrong password, hash of cost 5",
            Kind::UnknownCapital => "unknown user typed Capitalised",
            Kind::WrongCapital => "wrong password, name typed Capitalised",
        }
    }

    fn is_known(self) -> bool {
        matches!(self, Kind::Wrong | Kind::WrongImported | Kind::WrongCapital)
    }
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

struct Row {
    store: Store,
    n: usize,
    cost: u32,
    bcrypt: Vec<Duration>,
    /// Samples of each of [`KINDS`], in that order.
    times: Vec<Vec<Duration>>,
    /// The unknown-user tries split in two halves by alternate rounds: a measure of the
    /// noise alone.
    unknown_a: Vec<Duration>,
    unknown_b: Vec<Duration>,
    /// `Service::unlock` after each wrong try (untimed for the tries): a read and a save.
    unlock: Vec<Duration>,
    /// The load average when the case ended.
    load: String,
    wall: Duration,
}

impl Row {
    fn of(&self, kind: Kind) -> &[Duration] {
        &self.times[KINDS.iter().position(|k| *k == kind).unwrap_or(0)]
    }
}

fn measure(dir: &Path, store: Store, n: usize, cost: u32, tries: usize, hash: &str) -> Row {
    let started = Instant::now();
    let filled = stores::fill(
        store,
        &dir.join(format!("{}-cost{cost}-n{n}", store.slug())),
        &format!("enum_{}_{cost}_{n}", store.slug()),
        n,
        hash,
    );
    let service = filled.service(Cost::new(cost).expect("a valid cost"));
    let known = username(n / 2);
    let imported = format!("{known}i");
    let imported_hash = bcrypt::hash(PASSWORD, IMPORTED_COST).expect("bcrypt hash");
    service
        .import_hashes(&[(imported.clone(), imported_hash)])
        .expect("import the cost-5 account");
    // Unknown names sort beside the known one, so that the look-up is as deep for both.
    // Each round types new ones, as someone probing for names would: a typed name that is
    // no account is locked after five failures, like an account (docs/security.md rule
    // 35), and, kept in the service's memory, cannot be unlocked from here.
    let name_of = |kind: Kind, round: usize| match kind {
        Kind::Unknown => format!("{known}x{round:03}"),
        Kind::Wrong => known.clone(),
        Kind::WrongImported => imported.clone(),
        Kind::UnknownCapital => capitalised(&format!("{known}y{round:03}")),
        Kind::WrongCapital => capitalised(&known),
    };
    let wrong = Password::from(WRONG);
    let right = Password::from(PASSWORD);
    // The right passwords work (untimed), so that a wrong one is wrong only by its text
    // (and the cost-5 hash stays at cost 5: it is not the configured one, but a login
    // would upgrade it, so it is checked only with wrong passwords from here on).
    service.login(&known, &right).expect("the known user logs in");

    let mut row = Row {
        store,
        n,
        cost,
        bcrypt: Vec::new(),
        times: vec![Vec::new(); KINDS.len()],
        unknown_a: Vec::new(),
        unknown_b: Vec::new(),
        unlock: Vec::new(),
        load: String::new(),
        wall: Duration::ZERO,
    };

    // Round 0 is a warm-up. Each round runs every kind once, starting one kind further
    // along each time, so that drift, and whatever the previous try left in the caches,
    // falls on all alike.
    for round in 0..=tries {
        let keep = round > 0;
        for step in 0..KINDS.len() {
            let at = (round + step) % KINDS.len();
            let kind = KINDS[at];
            let name = name_of(kind, round);
            let t = Instant::now();
            let result = service.login(&name, &wrong);
            let time = t.elapsed();
            match result {
                Err(AuthError::InvalidCredentials) => {}
                Err(e) => panic!("{name}: expected invalid credentials, got: {e}"),
                Ok(_) => panic!("{name}: a wrong password logged in"),
            }
            if kind.is_known() {
                // A wrong password counts a failure, and five lock the account: clear it
                // (a read and a save), outside the timed part.
                let t = Instant::now();
                service.unlock(&name).expect("unlock");
                if keep {
                    row.unlock.push(t.elapsed());
                }
            }
            if keep {
                row.times[at].push(time);
                if kind == Kind::Unknown {
                    if round % 2 == 0 {
                        row.unknown_a.push(time);
                    } else {
                        row.unknown_b.push(time);
                    }
                }
            }
        }
        // The baseline, every other round.
        if keep && round % 2 == 0 {
            let t = Instant::now();
            let ok = bcrypt::verify(PASSWORD, hash).expect("bcrypt verify");
            row.bcrypt.push(t.elapsed());
            assert!(ok);
        }
    }

    for name in [&known, &imported] {
        let record = filled
            .store
            .get(name)
            .expect("read back")
            .expect("the user is there");
        assert_eq!(record.failed_attempts, 0, "every failure was cleared");
    }
    let failures = service
        .events(Some(&known))
        .expect("read the log")
        .iter()
        .filter(|e| e.event == authtui::store::EventKind::LoginFailure)
        .count();
    assert_eq!(
        failures,
        2 * (tries + 1),
        "every wrong try was logged as a failure of the account, whatever the case typed"
    );
    drop(service);
    filled.remove();
    row.load = load_average();
    row.wall = started.elapsed();
    row
}

// --- The N-user file ---

// --- Settings and the machine ---

fn costs() -> Vec<u32> {
    match std::env::var("AUTHTUI_BENCH_COSTS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|c| {
                let cost = c.trim().parse().ok().and_then(|c| Cost::new(c).ok());
                cost.unwrap_or_else(|| panic!("AUTHTUI_BENCH_COSTS: {c:?} is not a cost 4-20"))
                    .get()
            })
            .collect(),
        _ => DEFAULT_COSTS.to_vec(),
    }
}

// --- Summaries and the table ---

/// The q-quantile (0.5: the median), interpolated between the two nearest samples.
fn quantile(xs: &[Duration], q: f64) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().map(ms).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let at = q * (v.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
}

/// How much the median of `a` is above that of `b`, in % of `b`'s.
fn percent(a: &[Duration], b: &[Duration]) -> f64 {
    (median(a) / median(b) - 1.0) * 100.0
}

/// "median (p25-p75)".
fn med_iqr(xs: &[Duration]) -> String {
    format!(
        "{} ({}-{})",
        fmt_ms(median(xs)),
        fmt_ms(quantile(xs, 0.25)),
        fmt_ms(quantile(xs, 0.75))
    )
}

fn print_table_of(rows: &[Row]) {
    println!("Failed logins, ms as median (25th-75th percentile); % against the unknown user:");
    let mut headers = vec!["store", "cost", "N users", "bare bcrypt ms"];
    for kind in KINDS {
        headers.push(kind.label());
        if kind != Kind::Unknown {
            headers.push("%");
        }
    }
    headers.extend(["noise: A/A split %", "unlock ms", "load after"]);
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.store.label().to_owned(),
                r.cost.to_string(),
                group(r.n as u64),
                med_iqr(&r.bcrypt),
            ];
            for kind in KINDS {
                cells.push(med_iqr(r.of(kind)));
                if kind != Kind::Unknown {
                    cells.push(format!("{:+.1}", percent(r.of(kind), r.of(Kind::Unknown))));
                }
            }
            cells.push(format!("{:+.1}", percent(&r.unknown_a, &r.unknown_b)));
            cells.push(med_iqr(&r.unlock));
            cells.push(r.load.clone());
            cells
        })
        .collect();
    print_table(&headers, &table);
}
