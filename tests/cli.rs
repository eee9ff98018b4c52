//! The admin CLI as a person at a shell uses it: real child processes, real files.

mod common;

use std::process::Stdio;

use common::{COST_WARNING, Output, PW, PW2, Sandbox, fixture, fixture_vectors};

/// Exactly one line from the command itself on stderr, besides the cost warning.
#[track_caller]
fn one_error_line(out: &Output) -> &str {
    match out.errors().as_slice() {
        [line] => line,
        _ => panic!("expected exactly one error line on stderr: {out:#?}"),
    }
}

/// Fails `verify` `times` times with a wrong password.
fn fail_verifies(sb: &Sandbox, name: &str, times: usize) -> Vec<Output> {
    (0..times)
        .map(|_| sb.verify(name, "wrong battery horse staple"))
        .collect()
}

// --- Happy paths ---

#[test]
fn add_prints_created_account_and_list_shows_it() {
    let sb = Sandbox::new();
    let out = sb.add("alice", PW);
    out.expect_code(0);
    assert_eq!(out.stdout, "Created account alice\n");
    assert_eq!(out.stderr, format!("{COST_WARNING}\n"));

    let list = sb.run(&["user", "list"]);
    list.expect_code(0);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{list:#?}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "USERNAME", "CREATED", "LAST", "LOGIN", "FAILED", "LOCKED", "UNTIL"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    // alice, created date and time, no last login, 0 failed, not locked.
    assert_eq!(row[0], "alice", "{list:#?}");
    assert_eq!(&row[3..], ["-", "0", "-"], "{list:#?}");
    assert_eq!(list.stderr, "");
}

#[test]
fn add_lowercases_the_username() {
    let sb = Sandbox::new();
    let out = sb.add("Alice", PW);
    out.expect_code(0);
    assert_eq!(out.stdout, "Created account alice\n");
    assert_eq!(sb.usernames(), ["alice"]);
}

#[test]
fn data_file_can_come_from_the_environment() {
    let sb = Sandbox::new();
    let mut cmd = sb.bare_command(&["--cost", "4", "user", "add", "alice", "--password-stdin"]);
    cmd.env("AUTHTUI_DATA_FILE", &sb.data);
    common::run(cmd, Some(format!("{PW}\n").as_bytes())).expect_code(0);
    assert!(sb.data.is_file());
    let mut cmd = sb.bare_command(&["user", "list", "--json"]);
    cmd.env("AUTHTUI_DATA_FILE", &sb.data)
        .env("AUTHTUI_BCRYPT_COST", "4");
    let out = common::run(cmd, None);
    out.expect_code(0);
    assert!(out.stdout.contains("\"alice\""), "{out:#?}");
}

#[test]
fn remove_prints_removed_account_and_the_list_is_empty_again() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let out = sb.run(&["user", "remove", "alice"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "Removed account alice\n");
    let list = sb.run(&["user", "list"]);
    list.expect_code(0);
    assert_eq!(list.stdout, format!("No accounts in {}\n", sb.data_str()));
    sb.verify("alice", PW).expect_code(1);
}

#[test]
fn removing_or_unlocking_an_unknown_user_is_refused_with_exit_1() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    for cmd in ["remove", "unlock"] {
        let out = sb.run(&["user", cmd, "nobody"]);
        out.expect_code(1);
        assert_eq!(one_error_line(&out), "authtui: No account named nobody");
        assert_eq!(out.stdout, "");
    }
}

#[test]
fn verify_exits_0_on_match() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let out = sb.verify("alice", PW);
    out.expect_code(0);
    assert_eq!(out.stdout, "Password for alice is correct\n");
    assert!(out.errors().is_empty(), "{out:#?}");
}

#[test]
fn verify_exits_1_on_wrong_password() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let out = sb.verify("alice", PW2);
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(one_error_line(&out), "authtui: Invalid username or password");
}

