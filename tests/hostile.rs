//! A sweep of hostile input (docs/security.md rules 19, 21, 22, 25): files that are huge, deeply
//! nested, full of NULs or duplicate keys, hashes that would take hours, things that are
//! not the file where the file should be, files we may not read; hostile arguments and
//! passwords on standard input; and in the app, 1 MB pastes, escape sequences and every
//! key with every modifier on every screen. Each gives a clear error or is ignored;
//! nothing panics; nothing is lost.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Output, PW, PW2, Sandbox, pw_hash, users_file};

const MB: usize = 1 << 20;
/// A string value far beyond any real one (the 50 MB cases are whitespace).
const HUGE_STRING: usize = 16 * MB;

/// A hash of cost 31 would take days to check; the refusal must come at once. This only
/// stops a hang from stalling the run: it is no measurement.
const QUICK: Duration = Duration::from_secs(10);

fn alice_and_bob() -> Vec<u8> {
    users_file(["alice", "bob"])
}

/// The one-line error (cost warning aside) of a failed command.
fn error_line(out: &Output) -> String {
    out.errors().join("\n")
}

/// Exit 2, nothing on stdout, no panic, one error line naming `path`.
#[track_caller]
fn assert_data_error(out: &Output, path: &Path, what: &str) {
    out.expect_no_panic();
    assert_eq!(out.code, Some(2), "{what}: {out:#?}");
    assert_eq!(out.stdout, "", "{what}");
    let line = error_line(out);
    assert!(line.starts_with("authtui: "), "{what}: {line:.300}");
    assert_eq!(out.errors().len(), 1, "{what}: one line: {:.300}", out.stderr);
    assert!(
        line.contains(&path.display().to_string()),
        "{what}: the message does not name {}: {line:.300}",
        path.display()
    );
}

/// `user list`, `verify alice` and `user add carol` are each refused with a data error
/// naming the file, and the file's bytes stay as they were (no temp file either).
#[track_caller]
fn assert_refused_and_untouched(bytes: &[u8], what: &str) {
    let sb = Sandbox::with_file(bytes);
    for (command, out) in [
        ("user list", sb.run(&["user", "list"])),
        ("verify", sb.verify("alice", PW)),
        ("user add", sb.add("carol", PW2)),
    ] {
        assert_data_error(&out, &sb.data, &format!("{what}: {command}"));
        // The message says what is wrong in a line, not in megabytes.
        assert!(
            out.stderr.len() < 2000,
            "{what}: {command}: {} bytes",
            out.stderr.len()
        );
    }
    assert!(
        std::fs::read(&sb.data).unwrap() == bytes,
        "{what}: the file changed"
    );
    assert!(!sb.data.with_file_name("users.json.tmp").exists(), "{what}");
}

