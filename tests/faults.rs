//! Crash injection: a save aborted at each of its steps (temp file written, synced, renamed
//! over users.json, directory synced, journal removed) leaves users.json as the old version
//! or the new one, never torn or empty, and the journal counted exactly once; a login
//! aborted at each step of its journal append (line written, synced) leaves users.json
//! untouched and its claim counted; the lock dies with the process; the next save clears
//! the temp file.
//!
//! The crash comes from the store's own hook (`AUTHTUI_TEST_CRASH_AT=<step>`), so every
//! step is hit exactly, in the real binary, on every run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{CRASH_AT, CRASH_STEPS, Output, PW, PW2, SIGABRT, Sandbox, fixture, pw_hash, users_file};
use serde_json::Value;

/// The account the changes are made to, among the seeded ones.
const TARGET: &str = "acct0007";
/// The account `user add` creates.
const NEWCOMER: &str = "newcomer";
/// How long the next writer may take; a lock left held would make it hang until this.
const NEXT_WRITER_LIMIT: Duration = Duration::from_secs(20);

fn seeded_names() -> Vec<String> {
    (0..300).map(|i| format!("acct{i:04}")).collect()
}

/// The steps of a journal append (a login's claim, then its success).
const JOURNAL_STEPS: [&str; 2] = ["journal-after-write", "journal-after-sync"];

/// The steps of a save, then the removal of the journal it folded in.
const FOLD_STEPS: [&str; 5] = [
    CRASH_STEPS[0],
    CRASH_STEPS[1],
    CRASH_STEPS[2],
    CRASH_STEPS[3],
    "after-journal-remove",
];

fn journal_path(sb: &Sandbox) -> PathBuf {
    sb.data.with_file_name("users.json.journal")
}

/// The accounts as the program lists them (users.json with its journal replayed), by name.
fn listed(sb: &Sandbox) -> BTreeMap<String, Value> {
    sb.list_json()
        .into_iter()
        .map(|a| (a["username"].as_str().unwrap().to_owned(), a))
        .collect()
}

/// True for the steps that come before the rename: there the old file must still be there.
fn before_rename(step: &str) -> bool {
    matches!(step, "after-temp-write" | "after-temp-sync")
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Add,
    Verify,
    Remove,
    Passwd,
}

impl Op {
    /// The command line and its standard input.
    fn command(self, target: &str) -> (Vec<String>, Option<String>) {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
        match self {
            Op::Add => (
                args(&["user", "add", NEWCOMER, "--password-stdin"]),
                Some(format!("{PW2}\n")),
            ),
            Op::Verify => (
                args(&["verify", target, "--password-stdin"]),
                Some(format!("{PW}\n")),
            ),
            Op::Remove => (args(&["user", "remove", target]), None),
            Op::Passwd => (
                args(&["user", "passwd", target, "--password-stdin"]),
                Some(format!("{PW2}\n")),
            ),
        }
    }
}

/// Runs `op` with the crash hook set to `step`, and checks that it died by SIGABRT without
/// acknowledging anything.
fn run_crashing(sb: &Sandbox, op: Op, target: &str, step: &str) -> Output {
    let (args, input) = op.command(target);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = sb.command_without_core_dumps(&args);
    cmd.env(CRASH_AT, step);
    let out = common::run(cmd, input.as_deref().map(str::as_bytes));
    assert_eq!(
        (out.code, out.signal),
        (None, Some(SIGABRT)),
        "{op:?} at {step}: expected an abort: {out:#?}"
    );
    assert!(!out.stderr.contains("panicked"), "{op:?} at {step}: {out:#?}");
    assert_eq!(
        out.stdout, "",
        "{op:?} at {step}: acknowledged before its save finished"
    );
    out
}

fn temp_path(sb: &Sandbox) -> PathBuf {
    sb.data.with_file_name("users.json.tmp")
}