#[test]
fn verify_records_login_facts() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    sb.verify("alice", PW).expect_code(0);
    sb.verify("alice", PW).expect_code(0);
    let list = sb.list_json();
    assert_eq!(list[0]["login_count"], 2);
    assert!(list[0]["last_login_at"].is_string(), "{list:?}");
    assert!(list[0]["previous_login_at"].is_string(), "{list:?}");
}

#[test]
fn passwd_sets_a_new_password_and_the_old_one_stops_working() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let out = sb.run_stdin(
        &["user", "passwd", "alice", "--password-stdin"],
        format!("{PW2}\n").as_bytes(),
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "Password set for alice\n");
    sb.verify("alice", PW).expect_code(1);
    sb.verify("alice", PW2).expect_code(0);
}

#[test]
fn passwd_of_an_unknown_user_is_refused_before_reading_a_password() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    // No --password-stdin and no terminal: had it asked for a password, it would exit 2.
    let out = common::run(setsid(sb.command(&["user", "passwd", "nobody"])), None);
    out.expect_code(1);
    assert_eq!(one_error_line(&out), "authtui: No account named nobody");
}

#[test]
fn passwd_applies_the_policy() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let out = sb.run_stdin(&["user", "passwd", "alice", "--password-stdin"], b"short\n");
    out.expect_code(1);
    assert!(
        one_error_line(&out).contains("at least 12 characters"),
        "{out:#?}"
    );
    sb.verify("alice", PW).expect_code(0);
}

// --- Throttling ---

#[test]
fn five_wrong_verifies_lock_the_account_and_the_fifth_says_when_to_retry() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let outs = fail_verifies(&sb, "alice", 5);
    for out in &outs[..4] {
        out.expect_code(1);
        assert_eq!(one_error_line(out), "authtui: Invalid username or password");
    }
    outs[4].expect_code(1);
    assert_eq!(
        one_error_line(&outs[4]),
        "authtui: Too many failed attempts. Try again in 30 s"
    );
    let list = sb.list_json();
    assert_eq!(list[0]["failed_attempts"], 5);
    assert!(list[0]["locked_until"].is_string(), "{list:?}");
}

#[test]
fn verify_is_refused_while_locked_even_with_the_right_password() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    fail_verifies(&sb, "alice", 5);
    let out = sb.verify("alice", PW);
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    let line = one_error_line(&out);
    assert!(
        line.starts_with("authtui: Too many failed attempts. Try again in "),
        "{out:#?}"
    );
    assert!(line.ends_with(" s"), "{out:#?}");
    // Refused without counting: still 5 failures.
    assert_eq!(sb.list_json()[0]["failed_attempts"], 5);
}

#[test]
fn unlock_clears_the_lock_and_verify_works_again() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    fail_verifies(&sb, "alice", 5);
    let out = sb.run(&["user", "unlock", "alice"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "Unlocked alice\n");
    let list = sb.list_json();
    assert_eq!(list[0]["failed_attempts"], 0);
    assert!(list[0]["locked_until"].is_null(), "{list:?}");
    sb.verify("alice", PW).expect_code(0);
}

#[test]
fn passwd_clears_a_lock() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    fail_verifies(&sb, "alice", 5);
    sb.run_stdin(
        &["user", "passwd", "alice", "--password-stdin"],
        format!("{PW2}\n").as_bytes(),
    )
    .expect_code(0);
    sb.verify("alice", PW2).expect_code(0);
}

#[test]
fn unknown_user_and_wrong_password_give_identical_output() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    for attempt in 0..3 {
        let wrong = sb.verify("alice", PW2);
        let unknown = sb.verify("nobody", PW2);
        assert_eq!(wrong.code, Some(1));
        assert_eq!(unknown.code, wrong.code, "attempt {attempt}");
        assert_eq!(unknown.stdout, wrong.stdout, "attempt {attempt}");
        assert_eq!(unknown.stderr, wrong.stderr, "attempt {attempt}");
    }
}

