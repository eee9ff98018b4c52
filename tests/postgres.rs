//! The PostgreSQL store against a real server (a throwaway cluster, tests/pg): the schema
//! and its version, the trait's one-account-at-a-time semantics, the claim's arithmetic,
//! many processes at once, and connections killed mid-transaction.

mod common;
mod pg;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use authtui::auth::{AuthError, Bcrypt, Cost, HashError, Hasher, Password, throttle};
use authtui::store::{
    Bucket, Change, Claim, Event, EventKind, EventLog, LockSchedule, MemoryStore, PostgresStore, UserRecord,
    UserStore,
};
use chrono::{DateTime, Utc};
use common::{Output, PW, PW2};

const WAIT: Duration = Duration::from_secs(30);

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn open(url: &str) -> PostgresStore {
    PostgresStore::open(url, WAIT).unwrap_or_else(|e| panic!("{e}"))
}

fn cost4() -> Cost {
    Cost::new(4).unwrap()
}

/// `authtui --store URL --cost 4 ARGS…`, in a sandbox (no real data directory).
fn authtui(sb: &common::Sandbox, url: &str, args: &[&str]) -> Command {
    let mut cmd = sb.bare_command(&["--store", url, "--cost", "4"]);
    cmd.args(args);
    cmd
}

fn run(sb: &common::Sandbox, url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    common::run(authtui(sb, url, args), stdin.map(str::as_bytes))
}

fn record(hash: &str, created: i64) -> UserRecord {
    UserRecord::new(hash.to_owned(), at(created))
}

// --- Schema ---

