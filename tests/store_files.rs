//! `users.json` on disk (docs/security.md rules 16-20): modes, atomic saves, corrupt files that
//! are refused and never written over, paths that are not regular files, and the
//! read-modify-write of the library's store.

mod common;

use std::path::Path;

use authtui::store::{Change, JsonFile, UserRecord, UserStore};
use common::{PW, PW2, Sandbox, fixture, fixture_vectors, mode};

/// A valid current-shape file with `alice` (password [`PW`], a Python-bcrypt hash), written
/// over several lines like a person might edit it.
fn valid_file() -> String {
    let (password, hash, _) = &fixture_vectors("python-bcrypt.json")[0];
    assert_eq!(password, PW);
    format!(
        "{{\n  \"version\": 1,\n  \"users\": {{\n    \"alice\": {{\n      \"password_hash\": \"{hash}\",\n      \"created_at\": \"2026-01-02T03:04:05Z\",\n      \"login_count\": 3\n    }}\n  }}\n}}\n"
    )
}

// --- Modes and temp files ---

#[test]
fn a_new_file_is_0600_in_directories_created_0700() {
    let sb = Sandbox::new();
    let nested = sb.dir.path().join("a").join("b").join("users.json");
    let out = common::run(
        sb.bare_command(&[
            "--data-file",
            nested.to_str().unwrap(),
            "--cost",
            "4",
            "user",
            "add",
            "alice",
            "--password-stdin",
        ]),
        Some(format!("{PW}\n").as_bytes()),
    );
    out.expect_code(0);
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(&nested.with_file_name("users.json.lock")), 0o600);
    assert_eq!(mode(&sb.dir.path().join("a").join("b")), 0o700);
    assert_eq!(mode(&sb.dir.path().join("a")), 0o700);
}