#[test]
fn an_invalid_username_at_verify_gives_the_same_output_as_a_wrong_password() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let wrong = sb.verify("alice", PW2);
    for name in ["x", "Not A Name!", "9lives"] {
        let out = sb.verify(name, PW2);
        assert_eq!(
            (out.code, &out.stdout, &out.stderr),
            (wrong.code, &wrong.stdout, &wrong.stderr),
            "{name}"
        );
    }
}

// --- user list --json ---

#[test]
fn user_list_json_has_every_account_field() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    sb.add("bob", PW2).expect_code(0);
    sb.verify("alice", PW).expect_code(0);
    sb.verify("bob", PW).expect_code(1);

    let list = sb.list_json();
    assert_eq!(list.len(), 2);
    for account in &list {
        let obj = account.as_object().unwrap();
        for key in [
            "username",
            "created_at",
            "last_login_at",
            "login_count",
            "failed_attempts",
            "locked_until",
        ] {
            assert!(obj.contains_key(key), "{key} missing in {account}");
        }
        let created = account["created_at"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(created).unwrap();
    }
    let (alice, bob) = (&list[0], &list[1]);
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["login_count"], 1);
    assert_eq!(alice["failed_attempts"], 0);
    chrono::DateTime::parse_from_rfc3339(alice["last_login_at"].as_str().unwrap()).unwrap();
    assert!(alice["locked_until"].is_null());
    assert_eq!(bob["username"], "bob");
    assert_eq!(bob["login_count"], 0);
    assert_eq!(bob["failed_attempts"], 1);
    assert!(bob["last_login_at"].is_null());
    assert!(bob["locked_until"].is_null());
}

#[test]
fn user_list_json_of_no_accounts_is_an_empty_array() {
    let sb = Sandbox::new();
    assert!(sb.list_json().is_empty());
}

// --- Refusals and usage errors ---

#[test]
fn policy_refusal_exits_1_with_the_reason_on_one_line() {
    let sb = Sandbox::new();
    for (password, reason) in [
        ("short", "Password must be at least 12 characters (it has 5)"),
        ("1qaz2wsx3edc", "Password is on a list of commonly used passwords"),
        (
            "xyz-alice-quartz-violet",
            "Password must not contain the username",
        ),
        ("aaaaaaaaaaaaaaaa", "Password is too easy to guess: "),
    ] {
        let out = sb.add("alice", password);
        out.expect_code(1);
        assert_eq!(out.stdout, "", "{password}");
        let line = one_error_line(&out);
        assert!(
            line.starts_with(&format!("authtui: {reason}")),
            "{password}: {out:#?}"
        );
    }
    assert!(sb.usernames().is_empty());
}

#[test]
fn a_password_over_72_bytes_is_refused_at_add_saying_so() {
    let sb = Sandbox::new();
    let long = format!("{PW} {PW} {PW}");
    let out = sb.add("alice", &long);
    out.expect_code(1);
    assert!(one_error_line(&out).contains("at most 72 bytes"), "{out:#?}");
}

#[test]
fn an_invalid_username_is_refused_at_add() {
    let sb = Sandbox::new();
    for name in ["ab", "9lives", "has space"] {
        let out = sb.add(name, PW);
        out.expect_code(1);
        assert!(one_error_line(&out).starts_with("authtui: Username "), "{out:#?}");
    }
}

#[test]
fn a_taken_name_exits_1() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    for name in ["alice", "ALICE"] {
        let out = sb.add(name, PW2);
        out.expect_code(1);
        assert_eq!(one_error_line(&out), "authtui: Username alice is already taken");
    }
    // The original password still works.
    sb.verify("alice", PW).expect_code(0);
}

