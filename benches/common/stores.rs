//! The three stores the benchmarks compare (users.json, SQLite, PostgreSQL), each filled
//! with the same N accounts, and a throwaway PostgreSQL cluster for them.
//!
//! The cluster is the tests' own (`tests/pg/mod.rs`, included by path): Debian's
//! `initdb` and `postgres` from `/usr/lib/postgresql/*/bin`, run as the `postgres` user
//! when we are root, on a Unix socket in a temporary directory that a guard shell removes
//! when this process ends, however it ends. Where the tests fail without PostgreSQL, a
//! benchmark says what to install and measures the other stores.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use authtui::auth::{Cost, Service};
use authtui::setup::{self, SharedStore};
use authtui::store::{EventLog, StoreUrl, UserRecord};
use chrono::{DateTime, Utc};

use super::{initial_login_count, timestamp, username, write_users_file};

#[path = "../../tests/pg/mod.rs"]
mod pg;

/// Accounts handed to `insert_new` at once (what `authtui migrate` does in batches of
/// 10,000: one transaction each).
pub const BATCH: usize = 10_000;

/// How long a store waits for a lock or a connection.
const WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Json,
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Json => "users.json",
            Kind::Sqlite => "SQLite",
            Kind::Postgres => "PostgreSQL",
        }
    }

    /// A name for files and databases.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "pg",
        }
    }
}

/// The stores `$AUTHTUI_BENCH_STORES` names (comma-separated: `json`, `sqlite`,
/// `postgres`/`pg`), else all three. PostgreSQL is dropped, with a line on stderr saying
/// what to install, when no throwaway cluster can be started.
pub fn kinds_asked() -> Vec<Kind> {
    let asked: Vec<Kind> = match std::env::var("AUTHTUI_BENCH_STORES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.to_ascii_lowercase().as_str() {
                "json" | "users.json" => Kind::Json,
                "sqlite" => Kind::Sqlite,
                "pg" | "postgres" | "postgresql" => Kind::Postgres,
                other => panic!(
                    "AUTHTUI_BENCH_STORES: {other:?} is not a store (json, sqlite, postgres); \
                     PostgreSQL is always a throwaway cluster the bench starts itself"
                ),
            })
            .collect(),
        _ => vec![Kind::Json, Kind::Sqlite, Kind::Postgres],
    };
    asked
        .into_iter()
        .filter(|k| match k {
            Kind::Postgres => match cluster() {
                Ok(_) => true,
                Err(why) => {
                    // On both streams: `cargo bench … > out.md` keeps the tables and this.
                    let note = format!(
                        "PostgreSQL NOT MEASURED: cannot start a throwaway cluster ({why}). \
                         To measure it: apt-get install postgresql (its server programs in \
                         /usr/lib/postgresql/*/bin; the bench starts and removes its own cluster). \
                         Going on with the other stores."
                    );
                    eprintln!("{note}");
                    println!("{note}");
                    false
                }
            },
            _ => true,
        })
        .collect()
}

static STARTED: OnceLock<Result<&'static pg::Cluster, String>> = OnceLock::new();

/// The throwaway cluster, started on first use. The tests' harness panics (a test must
/// fail) where a benchmark goes on: its panic is caught here and kept as the reason.
fn cluster() -> Result<&'static pg::Cluster, String> {
    STARTED
        .get_or_init(|| {
            let t = Instant::now();
            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let started = std::panic::catch_unwind(pg::cluster);
            std::panic::set_hook(hook);
            match started {
                Ok(cluster) => {
                    eprintln!(
                        "started a throwaway PostgreSQL cluster in {} ({:.1} s); it is removed when the bench ends",
                        cluster.dir.display(),
                        t.elapsed().as_secs_f64()
                    );
                    Ok(cluster)
                }
                Err(panic) => Err(panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "the harness panicked".to_owned())),
            }
        })
        .clone()
}

/// The account `i` of N, with the facts [`write_users_file`] gives it: created, last and
/// previous login, a login count, and for one in 50 a failed attempt since.
pub fn record(i: usize, hash: &str) -> UserRecord {
    let at = |salt| {
        Some(
            DateTime::parse_from_rfc3339(&timestamp(i, salt))
                .expect("a valid timestamp")
                .with_timezone(&Utc),
        )
    };
    let mut r = UserRecord::new(hash.to_owned(), Utc::now());
    r.created_at = at(0);
    r.last_login_at = at(3);
    r.previous_login_at = at(1);
    r.login_count = initial_login_count(i);
    if i % 50 == 49 {
        r.failed_attempts = 1;
    }
    r
}

