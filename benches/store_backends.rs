//! What a login costs on each store, and how many logins a second 8 clients get, against
//! what bcrypt alone allows. A benchmark with its figures, not a pass/fail test: the
//! machines are shared and noisy.
//!
//! - **Login cost**: `Service::login` (find, claim, bcrypt, record the success) at 1k /
//!   10k / 100k users (1M on request), cost 12, as a multiple of a bare bcrypt verify of the
//!   same hash, medians. Target: at most 1.05x on SQLite and PostgreSQL at every size.
//! - **Throughput**: 8 threads logging in (each its own account) at 100k users, cost 10,
//!   for a fixed time, against the machine's bcrypt limit (cores / one verify). Target: at
//!   least 80 % of it.
//!
//! Run: `cargo bench --bench store_backends` (SQLite and users.json), or choose:
//!
//! ```text
//! cargo bench --bench store_backends -- 1000 10000
//! AUTHTUI_BENCH_STORES=sqlite AUTHTUI_BENCH_TRIES=10 cargo bench --bench store_backends -- 1000000
//! ```

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

use authtui::auth::{Cost, Password, Service};
use authtui::setup;
use authtui::store::{StoreUrl, UserRecord};

const DEFAULT_SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const PASSWORD: &str = "correct horse battery staple";
const CLIENTS: usize = 8;

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench") && sizes_asked().is_none();
    let sizes = if smoke {
        vec![100]
    } else {
        sizes_asked().unwrap_or_else(|| DEFAULT_SIZES.to_vec())
    };
    let (cost, tput_cost) = if smoke { (4, 4) } else { (12, 10) };
    let tries = if smoke {
        3
    } else {
        env_usize("AUTHTUI_BENCH_TRIES").unwrap_or(15).max(3)
    };
    let stores: Vec<String> = std::env::var("AUTHTUI_BENCH_STORES")
        .unwrap_or_else(|_| "sqlite,json".to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if smoke {
        println!("(not run by `cargo bench`: a smoke run only, at cost 4; the figures mean little)");
    }
    let dir = tempfile::Builder::new()
        .prefix("authtui-bench-")
        .tempdir()
        .expect("create a temporary directory");
    println!("authtui login cost and throughput per store");
    println!("machine: {}", machine());
    println!(
        "stores: {}; sizes: {}; cost {cost} ({tries} logins each), throughput at cost {tput_cost}",
        stores.join(", "),
        sizes
            .iter()
            .map(|n| group(*n as u64))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();

    let hash = bcrypt::hash(PASSWORD, cost).expect("bcrypt hash");
    let mut rows = Vec::new();
    for store in &stores {
        for &n in &sizes {
            let case = dir.path().join(format!("{store}-{n}"));
            let service = populated(store, &case, n, &hash, Cost::new(cost).unwrap());
            let mut login = Vec::new();
            let mut bare = Vec::new();
            for i in 0..=tries {
                let name = username((i * 7919) % n);
                let t = Instant::now();
                service.login(&name, &Password::from(PASSWORD)).expect("login");
                let took = t.elapsed();
                let t = Instant::now();
                assert!(bcrypt::verify(PASSWORD, &hash).unwrap());
                let base = t.elapsed();
                if i > 0 {
                    login.push(took);
                    bare.push(base);
                }
            }
            let ratio = median(&login) / median(&bare);
            eprintln!("  {store} at {} users: {ratio:.3}x", group(n as u64));
            rows.push(vec![
                store.clone(),
                group(n as u64),
                fmt_ms(median(&bare)),
                fmt_ms(median(&login)),
                format!("{ratio:.3}x"),
                if ratio <= 1.05 { "met" } else { "MISSED" }.to_owned(),
            ]);
            let _ = std::fs::remove_dir_all(&case);
        }
    }
    println!("Login (find, claim, bcrypt, record) against a bare bcrypt verify, cost {cost}, medians:");
    print_table(
        &[
            "store",
            "N users",
            "bare bcrypt ms",
            "login ms",
            "ratio",
            "target 1.05x",
        ],
        &rows,
    );
    println!();

    let n = if smoke {
        100
    } else {
        *sizes.iter().max().unwrap_or(&100_000).min(&100_000)
    };
    let tput_hash = bcrypt::hash(PASSWORD, tput_cost).expect("bcrypt hash");
    let one = {
        let t = Instant::now();
        for _ in 0..5 {
            bcrypt::verify(PASSWORD, &tput_hash).unwrap();
        }
        t.elapsed() / 5
    };
    let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
    let limit = cores as f64 / one.as_secs_f64();
    let mut rows = Vec::new();
    for store in &stores {
        let case = dir.path().join(format!("{store}-tput"));
        let service = Arc::new(populated(
            store,
            &case,
            n,
            &tput_hash,
            Cost::new(tput_cost).unwrap(),
        ));
        let run_for = if smoke {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(10)
        };
        let started = Instant::now();
        let workers: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let service = Arc::clone(&service);
                std::thread::spawn(move || {
                    let mut done = 0usize;
                    while started.elapsed() < run_for {
                        let name = username((c * 1009 + done * 7) % n);
                        service.login(&name, &Password::from(PASSWORD)).expect("login");
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let rate = total as f64 / started.elapsed().as_secs_f64();
        let share = rate / limit * 100.0;
        rows.push(vec![
            store.clone(),
            group(n as u64),
            format!("{rate:.1}"),
            format!("{limit:.1}"),
            format!("{share:.0}%"),
            if share >= 80.0 { "met" } else { "MISSED" }.to_owned(),
        ]);
        let _ = std::fs::remove_dir_all(&case);
    }
    println!(
        "Logins a second, {CLIENTS} clients at once, cost {tput_cost} (one verify {:.1} ms, {cores} cores):",
        ms(one)
    );
    print_table(
        &[
            "store",
            "N users",
            "logins/s",
            "bcrypt limit/s",
            "share",
            "target 80%",
        ],
        &rows,
    );
}

/// A store of `kind` in `dir` holding N accounts with `hash`, and the service over it.
fn populated(kind: &str, dir: &Path, n: usize, hash: &str, cost: Cost) -> Service {
    std::fs::create_dir_all(dir).expect("create the case directory");
    let url = match kind {
        "sqlite" => StoreUrl::Sqlite(dir.join("accounts.db")),
        "json" => StoreUrl::Json(dir.join("users.json")),
        other => StoreUrl::Postgres(other.to_owned()),
    };
    if let StoreUrl::Json(path) = &url {
        write_users_file(path, n, hash);
    } else {
        let (store, _) = setup::open_store(&url, Duration::from_secs(30), Arc::new(|_: &Path| {}))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        let accounts: Vec<(String, UserRecord)> = (0..n)
            .map(|i| {
                let mut r = UserRecord::new(hash.to_owned(), chrono::Utc::now());
                r.login_count = initial_login_count(i);
                (username(i), r)
            })
            .collect();
        for chunk in accounts.chunks(50_000) {
            store.insert_new(chunk).expect("insert the accounts");
        }
    }
    let settings = setup::Settings {
        store: url,
        cost,
        lock_timeout: Duration::from_secs(30),
    };
    setup::open(&settings, Arc::new(|_: &Path| {}))
        .expect("open the store")
        .0
}
