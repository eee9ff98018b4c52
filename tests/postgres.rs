//! The PostgreSQL store against a real server (a throwaway cluster, tests/pg): the schema
//! and its version, the trait's one-account-at-a-time semantics, the claim's arithmetic,
//! many processes at once, and connections killed mid-transaction.

mod common;
mod pg;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use authtui::auth::{Cost, Service, throttle};
use authtui::store::{
    Change, Claim, Event, EventKind, EventLog, LockSchedule, MemoryStore, PostgresStore, UserRecord, UserStore,
};
use chrono::{DateTime, Utc};
use common::{PW, PW2, Output};

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
fn an_empty_database_gets_schema_v1_on_open() {
    let cluster = pg::cluster();
    let url = cluster.database("schema_v1");
    open(&url);
    let mut db = cluster.client("schema_v1");
    let version: String = db
        .query_one("SELECT value FROM authtui_meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, "1");
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
            "users.username text",
            "users.password_hash text",
            "users.created_at bigint",
            "users.last_login_at bigint",
            "users.previous_login_at bigint",
            "users.login_count bigint",
            "users.failed_attempts integer",
            "users.locked_until bigint",
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
        db.query_one("SELECT xmin::text FROM authtui_meta", &[]).unwrap().get(0)
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
    db.batch_execute("UPDATE authtui_meta SET value = '2' WHERE key = 'schema_version'")
        .unwrap();
    let sb = common::Sandbox::new();
    for (args, stdin) in [
        (vec!["user", "list"], None),
        (vec!["user", "add", "bob", "--password-stdin"], Some(format!("{PW}\n"))),
        (vec!["verify", "nobody", "--password-stdin"], Some(format!("{PW}\n"))),
        (vec!["log"], None),
    ] {
        let out = run(&sb, &url, &args, stdin.as_deref());
        out.expect_code(2).expect_no_panic();
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{out:#?}");
        assert!(
            errors[0].contains("schema version 2") && errors[0].contains("use a newer authtui"),
            "{out:#?}"
        );
    }
    let users: i64 = db.query_one("SELECT count(*) FROM users", &[]).unwrap().get(0);
    let events: i64 = db.query_one("SELECT count(*) FROM events", &[]).unwrap().get(0);
    let version: String = db
        .query_one("SELECT value FROM authtui_meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    assert_eq!((users, events, version.as_str()), (0, 0, "2"), "never downgraded");
    // The library says the same, as a value.
    let err = PostgresStore::open(&url, WAIT).err().unwrap();
    assert!(matches!(err, authtui::store::StoreError::UnsupportedSchema { found: 2, .. }), "{err}");
}

#[test]
fn a_wrong_or_unreachable_url_is_a_one_line_error_without_the_password() {
    let cluster = pg::cluster();
    let socket = cluster.url("no_such_db").replace("postgres@", "postgres:s3cretpw@");
    let sb = common::Sandbox::new();
    for url in [
        "postgres://alice:s3cretpw@127.0.0.1:1/accounts",
        "postgresql://alice:s3cretpw@%2Fno%2Fsuch%2Fdir/accounts",
        "postgres://alice:s3cretpw@db.example:notaport/accounts",
        "postgres://127.0.0.1:1/accounts?user=alice&password=s3cretpw",
        socket.as_str(),
    ] {
        let started = Instant::now();
        let out = run(&sb, url, &["user", "list"], None);
        out.expect_code(2).expect_no_panic();
        assert!(started.elapsed() < Duration::from_secs(15), "{url}: took {:?}", started.elapsed());
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{url}: {out:#?}");
        assert!(!out.stderr.contains("s3cretpw") && !out.stdout.contains("s3cretpw"), "{out:#?}");
        assert!(errors[0].starts_with("authtui: postgres"), "{out:#?}");
        assert!(errors[0].contains('…'), "the password's place is shown redacted: {out:#?}");
    }
    let out = run(&sb, &socket, &["user", "list"], None);
    assert!(out.stderr.contains("no_such_db"), "{out:#?}");
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
    assert_eq!(store.get("alice").unwrap().unwrap().last_login_at, Some(at(1_767_225_900)));
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
    assert_eq!(
        store.all().unwrap().keys().collect::<Vec<_>>(),
        ["alice", "bob"]
    );
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
    assert_eq!((key.as_str(), r.password_hash.as_str()), ("alice", "$2b$04$lower"));
    let (key, r) = store.find(&["Alice", "alice"]).unwrap().unwrap();
    assert_eq!((key.as_str(), r.password_hash.as_str()), ("Alice", "$2b$04$legacy"));
    let (key, _) = store.find(&["bob", "Alice"]).unwrap().unwrap();
    assert_eq!(key, "Alice");
    assert_eq!(store.find(&["bob", "BOB"]).unwrap(), None);
    assert_eq!(store.find(&[]).unwrap(), None);
}

#[test]
fn insert_new_adds_the_free_names_in_one_change_and_the_first_of_a_batch_wins() {
    let cluster = pg::cluster();
    let store = open(&cluster.database("insert_new"));
    assert_eq!(store.insert_new(&[("carol".into(), record("$2b$04$carol", 1))]).unwrap(), [true]);
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
        db.query_one("SELECT xmin::text FROM authtui_meta WHERE key = 'schema_version'", &[])
            .unwrap()
            .get(0)
    };
    let empty = xmin(&mut db);
    store.rewrite().unwrap();
    assert_eq!(xmin(&mut db), empty, "an empty store is left unwritten");
    store.insert_new(&[("alice".into(), record("$2b$04$x", 1))]).unwrap();
    store.rewrite().unwrap();
    let once = xmin(&mut db);
    assert_ne!(once, empty, "a rewrite is a committed write");
    store.rewrite().unwrap();
    assert_ne!(xmin(&mut db), once);
    let version: String = db
        .query_one("SELECT value FROM authtui_meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, "1", "and changes nothing");
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
    for (i, schedule) in schedules.iter().enumerate() {
        let pg = open(&cluster.database(&format!("claim_{i}")));
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
            let expected = memory.claim_attempt("alice", at(now), schedule).unwrap();
            let got = pg.claim_attempt("alice", at(now), schedule).unwrap();
            assert_eq!(got, expected, "schedule {i}, claim {steps} at {now}");
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
        assert_eq!(pg.claim_attempt("nobody", at(now), schedule).unwrap(), Claim::Missing);
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
        ["signup", "login_failure", "login_success", "password_changed", "unlocked", "idle_timeout"]
    );
    // A row of a newer build's kind is skipped with a warning, not an error.
    db.batch_execute("INSERT INTO events (at, event, username) VALUES (6, 'from_the_future', 'alice')")
        .unwrap();
    assert_eq!(log.all().unwrap().len(), events.len());
    let warnings = log.take_warnings();
    assert!(warnings.len() == 1 && warnings[0].contains("from_the_future"), "{warnings:?}");
}

#[test]
fn the_commands_and_the_log_work_the_same_on_postgres() {
    let cluster = pg::cluster();
    let url = cluster.database("commands");
    let sb = common::Sandbox::new();
    run(&sb, &url, &["user", "add", "alice", "--password-stdin"], Some(&format!("{PW}\n"))).expect_code(0);
    run(&sb, &url, &["user", "add", "alice", "--password-stdin"], Some(&format!("{PW}\n"))).expect_code(1);
    run(&sb, &url, &["verify", "alice", "--password-stdin"], Some("wrong\n")).expect_code(1);
    run(&sb, &url, &["verify", "Alice", "--password-stdin"], Some(&format!("{PW}\n"))).expect_code(0);
    run(&sb, &url, &["verify", "nobody", "--password-stdin"], Some(&format!("{PW}\n"))).expect_code(1);
    run(&sb, &url, &["user", "passwd", "alice", "--password-stdin"], Some(&format!("{PW2}\n"))).expect_code(0);
    run(&sb, &url, &["verify", "alice", "--password-stdin"], Some(&format!("{PW2}\n"))).expect_code(0);
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
    assert_eq!(run(&sb, &url, &["user", "list", "--json"], None).stdout.trim(), "[]");
}