#[test]
fn an_empty_database_gets_schema_v2_on_open() {
    let cluster = pg::cluster();
    let url = cluster.database("schema_v2");
    open(&url);
    let mut db = cluster.client("schema_v2");
    let version: String = db
        .query_one("SELECT value FROM authtui_meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, "2");
    let columns: Vec<(String, String, String)> = db
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let shown: Vec<String> = columns.iter().map(|(t, c, d)| format!("{t}.{c} {d}")).collect();
    assert_eq!(
        shown,
        [
            "authtui_meta.key text",
            "authtui_meta.value text",
            "events.id bigint",
            "events.at bigint",
            "events.event text",
            "events.username text",
            "events.from_addr text",
            "users.username text",
            "users.password_hash text",
            "users.created_at bigint",
            "users.last_login_at bigint",
            "users.previous_login_at bigint",
            "users.login_count bigint",
            "users.failed_attempts integer",
            "users.locked_until bigint",
            "users.last_login_from text",
            "users.known_addresses ARRAY",
            "users.known_failed_attempts integer",
            "users.known_locked_until bigint",
        ]
    );
    let index: String = db
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'events' AND indexname = 'events_username_id'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(index.contains("(username, id)"), "{index}");
    // Opening again finds it and changes nothing.
    let xmin = |db: &mut postgres::Client| -> String {
        db.query_one("SELECT xmin::text FROM authtui_meta", &[])
            .unwrap()
            .get(0)
    };
    let before = xmin(&mut db);
    open(&url);
    assert_eq!(xmin(&mut db), before);
}

#[test]
fn a_newer_schema_is_a_one_line_error_and_nothing_is_written() {
    let cluster = pg::cluster();
    let url = cluster.database("schema_newer");
    open(&url);
    let mut db = cluster.client("schema_newer");
    db.batch_execute("UPDATE authtui_meta SET value = '3' WHERE key = 'schema_version'")
        .unwrap();
    let sb = common::Sandbox::new();
    for (args, stdin) in [
        (vec!["user", "list"], None),
        (
            vec!["user", "add", "bob", "--password-stdin"],
            Some(format!("{PW}\n")),
        ),
        (
            vec!["verify", "nobody", "--password-stdin"],
            Some(format!("{PW}\n")),
        ),
        (vec!["log"], None),
    ] {
        let out = run(&sb, &url, &args, stdin.as_deref());
        out.expect_code(2).expect_no_panic();
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{out:#?}");
        assert!(
            errors[0].contains("schema version 3") && errors[0].contains("use a newer authtui"),
            "{out:#?}"
        );
    }
    let users: i64 = db.query_one("SELECT count(*) FROM users", &[]).unwrap().get(0);
    let events: i64 = db.query_one("SELECT count(*) FROM events", &[]).unwrap().get(0);
    let version: String = db
        .query_one("SELECT value FROM authtui_meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    assert_eq!((users, events, version.as_str()), (0, 0, "3"), "never downgraded");
    // The library says the same, as a value; and an upgrade refuses it too.
    let err = PostgresStore::open(&url, WAIT).err().unwrap();
    assert!(
        matches!(err, authtui::store::StoreError::NewerSchema { found: 3, .. }),
        "{err}"
    );
    let out = run(&sb, &url, &["upgrade-store"], None);
    out.expect_code(2).expect_no_panic();
    assert!(out.stderr.contains("schema version 3"), "{out:#?}");
}

/// Schema version 1, as authtui 0.1 before client addresses made it.
const SCHEMA_V1: &str = "
CREATE TABLE authtui_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at BIGINT,
    last_login_at BIGINT, previous_login_at BIGINT, login_count BIGINT NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until BIGINT
);
CREATE TABLE events (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, event TEXT NOT NULL, username TEXT NOT NULL);
CREATE INDEX events_username_id ON events (username, id);
INSERT INTO authtui_meta (key, value) VALUES ('schema_version', '1');
";

#[test]
fn a_schema_v1_database_is_refused_until_upgrade_store_upgrades_it_keeping_everything() {
    let cluster = pg::cluster();
    let url = cluster.database("schema_old");
    let mut db = cluster.client("schema_old");
    db.batch_execute(SCHEMA_V1).unwrap();
    let hash = bcrypt::hash(PW, 4).unwrap();
    db.execute(
        "INSERT INTO users (username, password_hash, created_at, login_count, failed_attempts) VALUES ('alice', $1, 100, 3, 2)",
        &[&hash],
    )
    .unwrap();
    db.batch_execute("INSERT INTO events (at, event, username) VALUES (100, 'signup', 'alice')")
        .unwrap();
    let sb = common::Sandbox::new();
    for args in [
        &["user", "list"][..],
        &["log"],
        &["verify", "alice", "--password-stdin"],
    ] {
        let out = run(&sb, &url, args, Some(&format!("{PW}\n")));
        out.expect_code(2).expect_no_panic();
        assert_eq!(out.errors().len(), 1, "{out:#?}");
        assert!(
            out.stderr.contains("schema version 1") && out.stderr.contains("authtui upgrade-store"),
            "{out:#?}"
        );
    }
    let out = run(&sb, &url, &["upgrade-store"], None);
    out.expect_code(0).expect_no_panic();
    assert!(out.stdout.contains("from schema version 1 to 2"), "{out:#?}");
    let out = run(
        &sb,
        &url,
        &["verify", "alice", "--password-stdin"],
        Some(&format!("{PW}\n")),
    );
    out.expect_code(0);
    let store = open(&url);
    let alice = store.get("alice").unwrap().unwrap();
    assert_eq!((alice.login_count, alice.created_at), (4, Some(at(100))));
    let out = run(&sb, &url, &["log"], None);
    out.expect_code(0);
    assert!(out.stdout.contains("signed up"), "{out:#?}");
    let out = run(&sb, &url, &["upgrade-store"], None);
    out.expect_code(0);
    assert!(
        out.stdout.contains("already at this authtui's schema"),
        "{out:#?}"
    );
}

#[test]
fn a_wrong_or_unreachable_url_is_a_one_line_error_without_the_password() {
    let cluster = pg::cluster();
    let socket = cluster
        .url("no_such_db")
        .replace("postgres@", "postgres:s3cretpw@");
    let sb = common::Sandbox::new();
    let refused = "cannot connect: error connecting to server: Connection refused (os error 111)";
    for (url, reason) in [
        ("postgres://alice:s3cretpw@127.0.0.1:1/accounts", refused),
        (
            "postgresql://alice:s3cretpw@%2Fno%2Fsuch%2Fdir/accounts",
            "cannot connect: error connecting to server: No such file or directory (os error 2)",
        ),
        (
            "postgres://alice:s3cretpw@db.example:notaport/accounts",
            "not a PostgreSQL URL that authtui can use (invalid connection string: invalid value for option `port`)",
        ),
        (
            "postgres://127.0.0.1:1/accounts?user=alice&password=s3cretpw",
            refused,
        ),
        (
            socket.as_str(),
            "cannot connect: FATAL: database \"no_such_db\" does not exist",
        ),
    ] {
        let started = Instant::now();
        let out = run(&sb, url, &["user", "list"], None);
        out.expect_code(2).expect_no_panic();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{url}: took {:?}",
            started.elapsed()
        );
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{url}: {out:#?}");
        assert!(
            !out.stderr.contains("s3cretpw") && !out.stdout.contains("s3cretpw"),
            "{out:#?}"
        );
        assert!(errors[0].starts_with("authtui: postgres"), "{out:#?}");
        assert!(
            errors[0].contains('…'),
            "the password's place is shown redacted: {out:#?}"
        );
        // The reason in full, each cause once.
        assert!(errors[0].ends_with(&format!(": {reason}")), "{out:#?}");
    }
    let out = run(&sb, &socket, &["user", "list"], None);
    assert!(out.stderr.contains("no_such_db"), "{out:#?}");
    // The app too says so in one line, before it takes the terminal.
    let out = run(&sb, "postgres://alice:s3cretpw@127.0.0.1:1/accounts", &[], None);
    out.expect_code(2).expect_no_panic();
    assert_eq!(out.errors().len(), 1, "{out:#?}");
    assert!(!out.stderr.contains("s3cretpw"), "{out:#?}");
}

// --- The trait, one account at a time ---

#[test]
fn reads_and_writes_keep_every_field_in_whole_seconds() {
    let cluster = pg::cluster();
    let store = open(&cluster.database("fields"));
    assert_eq!(store.get("alice").unwrap(), None);
    assert!(store.all().unwrap().is_empty());
    let full = UserRecord {
        password_hash: common::pw_hash(),
        created_at: Some(at(1_767_225_600)),
        last_login_at: Some(at(1_767_225_700)),
        previous_login_at: Some(at(1_767_225_650)),
        login_count: 42,
        failed_attempts: 3,
        locked_until: Some(at(1_767_225_800)),
        last_login_from: Some("[2001:db8::1]:22".into()),
        known_addresses: vec!["2001:db8::1".into(), "203.0.113.7".into()],
        known_failed_attempts: 2,
        known_locked_until: Some(at(1_767_225_801)),
    };
    store
        .update_user("alice", &mut |r| {
            assert!(r.is_none());
            *r = Some(full.clone());
            Change::Save
        })
        .unwrap();
    assert_eq!(store.get("alice").unwrap(), Some(full.clone()));
    // Sub-seconds are dropped, as the file drops them.
    let precise = DateTime::from_timestamp(1_767_225_900, 999_000_000).unwrap();
    store
        .update_user("alice", &mut |r| {
            r.as_mut().unwrap().last_login_at = Some(precise);
            Change::Save
        })
        .unwrap();
    assert_eq!(
        store.get("alice").unwrap().unwrap().last_login_at,
        Some(at(1_767_225_900))
    );
    // Keep writes nothing, even if the closure changed its copy.
    store
        .update_user("alice", &mut |r| {
            r.as_mut().unwrap().login_count = 0;
            Change::Keep
        })
        .unwrap();
    assert_eq!(store.get("alice").unwrap().unwrap().login_count, 42);
    // A legacy record: no times at all.
    store
        .update_user("bob", &mut |r| {
            *r = Some(UserRecord {
                password_hash: common::pw_hash(),
                ..UserRecord::default()
            });
            Change::Save
        })
        .unwrap();
    assert_eq!(store.get("bob").unwrap().unwrap().created_at, None);
    assert_eq!(store.all().unwrap().keys().collect::<Vec<_>>(), ["alice", "bob"]);
    // Delete.
    store
        .update_user("alice", &mut |r| {
            *r = None;
            Change::Save
        })
        .unwrap();
    assert_eq!(store.get("alice").unwrap(), None);
    // Deleting what is not there, and saving nothing for it, are both no-ops.
    store
        .update_user("nobody", &mut |r| {
            *r = None;
            Change::Save
        })
        .unwrap();
    assert_eq!(store.all().unwrap().len(), 1);
    assert!(store.location().starts_with("postgres://postgres@"));
}

#[test]
fn find_reads_both_spellings_at_once_and_prefers_the_first_name_given() {
    let cluster = pg::cluster();
    let store = open(&cluster.database("find"));
    let added = store
        .insert_new(&[
            ("alice".into(), record("$2b$04$lower", 1)),
            ("Alice".into(), record("$2b$04$legacy", 2)),
        ])
        .unwrap();
    assert_eq!(added, [true, true]);
    let (key, r) = store.find(&["alice", "Alice"]).unwrap().unwrap();
    assert_eq!(
        (key.as_str(), r.password_hash.as_str()),
        ("alice", "$2b$04$lower")
    );
    let (key, r) = store.find(&["Alice", "alice"]).unwrap().unwrap();
    assert_eq!(
        (key.as_str(), r.password_hash.as_str()),
        ("Alice", "$2b$04$legacy")
    );
    let (key, _) = store.find(&["bob", "Alice"]).unwrap().unwrap();
    assert_eq!(key, "Alice");
    assert_eq!(store.find(&["bob", "BOB"]).unwrap(), None);
    assert_eq!(store.find(&[]).unwrap(), None);
}

#[test]
fn insert_new_adds_the_free_names_in_one_change_and_the_first_of_a_batch_wins() {
    let cluster = pg::cluster();
    let store = open(&cluster.database("insert_new"));
    assert_eq!(
        store
            .insert_new(&[("carol".into(), record("$2b$04$carol", 1))])
            .unwrap(),
        [true]
    );
    let added = store
        .insert_new(&[
            ("alice".into(), record("$2b$04$first", 1)),
            ("carol".into(), record("$2b$04$other", 2)),
            ("alice".into(), record("$2b$04$second", 3)),
            ("bob".into(), record("$2b$04$bob", 4)),
        ])
        .unwrap();
    assert_eq!(added, [true, false, false, true]);
    assert_eq!(store.get("alice").unwrap().unwrap().password_hash, "$2b$04$first");
    assert_eq!(store.get("carol").unwrap().unwrap().password_hash, "$2b$04$carol");
    assert_eq!(store.insert_new(&[]).unwrap(), Vec::<bool>::new());
}

#[test]
fn rewrite_writes_a_row_unless_the_store_is_empty() {
    let cluster = pg::cluster();
    let store = open(&cluster.database("rewrite"));
    let mut db = cluster.client("rewrite");
    let xmin = |db: &mut postgres::Client| -> String {
        db.query_one(
            "SELECT xmin::text FROM authtui_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let empty = xmin(&mut db);
    store.rewrite().unwrap();
    assert_eq!(xmin(&mut db), empty, "an empty store is left unwritten");
    store
        .insert_new(&[("alice".into(), record("$2b$04$x", 1))])
        .unwrap();
    store.rewrite().unwrap();
    let once = xmin(&mut db);
    assert_ne!(once, empty, "a rewrite is a committed write");
    store.rewrite().unwrap();
    assert_ne!(xmin(&mut db), once);
    let version: String = db
        .query_one("SELECT value FROM authtui_meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, "2", "and changes nothing");
}

/// Two changes that both find no account and both create it: the one that commits second
/// loses the race on the name (a unique violation), and is run again, now seeing the
/// account the first made, instead of failing. `change` is called once more for it.
#[test]
fn a_change_that_loses_the_race_to_create_an_account_is_run_again_on_it() {
    let cluster = pg::cluster();
    let url = cluster.database("create_race");
    let store = Arc::new(open(&url));
    let (inside, entered) = std::sync::mpsc::channel();
    let (release, go_on) = std::sync::mpsc::channel::<()>();
    let first = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            let mut calls = 0;
            store
                .update_user("carol", &mut |r| {
                    calls += 1;
                    if calls == 1 {
                        // Found no carol: wait while the other change makes her.
                        assert!(r.is_none());
                        inside.send(()).unwrap();
                        go_on.recv().unwrap();
                    }
                    match r {
                        Some(r) => r.login_count += 10,
                        None => *r = Some(UserRecord::new("$2b$04$first".into(), at(1))),
                    }
                    Change::Save
                })
                .map(|()| calls)
        })
    };
    entered.recv().unwrap();
    store
        .update_user("carol", &mut |r| {
            assert!(r.is_none(), "the first change has not committed");
            *r = Some(UserRecord {
                login_count: 1,
                ..UserRecord::new("$2b$04$second".into(), at(2))
            });
            Change::Save
        })
        .unwrap();
    release.send(()).unwrap();
    let calls = first.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls, 2, "run again once");
    let carol = store.get("carol").unwrap().unwrap();
    assert_eq!(carol.password_hash, "$2b$04$second", "made by the one that won");
    assert_eq!(carol.login_count, 11, "and changed by the one run again");
}

/// Signups that deadlock on each other's names (bob then alice here, alice then bob
/// there): the server aborts one, and the store runs its transaction again instead of
/// failing; the names the other took are then not free.
#[test]
fn a_signup_aborted_by_a_deadlock_is_run_again() {
    let cluster = pg::cluster();
    let url = cluster.database("deadlock");
    let store = Arc::new(open(&url));
    let mut other = cluster.client("deadlock");
    // This session waits long before it looks for a deadlock: the store's looks first
    // (after the server's default second), so the store's transaction is the one aborted.
    other.batch_execute("SET deadlock_timeout = '20s'").unwrap();
    let mut tx = other.transaction().unwrap();
    let insert = "INSERT INTO users (username, password_hash, created_at) VALUES ($1, 'x', 0)";
    tx.execute(insert, &[&"bob"]).unwrap();
    let signup = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            store.insert_new(&[
                ("alice".into(), record("$2b$04$a", 1)),
                ("bob".into(), record("$2b$04$b", 1)),
            ])
        })
    };
    // The store has alice and waits for bob.
    let mut admin = cluster.client("postgres");
    let deadline = Instant::now() + Duration::from_secs(20);
    while admin
        .query_opt(
            "SELECT 1 FROM pg_stat_activity WHERE datname = 'deadlock' AND wait_event_type = 'Lock'",
            &[],
        )
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the signup never waited for bob");
        thread::sleep(Duration::from_millis(10));
    }
    tx.execute(insert, &[&"alice"]).unwrap();
    tx.commit().unwrap();
    let added = signup.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(added, [false, false], "both names were taken by the other");
    assert_eq!(store.get("alice").unwrap().unwrap().password_hash, "x");
}