/// A store of `kind` holding N accounts `user0000000`… (all with `hash`), made in `dir`
/// (users.json, SQLite) or as a new database `name` of the cluster; what it took.
pub struct Filled {
    pub kind: Kind,
    pub url: StoreUrl,
    pub store: SharedStore,
    pub log: Arc<dyn EventLog>,
    /// How long filling it took.
    pub fill: Duration,
    dir: PathBuf,
    database: Option<String>,
}

impl Filled {
    /// A service over this store (and its activity log) at `cost`, as the app opens it.
    /// Several may share the store.
    pub fn service(&self, cost: Cost) -> Service {
        Service::new(Arc::clone(&self.store), cost).with_log(Arc::clone(&self.log))
    }

    /// Removes the store (its directory, or its database), once every service over it is
    /// gone.
    pub fn remove(self) {
        let Filled {
            store,
            log,
            dir,
            database,
            ..
        } = self;
        drop((store, log));
        if let Some(name) = database {
            cluster()
                .expect("the cluster is running")
                .client("postgres")
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop the database");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

pub fn fill(kind: Kind, dir: &Path, name: &str, n: usize, hash: &str) -> Filled {
    let t = Instant::now();
    std::fs::create_dir_all(dir).expect("create the case directory");
    let url = match kind {
        Kind::Json => {
            let path = dir.join("users.json");
            // The store's own on-disk form, written directly: what a users.json of N
            // accounts is, at the speed of a write.
            write_users_file(&path, n, hash);
            StoreUrl::Json(path)
        }
        Kind::Sqlite => StoreUrl::Sqlite(dir.join("accounts.db")),
        Kind::Postgres => {
            let cluster = cluster().expect("the cluster was started when the stores were chosen");
            StoreUrl::Postgres(cluster.database(name))
        }
    };
    let (store, log) =
        setup::open_store(&url, WAIT, Arc::new(|_: &Path| {})).unwrap_or_else(|e| panic!("open {url}: {e}"));
    match kind {
        Kind::Json => {}
        Kind::Sqlite => insert_all(&store, n, hash, 1),
        Kind::Postgres => {
            // One statement per account in each batch's transaction: a few threads (each
            // its own pooled connection) keep the server busy while the client builds rows.
            insert_all(&store, n, hash, 3);
            // What autovacuum would do to a table this size soon after; done now rather
            // than in the middle of the timed logins.
            cluster()
                .expect("the cluster is running")
                .client(name)
                .batch_execute("VACUUM ANALYZE")
                .expect("VACUUM ANALYZE");
        }
    }
    Filled {
        kind,
        url,
        store,
        log,
        fill: t.elapsed(),
        dir: dir.to_path_buf(),
        database: (kind == Kind::Postgres).then(|| name.to_owned()),
    }
}

/// N accounts through the store's `insert_new`, in batches of [`BATCH`], from `threads`
/// threads (taking the batches in turn).
fn insert_all(store: &SharedStore, n: usize, hash: &str, threads: usize) {
    let batches = n.div_ceil(BATCH);
    std::thread::scope(|s| {
        for t in 0..threads.min(batches).max(1) {
            s.spawn(move || {
                for b in (t..batches).step_by(threads) {
                    let accounts: Vec<(String, UserRecord)> = (b * BATCH..((b + 1) * BATCH).min(n))
                        .map(|i| (username(i), record(i, hash)))
                        .collect();
                    let added = store.insert_new(&accounts).expect("insert the accounts");
                    assert!(added.iter().all(|a| *a), "every account is new");
                }
            });
        }
    });
}

/// Adds one more account, `name`, with `hash` (of another cost, say).
pub fn add(store: &SharedStore, name: &str, hash: &str) {
    let added = store
        .insert_new(&[(name.to_owned(), UserRecord::new(hash.to_owned(), Utc::now()))])
        .expect("add an account");
    assert_eq!(added, [true], "{name} is new");
}
