//! What a login costs on each store, and how many logins a second 8 clients get, against
//! what bcrypt alone allows: users.json, SQLite and PostgreSQL side by side in one run. A
//! benchmark with its figures, not a pass/fail test: the machines are shared and noisy.
//!
//! - **Login cost**: `Service::login` (find, claim, bcrypt, record the success and the
//!   event) at 1k / 10k / 100k / 1M users, cost 12, as a multiple of a bare bcrypt verify
//!   of the same hash, medians. Targets: at most 1.05x at every size on SQLite and
//!   PostgreSQL; on users.json at most 1.05x up to 100k and 1.25x at 1M. Beside it, the
//!   store's own share measured on its own (a login at cost 4 on the same store, less a
//!   cost-4 verify), which a loaded machine's bcrypt noise does not drown.
//! - **Throughput**: 8 threads logging in (each its own accounts) at 100k users, cost 10,
//!   for 10 s, against the machine's bcrypt limit (cores / one verify). Target: at least
//!   80 % of it. Beside it, the same 8 threads doing bare verifies just before and after.
//!
//! PostgreSQL is a throwaway cluster the bench starts itself, as the tests do
//! (`tests/pg/mod.rs`), and removes when it ends; without PostgreSQL installed it says
//! what to install and measures the other stores. The run draws `assets/growth.svg`.
//!
//! Run: `cargo bench --bench store_backends` (all three stores, 1k to 1M users), or choose:
//!
//! ```text
//! cargo bench --bench store_backends -- 1000 10000 100000
//! AUTHTUI_BENCH_STORES=sqlite,postgres AUTHTUI_BENCH_TRIES=31 cargo bench --bench store_backends
//! AUTHTUI_BENCH_PLOT=none AUTHTUI_BENCH_TPUT=0 cargo bench --bench store_backends -- 1M
//! ```
//!
//! See `bench/README.md` for the settings, the columns and the figures.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::plot::{self, Plot, Series, Target};
use common::stores::{self, Kind};
use common::*;

use authtui::auth::{Cost, Password};
use authtui::store::UserStore;

const DEFAULT_SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const DEFAULT_TRIES: usize = 31;
const PASSWORD: &str = "correct horse battery staple";
/// The cost whose login is timed against a bare verify (the default).
const COST: u32 = 12;
/// The cost of the logins that measure the store's share alone (bcrypt about 1 ms).
const LIGHT_COST: u32 = 4;
/// Throughput: clients, users, cost, and how long the logins run.
const CLIENTS: usize = 8;
const TPUT_N: usize = 100_000;
const TPUT_COST: u32 = 10;
const TPUT_SECS: u64 = 10;
/// Targets: at most 1.05x at every size (users.json: up to 100,000), 1.25x for users.json
/// at 1,000,000; at least 80 % of the bcrypt limit.
const TARGET: f64 = 1.05;
const JSON_TARGET_N: usize = 100_000;
const JSON_BIG_TARGET: f64 = 1.25;
const TPUT_TARGET: f64 = 80.0;
const PLOT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/growth.svg");