/// Claims on the database and on a `MemoryStore` (the trait's default claim over
/// `LockSchedule::claim`) give the same outcomes and leave the same records, through the
/// first lock, the doublings (and their cap at 16), the longest lock, and the permanent
/// lock; refused claims count nothing.
#[test]
fn a_claim_in_one_statement_keeps_the_schedule_s_arithmetic() {
    let cluster = pg::cluster();
    let schedules = [
        throttle::SCHEDULE,
        // Many doublings before the cap: shows the min(…, 16).
        LockSchedule {
            lock_after: 2,
            permanent_after: 40,
            first_lock_secs: 1,
            max_lock_secs: 1 << 40,
        },
        LockSchedule {
            lock_after: 1,
            permanent_after: 3,
            first_lock_secs: 7,
            max_lock_secs: 10,
        },
    ];
    let cases = schedules
        .iter()
        .enumerate()
        .flat_map(|(i, s)| [(i, s, Bucket::Anyone), (i, s, Bucket::Known)]);
    for (i, schedule, bucket) in cases {
        let pg = open(&cluster.database(&format!("claim_{i}_{bucket:?}").to_lowercase()));
        let memory = MemoryStore::new();
        let start = record(&common::pw_hash(), 1_767_225_600);
        for store in [&pg as &dyn UserStore, &memory] {
            store.insert_new(&[("alice".into(), start.clone())]).unwrap();
        }
        let mut now = 1_767_225_600_i64;
        let mut admitted = 0;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 400, "no permanent lock after {steps} claims");
            let expected = memory.claim_attempt("alice", at(now), schedule, bucket).unwrap();
            let got = pg.claim_attempt("alice", at(now), schedule, bucket).unwrap();
            assert_eq!(got, expected, "schedule {i} {bucket:?}, claim {steps} at {now}");
            assert_eq!(pg.get("alice").unwrap(), memory.get("alice").unwrap());
            match expected {
                Claim::Admitted { .. } => admitted += 1,
                Claim::Locked(authtui::store::LockState::Until(until)) => {
                    // Try once more a second before it ends (refused), then at its end.
                    if until.timestamp() - 1 > now {
                        now = until.timestamp() - 1;
                    } else {
                        now = until.timestamp();
                    }
                }
                Claim::Locked(_) => break,
                Claim::Missing => unreachable!(),
            }
        }
        assert_eq!(admitted, schedule.permanent_after, "schedule {i}");
        let other = match bucket {
            Bucket::Anyone => Bucket::Known,
            Bucket::Known => Bucket::Anyone,
        };
        assert!(
            matches!(
                pg.claim_attempt("alice", at(now), schedule, other).unwrap(),
                Claim::Admitted { .. }
            ),
            "the other bucket is its own"
        );
        assert_eq!(
            pg.claim_attempt("nobody", at(now), schedule, bucket).unwrap(),
            Claim::Missing
        );
    }
}