/// The accounts of a users.json in the current format, by name.
fn accounts_in(bytes: &[u8]) -> BTreeMap<String, Value> {
    let json: Value = serde_json::from_slice(bytes).expect("a complete JSON file");
    assert_eq!(json["version"], 1, "not the current format: {json}");
    json["users"]
        .as_object()
        .expect("a users object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Checks that `record` is an account whose login attempt was claimed and no more.
fn assert_is_claimed(record: &Value) {
    assert_eq!(record["failed_attempts"], 1, "{record:?}");
    assert!(record.get("login_count").is_none(), "{record:?}");
    assert!(record.get("last_login_at").is_none(), "{record:?}");
}

/// Checks that `accounts` are exactly `old` with `op` applied to `target`.
fn assert_is_new_version(
    op: Op,
    target: &str,
    old: &BTreeMap<String, Value>,
    accounts: &BTreeMap<String, Value>,
) {
    let mut expected: BTreeSet<&String> = old.keys().collect();
    let newcomer = NEWCOMER.to_owned();
    match op {
        Op::Add => {
            expected.insert(&newcomer);
        }
        Op::Remove => {
            expected.remove(&target.to_owned());
        }
        Op::Verify | Op::Passwd => {}
    }
    let names: BTreeSet<&String> = accounts.keys().collect();
    assert_eq!(names, expected, "{op:?}: the new version has the wrong accounts");
    match op {
        Op::Add => assert!(
            accounts[NEWCOMER]["password_hash"]
                .as_str()
                .unwrap()
                .starts_with("$2b$04$")
        ),
        // A login's first save is its claim: the attempt counted as a failure before bcrypt
        // runs, so a crash there leaves one failure, never a lost one.
        Op::Verify => assert_is_claimed(&accounts[target]),
        Op::Passwd => assert_ne!(accounts[target]["password_hash"], old[target]["password_hash"]),
        Op::Remove => {}
    }
    // Untouched accounts are as they were.
    for (name, record) in accounts {
        if name != target && name != NEWCOMER {
            assert_eq!(record, &old[name], "{op:?} changed {name}");
        }
    }
}

/// After a crash: a following writer gets the lock, succeeds, and leaves no temp file.
fn assert_next_writer_succeeds(sb: &Sandbox, context: &str) {
    let out = common::run_with_timeout(
        sb.command(&["user", "add", "nextwriter", "--password-stdin"]),
        Some(format!("{PW2}\n").as_bytes()),
        NEXT_WRITER_LIMIT,
    );
    out.expect_code(0);
    assert!(
        !temp_path(sb).exists(),
        "{context}: the next save left users.json.tmp"
    );
    assert_eq!(
        sb.dir_entries(),
        ["events.jsonl", "users.json", "users.json.lock"],
        "{context}"
    );
    assert!(sb.usernames().contains(&"nextwriter".to_owned()), "{context}");
}

/// One crash of `op` at `step`, starting from `original` (or no file).
fn crash_case(op: Op, step: &str, target: &str, original: Option<&[u8]>) {
    let context = format!("{op:?} crashed {step}");
    let sb = match original {
        Some(bytes) => Sandbox::with_file(bytes),
        None => Sandbox::new(),
    };
    run_crashing(&sb, op, target, step);

    // The file reads (through the program too), and is the old version or the new one.
    let listed = sb.list_json();
    let temp = temp_path(&sb);
    if before_rename(step) {
        match original {
            Some(bytes) => assert_eq!(
                std::fs::read(&sb.data).unwrap(),
                bytes,
                "{context}: users.json is not the old version"
            ),
            None => assert!(!sb.data.exists(), "{context}: users.json appeared"),
        }
        assert_eq!(
            listed.len(),
            original.map_or(0, |b| accounts_or_legacy(b).len()),
            "{context}"
        );
        // The crash came after the temp file was fully written: it holds the new version,
        // which the next writer must throw away.
        let temp_bytes = std::fs::read(&temp).unwrap_or_else(|e| panic!("{context}: no temp file: {e}"));
        let old = original.map(accounts_or_legacy).unwrap_or_default();
        assert_is_new_version(op, target, &old, &accounts_in(&temp_bytes));
    } else {
        let old = original.map(accounts_or_legacy).unwrap_or_default();
        let bytes = std::fs::read(&sb.data).unwrap();
        assert!(bytes.ends_with(b"}}\n"), "{context}: not a complete save");
        let accounts = accounts_in(&bytes);
        assert_is_new_version(op, target, &old, &accounts);
        assert_eq!(listed.len(), accounts.len(), "{context}");
        assert!(!temp.exists(), "{context}: a temp file is left after the rename");
    }
    assert_next_writer_succeeds(&sb, &context);

    // Whatever the crash left, the accounts are there and usable.
    let after = accounts_in(&std::fs::read(&sb.data).unwrap());
    let changed = !before_rename(step);
    match op {
        Op::Add => assert_eq!(after.contains_key(NEWCOMER), changed, "{context}"),
        Op::Remove => assert_eq!(!after.contains_key(target), changed, "{context}"),
        Op::Verify | Op::Passwd => {}
    }
    if matches!(op, Op::Passwd) && original.is_some() {
        let password = if changed { PW2 } else { PW };
        sb.verify(target, password).expect_code(0);
    }
}

/// A file's accounts, in either shape; a legacy file's records are only their hashes.
fn accounts_or_legacy(bytes: &[u8]) -> BTreeMap<String, Value> {
    let json: Value = serde_json::from_slice(bytes).unwrap();
    if json.get("version").is_some() {
        return accounts_in(bytes);
    }
    json.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!({ "password_hash": v })))
        .collect()
}