#[test]
fn cost_outside_4_to_20_exits_2() {
    let sb = Sandbox::new();
    for cost in ["3", "21", "0", "twelve"] {
        let out = common::run(
            sb.bare_command(&["--data-file", &sb.data_str(), "--cost", cost, "user", "list"]),
            None,
        );
        out.expect_code(2);
        assert!(out.stderr.contains("--cost"), "{out:#?}");
    }
    let mut cmd = sb.bare_command(&["--data-file", &sb.data_str(), "user", "list"]);
    cmd.env("AUTHTUI_BCRYPT_COST", "21");
    common::run(cmd, None).expect_code(2);
    assert!(!sb.data.exists());
}

#[test]
fn help_prints_usage_with_every_command() {
    let sb = Sandbox::new();
    let out = sb.run(&["--help"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Usage: authtui"), "{out:#?}");
    for command in ["user", "verify", "import-htpasswd", "--data-file", "--cost"] {
        assert!(out.stdout.contains(command), "{command}: {out:#?}");
    }
}

#[test]
fn no_subcommand_without_a_terminal_exits_2_pointing_to_help() {
    // With no subcommand authtui opens the full-screen app, which needs a terminal; without
    // one it must say so at once (not hang, not touch the data file).
    let sb = Sandbox::new();
    let out = common::run(setsid(sb.command(&[])), None);
    out.expect_code(2);
    assert!(one_error_line(&out).contains("--help"), "{out:#?}");
    assert!(!sb.data.exists());
}

#[test]
fn an_unknown_subcommand_exits_2() {
    let sb = Sandbox::new();
    sb.run(&["frobnicate"]).expect_code(2);
    sb.run(&["user", "add"]).expect_code(2);
}

/// Runs the command in a new session, so it has no controlling terminal even when the
/// tests run from one (else the password prompt would wait on /dev/tty). Without
/// `setsid` the tests would mean something else where a terminal is near: they fail.
fn setsid(cmd: std::process::Command) -> std::process::Command {
    assert!(
        std::path::Path::new("/usr/bin/setsid").exists(),
        "/usr/bin/setsid is missing: apt-get install util-linux"
    );
    let mut wrapped = std::process::Command::new("/usr/bin/setsid");
    wrapped.arg(cmd.get_program()).args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapped.env(key, v),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wrapped
}

#[test]
fn without_password_stdin_and_no_terminal_it_exits_2_mentioning_password_stdin() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    for args in [
        &["verify", "alice"][..],
        &["user", "add", "bob"],
        &["user", "passwd", "alice"],
    ] {
        let out = common::run(setsid(sb.command(args)), None);
        out.expect_code(2);
        assert!(
            one_error_line(&out).contains("--password-stdin"),
            "{args:?}: {out:#?}"
        );
    }
    assert_eq!(sb.usernames(), ["alice"]);
    sb.verify("alice", PW).expect_code(0);
}

#[test]
fn password_stdin_with_nothing_on_stdin_exits_2() {
    let sb = Sandbox::new();
    let out = sb.run(&["user", "add", "alice", "--password-stdin"]);
    out.expect_code(2);
    assert!(one_error_line(&out).contains("--password-stdin"), "{out:#?}");
    assert!(!sb.data.exists());
}

// --- --password-stdin ---

#[test]
fn password_stdin_strips_a_trailing_newline() {
    let sb = Sandbox::new();
    sb.run_stdin(
        &["user", "add", "alice", "--password-stdin"],
        format!("{PW}\n").as_bytes(),
    )
    .expect_code(0);
    // Without any newline at all (EOF ends the line), the same password.
    sb.run_stdin(&["verify", "alice", "--password-stdin"], PW.as_bytes())
        .expect_code(0);
}

#[test]
fn password_stdin_strips_a_trailing_crlf() {
    let sb = Sandbox::new();
    sb.run_stdin(
        &["user", "add", "alice", "--password-stdin"],
        format!("{PW}\r\n").as_bytes(),
    )
    .expect_code(0);
    sb.run_stdin(&["verify", "alice", "--password-stdin"], PW.as_bytes())
        .expect_code(0);
    sb.run_stdin(
        &["verify", "alice", "--password-stdin"],
        format!("{PW}\r\n").as_bytes(),
    )
    .expect_code(0);
}

#[test]
fn password_stdin_reads_only_the_first_line() {
    let sb = Sandbox::new();
    sb.run_stdin(
        &["user", "add", "alice", "--password-stdin"],
        format!("{PW}\n{PW2}\n").as_bytes(),
    )
    .expect_code(0);
    sb.verify("alice", PW).expect_code(0);
}

#[test]
fn password_stdin_keeps_a_trailing_space() {
    let sb = Sandbox::new();
    let spaced = format!("{PW} ");
    sb.add("alice", &spaced).expect_code(0);
    sb.verify("alice", PW).expect_code(1);
    sb.verify("alice", &spaced).expect_code(0);
}

// --- Secrets ---

#[test]
fn no_command_prints_a_password() {
    let sb = Sandbox::new();
    let third = "tangerine glacier whispers softly";
    let weak = "qwertyuiopasdf";
    let mut outputs = vec![
        sb.add("alice", PW),
        sb.add("bob", PW2),
        sb.add("carol", weak),
        sb.add("alice", third),
        sb.verify("alice", PW),
        sb.verify("alice", PW2),
        sb.verify("nobody", PW),
        sb.run_stdin(
            &["user", "passwd", "alice", "--password-stdin"],
            format!("{third}\n").as_bytes(),
        ),
        sb.run_stdin(
            &["user", "passwd", "bob", "--password-stdin"],
            format!("{weak}\n").as_bytes(),
        ),
        sb.run(&["user", "list"]),
        sb.run(&["user", "list", "--json"]),
    ];
    outputs.extend(fail_verifies(&sb, "bob", 6));
    outputs.push(sb.run(&["user", "unlock", "bob"]));
    outputs.push(sb.run(&["user", "remove", "bob"]));
    for out in &outputs {
        for secret in [PW, PW2, third, weak, "wrong battery horse staple"] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{secret:?} printed: {out:#?}"
            );
        }
    }
    // The data file holds hashes only.
    let text = std::fs::read_to_string(&sb.data).unwrap();
    for secret in [PW, PW2, third] {
        assert!(!text.contains(secret));
    }
}

// --- Legacy file, htpasswd import, other tools' hashes ---

#[test]
fn legacy_file_verifies_and_is_rewritten_in_the_current_shape() {
    let original = std::fs::read(fixture("legacy-users.json")).unwrap();
    let legacy: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let sb = Sandbox::with_file(&original);

    // Reading alone does not rewrite it.
    assert_eq!(sb.usernames(), ["alice", "bob"]);
    assert_eq!(std::fs::read(&sb.data).unwrap(), original);

    let out = sb.verify("alice", "alice-legacy-password");
    out.expect_code(0);
    assert_eq!(out.stdout, "Password for alice is correct\n");
    sb.verify("bob", "bob-legacy-password").expect_code(0);
    sb.verify("bob", "alice-legacy-password").expect_code(1);

    let now = sb.data_json();
    assert_eq!(now["version"], 1, "{now}");
    let users = now["users"].as_object().unwrap();
    assert_eq!(users.len(), 2, "{now}");
    assert_eq!(now.as_object().unwrap().len(), 2, "only version and users: {now}");
    for name in ["alice", "bob"] {
        // Cost 4, like the fixture: no upgrade, so the very same hash.
        assert_eq!(users[name]["password_hash"], legacy[name], "{name}: {now}");
    }
    // What the login recorded is in the journal beside it, read back through the store.
    let alice = sb
        .list_json()
        .into_iter()
        .find(|a| a["username"] == "alice")
        .unwrap();
    assert_eq!(alice["login_count"], 1, "{alice}");
    sb.verify("alice", "alice-legacy-password").expect_code(0);
}

#[test]
fn htpasswd_import_takes_the_bcrypt_entries_and_reports_the_others() {
    let sb = Sandbox::new();
    let file = fixture("htpasswd-mixed");
    let out = sb.run(&["import-htpasswd", file.to_str().unwrap()]);
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    for name in ["carol", "dave", "erin", "frank"] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("skipped {name}: ")))
            .unwrap_or_else(|| panic!("{name} not reported: {out:#?}"));
        assert!(line.contains("not bcrypt"), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("skipped carol: ") && l.contains("$apr1$"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("skipped dave: ") && l.contains("{SHA}"))
    );
    assert!(lines.contains(&"imported alice"), "{out:#?}");
    assert!(lines.contains(&"imported bob"), "{out:#?}");
    assert!(lines.contains(&"imported Grace as grace"), "{out:#?}");
    assert_eq!(lines.last(), Some(&"Imported 3, skipped 4"));

    assert_eq!(sb.usernames(), ["alice", "bob", "grace"]);
    for (name, password) in [
        ("alice", "correct horse battery staple"),
        ("bob", "Tr0ub4dor&3-but-longer"),
        ("grace", "grace-password-long"),
        ("Grace", "grace-password-long"),
    ] {
        let out = sb.verify(name, password);
        out.expect_code(0);
    }
    for (name, password) in [
        ("carol", "apr1-password-here"),
        ("dave", "sha1-password-here"),
        ("frank", "plaintext-password"),
    ] {
        sb.verify(name, password).expect_code(1);
    }
}

