//! Many `authtui` processes on one SQLite store at once (users.json has the same tests in
//! `tests/concurrency.rs`, PostgreSQL in `tests/postgres.rs`): guesses reach bcrypt at most
//! as often as the threshold allows, and signups lose no account.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{PW, Sandbox};

/// `authtui --store URL --cost 4 ARGS…`, isolated like the sandbox's own commands.
fn command(sb: &Sandbox, store: &str, args: &[&str]) -> Command {
    let mut cmd = sb.bare_command(&["--store", store, "--cost", "4"]);
    cmd.args(args);
    cmd
}

fn add(sb: &Sandbox, store: &str, name: &str) -> common::Output {
    common::run(
        command(sb, store, &["user", "add", name, "--password-stdin"]),
        Some(format!("{PW}\n").as_bytes()),
    )
}

/// A store holding alice, whose hash is of cost 10: slow enough that every guess is in
/// flight at once.
fn store_with_slow_alice(sb: &Sandbox, store: &str) {
    add(sb, store, "alice").expect_code(0);
    let hash = authtui::auth::hashing::hash(&PW.into(), authtui::auth::Cost::new(10).unwrap()).unwrap();
    let entries = format!("bob:{hash}\n");
    let file = sb.dir.path().join("slow.htpasswd");
    std::fs::write(&file, entries).unwrap();
    common::run(command(sb, store, &["user", "remove", "alice"]), None).expect_code(0);
    common::run(
        command(sb, store, &["import-htpasswd", file.to_str().unwrap()]),
        None,
    )
    .expect_code(0);
}

fn guesses_at_once(store_of: impl Fn(&Sandbox) -> String) {
    let sb = Sandbox::new();
    let store = store_of(&sb);
    store_with_slow_alice(&sb, &store);
    let guesses = 30;
    let commands = (0..guesses)
        .map(|_| command(&sb, &store, &["verify", "bob", "--password-stdin"]))
        .collect();
    let outputs = common::run_released(
        commands,
        b"a wrong guess at the password\n",
        Duration::from_secs(120),
    );
    for o in &outputs {
        o.expect_code(1);
    }
    let out = common::run(command(&sb, &store, &["user", "list", "--json"]), None);
    out.expect_code(0);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list[0]["username"], "bob");
    assert_eq!(list[0]["failed_attempts"], 5, "{list}");
    assert_eq!(list[0]["needs_unlock"], false);
}