#[test]
fn the_activity_log_is_a_table_read_newest_or_oldest_first() {
    let cluster = pg::cluster();
    let store = open(&cluster.database("events"));
    let log = store.event_log();
    let event = |secs, kind, user: &str| Event {
        at: at(secs),
        event: kind,
        username: user.into(),
        from: (user == "bob").then(|| "203.0.113.7:50122".into()),
    };
    assert_eq!(log.all().unwrap(), []);
    let events = [
        event(1, EventKind::Signup, "alice"),
        event(2, EventKind::LoginFailure, "bob"),
        event(3, EventKind::LoginSuccess, "alice"),
        event(3, EventKind::PasswordChanged, "alice"),
        event(4, EventKind::Unlocked, "bob"),
        event(5, EventKind::IdleTimeout, "alice"),
    ];
    for e in &events {
        log.append(e).unwrap();
    }
    assert_eq!(log.all().unwrap(), events);
    let recent = log.recent("alice", 3).unwrap();
    assert_eq!(recent, [events[5].clone(), events[3].clone(), events[2].clone()]);
    assert_eq!(log.recent("carol", 5).unwrap(), []);
    let mut db = cluster.client("events");
    let names: Vec<String> = db
        .query("SELECT event FROM events ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        names,
        [
            "signup",
            "login_failure",
            "login_success",
            "password_changed",
            "unlocked",
            "idle_timeout"
        ]
    );
    // A row of a newer build's kind is skipped with a warning, not an error.
    db.batch_execute("INSERT INTO events (at, event, username) VALUES (6, 'from_the_future', 'alice')")
        .unwrap();
    assert_eq!(log.all().unwrap().len(), events.len());
    let warnings = log.take_warnings();
    assert!(
        warnings.len() == 1 && warnings[0].contains("from_the_future"),
        "{warnings:?}"
    );
    // Many such rows: a read warns of the first 20, not of every one.
    db.batch_execute(
        "INSERT INTO events (at, event, username) SELECT n, 'from_the_future_' || n, 'alice' FROM generate_series(7, 36) n",
    )
    .unwrap();
    assert_eq!(log.all().unwrap().len(), events.len());
    let warnings = log.take_warnings();
    assert_eq!(warnings.len(), 20, "{warnings:?}");
    assert!(warnings[0].contains("(from_the_future, at 6)"), "{warnings:?}");
    assert!(warnings[19].contains("from_the_future_25"), "{warnings:?}");
}