fn crash_each_step(op: Op) {
    let original = users_file(seeded_names());
    for step in CRASH_STEPS {
        crash_case(op, step, TARGET, Some(&original));
    }
}

/// A login aborted at `step` of its claim's append: users.json is untouched, the claim is
/// in the journal (a process's crash loses nothing it wrote; a power cut could lose the
/// unsynced line, which was never acknowledged), and the next save folds it in once.
fn journal_crash_case(step: &str) {
    let context = format!("verify crashed {step}");
    let original = users_file(seeded_names());
    let sb = Sandbox::with_file(&original);
    run_crashing(&sb, Op::Verify, TARGET, step);
    assert_eq!(
        std::fs::read(&sb.data).unwrap(),
        original,
        "{context}: users.json changed"
    );
    assert!(!temp_path(&sb).exists(), "{context}");
    assert!(journal_path(&sb).exists(), "{context}: no journal");
    let accounts = listed(&sb);
    assert_eq!(accounts.len(), 300, "{context}");
    assert_eq!(accounts[TARGET]["failed_attempts"], 1, "{context}");
    assert_eq!(accounts[TARGET]["login_count"], 0, "{context}");
    for (name, account) in &accounts {
        if name != TARGET {
            assert_eq!(account["failed_attempts"], 0, "{context}: {name}");
        }
    }
    assert_next_writer_succeeds(&sb, &context);
    // Folded by that save, once.
    let folded = accounts_in(&std::fs::read(&sb.data).unwrap());
    assert_is_claimed(&folded[TARGET]);
    sb.verify(TARGET, PW).expect_code(0);
    let accounts = listed(&sb);
    assert_eq!(accounts[TARGET]["login_count"], 1, "{context}");
    assert_eq!(accounts[TARGET]["failed_attempts"], 0, "{context}");
}

#[test]
fn user_add_crashed_at_each_step_leaves_the_old_or_the_new_file() {
    crash_each_step(Op::Add);
}

#[test]
fn verify_crashed_at_each_step_of_its_journal_append_leaves_users_json_and_counts_the_claim() {
    for step in JOURNAL_STEPS {
        journal_crash_case(step);
    }
}

/// The account whose failed login is in the journal, beside `TARGET`'s logins.
const FAILED: &str = "acct0003";