fn signups_at_once(store_of: impl Fn(&Sandbox) -> String) {
    let sb = Arc::new(Sandbox::new());
    let store = store_of(&sb);
    let workers: Vec<_> = (0..8)
        .map(|p| {
            let (sb, store) = (Arc::clone(&sb), store.clone());
            thread::spawn(move || {
                for i in 0..25 {
                    add(&sb, &store, &format!("u{p}x{i}")).expect_code(0);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let out = common::run(command(&sb, &store, &["user", "list", "--json"]), None);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 200);
}

fn sqlite(sb: &Sandbox) -> String {
    format!("sqlite:{}", sb.dir.path().join("data/accounts.db").display())
}

#[test]
fn sqlite_guesses_from_30_processes_at_once_reach_bcrypt_at_most_5_times() {
    guesses_at_once(sqlite);
}

#[test]
fn sqlite_8_processes_adding_25_accounts_each_lose_none() {
    signups_at_once(sqlite);
}

/// Sets the schema version recorded in the SQLite file at `path` to `version`.
fn set_schema_version(path: &std::path::Path, version: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute(
            "UPDATE authtui_meta SET value = ?1 WHERE key = 'schema_version'",
            [version],
        )
        .unwrap();
}

#[test]
fn a_sqlite_file_of_a_newer_schema_is_refused_and_left_alone() {
    let sb = Sandbox::new();
    let store = sqlite(&sb);
    add(&sb, &store, "alice").expect_code(0);
    let path = sb.dir.path().join("data/accounts.db");
    set_schema_version(&path, "3");
    let before = std::fs::read(&path).unwrap();
    for args in [
        &["user", "list"][..],
        &["user", "add", "bob", "--password-stdin"],
        &["upgrade-store"],
    ] {
        let out = common::run(command(&sb, &store, args), Some(format!("{PW}\n").as_bytes()));
        out.expect_code(2);
        assert!(
            out.stderr.contains(&format!(
                "authtui: {store} has schema version 3, but this authtui reads only version 2: use a newer authtui"
            )),
            "{args:?}: {out:#?}"
        );
        assert_eq!(out.errors().len(), 1, "{out:#?}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// A schema version that is no version (0, negative, not a number) is not taken for an
/// old one to upgrade: the file is not an authtui database, and nothing writes to it.
#[test]
fn a_sqlite_file_whose_schema_version_is_no_version_is_not_ours() {
    let sb = Sandbox::new();
    let store = sqlite(&sb);
    add(&sb, &store, "alice").expect_code(0);
    let path = sb.dir.path().join("data/accounts.db");
    for version in ["0", "-1", "two", ""] {
        set_schema_version(&path, version);
        let before = std::fs::read(&path).unwrap();
        for args in [&["user", "list"][..], &["upgrade-store"]] {
            let out = common::run(command(&sb, &store, args), None);
            out.expect_code(2);
            assert!(
                out.stderr
                    .contains(&format!("authtui: {store} is not an authtui database")),
                "{version:?} {args:?}: {out:#?}"
            );
            assert_eq!(out.errors().len(), 1, "{out:#?}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "{version:?}");
    }
}

#[test]
fn a_sqlite_file_of_schema_v1_is_refused_until_upgrade_store_upgrades_it_keeping_everything() {
    let sb = Sandbox::new();
    let store = sqlite(&sb);
    let path = sb.dir.path().join("data/accounts.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    // Schema version 1, as authtui made it before client addresses.
    conn.execute_batch(
        "CREATE TABLE authtui_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
             created_at INTEGER, last_login_at INTEGER, previous_login_at INTEGER,
             login_count INTEGER NOT NULL DEFAULT 0, failed_attempts INTEGER NOT NULL DEFAULT 0,
             locked_until INTEGER);
         CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
             event TEXT NOT NULL, username TEXT NOT NULL);
         CREATE INDEX events_by_user ON events (username, id);
         INSERT INTO authtui_meta (key, value) VALUES ('schema_version', '1');
         INSERT INTO events (at, event, username) VALUES (100, 'signup', 'alice');",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO users (username, password_hash, created_at, login_count) VALUES ('alice', ?1, 100, 3)",
        [bcrypt::hash(PW, 4).unwrap()],
    )
    .unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    for args in [
        &["user", "list"][..],
        &["log"],
        &["verify", "alice", "--password-stdin"],
    ] {
        let out = common::run(command(&sb, &store, args), Some(format!("{PW}\n").as_bytes()));
        out.expect_code(2);
        assert_eq!(out.errors().len(), 1, "{out:#?}");
        assert!(
            out.stderr.contains("schema version 1") && out.stderr.contains("authtui upgrade-store"),
            "{out:#?}"
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was changed");
    let out = common::run(command(&sb, &store, &["upgrade-store"]), None);
    out.expect_code(0);
    assert!(out.stdout.contains("from schema version 1 to 2"), "{out:#?}");
    let out = common::run(
        command(&sb, &store, &["verify", "alice", "--password-stdin"]),
        Some(format!("{PW}\n").as_bytes()),
    );
    out.expect_code(0);
    let out = common::run(command(&sb, &store, &["user", "list", "--json"]), None);
    out.expect_code(0);
    assert!(out.stdout.contains("\"login_count\": 4"), "{out:#?}");
    let out = common::run(command(&sb, &store, &["log"]), None);
    assert!(out.stdout.contains("signed up"), "{out:#?}");
    let out = common::run(command(&sb, &store, &["upgrade-store"]), None);
    out.expect_code(0);
    assert!(
        out.stdout.contains("already at this authtui's schema"),
        "{out:#?}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_a_one_line_error() {
    let sb = Sandbox::new();
    let path = sb.dir.path().join("notes.txt");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(100)).unwrap();
    let store = format!("sqlite:{}", path.display());
    let out = common::run(command(&sb, &store, &["user", "list"]), None);
    out.expect_code(2);
    assert_eq!(out.errors().len(), 1, "{out:#?}");
    assert!(out.stderr.contains("notes.txt"), "{out:#?}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("these are my notes")
    );
}

#[test]
fn a_sqlite_database_is_0600_and_never_opened_through_a_link() {
    let sb = Sandbox::new();
    let store = sqlite(&sb);
    add(&sb, &store, "alice").expect_code(0);
    let path = sb.dir.path().join("data/accounts.db");
    assert_eq!(common::mode(&path), 0o600);
    assert_eq!(common::mode(path.parent().unwrap()), 0o700);
    let link = sb.dir.path().join("link.db");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let out = common::run(
        command(&sb, &format!("sqlite:{}", link.display()), &["user", "list"]),
        None,
    );
    out.expect_code(2);
    assert!(out.stderr.contains("symbolic link"), "{out:#?}");
}

/// A relative path that SQLite would read as a URI (`file:…`, which names another file or
/// none: `mode=memory` keeps nothing) is the file of that name, the one checked by the
/// rules of every file: an account acknowledged is kept there.
#[test]
fn a_sqlite_path_that_looks_like_a_uri_is_the_file_of_that_name() {
    let sb = Sandbox::new();
    for name in ["file:a.db?mode=memory", "file:b.db", "file:c.db?vfs=unix-none#x"] {
        let store = format!("sqlite:{name}");
        let mut cmd = command(&sb, &store, &["user", "add", "alice", "--password-stdin"]);
        cmd.current_dir(sb.dir.path());
        common::run(cmd, Some(format!("{PW}\n").as_bytes())).expect_code(0);
        let mut cmd = command(&sb, &store, &["user", "list"]);
        cmd.current_dir(sb.dir.path());
        let out = common::run(cmd, None);
        out.expect_code(0);
        assert!(out.stdout.contains("alice"), "{name}: {out:#?}");
        let file = sb.dir.path().join(name);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            bytes.starts_with(b"SQLite format 3\0"),
            "{name}: the account is in the file named"
        );
        assert_eq!(common::mode(&file), 0o600, "{name}");
    }
    let mut names: Vec<String> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".db") && !n.starts_with("file:"))
        .collect();
    names.sort();
    assert_eq!(names, Vec::<String>::new(), "no other file was made");
}