#[test]
fn the_commands_and_the_log_work_the_same_on_postgres() {
    let cluster = pg::cluster();
    let url = cluster.database("commands");
    let sb = common::Sandbox::new();
    run(
        &sb,
        &url,
        &["user", "add", "alice", "--password-stdin"],
        Some(&format!("{PW}\n")),
    )
    .expect_code(0);
    run(
        &sb,
        &url,
        &["user", "add", "alice", "--password-stdin"],
        Some(&format!("{PW}\n")),
    )
    .expect_code(1);
    run(
        &sb,
        &url,
        &["verify", "alice", "--password-stdin"],
        Some("wrong\n"),
    )
    .expect_code(1);
    run(
        &sb,
        &url,
        &["verify", "Alice", "--password-stdin"],
        Some(&format!("{PW}\n")),
    )
    .expect_code(0);
    run(
        &sb,
        &url,
        &["verify", "nobody", "--password-stdin"],
        Some(&format!("{PW}\n")),
    )
    .expect_code(1);
    run(
        &sb,
        &url,
        &["user", "passwd", "alice", "--password-stdin"],
        Some(&format!("{PW2}\n")),
    )
    .expect_code(0);
    run(
        &sb,
        &url,
        &["verify", "alice", "--password-stdin"],
        Some(&format!("{PW2}\n")),
    )
    .expect_code(0);
    let list = run(&sb, &url, &["user", "list", "--json"], None);
    list.expect_code(0);
    let accounts: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(accounts[0]["username"], "alice");
    assert_eq!(accounts[0]["login_count"], 2, "{accounts}");
    let log = run(&sb, &url, &["log", "--user", "alice"], None);
    log.expect_code(0);
    let said: Vec<&str> = log
        .stdout
        .lines()
        .map(|l| l.split("  alice").nth(1).unwrap_or(l).trim())
        .collect();
    assert_eq!(
        said,
        [
            "account created by an administrator",
            "failed login",
            "logged in",
            "password set by an administrator",
            "logged in",
        ],
        "{log:#?}"
    );
    // The unknown name's failure is in the same table, under no name.
    let all = run(&sb, &url, &["log"], None);
    assert!(all.stdout.contains("(unknown name)"), "{all:#?}");
    run(&sb, &url, &["user", "remove", "alice"], None).expect_code(0);
    assert_eq!(
        run(&sb, &url, &["user", "list", "--json"], None).stdout.trim(),
        "[]"
    );
}

// --- Many hosts at once ---

/// The heavy tests below take turns: the machine is small, and each wants it whole.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

const HOST_URL: &str = "AUTHTUI_TEST_PG_HOST_URL";
const HOST_GUESSES: usize = 250;
const HOSTS: usize = 4;

/// bcrypt, counting the verifications that reach it.
struct Counting(Arc<AtomicUsize>);

impl Hasher for Counting {
    fn hash(&self, password: &str, cost: u32) -> Result<String, HashError> {
        Bcrypt.hash(password, cost)
    }

    fn verify(&self, password: &str, stored: &str) -> Result<bool, HashError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Bcrypt.verify(password, stored)
    }
}

/// Not a test of its own: the body of one "host" of the test below, run in a child
/// process (this test binary again) when `AUTHTUI_TEST_PG_HOST_URL` is set. It opens the
/// store with 50 connections, readies 250 threads each with a wrong password for alice,
/// says READY, and on a line on stdin lets them all go; then says what each was told.
#[test]
fn host_process_for_the_many_hosts_test() {
    let Ok(url) = std::env::var(HOST_URL) else {
        return;
    };
    let store = PostgresStore::open_with_pool_size(&url, Duration::from_secs(60), 50).unwrap();
    let log = store.event_log();
    let reached = Arc::new(AtomicUsize::new(0));
    let service = Arc::new(
        authtui::auth::Service::new(store, cost4())
            .with_log(log)
            .with_hasher(Counting(Arc::clone(&reached))),
    );
    let barrier = Arc::new(Barrier::new(HOST_GUESSES + 1));
    let threads: Vec<_> = (0..HOST_GUESSES)
        .map(|_| {
            let (service, barrier) = (Arc::clone(&service), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                match service.login("alice", &Password::from("a wrong guess at it")) {
                    Err(AuthError::InvalidCredentials) => "wrong",
                    Err(AuthError::Locked { until: Some(_), .. }) => "locked",
                    Err(e) => {
                        eprintln!("host: unexpected: {e}");
                        "other"
                    }
                    Ok(_) => "admitted",
                }
            })
        })
        .collect();
    println!("READY");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    barrier.wait();
    let told: Vec<&str> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let count = |what| told.iter().filter(|t| **t == what).count();
    println!(
        "RESULT wrong={} locked={} other={} reached={}",
        count("wrong"),
        count("locked"),
        count("other") + count("admitted"),
        reached.load(Ordering::SeqCst)
    );
}

#[test]
fn four_hosts_of_250_simultaneous_wrong_passwords_count_and_lock_exactly_as_the_rules_say() {
    let _turn = heavy();
    let cluster = pg::cluster();
    let url = cluster.database("many_hosts");
    let store = open(&url);
    store
        .insert_new(&[("alice".into(), record(&common::pw_hash(), 1))])
        .unwrap();
    let mut hosts: Vec<_> = (0..HOSTS)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "host_process_for_the_many_hosts_test",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(HOST_URL, &url)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outputs: Vec<_> = hosts
        .iter_mut()
        .map(|h| BufReader::new(h.stdout.take().unwrap()).lines())
        .collect();
    for lines in &mut outputs {
        let ready = lines.by_ref().map_while(Result::ok).any(|l| l.ends_with("READY"));
        assert!(ready, "a host did not get ready");
    }
    let started = Utc::now().timestamp();
    let time = Instant::now();
    let mut stdins: Vec<_> = hosts.iter_mut().map(|h| h.stdin.take().unwrap()).collect();
    for stdin in &mut stdins {
        stdin.write_all(b"go\n").unwrap();
    }
    let mut totals = [0usize; 4];
    for (lines, host) in outputs.iter_mut().zip(hosts) {
        let result = lines
            .map_while(Result::ok)
            .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_owned()))
            .unwrap_or_else(|| panic!("a host said no RESULT: {:#?}", host.wait_with_output()));
        for (i, part) in result.split_whitespace().enumerate() {
            totals[i] += part.split_once('=').unwrap().1.parse::<usize>().unwrap();
        }
    }
    let ended = Utc::now().timestamp();
    eprintln!(
        "{} guesses from {HOSTS} hosts in {:?}",
        HOSTS * HOST_GUESSES,
        time.elapsed()
    );
    let [wrong, locked, other, reached] = totals;
    let alice = store.get("alice").unwrap().unwrap();
    assert_eq!(alice.failed_attempts, 5, "{alice:?}");
    assert_eq!(reached, 5, "only the five admitted attempts reach bcrypt");
    assert_eq!(
        (wrong, locked, other),
        (4, HOSTS * HOST_GUESSES - 4, 0),
        "four are told wrong; the fifth locks it, and the rest find the lock"
    );
    let until = alice.locked_until.unwrap().timestamp();
    assert!(
        (started + throttle::FIRST_LOCK_SECS..=ended + throttle::FIRST_LOCK_SECS).contains(&until),
        "locked for 30 s from the fifth failure: {until} not in {started}+30..={ended}+30"
    );
    let mut db = cluster.client("many_hosts");
    let counts: Vec<(String, i64)> = db
        .query(
            "SELECT event, count(*) FROM events GROUP BY event ORDER BY event",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        counts,
        [
            ("locked".to_owned(), 1),
            ("login_failure".to_owned(), (HOSTS * HOST_GUESSES) as i64)
        ]
    );
}