fn main() {
    // `cargo test --benches` runs this binary without `--bench`: a smoke run only.
    let smoke = !std::env::args().any(|a| a == "--bench") && sizes_asked().is_none();
    let sizes = if smoke {
        vec![100]
    } else {
        sizes_asked().unwrap_or_else(|| DEFAULT_SIZES.to_vec())
    };
    let (cost, tput_cost) = if smoke { (4, 4) } else { (COST, TPUT_COST) };
    let tries = if smoke {
        3
    } else {
        env_usize("AUTHTUI_BENCH_TRIES").unwrap_or(DEFAULT_TRIES).max(3)
    };
    let tput_secs = if smoke {
        Some(Duration::from_millis(300))
    } else {
        match env_usize("AUTHTUI_BENCH_TPUT")
            .map(|s| s as u64)
            .unwrap_or(TPUT_SECS)
        {
            0 => None,
            s => Some(Duration::from_secs(s)),
        }
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
    println!("authtui store_backends: login cost and throughput per store");
    println!("machine: {}", machine());
    let kinds = stores::kinds_asked();
    println!("files in: {}", dir.path().display());
    println!(
        "stores: {}; sizes: {}; cost {cost}, {tries} timed logins per store and size after one warm-up",
        kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join(", "),
        sizes
            .iter()
            .map(|n| group(*n as u64))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("load average (1, 5, 15 min) at the start: {load_start}");
    println!();

    let hash = bcrypt::hash(PASSWORD, cost).expect("bcrypt hash");
    let light_hash = bcrypt::hash(PASSWORD, LIGHT_COST).expect("bcrypt hash");
    let mut cases = Vec::new();
    // Sizes outside, stores inside: the stores at one size are measured close together.
    for &n in &sizes {
        for &kind in &kinds {
            let case = measure_login(dir.path(), kind, n, cost, tries, &hash, &light_hash);
            eprintln!(
                "  {} at {} users: {:.3}x (share {} ms), filled in {:.1} s, {:.1} s in all, load {}",
                kind.label(),
                group(n as u64),
                case.ratio(),
                fmt_ms(case.share()),
                case.fill.as_secs_f64(),
                case.wall.as_secs_f64(),
                case.load
            );
            cases.push(case);
        }
    }
    print_login_table(&cases, cost);
    println!();

    if let Some(run_for) = tput_secs {
        let n = if smoke { 100 } else { TPUT_N };
        let rows: Vec<Tput> = kinds
            .iter()
            .map(|&kind| {
                let row = throughput(dir.path(), kind, n, tput_cost, run_for);
                eprintln!(
                    "  {} throughput: {:.1} logins/s, {:.0}% of the limit, load {}",
                    kind.label(),
                    row.rate,
                    row.share(),
                    row.load
                );
                row
            })
            .collect();
        print_tput_table(&rows, tput_cost);
        println!();
    }

    let load_end = load_average();
    println!("load average (1, 5, 15 min) at the end: {load_end}");
    match plot_path() {
        Some(path) if !smoke && sizes.len() >= 2 && !cases.is_empty() => {
            let svg = growth_plot(&cases, &kinds, tries, cost, &load_start, &load_end);
            std::fs::write(&path, svg).unwrap_or_else(|e| panic!("write the plot {}: {e}", path.display()));
            println!("plot written to {}", path.display());
        }
        Some(_) => println!("(no plot: it needs a full run of two sizes or more)"),
        None => {}
    }
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}

/// `$AUTHTUI_BENCH_PLOT` (empty or `none`: no plot), else `assets/growth.svg`.
fn plot_path() -> Option<PathBuf> {
    match std::env::var("AUTHTUI_BENCH_PLOT") {
        Ok(p) if p.trim().is_empty() || p.trim() == "none" => None,
        Ok(p) => Some(PathBuf::from(p)),
        Err(_) => Some(PathBuf::from(PLOT_PATH)),
    }
}

/// The figures of one store at one size.
struct Case {
    kind: Kind,
    n: usize,
    fill: Duration,
    /// A bare verify and a login, at `cost`, taking turns.
    bare: Vec<Duration>,
    login: Vec<Duration>,
    /// A login at cost 4 on the same store, and a bare cost-4 verify.
    light: Vec<Duration>,
    light_bare: Vec<Duration>,
    /// The load average when the case ended.
    load: String,
    wall: Duration,
}

impl Case {
    /// The issue's figure: median login / median bare verify.
    fn ratio(&self) -> f64 {
        median(&self.login) / median(&self.bare)
    }

    /// The store's share of a login, ms: cost-4 login less a cost-4 verify, medians.
    fn share(&self) -> f64 {
        median(&self.light) - median(&self.light_bare)
    }

    /// A bare verify plus the store's share, as a multiple of the bare verify.
    fn implied(&self) -> f64 {
        1.0 + self.share() / median(&self.bare)
    }

    fn target(&self) -> f64 {
        if self.kind == Kind::Json && self.n > JSON_TARGET_N {
            JSON_BIG_TARGET
        } else {
            TARGET
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn measure_login(
    dir: &Path,
    kind: Kind,
    n: usize,
    cost: u32,
    tries: usize,
    hash: &str,
    light_hash: &str,
) -> Case {
    let started = Instant::now();
    let filled = stores::fill(
        kind,
        &dir.join(format!("{}-{n}", kind.slug())),
        &format!("login_{}_{n}", kind.slug()),
        n,
        hash,
    );
    // One more account, beside the others, with a cost-4 hash: a cost-4 service logs it
    // in, which is the store's whole work with next to no bcrypt.
    let probe = username(n);
    stores::add(&filled.store, &probe, light_hash);
    let service = filled.service(Cost::new(cost).expect("a valid cost"));
    let light = filled.service(Cost::new(LIGHT_COST).expect("a valid cost"));
    let password = Password::from(PASSWORD);
    let mut case = Case {
        kind,
        n,
        fill: filled.fill,
        bare: Vec::new(),
        login: Vec::new(),
        light: Vec::new(),
        light_bare: Vec::new(),
        load: String::new(),
        wall: Duration::ZERO,
    };
    // Try 0 is a warm-up (the first read of the store). Each try logs in another account
    // spread over the store; login and bare verify take turns going first.
    for i in 0..=tries {
        let name = username((n / 2 + i * 7919) % n);
        let time_login = || {
            let t = Instant::now();
            let session = service.login(&name, &password).expect("login");
            let took = t.elapsed();
            assert_eq!(session.username().as_str(), name);
            took
        };
        let time_bare = || {
            let t = Instant::now();
            assert!(bcrypt::verify(PASSWORD, hash).expect("bcrypt verify"));
            t.elapsed()
        };
        let (login, bare) = if i % 2 == 0 {
            let l = time_login();
            (l, time_bare())
        } else {
            let b = time_bare();
            (time_login(), b)
        };
        let t = Instant::now();
        light.login(&probe, &password).expect("the probe logs in");
        let light_login = t.elapsed();
        let t = Instant::now();
        assert!(bcrypt::verify(PASSWORD, light_hash).expect("bcrypt verify"));
        let light_bare = t.elapsed();
        if i > 0 {
            case.login.push(login);
            case.bare.push(bare);
            case.light.push(light_login);
            case.light_bare.push(light_bare);
        }
    }
    // Every login was recorded, and no account lost.
    let record = filled
        .store
        .get(&probe)
        .expect("read back")
        .expect("the probe is there");
    assert_eq!(
        record.login_count,
        tries as u64 + 1,
        "every login of the probe was recorded"
    );
    let name = username(n / 2);
    let record = filled
        .store
        .get(&name)
        .expect("read back")
        .expect("the account is there");
    assert!(record.login_count > common::initial_login_count(n / 2));
    drop((service, light));
    filled.remove();
    case.load = load_average();
    case.wall = started.elapsed();
    case
}

fn print_login_table(cases: &[Case], cost: u32) {
    println!(
        "Login (find, claim, bcrypt, record) against a bare bcrypt verify, cost {cost}, ms as median / min:"
    );
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            vec![
                c.kind.label().to_owned(),
                group(c.n as u64),
                format!("{:.1}", c.fill.as_secs_f64()),
                med_min(&c.bare),
                med_min(&c.login),
                format!("{:.3}", c.ratio()),
                format!("{}", c.target()),
                verdict(c.ratio() <= c.target()).to_owned(),
                med_min(&c.light),
                fmt_ms(c.share()),
                format!("{:.3}", c.implied()),
                verdict(c.implied() <= c.target()).to_owned(),
                c.load.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "store",
            "N users",
            "fill s",
            "bare bcrypt ms",
            "login ms",
            "login/bcrypt",
            "target",
            "",
            "cost-4 login ms",
            "store share ms",
            "bcrypt+share",
            "",
            "load after",
        ],
        &rows,
    );
}

/// The figures of one store's throughput run.
struct Tput {
    kind: Kind,
    n: usize,
    /// One verify, single-threaded, just before: the limit is cores / this.
    one: f64,
    cores: usize,
    rate: f64,
    /// The same clients doing bare verifies, before and after the logins.
    bare_rate: f64,
    load: String,
}

impl Tput {
    fn limit(&self) -> f64 {
        self.cores as f64 / (self.one / 1e3)
    }

    /// Logins a second as a percentage of cores / one verify (the issue's figure).
    fn share(&self) -> f64 {
        self.rate / self.limit() * 100.0
    }
}

/// `CLIENTS` threads doing `work(client, i)` as often as they can for `run_for`, started
/// together: how many a second they did.
fn run_clients(run_for: Duration, work: impl Fn(usize, usize) + Sync) -> f64 {
    let barrier = Barrier::new(CLIENTS + 1);
    let (done, took) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let started = Instant::now();
                    let mut done = 0;
                    while started.elapsed() < run_for {
                        work(c, done);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let done: usize = workers.into_iter().map(|w| w.join().expect("a client")).sum();
        (done, started.elapsed())
    });
    done as f64 / took.as_secs_f64()
}

fn throughput(dir: &Path, kind: Kind, n: usize, cost: u32, run_for: Duration) -> Tput {
    let hash = bcrypt::hash(PASSWORD, cost).expect("bcrypt hash");
    let filled = stores::fill(
        kind,
        &dir.join(format!("{}-tput", kind.slug())),
        &format!("tput_{}", kind.slug()),
        n,
        &hash,
    );
    let service = filled.service(Cost::new(cost).expect("a valid cost"));
    let password = Password::from(PASSWORD);
    // Warm: the first read of the store.
    service.login(&username(0), &password).expect("login");
    let one = {
        let mut times: Vec<Duration> = (0..7)
            .map(|_| {
                let t = Instant::now();
                assert!(bcrypt::verify(PASSWORD, &hash).unwrap());
                t.elapsed()
            })
            .collect();
        times.sort();
        ms(times[3])
    };
    let bare = || {
        run_clients(run_for / 2, |_, _| {
            assert!(bcrypt::verify(PASSWORD, &hash).unwrap());
        })
    };
    let before = bare();
    // Each client its own accounts: client c logs in c, c + 8, c + 16, …
    let rate = run_clients(run_for, |c, i| {
        let name = username((c + CLIENTS * (i + 1)) % n);
        service.login(&name, &password).expect("login");
    });
    let after = bare();
    drop(service);
    filled.remove();
    Tput {
        kind,
        n,
        one,
        cores: std::thread::available_parallelism().map_or(1, |c| c.get()),
        rate,
        bare_rate: (before + after) / 2.0,
        load: load_average(),
    }
}

fn print_tput_table(rows: &[Tput], cost: u32) {
    println!(
        "Logins a second, {CLIENTS} clients at once for the run's length, cost {cost}, against the bcrypt limit (cores / one verify):"
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.kind.label().to_owned(),
                group(r.n as u64),
                fmt_ms(r.one),
                format!("{:.1}", r.limit()),
                format!("{:.1}", r.rate),
                format!("{:.0}%", r.share()),
                verdict(r.share() >= TPUT_TARGET).to_owned(),
                format!("{:.1}", r.bare_rate),
                format!("{:.0}%", r.rate / r.bare_rate * 100.0),
                r.load.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "store",
            "N users",
            "one verify ms",
            "limit/s",
            "logins/s",
            "of limit",
            "target 80%",
            "bare verifies/s, 8 threads",
            "of those",
            "load after",
        ],
        &table,
    );
}

fn growth_plot(
    cases: &[Case],
    kinds: &[Kind],
    tries: usize,
    cost: u32,
    load_start: &str,
    load_end: &str,
) -> String {
    let series: Vec<Series> = kinds
        .iter()
        .map(|&kind| Series {
            label: kind.label().to_owned(),
            points: cases
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| (c.n, c.ratio(), median(&c.login)))
                .collect(),
        })
        .collect();
    let bare: Vec<Duration> = cases.iter().flat_map(|c| c.bare.iter().copied()).collect();
    let desc = series
        .iter()
        .map(|s| format!("{}: {}", s.label, plot::describe(&s.points)))
        .collect::<Vec<_>>()
        .join(". ");
    let mut targets = vec![Target {
        ratio: TARGET,
        at: None,
        label: String::new(),
    }];
    if kinds.contains(&Kind::Json) {
        targets.push(Target {
            ratio: JSON_BIG_TARGET,
            at: Some(1_000_000),
            label: format!("users.json {JSON_BIG_TARGET}×"),
        });
    }
    plot::svg(&Plot {
        title: format!("Login cost per store as the accounts grow (bcrypt cost {cost})"),
        subtitle: "login = verify + what it records, as a multiple of one bare bcrypt verify".to_owned(),
        name: "authtui: login cost per store as the accounts grow".to_owned(),
        desc: format!(
            "A login (bcrypt verify plus what it records) as a multiple of a bare bcrypt verify at cost {cost}, medians of {tries}. {desc}."
        ),
        x_title: "accounts in the store (log scale)".to_owned(),
        legend_note: format!("median of {tries}"),
        bcrypt_ms: median(&bare),
        targets,
        target_legend: format!("target {TARGET}× (users.json at 1M: {JSON_BIG_TARGET}×)"),
        footer: vec![
            format!(
                "{} · {}",
                chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
                machine()
            ),
            format!(
                "load average (1, 5, 15 min) {load_start} at the start, {load_end} at the end · cargo bench --bench store_backends"
            ),
        ],
        series,
    })
}