fn record(hash: &str) -> String {
    format!(r#"{{"password_hash":"{hash}"}}"#)
}

// --- Huge files ---

#[test]
fn a_50_mb_file_of_valid_whitespace_is_read_and_its_next_save_loses_nothing() {
    let hash = pw_hash();
    let mut bytes = format!(
        r#"{{"version":1,"users":{{"alice":{},"bob":{}}}"#,
        record(&hash),
        record(&hash)
    )
    .into_bytes();
    let mut blank = vec![b' '; 50 * MB];
    blank.iter_mut().skip(79).step_by(80).for_each(|b| *b = b'\n');
    bytes.extend_from_slice(&blank);
    drop(blank);
    bytes.extend_from_slice(b"}\n");
    let sb = Sandbox::with_file(&bytes);
    drop(bytes);
    assert_eq!(sb.usernames(), ["alice", "bob"]);
    sb.verify("alice", PW).expect_no_panic().expect_code(0);
    // The next account change wrote the file compact again, every account in it and the
    // login folded in.
    sb.add("carol", PW2).expect_code(0);
    let saved = std::fs::read(&sb.data).unwrap();
    assert!(saved.len() < 1000, "{} bytes", saved.len());
    let json = sb.data_json();
    assert_eq!(json["users"]["alice"]["login_count"], 1);
    assert_eq!(json["users"]["bob"]["password_hash"], hash.as_str());
    sb.verify("bob", PW).expect_code(0);
}

#[test]
fn a_50_mb_file_of_only_whitespace_is_an_empty_file_error() {
    let bytes = vec![b' '; 50 * MB];
    let sb = Sandbox::with_file(&bytes);
    for out in [sb.run(&["user", "list"]), sb.add("carol", PW2)] {
        assert_data_error(&out, &sb.data, "whitespace");
        assert!(error_line(&out).contains("empty"), "{out:#?}");
    }
    assert!(std::fs::read(&sb.data).unwrap() == bytes);
}

#[test]
fn a_16_mb_hash_is_refused_at_login_with_a_short_message_and_passwd_repairs_it() {
    let hash = pw_hash();
    let huge = "a".repeat(HUGE_STRING);
    let bytes = format!(
        r#"{{"version":1,"users":{{"alice":{},"bob":{}}}}}"#,
        record(&huge),
        record(&hash)
    )
    .into_bytes();
    drop(huge);
    let sb = Sandbox::with_file(&bytes);
    assert_eq!(sb.usernames(), ["alice", "bob"]);
    let out = sb.verify("alice", PW);
    out.expect_no_panic().expect_code(2);
    let line = error_line(&out);
    assert!(
        line.contains("alice") && line.contains("user passwd"),
        "{line:.300}"
    );
    assert!(out.stderr.len() < 1000, "{} bytes of error", out.stderr.len());
    assert!(
        std::fs::read(&sb.data).unwrap() == bytes,
        "a refused login changed the file"
    );
    // The repair the message suggests works, and keeps bob.
    sb.run_stdin(
        &["user", "passwd", "alice", "--password-stdin"],
        format!("{PW2}\n").as_bytes(),
    )
    .expect_code(0);
    assert!(std::fs::metadata(&sb.data).unwrap().len() < 1000);
    sb.verify("alice", PW2).expect_code(0);
    sb.verify("bob", PW).expect_code(0);
}

#[test]
fn a_16_mb_string_where_it_does_not_belong_is_refused_with_a_short_message() {
    let hash = pw_hash();
    let huge = "b".repeat(HUGE_STRING);
    // An unknown field of a record, holding 16 MB.
    assert_refused_and_untouched(
        format!(r#"{{"version":1,"users":{{"alice":{{"password_hash":"{hash}","note":"{huge}"}}}}}}"#)
            .as_bytes(),
        "16 MB unknown field",
    );
    // A top-level key beside "version", holding 16 MB.
    assert_refused_and_untouched(
        format!(
            r#"{{"version":1,"users":{{"alice":{}}},"junk":"{huge}"}}"#,
            record(&hash)
        )
        .as_bytes(),
        "16 MB top-level value",
    );
}

// --- Deep nesting ---

#[test]
fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    const DEPTH: usize = 100_000;
    let hash = pw_hash();
    let open = "[".repeat(DEPTH);
    let close = "]".repeat(DEPTH);
    let objects = r#"{"a":"#.repeat(DEPTH);
    let objects_close = "}".repeat(DEPTH);
    let cases: Vec<(&str, String)> = vec![
        ("arrays at the top", open.clone()),
        ("objects at the top", objects.clone()),
        ("arrays as users", format!(r#"{{"version":1,"users":{open}"#)),
        (
            "balanced arrays as a record",
            format!(r#"{{"version":1,"users":{{"alice":{open}{close}}}}}"#),
        ),
        (
            "objects as a record",
            format!(r#"{{"version":1,"users":{{"alice":{objects}1{objects_close}}}}}"#),
        ),
        (
            "arrays in a record field",
            format!(r#"{{"version":1,"users":{{"alice":{{"password_hash":"{hash}","created_at":{open}"#),
        ),
        (
            "balanced arrays under an unknown key",
            format!(r#"{{"junk":{open}{close}}}"#),
        ),
        (
            "balanced objects beside version",
            format!(r#"{{"version":1,"users":{{}},"junk":{objects}1{objects_close}}}"#),
        ),
        ("arrays as a legacy hash", format!(r#"{{"alice":{open}"#)),
    ];
    for (what, text) in cases {
        assert_refused_and_untouched(text.as_bytes(), what);
    }
}

// --- A 10 MB username ---

#[test]
fn a_10_mb_username_in_the_file_is_kept_and_does_not_stop_others_logging_in() {
    // Stored names are trusted as they are (they may predate the rules): the file loads,
    // others log in, and the save that records it copies the odd account along.
    let hash = pw_hash();
    let long = "x".repeat(10 * MB);
    let bytes = format!(
        r#"{{"version":1,"users":{{"alice":{},"{long}":{}}}}}"#,
        record(&hash),
        record(&hash)
    );
    let sb = Sandbox::with_file(bytes.as_bytes());
    assert_eq!(sb.usernames(), ["alice".to_owned(), long.clone()]);
    sb.verify("alice", PW).expect_no_panic().expect_code(0);
    // The next account change saves the file, the login folded in, the odd account kept.
    sb.add("carol", PW2).expect_code(0);
    let json = sb.data_json();
    assert_eq!(json["users"]["alice"]["login_count"], 1);
    assert_eq!(json["users"][&long]["password_hash"], hash.as_str());
}

#[test]
fn a_10_mb_key_where_no_key_belongs_is_refused() {
    let hash = pw_hash();
    let long = "k".repeat(10 * MB);
    for (what, text) in [
        (
            "a 10 MB unknown field",
            format!(r#"{{"version":1,"users":{{"alice":{{"password_hash":"{hash}","{long}":1}}}}}}"#),
        ),
        (
            "a 10 MB top-level key",
            format!(r#"{{"version":1,"users":{{}},"{long}":{{}}}}"#),
        ),
    ] {
        let sb = Sandbox::with_file(text.as_bytes());
        for out in [sb.run(&["user", "list"]), sb.verify("alice", PW)] {
            assert_data_error(&out, &sb.data, what);
        }
        assert!(std::fs::read(&sb.data).unwrap() == text.as_bytes(), "{what}");
    }
}

#[test]
fn an_error_about_a_10_mb_key_is_a_short_line() {
    // users.json with an unknown 10 MB field in a record: `authtui user list` exits 2 with
    // "PATH:1:…: not a valid users file (unknown field `kkkk…` (10 MB) …)" on one line.
    // Expected: the message names the file and says what is wrong in a line a person can
    // read (the key cut short, e.g. its first 40 characters and "…").
    let hash = pw_hash();
    let long = "k".repeat(10 * MB);
    for text in [
        format!(r#"{{"version":1,"users":{{"alice":{{"password_hash":"{hash}","{long}":1}}}}}}"#),
        format!(r#"{{"version":1,"users":{{}},"{long}":{{}}}}"#),
        format!(
            r#"{{"version":1,"users":{{"{long}":{},"{long}":{}}}}}"#,
            record(&hash),
            record(&hash)
        ),
    ] {
        let sb = Sandbox::with_file(text.as_bytes());
        let out = sb.run(&["user", "list"]);
        assert_data_error(&out, &sb.data, "10 MB key");
        assert!(out.stderr.len() < 2000, "{} bytes of error", out.stderr.len());
    }
}

#[test]
fn user_list_of_a_file_with_a_70_000_character_name_does_not_panic() {
    // users.json with alice and an account named with 70,000 'x' (a valid file: stored
    // names are trusted): `authtui user list` panics at src/cli/list.rs:54 "Formatting
    // argument out of range" (`format!("{c:<w$}")`: a width above u16::MAX), exit 101.
    // `user list --json`, `verify` and the save all work. Expected: exit 0 and a table.
    let sb = Sandbox::with_file(&users_file(["alice".to_owned(), "x".repeat(70_000)]));
    let out = sb.run(&["user", "list"]);
    out.expect_no_panic().expect_code(0);
    assert!(out.stdout.contains("alice"), "{:.300}", out.stdout);
}

#[test]
fn user_list_output_stays_proportional_to_the_file() {
    // users.json (50 KB) with 100 accounts, one named with 50,000 'x': `authtui user list`
    // prints 100 rows each padded to 50,000 columns (5 MB: output grows as accounts times
    // the longest name). Expected: output of the order of the file's size (say, long names
    // cut in the table; `--json` has them whole).
    let mut names: Vec<String> = (0..99).map(|i| format!("user{i:02}")).collect();
    names.push("x".repeat(50_000));
    let bytes = users_file(&names);
    let sb = Sandbox::with_file(&bytes);
    let out = sb.run(&["user", "list"]);
    out.expect_no_panic().expect_code(0);
    assert!(
        out.stdout.len() < 4 * bytes.len(),
        "{} bytes of table for a {}-byte file",
        out.stdout.len(),
        bytes.len()
    );
}

// --- NUL bytes ---

#[test]
fn raw_nul_bytes_in_the_file_are_refused() {
    let hash = pw_hash();
    let valid = format!(r#"{{"version":1,"users":{{"alice":{}}}}}"#, record(&hash));
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let at = |needle: &str| valid.find(needle).unwrap();
    let with_nul = |pos: usize| {
        let mut b = valid.clone().into_bytes();
        b.insert(pos, 0);
        b
    };
    cases.push(("between tokens", with_nul(at(r#""users""#))));
    cases.push(("inside a username", with_nul(at("alice") + 2)));
    cases.push(("inside a hash", with_nul(at("$2b$") + 10)));
    cases.push(("after the end", [valid.as_bytes(), b"\0\0\0"].concat()));
    cases.push(("before the start", [b"\0".as_slice(), valid.as_bytes()].concat()));
    cases.push(("1 MB of NULs", vec![0; MB]));
    for (what, bytes) in cases {
        assert_refused_and_untouched(&bytes, what);
    }
}

#[test]
fn an_escaped_nul_in_a_stored_username_is_kept_and_harmless() {
    let hash = pw_hash();
    let bytes = format!(
        r#"{{"version":1,"users":{{"alice":{},"bo\u0000b":{}}}}}"#,
        record(&hash),
        record(&hash)
    );
    let sb = Sandbox::with_file(bytes.as_bytes());
    assert_eq!(sb.usernames(), ["alice", "bo\0b"]);
    // "bo" is no name for that account.
    sb.verify("bo", PW).expect_code(1);
    sb.verify("alice", PW).expect_code(0);
    assert_eq!(sb.usernames(), ["alice", "bo\0b"]);
    assert!(
        std::fs::read_to_string(&sb.data)
            .unwrap()
            .contains(r#""bo\u0000b":"#)
    );
}

#[test]
fn user_list_shows_no_control_characters_of_stored_names() {
    // users.json holding an account named "ev\u001b[2J\u001b]0;pwned\u0007il" (valid JSON;
    // stored names are trusted, they may predate the rules): `authtui user list` writes the
    // ESC and BEL bytes as they are, so listing accounts clears the admin's screen and sets
    // the terminal's title. Expected: the name shown escaped, as `user list --json` does.
    let hash = pw_hash();
    let bytes = format!(
        r#"{{"version":1,"users":{{"alice":{},"ev\u001b[2J\u001b]0;pwned\u0007il":{}}}}}"#,
        record(&hash),
        record(&hash)
    );
    let sb = Sandbox::with_file(bytes.as_bytes());
    let out = sb.run(&["user", "list"]);
    out.expect_code(0);
    let bad: Vec<char> = out
        .stdout
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{bad:?} in {:?}", out.stdout);
}

#[test]
fn errors_about_a_key_in_the_file_show_no_control_characters() {
    // users.json with the username "\u001b[2J" twice: `authtui user list` exits 2 with
    // "…: not a valid users file (duplicate username \"␛[2J\")…", the escape sequence raw.
    // Expected: the key shown escaped (as serde_json's own messages are not, either).
    let hash = pw_hash();
    let r = record(&hash);
    for text in [
        format!(r#"{{"version":1,"users":{{"\u001b[2J":{r},"\u001b[2J":{r}}}}}"#),
        r#"{"version":1,"users":{},"\u001b[2J":1}"#.to_owned(),
    ] {
        let sb = Sandbox::with_file(text.as_bytes());
        let out = sb.run(&["user", "list"]);
        assert_data_error(&out, &sb.data, &text);
        let bad: Vec<char> = out
            .stderr
            .chars()
            .filter(|c| c.is_control() && *c != '\n')
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {:?}", out.stderr);
    }
}

// --- Duplicate keys ---

#[test]
fn duplicate_keys_at_every_level_are_refused() {
    let hash = pw_hash();
    let other = &common::fixture_vectors("python-bcrypt.json")[5].1;
    let r = record(&hash);
    for (what, text) in [
        (
            "version twice",
            format!(r#"{{"version":1,"version":1,"users":{{"alice":{r}}}}}"#),
        ),
        (
            "users twice",
            format!(r#"{{"version":1,"users":{{"alice":{r}}},"users":{{"bob":{r}}}}}"#),
        ),
        (
            "password_hash twice",
            format!(
                r#"{{"version":1,"users":{{"alice":{{"password_hash":"{hash}","password_hash":"{other}"}}}}}}"#
            ),
        ),
        (
            "login_count twice",
            format!(
                r#"{{"version":1,"users":{{"alice":{{"password_hash":"{hash}","login_count":1,"login_count":9}}}}}}"#
            ),
        ),
        (
            "a username twice, once escaped",
            format!(r#"{{"version":1,"users":{{"alice":{r},"\u0061lice":{r}}}}}"#),
        ),
        (
            "a legacy name twice, once escaped",
            format!(r#"{{"alice":"{hash}","\u0061lice":"{other}"}}"#),
        ),
    ] {
        assert_refused_and_untouched(text.as_bytes(), what);
    }
}

// --- Hashes that would take hours ---

/// A well-formed bcrypt hash with another cost.
fn hash_with_cost(prefix: &str, cost: u32) -> String {
    let hash = pw_hash();
    format!("{prefix}{cost:02}{}", &hash[6..])
}

#[test]
fn a_stored_hash_of_cost_31_is_refused_at_once_with_exit_2() {
    for (prefix, cost) in [("$2b$", 31), ("$2y$", 21), ("$2a$", 99)] {
        let huge = hash_with_cost(prefix, cost);
        let bytes = format!(
            r#"{{"version":1,"users":{{"alice":{},"bob":{}}}}}"#,
            record(&huge),
            record(&pw_hash())
        );
        let sb = Sandbox::with_file(bytes.as_bytes());
        for password in [PW, "a wrong password entirely"] {
            let out = common::run_with_timeout(
                sb.command(&["verify", "alice", "--password-stdin"]),
                Some(format!("{password}\n").as_bytes()),
                QUICK,
            );
            out.expect_no_panic().expect_code(2);
            let line = error_line(&out);
            assert!(
                line.contains("alice") && line.contains(&format!("cost {cost}")),
                "{prefix}{cost}: {line}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(&sb.data).unwrap(),
            bytes,
            "{prefix}{cost}"
        );
        // Everyone else is unaffected, and the repair works.
        sb.verify("bob", PW).expect_code(0);
        sb.run_stdin(
            &["user", "passwd", "alice", "--password-stdin"],
            format!("{PW2}\n").as_bytes(),
        )
        .expect_code(0);
        sb.verify("alice", PW2).expect_code(0);
    }
}

#[test]
fn an_imported_hash_of_cost_31_is_skipped() {
    let sb = Sandbox::new();
    let file = sb.dir.path().join("htpasswd");
    let line = |name: &str, hash: &str| format!("{name}:{hash}\n");
    std::fs::write(
        &file,
        line("eve", &hash_with_cost("$2y$", 31)) + &line("alice", &pw_hash()),
    )
    .unwrap();
    let out = common::run_with_timeout(
        sb.command(&["import-htpasswd", file.to_str().unwrap()]),
        None,
        QUICK,
    );
    out.expect_no_panic().expect_code(0);
    assert!(out.stdout.contains("skipped eve"), "{out:#?}");
    assert_eq!(sb.usernames(), ["alice"]);
}

// --- Symlinks and directories beside the file ---

#[test]
fn a_symlinked_temp_file_is_replaced_not_followed() {
    for dangling in [false, true] {
        let sb = Sandbox::with_file(&alice_and_bob());
        let victim = sb.dir.path().join("victim");
        if !dangling {
            std::fs::write(&victim, "precious").unwrap();
        }
        let temp = sb.data.with_file_name("users.json.tmp");
        std::os::unix::fs::symlink(&victim, &temp).unwrap();
        sb.add("carol", PW2).expect_no_panic().expect_code(0);
        assert_eq!(sb.usernames(), ["alice", "bob", "carol"]);
        if dangling {
            assert!(!victim.exists(), "a file was created through the link");
        } else {
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        }
        assert!(
            std::fs::symlink_metadata(&temp).is_err(),
            "the link is still there"
        );
    }
}

#[test]
fn a_symlinked_lock_file_is_refused_and_what_it_points_to_is_unchanged() {
    // A lock taken through a link would exclude nothing for a process that locks the real
    // name: refused like a linked users.json, and the target never written.
    let sb = Sandbox::with_file(&alice_and_bob());
    let victim = sb.dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let lock = sb.data.with_file_name("users.json.lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let out = sb.add("carol", PW2);
    assert_data_error(&out, &lock, "add");
    assert!(error_line(&out).contains("symbolic link"), "{out:#?}");
    assert_data_error(&sb.verify("alice", PW), &lock, "verify");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(sb.usernames(), ["alice", "bob"]);
}

#[test]
fn a_directory_at_the_temp_file_is_a_clear_error_and_the_file_is_kept() {
    let bytes = alice_and_bob();
    let sb = Sandbox::with_file(&bytes);
    let temp = sb.data.with_file_name("users.json.tmp");
    std::fs::create_dir(&temp).unwrap();
    std::fs::write(temp.join("inside"), "x").unwrap();
    assert_data_error(&sb.add("carol", PW2), &temp, "add");
    // A login only appends to the journal, and never needs the temp file.
    sb.verify("alice", PW).expect_code(0);
    assert_eq!(sb.usernames(), ["alice", "bob"]);
    assert!(std::fs::read(&sb.data).unwrap() == bytes);
    assert!(temp.join("inside").exists());
}

#[test]
fn a_directory_at_the_lock_file_is_a_clear_error_and_reads_still_work() {
    let bytes = alice_and_bob();
    let sb = Sandbox::with_file(&bytes);
    let lock = sb.data.with_file_name("users.json.lock");
    std::fs::create_dir(&lock).unwrap();
    assert_data_error(&sb.add("carol", PW2), &lock, "add");
    assert_data_error(&sb.run(&["user", "remove", "bob"]), &lock, "remove");
    assert_eq!(sb.usernames(), ["alice", "bob"]);
    assert!(std::fs::read(&sb.data).unwrap() == bytes);
}

#[test]
fn a_regular_file_where_the_data_directory_should_be_is_a_clear_error() {
    let sb = Sandbox::new();
    let blocker = sb.dir.path().join("blocker");
    std::fs::write(&blocker, "not a directory").unwrap();
    let data = blocker.join("users.json");
    for args in [
        &["user", "list"][..],
        &["user", "add", "carol", "--password-stdin"],
        &["verify", "alice", "--password-stdin"],
        &["user", "remove", "alice"],
    ] {
        let mut cmd = sb.bare_command(&["--data-file", data.to_str().unwrap(), "--cost", "4"]);
        cmd.args(args);
        let out = common::run(cmd, Some(format!("{PW2}\n").as_bytes()));
        assert_data_error(&out, &blocker, &format!("{args:?}"));
    }
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "not a directory");
}

// --- No permission ---

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Whether this process reads past file permissions (root, or CAP_DAC_OVERRIDE).
fn reads_past_permissions() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, "x").unwrap();
    set_mode(&probe, 0o000);
    std::fs::read(&probe).is_ok()
}

/// `cmd` as a process that permissions apply to: itself for an ordinary user; for root,
/// under `setpriv` as nobody. Where neither can be had, the test fails and says why: a
/// permission test that cannot run proves nothing, and must not pass.
fn without_privileges(cmd: Command, sb: &Sandbox) -> Command {
    if !reads_past_permissions() {
        return cmd;
    }
    let wrap = |cmd: &Command| {
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        wrapped
    };
    // nobody must reach the sandbox (a 0700 temp dir) and run the binary.
    set_mode(sb.dir.path(), 0o711);
    let probe = common::run(wrap(&sb.bare_command(&["--version"])), None);
    assert_eq!(
        probe.code,
        Some(0),
        "running as root, and `setpriv` (util-linux: apt-get install util-linux) cannot run authtui as nobody: {probe:?}"
    );
    let closed = sb.dir.path().join("probe-000");
    std::fs::write(&closed, "x").unwrap();
    set_mode(&closed, 0o000);
    let mut cat = Command::new("cat");
    cat.arg(&closed);
    let unprivileged = common::run(wrap(&cat), None);
    std::fs::remove_file(&closed).unwrap();
    assert_ne!(
        unprivileged.code,
        Some(0),
        "even as nobody, a mode-000 file is readable here: permissions cannot be tested"
    );
    wrap(&cmd)
}

#[test]
fn an_unreadable_file_is_a_clear_error_and_is_never_replaced() {
    let bytes = alice_and_bob();
    let sb = Sandbox::with_file(&bytes);
    let dir = sb.data.parent().unwrap().to_path_buf();
    let lock = sb.data.with_file_name("users.json.lock");
    std::fs::write(&lock, "").unwrap();
    // Anyone may write the directory and the lock: only the file itself is closed, so a
    // writer that took "unreadable" for "empty" could replace it.
    set_mode(&dir, 0o777);
    set_mode(&lock, 0o666);
    set_mode(&sb.data, 0o000);
    let runs: [(&str, &[&str]); 4] = [
        ("list", &["user", "list"]),
        ("verify", &["verify", "alice", "--password-stdin"]),
        ("add", &["user", "add", "carol", "--password-stdin"]),
        ("remove", &["user", "remove", "bob"]),
    ];
    for (what, args) in runs {
        let cmd = without_privileges(sb.command(args), &sb);
        let out = common::run(cmd, Some(format!("{PW}\n").as_bytes()));
        assert_data_error(&out, &sb.data, what);
        assert!(error_line(&out).contains("ermission denied"), "{what}: {out:#?}");
    }
    assert_eq!(common::mode(&sb.data), 0o000);
    set_mode(&sb.data, 0o600);
    assert!(std::fs::read(&sb.data).unwrap() == bytes);
    assert!(!sb.data.with_file_name("users.json.tmp").exists());
    set_mode(&dir, 0o700);
}

#[test]
fn a_directory_that_cannot_be_written_is_a_clear_error_and_reads_still_work() {
    let bytes = alice_and_bob();
    let sb = Sandbox::with_file(&bytes);
    let dir = sb.data.parent().unwrap().to_path_buf();
    let lock = sb.data.with_file_name("users.json.lock");
    set_mode(&sb.data, 0o644);
    for with_lock in [true, false] {
        if with_lock {
            std::fs::write(&lock, "").unwrap();
            set_mode(&lock, 0o666);
        } else {
            std::fs::remove_file(&lock).unwrap();
        }
        set_mode(&dir, 0o555);
        let list = without_privileges(sb.command(&["user", "list", "--json"]), &sb);
        let out = common::run(list, None);
        out.expect_code(0);
        assert!(out.stdout.contains("\"bob\""), "{out:#?}");
        // With the lock there, an account change needs the temp file and a login the
        // journal; without it, both need the lock first.
        let runs: [(&str, &[&str], &str); 2] = [
            (
                "add",
                &["user", "add", "carol", "--password-stdin"],
                "users.json.tmp",
            ),
            (
                "verify",
                &["verify", "alice", "--password-stdin"],
                "users.json.journal",
            ),
        ];
        for (what, args, beside) in runs {
            let blocked = if with_lock {
                sb.data.with_file_name(beside)
            } else {
                lock.clone()
            };
            let cmd = without_privileges(sb.command(args), &sb);
            let out = common::run(cmd, Some(format!("{PW}\n").as_bytes()));
            assert_data_error(&out, &blocked, what);
        }
        set_mode(&dir, 0o700);
        assert!(std::fs::read(&sb.data).unwrap() == bytes);
    }
}

// --- Hostile arguments ---

const CONTROL_NAME: &str = "ev\x1b[31mil\x07\x08\r\x1b]0;pwned\x07\u{9b}2J";

/// The commands that take a username, with what each wants on stdin.
fn username_commands(name: &str) -> Vec<(Vec<&str>, Option<String>)> {
    vec![
        (
            vec!["user", "add", name, "--password-stdin"],
            Some(format!("{PW2}\n")),
        ),
        (vec!["verify", name, "--password-stdin"], Some(format!("{PW}\n"))),
        (vec!["user", "remove", name], None),
        (
            vec!["user", "passwd", name, "--password-stdin"],
            Some(format!("{PW2}\n")),
        ),
        (vec!["user", "unlock", name], None),
    ]
}

fn run_username_commands(name: &str) -> Vec<(String, Output)> {
    let bytes = alice_and_bob();
    let sb = Sandbox::with_file(&bytes);
    let outs = username_commands(name)
        .into_iter()
        .map(|(args, input)| {
            let what = format!("{} {}", args[0], args[1]);
            let out = sb.run_stdin(&args, input.unwrap_or_default().as_bytes());
            out.expect_no_panic();
            assert_eq!(out.code, Some(1), "{what}: {out:#?}");
            (what, out)
        })
        .collect();
    assert!(
        std::fs::read(&sb.data).unwrap() == bytes,
        "a refused command changed the file"
    );
    outs
}

#[test]
fn a_username_argument_with_control_characters_is_refused() {
    run_username_commands(CONTROL_NAME);
    // The unknown-user answer is the same for it as for any name.
    let sb = Sandbox::with_file(&alice_and_bob());
    assert_eq!(sb.verify(CONTROL_NAME, PW).stderr, sb.verify("nobody", PW).stderr);
}

#[test]
fn errors_about_a_username_argument_show_no_control_characters() {
    // `authtui user remove $'ev\e[31mil\a'` prints "authtui: No account named ev␛[31mil␇":
    // the escape sequence reaches the terminal (`user add` escapes it, `log` drops it).
    // Expected: the name shown escaped or without its control characters.
    for (what, out) in run_username_commands(CONTROL_NAME) {
        let bad: Vec<char> = out
            .stderr
            .chars()
            .filter(|c| c.is_control() && *c != '\n')
            .collect();
        assert!(bad.is_empty(), "{what}: {bad:?} in {:?}", out.stderr);
    }
}

#[test]
fn a_100_kb_username_argument_is_refused() {
    let long = "a".repeat(100_000);
    let outs = run_username_commands(&long);
    assert!(error_line(&outs[0].1).contains("at most 32"), "{:#?}", outs[0].1);
}

#[test]
fn a_username_argument_that_is_not_utf8_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::with_file(&alice_and_bob());
    let name = std::ffi::OsStr::from_bytes(b"al\xffice");
    for sub in [&["user", "remove"][..], &["user", "unlock"], &["verify"]] {
        let mut cmd = sb.command(sub);
        cmd.arg(name);
        let out = common::run(cmd, None);
        out.expect_no_panic();
        assert_eq!(out.code, Some(2), "{sub:?}: {out:#?}");
        assert!(out.stderr.contains("UTF-8"), "{sub:?}: {out:#?}");
    }
}

// --- Hostile passwords on standard input ---

/// Runs a password command with `input` on stdin, against alice (who exists) and nobody.
fn with_password(sb: &Sandbox, args: &[&str], input: &[u8]) -> Output {
    let out = sb.run_stdin(args, input);
    out.expect_no_panic();
    out
}

#[test]
fn a_1_mb_password_is_refused_without_echo_and_nothing_is_recorded() {
    let bytes = alice_and_bob();
    let sb = Sandbox::with_file(&bytes);
    let marker = "Zq7!".repeat(MB / 4);
    for input in [format!("{marker}\n"), marker.clone()] {
        let add = with_password(
            &sb,
            &["user", "add", "carol", "--password-stdin"],
            input.as_bytes(),
        );
        let known = with_password(&sb, &["verify", "alice", "--password-stdin"], input.as_bytes());
        let unknown = with_password(&sb, &["verify", "nobody", "--password-stdin"], input.as_bytes());
        let passwd = with_password(
            &sb,
            &["user", "passwd", "alice", "--password-stdin"],
            input.as_bytes(),
        );
        for (what, out) in [("add", &add), ("verify", &known), ("passwd", &passwd)] {
            assert_eq!(out.code, Some(1), "{what}: {out:#?}");
            assert!(error_line(out).contains("at most 72 bytes"), "{what}: {out:#?}");
            assert!(!out.stderr.contains("Zq7!Zq7!"), "{what}: the password is echoed");
            assert!(out.stderr.len() < 1000, "{what}");
        }
        assert_eq!(known.stderr, unknown.stderr);
        assert_eq!(known.code, unknown.code);
    }
    assert!(std::fs::read(&sb.data).unwrap() == bytes);
}

#[test]
fn a_password_with_nul_bytes_never_matches_a_shorter_one() {
    let sb = Sandbox::with_file(&alice_and_bob());
    // bcrypt implementations in C stop at a NUL: "PW\0anything" must not log in as PW.
    for input in [
        format!("{PW}\0\n"),
        format!("{PW}\0garbage after the nul\n"),
        format!("{}\0{}\n", &PW[..8], &PW[8..]),
    ] {
        let known = with_password(&sb, &["verify", "alice", "--password-stdin"], input.as_bytes());
        let unknown = with_password(&sb, &["verify", "nobody", "--password-stdin"], input.as_bytes());
        assert_eq!(known.code, Some(1), "{input:?}: {known:#?}");
        assert_eq!(known.stderr, unknown.stderr, "{input:?}");
    }
    let out = with_password(
        &sb,
        &["user", "add", "carol", "--password-stdin"],
        b"violet marmot\0sings under quartz\n",
    );
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(error_line(&out).contains("control characters"), "{out:#?}");
    // Failures were counted (the answer is the same as for any wrong password), and the
    // real password still works.
    sb.verify("alice", PW).expect_code(0);
    assert_eq!(sb.usernames(), ["alice", "bob"]);
}

#[test]
fn a_password_that_is_not_utf8_or_missing_is_a_clear_usage_error() {
    let bytes = alice_and_bob();
    let sb = Sandbox::with_file(&bytes);
    for (what, input, says) in [
        ("invalid UTF-8", &b"\xff\xfe correct horse\n"[..], "UTF-8"),
        (
            "a lone continuation byte",
            b"correct horse battery stapl\x80\n",
            "UTF-8",
        ),
        ("nothing", b"", "no password"),
    ] {
        for args in [
            &["user", "add", "carol", "--password-stdin"][..],
            &["verify", "alice", "--password-stdin"],
            &["user", "passwd", "alice", "--password-stdin"],
        ] {
            let out = with_password(&sb, args, input);
            assert_eq!(out.code, Some(2), "{what}: {args:?}: {out:#?}");
            let line = error_line(&out);
            assert!(
                line.contains("standard input") && line.contains(says),
                "{what}: {line}"
            );
        }
    }
    assert!(std::fs::read(&sb.data).unwrap() == bytes);
}

// --- The app: every key, every modifier, hostile pastes ---

mod app {
    use std::time::Instant;

    use authtui::auth::{Cost, FakeClock, Password, Service};
    use authtui::store::MemoryStore;
    use authtui::tui::app::{Context, Model, Msg, Screen, update};
    use authtui::tui::field::MAX_CHARS;
    use authtui::tui::screens::dashboard::TimeZone;
    use authtui::tui::theme::Theme;
    use authtui::tui::view::view;
    use authtui::tui::worker::perform;
    use crossterm::event::{
        KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MediaKeyCode, ModifierKeyCode,
        MouseButton, MouseEvent, MouseEventKind,
    };
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::{MB, PW};

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Target {
        Login,
        Signup,
        Dashboard,
        ChangePassword,
        DeleteAccount,
    }

    pub const TARGETS: [Target; 5] = [
        Target::Login,
        Target::Signup,
        Target::Dashboard,
        Target::ChangePassword,
        Target::DeleteAccount,
    ];

    pub fn target_of(model: &Model) -> Target {
        match model.screen {
            Screen::Login(_) => Target::Login,
            Screen::Signup(_) => Target::Signup,
            Screen::Dashboard(_) => Target::Dashboard,
            Screen::ChangePassword(_) => Target::ChangePassword,
            Screen::DeleteAccount(_) => Target::DeleteAccount,
        }
    }

    /// The app with a real service (memory store, cost 4) and a test terminal.
    pub struct App {
        pub service: Service,
        pub terminal: Terminal<TestBackend>,
        pub draws: usize,
        /// The path the Dashboard shows.
        pub data_file: String,
    }

    pub fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
        Msg::Key(KeyEvent::new(code, modifiers))
    }

    impl App {
        pub fn new() -> App {
            let service =
                Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(FakeClock::at_epoch());
            service.create_account("alice", &Password::from(PW)).unwrap();
            App {
                service,
                terminal: Terminal::new(TestBackend::new(80, 24)).unwrap(),
                draws: 0,
                data_file: "/home/alice/.local/share/authtui/users.json".into(),
            }
        }

        /// Feeds a message, doing any command it asks for as the worker would. Returns
        /// whether the message itself asked for one.
        pub fn send(&self, model: &mut Model, msg: Msg) -> bool {
            let Some(cmd) = update(model, msg) else {
                return false;
            };
            let mut pending: Vec<Msg> = perform(&self.service, cmd).into_iter().collect();
            while let Some(msg) = pending.pop() {
                if let Some(cmd) = update(model, msg) {
                    pending.extend(perform(&self.service, cmd));
                }
            }
            true
        }

        fn type_text(&self, model: &mut Model, text: &str) {
            for c in text.chars() {
                self.send(model, key(KeyCode::Char(c), KeyModifiers::NONE));
            }
        }

        /// A fresh app on `target`, reached as a user would (logging in for real).
        pub fn fresh(&self, target: Target) -> Model {
            let mut model = Model::new(
                Context {
                    data_file: self.data_file.clone(),
                    cost: Cost::new(4).unwrap(),
                    time_zone: TimeZone::Utc,
                    idle_timeout: Some(std::time::Duration::from_secs(900)),
                    peer: None,
                    clock: std::time::Instant::now,
                },
                Instant::now(),
            );
            match target {
                Target::Login => {}
                Target::Signup => {
                    self.send(&mut model, key(KeyCode::Char('n'), KeyModifiers::CONTROL));
                }
                Target::Dashboard | Target::ChangePassword | Target::DeleteAccount => {
                    // Wrong passwords typed by the sweep lock the account: an admin unlocks.
                    self.service.unlock("alice").unwrap();
                    self.type_text(&mut model, "alice");
                    self.send(&mut model, key(KeyCode::Tab, KeyModifiers::NONE));
                    self.type_text(&mut model, PW);
                    self.send(&mut model, key(KeyCode::Enter, KeyModifiers::NONE));
                    let then = match target {
                        Target::ChangePassword => Some('p'),
                        Target::DeleteAccount => Some('d'),
                        _ => None,
                    };
                    if let Some(c) = then {
                        self.send(&mut model, key(KeyCode::Char(c), KeyModifiers::NONE));
                    }
                }
            }
            assert_eq!(target_of(&model), target, "could not reach {target:?}");
            model
        }

        /// Draws the model (settled, as the loop does), checks that no control character
        /// reached the screen, and returns the screen's text.
        pub fn draw(&mut self, model: &mut Model) -> String {
            model.settle();
            let theme = Theme {
                color: self.draws.is_multiple_of(2),
            };
            self.terminal.draw(|f| view(model, f, &theme)).unwrap();
            self.draws += 1;
            let buffer = self.terminal.backend().buffer();
            let mut text = String::new();
            for (i, cell) in buffer.content().iter().enumerate() {
                assert!(
                    !cell.symbol().chars().any(char::is_control),
                    "a control character on screen: {:?}",
                    cell.symbol()
                );
                text.push_str(cell.symbol());
                if (i + 1) % usize::from(buffer.area.width) == 0 {
                    text.push('\n');
                }
            }
            text
        }
    }

    /// Every field of the screen's form holds at most MAX_CHARS characters, none a control.
    #[track_caller]
    pub fn assert_fields_sane(model: &Model, context: &dyn std::fmt::Debug) {
        let Some(form) = model.screen.form() else { return };
        for (i, labeled) in form.fields.iter().enumerate() {
            let value = labeled.field.value();
            let chars = value.chars().count();
            assert!(
                chars <= MAX_CHARS,
                "{context:?}: field {i} holds {chars} characters"
            );
            assert!(
                !value.chars().any(char::is_control),
                "{context:?}: field {i} holds a control character: {value:?}"
            );
        }
    }

    pub fn field_values(model: &Model) -> Vec<String> {
        model.screen.form().map_or_else(Vec::new, |f| {
            f.fields.iter().map(|l| l.field.value().to_owned()).collect()
        })
    }

    /// Every key code crossterm has (chars: the controls, ASCII, and some hard Unicode).
    pub fn all_key_codes() -> Vec<KeyCode> {
        let mut codes = vec![
            KeyCode::Backspace,
            KeyCode::Enter,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::Null,
            KeyCode::Esc,
            KeyCode::CapsLock,
            KeyCode::ScrollLock,
            KeyCode::NumLock,
            KeyCode::PrintScreen,
            KeyCode::Pause,
            KeyCode::Menu,
            KeyCode::KeypadBegin,
        ];
        codes.extend((0..=24).chain([99, 255]).map(KeyCode::F));
        codes.extend(
            [
                MediaKeyCode::Play,
                MediaKeyCode::Pause,
                MediaKeyCode::PlayPause,
                MediaKeyCode::Reverse,
                MediaKeyCode::Stop,
                MediaKeyCode::FastForward,
                MediaKeyCode::Rewind,
                MediaKeyCode::TrackNext,
                MediaKeyCode::TrackPrevious,
                MediaKeyCode::Record,
                MediaKeyCode::LowerVolume,
                MediaKeyCode::RaiseVolume,
                MediaKeyCode::MuteVolume,
            ]
            .map(KeyCode::Media),
        );
        codes.extend(
            [
                ModifierKeyCode::LeftShift,
                ModifierKeyCode::LeftControl,
                ModifierKeyCode::LeftAlt,
                ModifierKeyCode::LeftSuper,
                ModifierKeyCode::LeftHyper,
                ModifierKeyCode::LeftMeta,
                ModifierKeyCode::RightShift,
                ModifierKeyCode::RightControl,
                ModifierKeyCode::RightAlt,
                ModifierKeyCode::RightSuper,
                ModifierKeyCode::RightHyper,
                ModifierKeyCode::RightMeta,
                ModifierKeyCode::IsoLevel3Shift,
                ModifierKeyCode::IsoLevel5Shift,
            ]
            .map(KeyCode::Modifier),
        );
        // Every ASCII character (controls and DEL included), the C1 controls, and
        // characters that are wide, zero-width, combining, bidi, or at the edges.
        codes.extend((0u8..=0x7f).map(|b| KeyCode::Char(char::from(b))));
        codes.extend(('\u{80}'..='\u{9f}').map(KeyCode::Char));
        codes.extend(
            [
                'é',
                '漢',
                '🦀',
                '\u{200b}',
                '\u{200d}',
                '\u{202e}',
                '\u{2066}',
                '\u{301}',
                '\u{fe0f}',
                '\u{feff}',
                '\u{ad}',
                '\u{2028}',
                '\u{2029}',
                '\u{fffd}',
                '\u{ffff}',
                '\u{10ffff}',
                '\u{e000}',
            ]
            .map(KeyCode::Char),
        );
        codes
    }

    /// All 64 combinations of Shift, Control, Alt, Super, Hyper and Meta.
    pub fn all_modifiers() -> impl Iterator<Item = KeyModifiers> {
        (0u8..64).map(KeyModifiers::from_bits_truncate)
    }

    #[test]
    fn every_key_with_every_modifier_on_every_screen() {
        let mut app = App::new();
        let codes = all_key_codes();
        let mut keys = 0;
        for target in TARGETS {
            for &code in &codes {
                let mut model = app.fresh(target);
                for mods in all_modifiers() {
                    let context = (target, code, mods);
                    app.send(&mut model, Msg::Key(KeyEvent::new(code, mods)));
                    keys += 1;
                    assert_fields_sane(&model, &context);
                    if target_of(&model) != target || model.quit || model.help {
                        // Draw where the key led, then start again where the sweep is.
                        app.draw(&mut model);
                        model = app.fresh(target);
                    }
                }
                app.draw(&mut model);
            }
        }
        eprintln!("{keys} keys, {} frames drawn", app.draws);
    }

    #[test]
    fn repeats_and_releases_of_keys_with_any_state() {
        let mut app = App::new();
        let mut codes: Vec<KeyCode> = ('a'..='z').map(KeyCode::Char).collect();
        codes.extend([
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::Backspace,
            KeyCode::F(1),
            KeyCode::Char('?'),
            KeyCode::Char('\u{1b}'),
        ]);
        let states = [
            KeyEventState::NONE,
            KeyEventState::KEYPAD | KeyEventState::CAPS_LOCK | KeyEventState::NUM_LOCK,
        ];
        for target in TARGETS {
            for kind in [KeyEventKind::Repeat, KeyEventKind::Release] {
                let mut model = app.fresh(target);
                for &code in &codes {
                    for mods in [KeyModifiers::NONE, KeyModifiers::SHIFT, KeyModifiers::CONTROL] {
                        for state in states {
                            if code == KeyCode::Char('c') && mods == KeyModifiers::CONTROL {
                                continue;
                            }
                            let before = field_values(&model);
                            let event = KeyEvent::new_with_kind_and_state(code, mods, kind, state);
                            let asked = app.send(&mut model, Msg::Key(event));
                            assert_fields_sane(&model, &(target, code, kind));
                            if kind == KeyEventKind::Release {
                                // A release is no key press: nothing happens.
                                assert!(!asked && !model.quit && !model.help);
                                assert_eq!(target_of(&model), target);
                                assert_eq!(field_values(&model), before);
                            } else if target_of(&model) != target || model.quit || model.help {
                                app.draw(&mut model);
                                model = app.fresh(target);
                            }
                        }
                    }
                }
                app.draw(&mut model);
            }
        }
    }

    /// Hostile pastes, each about 1 MB.
    fn hostile_pastes() -> Vec<(&'static str, String)> {
        let fill = |piece: &str| piece.repeat(MB / piece.len() + 1);
        let controls: String = (0u32..0x20)
            .chain(0x7f..0xa0)
            .filter_map(char::from_u32)
            .collect();
        vec![
            ("1 MB of one letter", "a".repeat(MB)),
            ("1 MB of text", fill("correct horse battery staple ")),
            ("1 MB of wide characters", fill("漢🦀")),
            (
                "1 MB of escape sequences",
                fill(
                    "\x1b[31mred\x1b[0m\x1b]0;title\x07\x1b[2J\x1b[H\x1bP+q\x1b\\\r\n\t\x08\x7f\u{9b}6n\u{202e}",
                ),
            ),
            ("1 MB of control characters", fill(&controls)),
            ("1 MB of newlines", "\n".repeat(MB)),
            ("combining marks", fill("e\u{301}\u{302}\u{303}\u{304}")),
        ]
    }

    #[test]
    fn a_1_mb_hostile_paste_into_every_field_is_capped_cleaned_and_never_submits() {
        let mut app = App::new();
        let pastes = hostile_pastes();
        for target in [
            Target::Login,
            Target::Signup,
            Target::ChangePassword,
            Target::DeleteAccount,
        ] {
            let fields = app.fresh(target).screen.form().unwrap().fields.len();
            for field in 0..fields {
                for (what, text) in &pastes {
                    let context = (target, field, *what);
                    let mut model = app.fresh(target);
                    for _ in 0..field {
                        app.send(&mut model, key(KeyCode::Tab, KeyModifiers::NONE));
                    }
                    assert_eq!(model.screen.form().unwrap().focused_field(), Some(field));
                    // Twice: the second lands in a full (or nearly full) field.
                    for _ in 0..2 {
                        let asked = app.send(&mut model, Msg::Paste(text.clone()));
                        assert!(!asked, "{context:?}: a paste submitted the form");
                        assert!(model.busy.is_none() && !model.quit, "{context:?}");
                        assert_eq!(target_of(&model), target, "{context:?}");
                        assert_fields_sane(&model, &context);
                    }
                    let value = field_values(&model)[field].clone();
                    let expected: String = text.chars().filter(|c| !c.is_control()).take(MAX_CHARS).collect();
                    assert_eq!(value, expected, "{context:?}");
                    // Other fields are untouched.
                    for (i, other) in field_values(&model).iter().enumerate() {
                        if i != field {
                            assert_eq!(other, "", "{context:?}: field {i}");
                        }
                    }
                    app.draw(&mut model);
                    app.terminal.backend_mut().resize(20, 6);
                    app.draw(&mut model);
                    app.terminal.backend_mut().resize(80, 24);
                }
            }
        }
    }

    #[test]
    fn a_1_mb_paste_of_controls_into_a_nearly_full_field() {
        // The worst case for the paste loop: the field never fills, so every character of
        // the paste is looked at with the field at 255 characters.
        let mut app = App::new();
        let mut model = app.fresh(Target::Login);
        app.send(&mut model, Msg::Paste("u".repeat(MAX_CHARS - 1)));
        let started = Instant::now();
        app.send(&mut model, Msg::Paste("\x1b".repeat(MB)));
        eprintln!(
            "1 MB paste of ESC into a 255-character field: {:?}",
            started.elapsed()
        );
        assert_eq!(field_values(&model)[0], "u".repeat(MAX_CHARS - 1));
        app.draw(&mut model);
    }

    #[test]
    fn a_data_file_path_with_escape_sequences_is_drawn_without_them() {
        // `--data-file` is any path the shell passes; the Dashboard shows it.
        let mut app = App::new();
        app.data_file = "/tmp/\x1b[2J\x1b]0;pwned\x07\u{9b}31m/users.json".into();
        for target in TARGETS {
            let mut model = app.fresh(target);
            let text = app.draw(&mut model);
            if target == Target::Dashboard {
                assert!(text.contains("pwned"), "the path is not shown:\n{text}");
            }
        }
    }

    #[test]
    fn pastes_where_no_field_has_focus_are_ignored() {
        let mut app = App::new();
        let (_, text) = &hostile_pastes()[3];
        // The Dashboard has no field.
        let mut model = app.fresh(Target::Dashboard);
        assert!(!app.send(&mut model, Msg::Paste(text.clone())));
        assert_eq!(target_of(&model), Target::Dashboard);
        app.draw(&mut model);
        // A button has focus.
        let mut model = app.fresh(Target::Login);
        for _ in 0..2 {
            app.send(&mut model, key(KeyCode::Tab, KeyModifiers::NONE));
        }
        assert!(!app.send(&mut model, Msg::Paste(text.clone())));
        assert_eq!(field_values(&model), ["", ""]);
        // The help is open.
        let mut model = app.fresh(Target::Signup);
        app.send(&mut model, key(KeyCode::F(1), KeyModifiers::NONE));
        assert!(model.help);
        assert!(!app.send(&mut model, Msg::Paste(text.clone())));
        assert_eq!(field_values(&model), ["", "", ""]);
        app.draw(&mut model);
    }

    #[test]
    fn clicks_anywhere_and_absurd_sizes_on_every_screen() {
        let mut app = App::new();
        for target in TARGETS {
            let mut model = app.fresh(target);
            for (w, h) in [(80, 24), (0, 0), (1, 1), (u16::MAX, u16::MAX), (80, 24)] {
                app.send(&mut model, Msg::Resize(w, h));
                let points = [
                    (0, 0),
                    (w / 2, h / 2),
                    (w.saturating_sub(1), h.saturating_sub(1)),
                    (u16::MAX, 0),
                ];
                for (column, row) in points {
                    for kind in [
                        MouseEventKind::Down(MouseButton::Left),
                        MouseEventKind::Down(MouseButton::Right),
                        MouseEventKind::Up(MouseButton::Left),
                        MouseEventKind::Drag(MouseButton::Left),
                        MouseEventKind::Moved,
                        MouseEventKind::ScrollDown,
                        MouseEventKind::ScrollUp,
                        MouseEventKind::ScrollLeft,
                        MouseEventKind::ScrollRight,
                    ] {
                        let event = MouseEvent {
                            kind,
                            column,
                            row,
                            modifiers: KeyModifiers::all(),
                        };
                        app.send(&mut model, Msg::Mouse(event));
                        assert_fields_sane(&model, &(target, w, h, column, row));
                        if target_of(&model) != target || model.quit {
                            app.draw(&mut model);
                            model = app.fresh(target);
                            app.send(&mut model, Msg::Resize(w, h));
                        }
                    }
                }
            }
            // A left click on every cell of an 80x24 screen.
            app.send(&mut model, Msg::Resize(80, 24));
            for row in 0..24 {
                for column in 0..80 {
                    let event = MouseEvent {
                        kind: MouseEventKind::Down(MouseButton::Left),
                        column,
                        row,
                        modifiers: KeyModifiers::NONE,
                    };
                    app.send(&mut model, Msg::Mouse(event));
                    assert_fields_sane(&model, &(target, column, row));
                    if target_of(&model) != target || model.quit || model.help {
                        app.draw(&mut model);
                        model = app.fresh(target);
                    }
                }
            }
            app.draw(&mut model);
        }
    }
}