#[test]
fn a_save_leaves_the_file_0600_even_if_it_was_0644() {
    let sb = Sandbox::with_file(&std::fs::read(fixture("legacy-users.json")).unwrap());
    std::fs::set_permissions(&sb.data, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    sb.verify("alice", "alice-legacy-password").expect_code(0);
    assert_eq!(mode(&sb.data), 0o600);
}

#[test]
fn no_temp_file_is_left_after_saves() {
    // Logins (and an unlock) append to the journal; each account change rewrites
    // users.json, folds the journal in and removes it.
    let sb = Sandbox::new();
    let expected = ["events.jsonl", "users.json", "users.json.lock"];
    let journaled = [
        "events.jsonl",
        "users.json",
        "users.json.journal",
        "users.json.lock",
    ];
    sb.add("alice", PW).expect_code(0);
    assert_eq!(sb.dir_entries(), expected);
    sb.add("bob", PW2).expect_code(0);
    sb.verify("alice", PW).expect_code(0);
    sb.verify("alice", PW2).expect_code(1);
    assert_eq!(sb.dir_entries(), journaled);
    sb.run_stdin(
        &["user", "passwd", "bob", "--password-stdin"],
        format!("{PW}\n").as_bytes(),
    )
    .expect_code(0);
    assert_eq!(sb.dir_entries(), expected);
    sb.run(&["user", "unlock", "alice"]).expect_code(0);
    assert_eq!(sb.dir_entries(), journaled);
    sb.run(&["user", "remove", "bob"]).expect_code(0);
    assert_eq!(sb.dir_entries(), expected);
    let htpasswd = fixture("htpasswd-mixed");
    sb.run(&["import-htpasswd", htpasswd.to_str().unwrap()])
        .expect_code(0);
    assert_eq!(sb.dir_entries(), expected);
    assert_eq!(sb.usernames(), ["alice", "bob", "grace"]);
}

#[test]
fn saved_file_is_compact_current_json_ending_in_a_newline() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let text = std::fs::read_to_string(&sb.data).unwrap();
    assert!(
        text.starts_with(r#"{"version":1,"users":{"alice":{"password_hash":"$2b$04$"#),
        "{text}"
    );
    assert!(text.ends_with("}}}\n"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

// --- Missing file, odd paths ---

#[test]
fn a_missing_file_is_an_empty_store_and_reads_create_nothing() {
    let sb = Sandbox::new();
    let out = sb.run(&["user", "list"]);
    out.expect_code(0);
    assert_eq!(out.stdout, format!("No accounts in {}\n", sb.data_str()));
    assert!(sb.list_json().is_empty());
    // An unknown user is just a failed login: nothing to record, nothing written.
    sb.verify("alice", PW).expect_code(1);
    sb.run(&["user", "unlock", "alice"]).expect_code(1);
    sb.run(&["user", "remove", "alice"]).expect_code(1);
    assert!(
        !sb.data.parent().unwrap().exists(),
        "a read created the data directory"
    );
    assert!(!sb.xdg().exists(), "the default data directory was touched");
}

#[test]
fn a_directory_at_the_data_path_is_refused_with_exit_2() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(&sb.data).unwrap();
    for out in [
        sb.run(&["user", "list"]),
        sb.verify("alice", PW),
        sb.add("alice", PW),
    ] {
        out.expect_code(2);
        let line = out.errors().join("\n");
        assert!(line.contains(&sb.data_str()), "{out:#?}");
        assert!(line.contains("directory"), "{out:#?}");
    }
    assert!(sb.data.is_dir());
    assert_eq!(std::fs::read_dir(&sb.data).unwrap().count(), 0);
}

#[test]
fn a_symlink_at_the_data_path_is_refused_with_exit_2() {
    let sb = Sandbox::new();
    let target = sb.dir.path().join("real-users.json");
    let original = valid_file();
    std::fs::write(&target, &original).unwrap();
    std::fs::create_dir_all(sb.data.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&target, &sb.data).unwrap();
    for out in [
        sb.run(&["user", "list"]),
        sb.verify("alice", PW),
        sb.add("bob", PW),
    ] {
        out.expect_code(2);
        let line = out.errors().join("\n");
        assert!(line.contains(&sb.data_str()), "{out:#?}");
        assert!(line.contains("symbolic link"), "{out:#?}");
    }
    assert!(sb.data.is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), original);
}

#[test]
fn a_dangling_symlink_at_the_data_path_is_refused_with_exit_2() {
    let sb = Sandbox::new();
    let target = sb.dir.path().join("nowhere.json");
    std::fs::create_dir_all(sb.data.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&target, &sb.data).unwrap();
    sb.add("bob", PW).expect_code(2);
    sb.run(&["user", "list"]).expect_code(2);
    assert!(!target.exists());
    assert!(sb.data.is_symlink());
}

// --- Corrupt files ---

/// What a refused file's message must say about where the problem is.
enum Position {
    /// `PATH:LINE:COL:` (on this line, if given).
    LineCol(Option<usize>),
    /// Only the path (an unknown version is no parse error).
    None,
}

/// `user list`, `verify` and `user add` on a bad file: each exits 2 with the path (and
/// position) in a one-line message, and the file's bytes are the same afterwards.
fn assert_refused_and_untouched(bytes: &[u8], position: Position) {
    let sb = Sandbox::with_file(bytes);
    let path = sb.data_str();
    let runs = [
        ("user list", sb.run(&["user", "list"])),
        ("user list --json", sb.run(&["user", "list", "--json"])),
        ("verify", sb.verify("alice", PW)),
        ("user add", sb.add("bob", PW2)),
        ("user passwd", {
            sb.run_stdin(
                &["user", "passwd", "alice", "--password-stdin"],
                format!("{PW2}\n").as_bytes(),
            )
        }),
        ("user unlock", sb.run(&["user", "unlock", "alice"])),
        ("user remove", sb.run(&["user", "remove", "alice"])),
    ];
    for (what, out) in &runs {
        assert_eq!(out.code, Some(2), "{what}: {out:#?}");
        assert_eq!(out.stdout, "", "{what}");
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{what}: one line: {out:#?}");
        let line = errors[0];
        assert!(line.starts_with("authtui: "), "{what}: {line}");
        let Some(at) = line.find(&path) else {
            panic!("{what}: the message does not name {path}: {line}");
        };
        if let Position::LineCol(want_line) = position {
            let rest = &line[at + path.len()..];
            let parts: Vec<&str> = rest.splitn(4, ':').collect();
            assert!(
                parts.len() == 4
                    && parts[0].is_empty()
                    && parts[1].parse::<usize>().is_ok()
                    && parts[2].parse::<usize>().is_ok(),
                "{what}: no PATH:LINE:COL in {line}"
            );
            if let Some(want) = want_line {
                assert_eq!(parts[1].parse::<usize>().unwrap(), want, "{what}: {line}");
            }
        }
        assert_eq!(std::fs::read(&sb.data).unwrap(), bytes, "{what} changed the file");
    }
    // Nothing beside it either: no temp file, and the data file was not replaced.
    let entries = sb.dir_entries();
    assert!(
        entries
            .iter()
            .all(|e| e == "users.json" || e == "users.json.lock"),
        "{entries:?}"
    );
}

#[test]
fn corrupt_truncated_valid_file() {
    let valid = valid_file();
    let cut = valid.find("\"created_at\"").unwrap();
    assert_refused_and_untouched(&valid.as_bytes()[..cut], Position::LineCol(Some(6)));
}

#[test]
fn corrupt_truncated_compact_file_written_by_authtui() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    sb.add("bob", PW2).expect_code(0);
    let bytes = std::fs::read(&sb.data).unwrap();
    for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 3] {
        assert_refused_and_untouched(&bytes[..cut], Position::LineCol(Some(1)));
    }
}

#[test]
fn corrupt_garbage_bytes() {
    assert_refused_and_untouched(b"\x00\x9f\x92\x96garbage\xff\xfe{{{", Position::LineCol(Some(1)));
    assert_refused_and_untouched(b"alice:$2b$04$abc\n", Position::LineCol(Some(1)));
}

#[test]
fn corrupt_empty_file() {
    assert_refused_and_untouched(b"", Position::LineCol(None));
}

#[test]
fn corrupt_only_whitespace() {
    assert_refused_and_untouched(b"  \n\t\n  \r\n", Position::LineCol(None));
}

#[test]
fn corrupt_top_level_array() {
    assert_refused_and_untouched(b"[]", Position::LineCol(Some(1)));
}

#[test]
fn corrupt_users_is_an_array() {
    assert_refused_and_untouched(br#"{"version":1,"users":[]}"#, Position::LineCol(Some(1)));
    // (serde_json places errors a visitor raises at the end of the enclosing object, here
    // line 4, not at the `[]` on line 3: only some position is asserted.)
    assert_refused_and_untouched(
        b"{\n  \"version\": 1,\n  \"users\": []\n}\n",
        Position::LineCol(None),
    );
}

#[test]
fn corrupt_password_hash_is_a_number() {
    assert_refused_and_untouched(
        br#"{"version":1,"users":{"alice":{"password_hash":5}}}"#,
        Position::LineCol(Some(1)),
    );
}

#[test]
fn corrupt_other_wrong_types() {
    for bad in [
        "null",
        "\"users\"",
        "42",
        r#"{"version":"1","users":{}}"#,
        r#"{"version":1}"#,
        r#"{"users":{}}"#,
        r#"{"version":1,"users":{"alice":"$2b$04$abc"}}"#,
        r#"{"version":1,"users":{"alice":{"password_hash":"h","login_count":-1}}}"#,
        r#"{"version":1,"users":{"alice":{"password_hash":"h","created_at":"yesterday"}}}"#,
        r#"{"version":1,"users":{"alice":{"password_hash":"h","surprise":1}}}"#,
        r#"{"alice": 5}"#,
        r#"{"alice": {"password_hash": "h"}}"#,
    ] {
        assert_refused_and_untouched(bad.as_bytes(), Position::LineCol(Some(1)));
    }
}

#[test]
fn corrupt_invalid_utf8_inside_a_string() {
    let valid = valid_file();
    let bytes = valid.replacen("alice", "al\u{fffd}ce", 1).into_bytes();
    // Replace the three bytes of U+FFFD by one invalid byte.
    let at = bytes.windows(3).position(|w| w == "\u{fffd}".as_bytes()).unwrap();
    let mut bad = bytes[..at].to_vec();
    bad.push(0xff);
    bad.extend_from_slice(&bytes[at + 3..]);
    assert!(std::str::from_utf8(&bad).is_err());
    assert_refused_and_untouched(&bad, Position::LineCol(Some(4)));

    let mut in_hash = valid.into_bytes();
    let at = in_hash.windows(7).position(|w| w == b"$2b$04$").unwrap();
    in_hash[at + 10] = 0xc3; // a lone lead byte
    assert_refused_and_untouched(&in_hash, Position::LineCol(Some(5)));
}

#[test]
fn corrupt_future_version_is_refused_saying_so() {
    let bytes = br#"{"version":2,"users":{}}"#;
    assert_refused_and_untouched(bytes, Position::None);
    let sb = Sandbox::with_file(bytes);
    let out = sb.run(&["user", "list"]);
    assert!(out.stderr.contains("version 2"), "{out:#?}");
    // A future file may hold any shape: it is not parsed as ours.
    assert_refused_and_untouched(
        br#"{"version":3,"users":[1,2],"accounts":{"alice":{"hash":"x"}}}"#,
        Position::None,
    );
}

#[test]
fn corrupt_duplicate_usernames() {
    let (_, hash, _) = &fixture_vectors("python-bcrypt.json")[0];
    let current = format!(
        r#"{{"version":1,"users":{{"alice":{{"password_hash":"{hash}"}},"alice":{{"password_hash":"{hash}"}}}}}}"#
    );
    assert_refused_and_untouched(current.as_bytes(), Position::LineCol(Some(1)));
    let legacy = format!("{{\n  \"alice\": \"{hash}\",\n  \"alice\": \"{hash}\"\n}}");
    // Reported at the end of the object (line 4), as serde_json places a visitor's errors.
    assert_refused_and_untouched(legacy.as_bytes(), Position::LineCol(None));
}

#[test]
fn corrupt_file_message_says_what_is_wrong() {
    let sb = Sandbox::with_file(b"");
    let out = sb.run(&["user", "list"]);
    assert!(out.stderr.contains("empty"), "{out:#?}");
    let sb =
        Sandbox::with_file(br#"{"version":1,"users":{"a":{"password_hash":"h"},"a":{"password_hash":"h"}}}"#);
    let out = sb.run(&["user", "list"]);
    assert!(out.stderr.contains("duplicate username"), "{out:#?}");
}

// --- The library's read-modify-write ---

fn record(hash: &str) -> UserRecord {
    UserRecord {
        password_hash: hash.to_owned(),
        ..UserRecord::default()
    }
}

fn add_user(store: &JsonFile, name: &str) {
    store
        .update(&mut |users| {
            users.insert(name.to_owned(), record(name));
            Change::Save
        })
        .unwrap();
}

fn names(path: &Path) -> Vec<String> {
    JsonFile::new(path).all().unwrap().into_keys().collect()
}

#[test]
fn update_rereads_a_file_changed_by_another_writer_after_get() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    let mine = JsonFile::new(&path);
    let theirs = JsonFile::new(&path);
    add_user(&mine, "alice");

    // `get` reads (and may keep) the file as it is now …
    assert!(mine.get("alice").unwrap().is_some());
    // … another writer changes it …
    add_user(&theirs, "bob");
    // … and the update that follows must see that change, not the copy `get` read.
    let mut seen = Vec::new();
    mine.update(&mut |users| {
        seen = ["alice", "bob"]
            .into_iter()
            .filter(|n| users.contains_key(n))
            .collect();
        users.get_mut("alice").unwrap().login_count += 1;
        Change::Save
    })
    .unwrap();
    assert_eq!(seen, ["alice", "bob"]);
    assert_eq!(names(&path), ["alice", "bob"]);
    assert_eq!(theirs.get("alice").unwrap().unwrap().login_count, 1);
}

#[test]
fn update_rereads_a_file_another_writer_replaced_with_the_same_length() {
    // The other writer's file has exactly the same size as the one `get` read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    let mine = JsonFile::new(&path);
    let theirs = JsonFile::new(&path);
    add_user(&mine, "alice");
    for round in 0..50 {
        let before = std::fs::metadata(&path).unwrap().len();
        assert!(mine.get("alice").unwrap().is_some());
        theirs
            .update(&mut |users| {
                users.get_mut("alice").unwrap().password_hash = format!("hash-{:02}", round % 100);
                Change::Save
            })
            .unwrap();
        if round > 0 {
            assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
        }
        let mut seen = String::new();
        mine.update(&mut |users| {
            seen = users
                .get("alice")
                .map(|r| r.password_hash.clone())
                .unwrap_or_default();
            Change::Keep
        })
        .unwrap();
        assert_eq!(seen, format!("hash-{:02}", round % 100), "round {round}");
    }
}

#[test]
fn update_rereads_a_file_edited_in_place_with_the_same_length() {
    // Someone edits users.json in place (no rename: same inode, same size) right after a
    // `get`; the update that follows must still see the edit (rule 17: never write from a
    // stale copy).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    let mine = JsonFile::new(&path);
    add_user(&mine, "alice");
    add_user(&mine, "carol");
    let carol = r#""carol":{"password_hash":"carol"}"#;
    let dave = r#""dave_":{"password_hash":"carol"}"#;
    let mut lost = 0;
    let rounds = 200;
    for round in 0..rounds {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(mine.get("alice").unwrap().is_some());
        // Rename carol to dave_ and back, writing over the same inode.
        let (from, to, want) = if round % 2 == 0 {
            (carol, dave, ["alice", "dave_"])
        } else {
            (dave, carol, ["alice", "carol"])
        };
        let edited = text.replace(from, to);
        assert_ne!(edited, text);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, edited.as_bytes()))
            .unwrap();
        let mut seen = Vec::new();
        mine.update(&mut |users| {
            seen = ["alice", "carol", "dave_"]
                .into_iter()
                .filter(|n| users.contains_key(n))
                .collect();
            Change::Keep
        })
        .unwrap();
        if seen != want {
            lost += 1;
        }
    }
    assert_eq!(
        lost, 0,
        "{lost} of {rounds} updates saw the file as it was before an in-place edit"
    );
}