/// A fold of `op` aborted at `step`, with two logins of `TARGET` and a failure of `FAILED`
/// in the journal: the old file and the journal as they were, or the new file with the
/// journal in it (and the journal, if still there, ignored): counted once either way.
fn fold_crash_case(op: Op, step: &str) {
    let context = format!("{op:?} crashed {step}, folding the journal");
    let original = users_file(seeded_names());
    let sb = Sandbox::with_file(&original);
    sb.verify(TARGET, PW).expect_code(0);
    sb.verify(TARGET, PW).expect_code(0);
    sb.verify(FAILED, PW2).expect_code(1);
    assert_eq!(
        std::fs::read(&sb.data).unwrap(),
        original,
        "{context}: logins rewrote users.json"
    );
    let journal = std::fs::read(journal_path(&sb)).expect("a journal");
    run_crashing(&sb, op, TARGET, step);

    let changed = !before_rename(step);
    let bytes = std::fs::read(&sb.data).unwrap();
    if changed {
        let accounts = accounts_in(&bytes);
        // The old accounts with the journal folded in: FAILED's failure, TARGET's logins
        // (its hash is the old one, for a password change to differ from).
        let mut old = accounts_in(&original);
        old.insert(FAILED.to_owned(), accounts[FAILED].clone());
        if let Some(target) = accounts.get(TARGET) {
            let mut folded = target.clone();
            folded["password_hash"] = old[TARGET]["password_hash"].clone();
            old.insert(TARGET.to_owned(), folded);
        }
        assert_eq!(accounts[FAILED]["failed_attempts"], 1, "{context}: not folded");
        assert_is_new_version(op, TARGET, &old, &accounts);
        if let Some(target) = accounts.get(TARGET) {
            assert_eq!(target["login_count"], 2, "{context}: not folded");
        }
        // The journal is gone, or left naming the old file.
        match step {
            "after-journal-remove" => assert!(!journal_path(&sb).exists(), "{context}"),
            _ => assert_eq!(std::fs::read(journal_path(&sb)).unwrap(), journal, "{context}"),
        }
    } else {
        assert_eq!(bytes, original, "{context}: users.json is not the old version");
        assert_eq!(std::fs::read(journal_path(&sb)).unwrap(), journal, "{context}");
    }

    // The program's view: the journal counted exactly once, the change there if it got
    // past the rename.
    let accounts = listed(&sb);
    assert_eq!(accounts[FAILED]["failed_attempts"], 1, "{context}");
    match op {
        Op::Remove => assert_eq!(accounts.contains_key(TARGET), !changed, "{context}"),
        _ => assert_eq!(accounts[TARGET]["login_count"], 2, "{context}"),
    }
    assert_eq!(
        accounts.contains_key(NEWCOMER),
        changed && matches!(op, Op::Add),
        "{context}"
    );

    // What comes next counts from there: a login once more, or a new account of the
    // removed name, which no line of the old journal touches.
    match (op, changed) {
        (Op::Remove, true) => {
            sb.add(TARGET, PW2).expect_code(0);
            sb.verify(TARGET, PW2).expect_code(0);
            assert_eq!(listed(&sb)[TARGET]["login_count"], 1, "{context}");
        }
        _ => {
            let password = if matches!(op, Op::Passwd) && changed {
                PW2
            } else {
                PW
            };
            sb.verify(TARGET, password).expect_code(0);
            assert_eq!(listed(&sb)[TARGET]["login_count"], 3, "{context}");
        }
    }
    assert_eq!(listed(&sb)[FAILED]["failed_attempts"], 1, "{context}");
    assert_next_writer_succeeds(&sb, &context);
    let accounts = accounts_in(&std::fs::read(&sb.data).unwrap());
    assert_eq!(accounts[FAILED]["failed_attempts"], 1, "{context}");
    assert!(!journal_path(&sb).exists(), "{context}");
}

#[test]
fn user_add_folding_the_journal_crashed_at_each_step_counts_it_once() {
    for step in FOLD_STEPS {
        fold_crash_case(Op::Add, step);
    }
}

#[test]
fn user_passwd_folding_the_journal_crashed_at_each_step_counts_it_once() {
    for step in FOLD_STEPS {
        fold_crash_case(Op::Passwd, step);
    }
}