#[test]
fn htpasswd_import_skips_a_name_that_exists() {
    let sb = Sandbox::new();
    sb.add("alice", PW2).expect_code(0);
    let file = fixture("htpasswd-mixed");
    let out = sb.run(&["import-htpasswd", file.to_str().unwrap()]);
    out.expect_code(0);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("skipped alice: ") && l.contains("exists")),
        "{out:#?}"
    );
    assert!(out.stdout.contains("Imported 2, skipped 5"), "{out:#?}");
    // The existing account keeps its own password.
    sb.verify("alice", PW2).expect_code(0);
    sb.verify("bob", "Tr0ub4dor&3-but-longer").expect_code(0);
}

#[test]
fn htpasswd_import_of_a_missing_file_exits_2() {
    let sb = Sandbox::new();
    let missing = sb.dir.path().join("no-such-htpasswd");
    let out = sb.run(&["import-htpasswd", missing.to_str().unwrap()]);
    out.expect_code(2);
    assert!(
        one_error_line(&out).contains(missing.to_str().unwrap()),
        "{out:#?}"
    );
}

const P72: &str = "0123456789012345678901234567890123456789012345678901234567890123456789ab";

#[test]
fn htpasswd_72_byte_password_verifies_in_full() {
    assert_eq!(P72.len(), 72);
    let sb = Sandbox::new();
    let file = fixture("htpasswd-bcrypt-72");
    sb.run(&["import-htpasswd", file.to_str().unwrap()])
        .expect_code(0);
    sb.verify("max72", P72).expect_code(0);
    // The 72nd byte counts.
    sb.verify("max72", &P72[..71]).expect_code(1);
    sb.verify("max72", &format!("{}c", &P72[..71])).expect_code(1);
}