#[test]
fn update_with_keep_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    let store = JsonFile::new(&path);
    store.update(&mut |_| Change::Keep).unwrap();
    assert!(!path.exists());
    add_user(&store, "alice");
    let before = std::fs::read(&path).unwrap();
    let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
    store.update(&mut |_| Change::Keep).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap()),
        ino
    );
}

#[test]
fn store_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    std::fs::write(&path, "{\n  \"version\": 1,\n  \"users\": [\n").unwrap();
    let store = JsonFile::new(&path);
    let err = store.all().unwrap_err().to_string();
    // The file ends inside the list: line 4, column 0.
    assert!(err.starts_with(&format!("{}:4:0: ", path.display())), "{err}");
    let err = store.update(&mut |_| Change::Save).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n  \"version\": 1,\n  \"users\": [\n"
    );
}

/// The `LINE` of the `PATH:LINE:COL:` that `user list` reports for a file.
fn reported_line(bytes: &[u8]) -> (usize, String) {
    let sb = Sandbox::with_file(bytes);
    let out = sb.run(&["user", "list"]);
    out.expect_code(2);
    let path = sb.data_str();
    let line = out.errors()[0].to_owned();
    let rest = &line[line.find(&path).unwrap() + path.len() + 1..];
    (rest.split(':').next().unwrap().parse().unwrap(), line)
}

#[test]
fn a_bad_entry_is_reported_at_its_own_line() {
    // Duplicate in the legacy shape: the second "alice" is on line 3.
    let (line, msg) = reported_line(b"{\n  \"alice\": \"$2b$04$x\",\n  \"alice\": \"$2b$04$y\"\n}");
    assert_eq!(line, 3, "{msg}");
    // `users` of the wrong type: it is on line 3, and the key is not unexpected.
    let (line, msg) = reported_line(b"{\n  \"version\": 1,\n  \"users\": []\n}\n");
    assert_eq!(line, 3, "{msg}");
    assert!(!msg.contains("unexpected key"), "{msg}");
}
