//! `authtui migrate --to URL`: every account and event copied as it is, read back and
//! compared; a non-empty target refused unless told; the legacy file migrates too.

mod common;

use common::{PW, Sandbox};

fn run(sb: &Sandbox, store: &str, args: &[&str]) -> common::Output {
    let mut cmd = sb.bare_command(&["--store", store, "--cost", "4"]);
    cmd.args(args);
    common::run(cmd, Some(format!("{PW}\n").as_bytes()))
}

fn list(sb: &Sandbox, store: &str) -> serde_json::Value {
    let out = run(sb, store, &["user", "list", "--json"]);
    out.expect_code(0);
    serde_json::from_str(&out.stdout).unwrap()
}

fn log(sb: &Sandbox, store: &str) -> String {
    let out = run(sb, store, &["log"]);
    out.expect_code(0);
    out.stdout
}

#[test]
fn json_to_sqlite_and_back_keeps_every_account_and_event() {
    let sb = Sandbox::new();
    let json = format!("json:{}", sb.data.display());
    let sqlite = format!("sqlite:{}", sb.dir.path().join("accounts.db").display());
    let back = format!("json:{}", sb.dir.path().join("back/users.json").display());
    for name in ["alice", "bob", "carol"] {
        run(&sb, &json, &["user", "add", name, "--password-stdin"]).expect_code(0);
    }
    run(&sb, &json, &["verify", "alice", "--password-stdin"]).expect_code(0);
    let wrong = sb.bare_command(&[
        "--store",
        &json,
        "--cost",
        "4",
        "verify",
        "bob",
        "--password-stdin",
    ]);
    common::run(wrong, Some(b"wrong\n")).expect_code(1);

    let out = run(&sb, &json, &["migrate", "--to", &sqlite]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("Copied 3 account(s) and 5 event(s)"),
        "{out:#?}"
    );
    assert_eq!(list(&sb, &sqlite), list(&sb, &json));
    assert_eq!(log(&sb, &sqlite), log(&sb, &json));
    run(&sb, &sqlite, &["verify", "carol", "--password-stdin"]).expect_code(0);

    run(&sb, &sqlite, &["migrate", "--to", &back]).expect_code(0);
    let (original, copy) = (list(&sb, &json), list(&sb, &back));
    // The round trip added carol's login in the middle: the others are exactly as they were.
    for i in [0, 1] {
        assert_eq!(original[i], copy[i]);
    }
    assert_eq!(copy[2]["username"], "carol");
    assert_eq!(copy[2]["login_count"], 1);
}

#[test]
fn a_target_with_accounts_is_refused_unless_told_and_never_on_a_shared_name() {
    let sb = Sandbox::new();
    let json = format!("json:{}", sb.data.display());
    let sqlite = format!("sqlite:{}", sb.dir.path().join("accounts.db").display());
    run(&sb, &json, &["user", "add", "alice", "--password-stdin"]).expect_code(0);
    run(&sb, &sqlite, &["user", "add", "dave", "--password-stdin"]).expect_code(0);
    let before = list(&sb, &sqlite);
    let out = run(&sb, &json, &["migrate", "--to", &sqlite]);
    out.expect_code(2);
    assert!(out.stderr.contains("--allow-nonempty"), "{out:#?}");
    assert_eq!(list(&sb, &sqlite), before);

    run(&sb, &sqlite, &["user", "add", "alice", "--password-stdin"]).expect_code(0);
    let before = list(&sb, &sqlite);
    let out = run(&sb, &json, &["migrate", "--to", &sqlite, "--allow-nonempty"]);
    out.expect_code(2);
    assert!(out.stderr.contains("alice"), "{out:#?}");
    assert_eq!(list(&sb, &sqlite), before);

    run(&sb, &sqlite, &["user", "remove", "alice"]).expect_code(0);
    run(&sb, &json, &["migrate", "--to", &sqlite, "--allow-nonempty"]).expect_code(0);
    let names: Vec<_> = list(&sb, &sqlite)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alice", "dave"]);
}

#[test]
fn the_prototypes_flat_file_migrates() {
    let legacy = std::fs::read(common::fixture("legacy-users.json")).unwrap();
    let sb = Sandbox::with_file(&legacy);
    let json = format!("json:{}", sb.data.display());
    let sqlite = format!("sqlite:{}", sb.dir.path().join("accounts.db").display());
    run(&sb, &json, &["migrate", "--to", &sqlite]).expect_code(0);
    let verify = sb.bare_command(&[
        "--store",
        &sqlite,
        "--cost",
        "4",
        "verify",
        "alice",
        "--password-stdin",
    ]);
    common::run(verify, Some(b"alice-legacy-password\n")).expect_code(0);
    assert_eq!(
        std::fs::read(&sb.data).unwrap(),
        legacy,
        "the source is only read"
    );
}

#[test]
fn migrating_into_the_same_store_is_a_usage_error() {
    let sb = Sandbox::new();
    let json = format!("json:{}", sb.data.display());
    run(&sb, &json, &["user", "add", "alice", "--password-stdin"]).expect_code(0);
    let out = run(&sb, &json, &["migrate", "--to", &json]);
    out.expect_code(2);
    assert_eq!(out.errors().len(), 1, "{out:#?}");
}