#[test]
fn a_73_byte_password_is_refused_not_truncated() {
    let sb = Sandbox::new();
    let file = fixture("htpasswd-bcrypt-72");
    sb.run(&["import-htpasswd", file.to_str().unwrap()])
        .expect_code(0);
    // bcrypt would accept this (it reads 72 bytes); authtui refuses it.
    let out = sb.verify("max72", &format!("{P72}c"));
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert!(one_error_line(&out).contains("72 bytes"), "{out:#?}");
    sb.verify("max72", P72).expect_code(0);
}

#[test]
fn python_bcrypt_hashes_verify_including_72_byte_passwords() {
    let vectors = fixture_vectors("python-bcrypt.json");
    let mut users = serde_json::Map::new();
    for (i, (_, hash, _)) in vectors.iter().enumerate() {
        users.insert(format!("py{i}"), serde_json::json!({ "password_hash": hash }));
    }
    let file = serde_json::json!({ "version": 1, "users": users });
    let sb = Sandbox::with_file(file.to_string().as_bytes());
    assert!(vectors.iter().any(|(_, h, _)| h.starts_with("$2a$")));
    assert!(vectors.iter().any(|(_, h, _)| h.starts_with("$2b$")));
    assert!(vectors.iter().any(|(p, _, _)| p.len() == 72));
    for (i, (password, hash, _)) in vectors.iter().enumerate() {
        let out = sb.verify(&format!("py{i}"), password);
        assert_eq!(out.code, Some(0), "{password:?} against {hash}: {out:#?}");
    }
    // Cost 4 like the fixtures: no rehash, the hashes are kept as they were.
    let now = sb.data_json();
    for (i, (_, hash, _)) in vectors.iter().enumerate() {
        assert_eq!(now["users"][format!("py{i}")]["password_hash"], hash.as_str());
    }
}