#[test]
fn user_remove_folding_the_journal_crashed_at_each_step_counts_it_once() {
    for step in FOLD_STEPS {
        fold_crash_case(Op::Remove, step);
    }
}

#[test]
fn user_remove_crashed_at_each_step_leaves_the_old_or_the_new_file() {
    crash_each_step(Op::Remove);
}

#[test]
fn user_passwd_crashed_at_each_step_leaves_the_old_or_the_new_file() {
    crash_each_step(Op::Passwd);
}

#[test]
fn the_first_save_crashed_at_each_step_leaves_no_file_or_the_new_one() {
    for step in CRASH_STEPS {
        crash_case(Op::Add, step, TARGET, None);
    }
}

#[test]
fn a_legacy_file_rewritten_by_a_login_that_crashes_stays_legacy_or_becomes_current() {
    // The login's save is the one that rewrites the prototype's flat file (rule 20).
    let legacy = std::fs::read(fixture("legacy-users.json")).unwrap();
    for step in CRASH_STEPS {
        let sb = Sandbox::with_file(&legacy);
        let (args, _) = Op::Verify.command("alice");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = sb.command_without_core_dumps(&args);
        cmd.env(CRASH_AT, step);
        let out = common::run(cmd, Some(b"alice-legacy-password\n"));
        assert_eq!((out.code, out.signal), (None, Some(SIGABRT)), "{step}: {out:#?}");
        assert_eq!(sb.usernames(), ["alice", "bob"], "{step}");
        let bytes = std::fs::read(&sb.data).unwrap();
        if before_rename(step) {
            assert_eq!(bytes, legacy, "{step}: the legacy file changed");
        } else {
            let accounts = accounts_in(&bytes);
            assert_is_claimed(&accounts["alice"]);
            assert_eq!(accounts["bob"], accounts_or_legacy(&legacy)["bob"], "{step}");
        }
        assert_next_writer_succeeds(&sb, step);
        sb.verify("alice", "alice-legacy-password").expect_code(0);
        sb.verify("bob", "bob-legacy-password").expect_code(0);
    }
}

#[test]
fn a_crash_between_the_file_and_the_temp_file_never_mixes_them() {
    // A stale temp file from an earlier crash is never read as the data: a crash before
    // the rename, then a second one, then reads; the data file is the original all along.
    let original = users_file(seeded_names());
    let sb = Sandbox::with_file(&original);
    run_crashing(&sb, Op::Add, TARGET, "after-temp-sync");
    run_crashing(&sb, Op::Remove, TARGET, "after-temp-write");
    assert_eq!(std::fs::read(&sb.data).unwrap(), original);
    let temp = accounts_in(&std::fs::read(temp_path(&sb)).unwrap());
    assert!(
        !temp.contains_key(TARGET) && !temp.contains_key(NEWCOMER),
        "{:?}",
        temp.len()
    );
    assert_eq!(sb.usernames(), seeded_names());
    // A login reads the real file and records itself (in the journal) …
    sb.verify(TARGET, PW).expect_code(0);
    assert_eq!(std::fs::read(&sb.data).unwrap(), original);
    assert_eq!(listed(&sb)[TARGET]["login_count"], 1);
    // … and the next save folds it in and clears the temp file.
    sb.add("later", PW2).expect_code(0);
    assert!(!temp_path(&sb).exists());
    let accounts = accounts_in(&std::fs::read(&sb.data).unwrap());
    assert_eq!(accounts.len(), 301);
    assert_eq!(accounts[TARGET]["login_count"], 1);
    assert!(!accounts.contains_key(NEWCOMER));
}