#[test]
fn a_hundred_authtui_processes_guessing_at_once_reach_bcrypt_at_most_the_threshold() {
    let _turn = heavy();
    let cluster = pg::cluster();
    let url = cluster.database("many_verify");
    open(&url)
        .insert_new(&[("alice".into(), record(&common::pw_hash(), 1))])
        .unwrap();
    let sb = common::Sandbox::new();
    let guesses = 100;
    let mut children: Vec<_> = (0..guesses)
        .map(|_| {
            let mut cmd = authtui(&sb, &url, &["verify", "alice", "--password-stdin"]);
            cmd.stdin(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    // Each waits for its password (after opening the store): release them together.
    thread::sleep(Duration::from_millis(500));
    let stdins: Vec<_> = children.iter_mut().map(|c| c.stdin.take().unwrap()).collect();
    for mut stdin in stdins {
        stdin.write_all(b"a wrong guess at the password\n").unwrap();
    }
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| common::wait_with_timeout(c, Duration::from_secs(120)))
        .collect();
    for o in &outputs {
        o.expect_code(1).expect_no_panic();
    }
    let locked = outputs
        .iter()
        .filter(|o| o.stderr.contains("Too many failed attempts"))
        .count();
    let alice = open(&url).get("alice").unwrap().unwrap();
    assert_eq!(alice.failed_attempts, 5, "{alice:?}");
    assert_eq!(locked, guesses - 4);
}

#[test]
fn eight_processes_adding_100_accounts_each_leave_exactly_800() {
    let _turn = heavy();
    let cluster = pg::cluster();
    // A new database: the first of the processes create the schema, at once.
    let url = cluster.database("signups");
    let time = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let url = url.clone();
            thread::spawn(move || {
                let sb = common::Sandbox::new();
                let mut outcomes = Vec::new();
                // All eight also race for one name: exactly one gets it.
                let shared = run(
                    &sb,
                    &url,
                    &["user", "add", "shared", "--password-stdin"],
                    Some(&format!("{PW}\n")),
                );
                outcomes.push(("shared".to_owned(), shared));
                for i in 0..100 {
                    let name = format!("user{w}x{i}");
                    let out = run(
                        &sb,
                        &url,
                        &["user", "add", &name, "--password-stdin"],
                        Some(&format!("{PW}\n")),
                    );
                    outcomes.push((name, out));
                }
                outcomes
            })
        })
        .collect();
    let outcomes: Vec<(String, Output)> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    eprintln!("808 signups from 8 processes at a time in {:?}", time.elapsed());
    let mut shared_won = 0;
    for (name, out) in &outcomes {
        out.expect_no_panic();
        if name == "shared" {
            match out.code {
                Some(0) => shared_won += 1,
                Some(1) => assert!(out.stderr.contains("already taken"), "{out:#?}"),
                _ => panic!("{out:#?}"),
            }
        } else {
            out.expect_code(0);
        }
    }
    assert_eq!(shared_won, 1);
    let mut db = cluster.client("signups");
    let names: BTreeSet<String> = db
        .query("SELECT username FROM users", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: BTreeSet<String> = (0..8)
        .flat_map(|w| (0..100).map(move |i| format!("user{w}x{i}")))
        .chain(["shared".to_owned()])
        .collect();
    assert_eq!(names.len(), 801);
    assert_eq!(names, expected);
    let created: i64 = db
        .query_one("SELECT count(*) FROM events WHERE event = 'account_created'", &[])
        .unwrap()
        .get(0);
    assert_eq!(created, 801);
}

// --- The pool ---

/// The backends connected to `db` now, by pid (the tests' own clients use other databases).
fn backends(cluster: &pg::Cluster, db: &str) -> BTreeSet<i32> {
    let rows = cluster
        .client("postgres")
        .query("SELECT pid FROM pg_stat_activity WHERE datname = $1", &[&db])
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// A store on a new database `db` holding alice, and the one backend it has open.
fn store_with_alice(cluster: &pg::Cluster, db: &str) -> (PostgresStore, BTreeSet<i32>) {
    let store = open(&cluster.database(db));
    store
        .insert_new(&[("alice".into(), record(&common::pw_hash(), 1))])
        .unwrap();
    let first = backends(cluster, db);
    assert_eq!(first.len(), 1, "one connection after one write: {first:?}");
    (store, first)
}

/// Ends backend `pid` from the server's side, as `pg_terminate_backend` does.
fn terminate(cluster: &pg::Cluster, pid: i32) {
    let killed: bool = cluster
        .client("postgres")
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(killed, "backend {pid}");
}

/// One thread's reads and writes, one after the other, are all served by the connection
/// the first one opened: a connection given back is kept and lent again, not closed and
/// made anew for every statement.
#[test]
fn the_pool_lends_one_connection_again_and_again() {
    let cluster = pg::cluster();
    let (store, first) = store_with_alice(cluster, "pool_reuse");
    for round in 0..5 {
        store.get("alice").unwrap().expect("alice");
        store.find(&["bob", "alice"]).unwrap().expect("alice");
        store
            .update_user("alice", &mut |r| {
                r.as_mut().unwrap().login_count += 1;
                Change::Save
            })
            .unwrap();
        store.event_log().recent("alice", 5).unwrap();
        assert_eq!(backends(cluster, "pool_reuse"), first, "round {round}");
    }
    assert_eq!(store.get("alice").unwrap().unwrap().login_count, 5);
}

/// A connection idle for longer than a second is checked before it is lent again: kept
/// while its server end is alive, replaced (with no error to the caller) once the server
/// has closed it, as a restart or an idle time-out on the server would.
#[test]
fn a_connection_idle_past_a_second_is_checked_kept_if_alive_and_replaced_if_not() {
    let cluster = pg::cluster();
    let (store, first) = store_with_alice(cluster, "pool_idle");
    thread::sleep(Duration::from_millis(1200));
    store.get("alice").unwrap().expect("alice");
    assert_eq!(backends(cluster, "pool_idle"), first, "alive: kept");
    let pid = *first.iter().next().unwrap();
    terminate(cluster, pid);
    wait_gone(cluster, "pool_idle", pid);
    thread::sleep(Duration::from_millis(1200));
    store.get("alice").unwrap().expect("alice, on a new connection");
    let now = backends(cluster, "pool_idle");
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(!now.contains(&pid), "{now:?}");
}

/// A change that waits longer than the lock time-out for a row another transaction holds
/// says so (not the server's own words), changes nothing, and leaves the connection
/// usable: once the row is free, the same change succeeds on the same connection.
#[test]
fn a_row_lock_held_past_the_lock_timeout_is_named_and_nothing_changes() {
    let cluster = pg::cluster();
    let url = cluster.database("row_lock_timeout");
    let store = PostgresStore::open(&url, Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"));
    let before = record(&common::pw_hash(), 1);
    store.insert_new(&[("alice".into(), before.clone())]).unwrap();
    let ours = backends(cluster, "row_lock_timeout");
    let mut holder = cluster.client("row_lock_timeout");
    let mut held = holder.transaction().unwrap();
    held.execute("SELECT 1 FROM users WHERE username = 'alice' FOR UPDATE", &[])
        .unwrap();
    let mut bump = |r: &mut Option<UserRecord>| {
        r.as_mut().unwrap().login_count += 1;
        Change::Save
    };
    let started = Instant::now();
    let err = store.update_user("alice", &mut bump).unwrap_err().to_string();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for the lock"
    );
    assert!(
        err.contains(
            "cannot change an account: another process held the account's row lock for more than 1 s; nothing was changed"
        ),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    held.rollback().unwrap();
    drop(holder);
    assert_eq!(store.get("alice").unwrap(), Some(before));
    store.update_user("alice", &mut bump).unwrap();
    assert_eq!(store.get("alice").unwrap().unwrap().login_count, 1);
    assert!(
        ours.is_subset(&backends(cluster, "row_lock_timeout")),
        "a statement's error keeps the connection"
    );
}

/// Our backends in `db`: all of them but the test's own `holder`.
fn ours(cluster: &pg::Cluster, db: &str, holder: i32) -> BTreeSet<i32> {
    let mut all = backends(cluster, db);
    all.remove(&holder);
    all
}

/// Waits until the backend `pid` is gone from the server.
fn wait_gone(cluster: &pg::Cluster, db: &str, pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while backends(cluster, db).contains(&pid) {
        assert!(Instant::now() < deadline, "backend {pid} did not end");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A pool of one connection: while that connection waits on a row lock, a second caller
/// waits for it (no second connection is opened); when the waiting connection is killed,
/// its caller is told and the pool opens a new one for the next caller; when a new one
/// cannot be made, the caller is told why, and the next caller gets one once it can.
#[test]
fn a_pool_of_one_never_opens_two_and_replaces_the_connections_it_loses() {
    let cluster = pg::cluster();
    let db = "pool_of_one";
    let url = cluster.database(db);
    let store = Arc::new(
        PostgresStore::open_with_pool_size(&url, Duration::from_secs(10), 1)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let before = record(&common::pw_hash(), 1);
    store.insert_new(&[("alice".into(), before.clone())]).unwrap();
    let mut holder = cluster.client(db);
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let first = ours(cluster, db, holder_pid);
    assert_eq!(first.len(), 1, "{first:?}");
    let pid = *first.iter().next().unwrap();

    let mut held = holder.transaction().unwrap();
    held.execute("SELECT 1 FROM users WHERE username = 'alice' FOR UPDATE", &[])
        .unwrap();
    let changer = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            store.update_user("alice", &mut |r| {
                r.as_mut().unwrap().login_count += 1;
                Change::Save
            })
        })
    };
    let mut admin = cluster.client("postgres");
    let deadline = Instant::now() + Duration::from_secs(20);
    while admin
        .query_opt(
            "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
            &[&pid],
        )
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the change never waited on the row lock"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let reader = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.get("alice"))
    };
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        ours(cluster, db, holder_pid),
        first,
        "the second caller waits for the one connection"
    );
    assert!(!reader.is_finished(), "the second caller waits");

    terminate(cluster, pid);
    let err = changer.join().unwrap().unwrap_err().to_string();
    assert!(err.contains("cannot change an account: "), "{err}");
    assert_eq!(
        reader.join().unwrap().unwrap(),
        Some(before.clone()),
        "the second caller is served by a new connection"
    );
    let second = ours(cluster, db, holder_pid);
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(!second.contains(&pid), "{second:?}");
    held.rollback().unwrap();
    drop(holder);

    // Its connection lost while idle, and no new one to be had: said, and then recovered.
    admin
        .batch_execute(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"))
        .unwrap();
    let pid = *second.iter().next().unwrap();
    terminate(cluster, pid);
    wait_gone(cluster, db, pid);
    thread::sleep(Duration::from_millis(1200));
    let err = store.get("alice").unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "cannot connect: FATAL: database \"{db}\" is not currently accepting connections"
        )),
        "{err}"
    );
    admin
        .batch_execute(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .unwrap();
    assert_eq!(store.get("alice").unwrap(), Some(before));
    assert_eq!(backends(cluster, db).len(), 1);
}