// --- The activity log ---

fn events_file(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.data.with_file_name("events.jsonl")).unwrap_or_default()
}

#[test]
fn log_prints_what_happened_oldest_first() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    sb.verify("alice", "not the password").expect_code(1);
    sb.verify("alice", PW).expect_code(0);
    sb.run(&["user", "unlock", "alice"]).expect_code(0);
    let out = sb.run(&["log"]);
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let what: Vec<&str> = lines
        .iter()
        .map(|l| l.split("  ").last().unwrap().trim())
        .collect();
    assert_eq!(
        what,
        [
            "account created by an administrator",
            "failed login",
            "logged in",
            "unlocked by an administrator"
        ],
        "{}",
        out.stdout
    );
    assert!(lines.iter().all(|l| l.contains("alice")));
}

#[test]
fn log_user_shows_one_account() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    sb.add("bob", PW2).expect_code(0);
    let out = sb.run(&["log", "--user", "Bob"]);
    out.expect_code(0);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("bob"));
}

#[test]
fn the_log_file_is_0600_json_lines_without_passwords() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    sb.verify("alice", "a wrong guess here").expect_code(1);
    sb.verify("nobody", "another guess").expect_code(1);
    let text = events_file(&sb);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["at"].as_str().unwrap().ends_with('Z'));
        assert!(v["event"].is_string() && v["username"].is_string());
    }
    assert_eq!(text.lines().count(), 3);
    for secret in [PW, "a wrong guess", "another guess"] {
        assert!(!text.contains(secret));
    }
    assert_eq!(common::mode(&sb.data.with_file_name("events.jsonl")), 0o600);
}

#[test]
fn a_log_that_cannot_be_written_is_reported_and_the_account_is_still_made() {
    let sb = Sandbox::new();
    // A directory where the log file should be: appending to it fails.
    std::fs::create_dir_all(sb.data.with_file_name("events.jsonl")).unwrap();
    let out = sb.add("alice", PW);
    out.expect_code(0);
    assert!(
        out.stderr.contains("the activity log was not written"),
        "{}",
        out.stderr
    );
    assert_eq!(sb.usernames(), ["alice"]);
}

#[test]
fn idle_timeout_takes_durations_and_refuses_nonsense() {
    let sb = Sandbox::new();
    for ok in ["90s", "15m", "1h", "2m30s", "0", "45"] {
        sb.run(&["--idle-timeout", ok, "user", "list"]).expect_code(0);
    }
    for bad in ["soon", "15x", "m", "-1"] {
        let out = sb.run(&[&format!("--idle-timeout={bad}"), "user", "list"]);
        out.expect_code(2);
        assert!(out.stderr.contains("--idle-timeout"), "{}", out.stderr);
    }
}