#[test]
fn crashing_logins_among_concurrent_logins_lose_no_acknowledged_login() {
    // Four processes log in to one account at once; every third login aborts at a step of
    // its claim's append. Every acknowledged login is counted, and no other: a crashed
    // one never got to its success.
    const WORKERS: usize = 4;
    const LOGINS: usize = 9;
    let sb = Arc::new(Sandbox::with_file(&users_file(seeded_names())));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let sb = Arc::clone(&sb);
            thread::spawn(move || {
                let mut acknowledged = 0;
                for i in 0..LOGINS {
                    let crash = ((w + i) % 3 == 0).then(|| JOURNAL_STEPS[(w + i / 3) % JOURNAL_STEPS.len()]);
                    let mut cmd = sb.command_without_core_dumps(&["verify", TARGET, "--password-stdin"]);
                    if let Some(step) = crash {
                        cmd.env(CRASH_AT, step);
                    }
                    let out =
                        common::run_with_timeout(cmd, Some(format!("{PW}\n").as_bytes()), NEXT_WRITER_LIMIT);
                    match crash {
                        None => {
                            out.expect_code(0);
                            acknowledged += 1;
                        }
                        Some(step) => assert_eq!(
                            (out.code, out.signal),
                            (None, Some(SIGABRT)),
                            "login at {step}: {out:#?}"
                        ),
                    }
                }
                acknowledged
            })
        })
        .collect();
    let acknowledged: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(acknowledged, (WORKERS * LOGINS - WORKERS * LOGINS / 3) as u64);
    assert_eq!(listed(&sb)[TARGET]["login_count"], acknowledged);
    assert_next_writer_succeeds(&sb, "after concurrent crashed logins");
    assert_eq!(
        accounts_in(&std::fs::read(&sb.data).unwrap())[TARGET]["login_count"],
        acknowledged
    );
}

#[test]
fn crashing_writers_among_concurrent_writers_lose_no_acknowledged_account() {
    // Six processes add accounts at once; every third one aborts at some step of its save.
    // The lock each crashed one held is released by its death, so no one hangs; every
    // acknowledged account is there; a crashed add is there exactly if it got past the
    // rename.
    const WORKERS: usize = 6;
    const ADDS: usize = 9;
    let sb = Arc::new(Sandbox::with_file(&users_file(seeded_names())));
    let hash = pw_hash();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let sb = Arc::clone(&sb);
            thread::spawn(move || {
                let mut outcomes = Vec::new();
                for i in 0..ADDS {
                    let name = format!("w{w}add{i}");
                    let crash = ((w + i) % 3 == 0).then(|| CRASH_STEPS[(w + i / 3) % CRASH_STEPS.len()]);
                    let mut cmd = sb.command_without_core_dumps(&["user", "add", &name, "--password-stdin"]);
                    if let Some(step) = crash {
                        cmd.env(CRASH_AT, step);
                    }
                    let out =
                        common::run_with_timeout(cmd, Some(format!("{PW2}\n").as_bytes()), NEXT_WRITER_LIMIT);
                    match crash {
                        None => {
                            out.expect_code(0);
                        }
                        Some(step) => {
                            assert_eq!(
                                (out.code, out.signal),
                                (None, Some(SIGABRT)),
                                "{name} at {step}: {out:#?}"
                            )
                        }
                    }
                    outcomes.push((name, crash));
                }
                outcomes
            })
        })
        .collect();
    let outcomes: Vec<(String, Option<&str>)> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let accounts = accounts_in(&std::fs::read(&sb.data).unwrap());
    let listed: BTreeSet<String> = sb.usernames().into_iter().collect();
    assert_eq!(listed, accounts.keys().cloned().collect());
    for name in seeded_names() {
        assert_eq!(accounts[&name]["password_hash"], hash.as_str(), "{name}");
    }
    let mut crashed = 0;
    for (name, crash) in &outcomes {
        let want = match crash {
            None => true,
            Some(step) => {
                crashed += 1;
                !before_rename(step)
            }
        };
        assert_eq!(accounts.contains_key(name), want, "{name} (crash: {crash:?})");
    }
    assert_eq!(
        accounts.len(),
        300 + outcomes
            .iter()
            .filter(|(_, c)| c.is_none_or(|s| !before_rename(s)))
            .count()
    );
    assert_eq!(crashed, WORKERS * ADDS / 3);
    assert_next_writer_succeeds(&sb, "after concurrent crashes");
}