// --- Connections killed mid-transaction ---

/// Waits until a connection to `db` is idle inside a transaction (paused by the test
/// hook); gives its backend's pid.
fn paused_backend(cluster: &pg::Cluster, db: &str) -> i32 {
    let mut admin = cluster.client("postgres");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'",
                &[&db],
            )
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        assert!(Instant::now() < deadline, "no transaction paused in {db}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Whether another connection can take alice's row lock at once.
fn row_is_free(cluster: &pg::Cluster, db: &str, name: &str) -> bool {
    let mut client = cluster.client(db);
    let mut tx = client.transaction().unwrap();
    match tx.query(
        "SELECT 1 FROM users WHERE username = $1 FOR UPDATE NOWAIT",
        &[&name],
    ) {
        Ok(_) => true,
        Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => false,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_connection_killed_while_a_change_holds_the_row_lock_changes_nothing() {
    let cluster = pg::cluster();
    let url = cluster.database("killed_update");
    let store = open(&url);
    let before = UserRecord {
        failed_attempts: 3,
        locked_until: Some(at(4_000_000_000)),
        ..record(&common::pw_hash(), 1)
    };
    store.insert_new(&[("alice".into(), before.clone())]).unwrap();
    let sb = common::Sandbox::new();
    // A password change (update_user: new hash, lock cleared) and a signup (insert_new),
    // each paused before its commit and its connection killed there.
    for (args, who) in [
        (["user", "passwd", "alice", "--password-stdin"], "alice"),
        (["user", "add", "bob", "--password-stdin"], "bob"),
    ] {
        let mut cmd = authtui(&sb, &url, &args);
        cmd.env("AUTHTUI_TEST_PG_PAUSE_BEFORE_COMMIT", "3");
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PW2}\n").as_bytes())
            .unwrap();
        let pid = paused_backend(cluster, "killed_update");
        if who == "alice" {
            assert!(
                !row_is_free(cluster, "killed_update", who),
                "the paused change holds the row lock"
            );
        }
        terminate(cluster, pid);
        let out = common::wait_with_timeout(child, Duration::from_secs(30));
        out.expect_code(2).expect_no_panic();
        assert!(out.stderr.contains("test hook: paused before commit"), "{out:#?}");
        let errors: Vec<&str> = out
            .errors()
            .into_iter()
            .filter(|l| !l.contains("test hook"))
            .collect();
        assert_eq!(errors.len(), 1, "{out:#?}");
        assert!(errors[0].starts_with("authtui: postgres://postgres@"), "{out:#?}");
        assert!(
            row_is_free(cluster, "killed_update", who),
            "the lock went with the connection"
        );
    }
    // Nothing of either change is left: alice as she was, no bob, no event of either.
    assert_eq!(store.get("alice").unwrap(), Some(before));
    assert_eq!(store.get("bob").unwrap(), None);
    assert_eq!(store.event_log().all().unwrap(), []);
    // And the accounts still work: the old password is still alice's (once unlocked).
    run(&sb, &url, &["user", "unlock", "alice"], None).expect_code(0);
    run(
        &sb,
        &url,
        &["verify", "alice", "--password-stdin"],
        Some(&format!("{PW}\n")),
    )
    .expect_code(0);
}

#[test]
fn backends_killed_in_a_loop_during_a_stream_of_writes_lose_no_acknowledged_write() {
    let _turn = heavy();
    let cluster = pg::cluster();
    let url = cluster.database("killed_stream") + "?application_name=authtui_stream";
    let store = open(&url);
    store
        .insert_new(&[("alice".into(), record(&common::pw_hash(), 1))])
        .unwrap();
    drop(store);
    let settings = authtui::setup::Settings {
        store: authtui::store::StoreUrl::Postgres(url.clone()),
        cost: cost4(),
        lock_timeout: WAIT,
    };
    let (service, _log) =
        authtui::setup::open(&settings, std::sync::Arc::new(|_: &std::path::Path| {})).unwrap();
    let service = Arc::new(service);
    let done = Arc::new(AtomicBool::new(false));
    let killer = {
        let done = Arc::clone(&done);
        let mut admin = cluster.client("postgres");
        thread::spawn(move || {
            let mut kills = 0;
            while !done.load(Ordering::SeqCst) {
                let row = admin
                    .query_one(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                         WHERE application_name = 'authtui_stream' AND pid <> pg_backend_pid()",
                        &[],
                    )
                    .unwrap();
                kills += row.get::<_, i64>(0);
                thread::sleep(Duration::from_millis(50));
            }
            kills
        })
    };
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let service = Arc::clone(&service);
            thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..60 {
                    let name = format!("w{w}x{i}");
                    if service.create_account(&name, &Password::from(PW)).is_ok() {
                        acked.push(name);
                    }
                }
                acked
            })
        })
        .collect();
    let logins = {
        let service = Arc::clone(&service);
        thread::spawn(move || {
            let mut acked = 0u64;
            for _ in 0..100 {
                if service.login("alice", &Password::from(PW)).is_ok() {
                    acked += 1;
                }
                // A login whose success was lost leaves its claim counted: keep alice
                // unlocked so that the stream goes on.
                let _ = service.unlock("alice");
            }
            acked
        })
    };
    let acked: Vec<String> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let acked_logins = logins.join().unwrap();
    done.store(true, Ordering::SeqCst);
    let kills = killer.join().unwrap();
    eprintln!(
        "{} of 180 signups and {acked_logins} of 100 logins acknowledged; {kills} backends killed",
        acked.len()
    );
    assert!(kills >= 5, "the killer killed {kills} backends");
    assert!(
        !acked.is_empty() && acked_logins > 0,
        "the pool recovered after kills"
    );
    let check = open(&cluster.url("killed_stream"));
    let present = check.all().unwrap();
    for name in &acked {
        let record = present
            .get(name)
            .unwrap_or_else(|| panic!("acknowledged {name} was lost"));
        assert!(record.password_hash.starts_with("$2b$04$") && record.password_hash.len() == 60);
    }
    let alice = &present["alice"];
    assert!(
        (acked_logins..=100).contains(&alice.login_count),
        "{acked_logins} acknowledged logins, {} counted",
        alice.login_count
    );
    assert_eq!(alice.last_login_at.is_some(), alice.login_count > 0);
    // Whatever was not acknowledged is there whole or not at all.
    for (name, record) in &present {
        assert!(record.password_hash.len() == 60, "{name}: {record:?}");
    }
}
