//! Text that came from a file, an argument or a typed name reaches the terminal escaped:
//! no control characters (C0, DEL, C1), no bidi controls, no zero-width or other invisible
//! format characters, in any output or error of the CLI; and the columns of `user list`
//! and `authtui log` line up by display width, not by characters.

mod common;

use common::{Output, PW, Sandbox};
use unicode_width::UnicodeWidthStr;

/// What must never reach the terminal raw. Written out here, independently of the
/// sanitiser, so that the test is not the code checking itself.
fn forbidden(c: char) -> bool {
    let u = c as u32;
    (c.is_control() && c != '\n')
        || matches!(u,
            0x00AD | 0x061C | 0x180E | 0x200B..=0x200F | 0x2028 | 0x2029
            | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
            | 0xFE00..=0xFE0F | 0xFFF9..=0xFFFB | 0xE0001 | 0xE0020..=0xE007F
            | 0xE0100..=0xE01EF)
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    let bad: Vec<String> = text
        .chars()
        .filter(|&c| forbidden(c))
        .map(|c| c.escape_unicode().to_string())
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?} in {text:?}");
}

#[track_caller]
fn assert_output_clean(what: &str, out: &Output) {
    assert_clean(&format!("{what} (stdout)"), &out.stdout);
    assert_clean(&format!("{what} (stderr)"), &out.stderr);
}

/// Names that would retitle the window, ring the bell, clear the screen, reverse the line
/// or hide characters, if printed raw.
const HOSTILE: [&str; 6] = [
    "ti\u{1b}]0;pwned\u{7}tle",
    "cl\u{1b}[2Jear",
    "ad\u{202e}nimda",
    "in\u{200b}vis\u{2060}ible\u{feff}",
    "c1\u{9b}31m\u{7f}del",
    "sh\u{ad}y\u{2066}iso\u{2069}\u{fe0f}",
];

fn event_line(at: &str, event: &str, username: &str) -> String {
    let mut line = serde_json::json!({ "at": at, "event": event, "username": username }).to_string();
    line.push('\n');
    line
}

fn write_events(sb: &Sandbox, text: &str) {
    std::fs::write(sb.data.with_file_name("events.jsonl"), text).unwrap();
}

#[test]
fn import_htpasswd_escapes_the_names_it_prints() {
    let sb = Sandbox::new();
    let file = sb.dir.path().join("htpasswd");
    let mut text = String::new();
    for (i, name) in HOSTILE.iter().enumerate() {
        // Each name twice: once in a scheme that is skipped, once as bcrypt (refused as a
        // username, and so reported too).
        text += &format!("{name}:$apr1$salt${i}\n");
        text += &format!("{name}x:{}\n", common::pw_hash());
    }
    text += &format!("alice:{}\n", common::pw_hash());
    std::fs::write(&file, text).unwrap();
    let out = sb.run(&["import-htpasswd", file.to_str().unwrap()]);
    out.expect_no_panic();
    assert_output_clean("import-htpasswd", &out);
    assert!(out.stdout.contains("ti\\u{1b}]0;pwned\\u{7}tle"), "{out:#?}");
    assert!(out.stdout.contains("ad\\u{202e}nimda"), "{out:#?}");
    assert!(out.stdout.contains("in\\u{200b}vis"), "{out:#?}");
}

#[test]
fn import_htpasswd_escapes_the_file_name_in_its_error() {
    let sb = Sandbox::new();
    let file = sb.dir.path().join("no\u{1b}[2Jsuch\u{202e}file");
    let out = sb.run(&["import-htpasswd", file.to_str().unwrap()]);
    out.expect_no_panic().expect_code(2);
    assert_output_clean("import-htpasswd of a missing file", &out);
    assert!(out.stderr.contains("no\\u{1b}[2Jsuch\\u{202e}file"), "{out:#?}");
}

#[test]
fn user_list_escapes_bidi_zero_width_and_control_characters() {
    let sb = Sandbox::with_file(&common::users_file(HOSTILE));
    let out = sb.run(&["user", "list"]);
    out.expect_code(0);
    assert_output_clean("user list", &out);
    assert!(out.stdout.contains("ad\\u{202e}nimda"), "{}", out.stdout);
    // Escapes take columns: this one is cut at the column's 32.
    assert!(
        out.stdout.contains("in\\u{200b}vis\\u{2060}ible…"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), HOSTILE.len() + 1);
}

/// The display column at which `needle` starts in each line that holds it.
fn columns_of(text: &str, needle: &str) -> Vec<usize> {
    text.lines()
        .filter_map(|l| l.find(needle).map(|at| l[..at].width()))
        .collect()
}

#[test]
fn user_list_columns_line_up_by_display_width() {
    let names = ["李小龍", "alice", "ＦＵＬＬ", "ad\u{202e}x", "e\u{301}mile"];
    let sb = Sandbox::with_file(&common::users_file(names));
    let out = sb.run(&["user", "list"]);
    out.expect_code(0);
    let header = out.stdout.lines().next().unwrap();
    let created = header[..header.find("CREATED").unwrap()].width();
    // Every account was created in 2026: the CREATED column starts with the year.
    let starts = columns_of(&out.stdout, "2026-");
    assert_eq!(starts.len(), names.len(), "{}", out.stdout);
    assert!(
        starts.iter().all(|&c| c == created),
        "{starts:?} vs {created}:\n{}",
        out.stdout
    );
}

#[test]
fn log_escapes_names_and_lines_up_by_display_width() {
    let sb = Sandbox::with_file(&common::users_file(["alice"]));
    let mut text = String::new();
    let names = [
        "alice",
        "李小龍李小龍",
        "ad\u{202e}nimda",
        "bo\u{200b}b",
        "cl\u{1b}[2Jear",
    ];
    for name in names {
        text += &event_line("2026-01-02T03:04:05Z", "login_success", name);
    }
    write_events(&sb, &text);
    let out = sb.run(&["log"]);
    out.expect_code(0);
    assert_output_clean("log", &out);
    assert!(out.stdout.contains("ad\\u{202e}nimda"), "{}", out.stdout);
    let starts = columns_of(&out.stdout, "logged in");
    assert_eq!(starts.len(), names.len(), "{}", out.stdout);
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "{starts:?}:\n{}",
        out.stdout
    );
}

#[test]
fn a_corrupt_log_value_is_escaped_and_the_message_names_events_jsonl() {
    let sb = Sandbox::with_file(&common::users_file(["alice"]));
    let text = event_line("2026-01-02T03:04:05Z", "login_success", "alice")
        + &event_line("2026-01-02T03:04:06Z", "\u{1b}]0;pwned\u{7}\u{202e}", "alice")
        + &event_line("2026-01-02T03:04:07Z", "logout", "alice");
    write_events(&sb, &text);
    let out = sb.run(&["log"]);
    out.expect_no_panic();
    assert_output_clean("log of a corrupt file", &out);
    assert!(!out.stderr.contains("users file"), "{out:#?}");
    assert!(out.stderr.contains("events.jsonl"), "{out:#?}");
    assert!(out.stderr.contains("\\u{1b}]0;pwned\\u{7}\\u{202e}"), "{out:#?}");
}

#[test]
fn messages_about_an_existing_hostile_name_are_escaped() {
    let name = "ad\u{202e}nimda";
    let sb = Sandbox::with_file(&common::users_file([name, "cl\u{1b}[2Jear"]));
    for args in [
        vec!["user", "unlock", name],
        vec!["user", "unlock", "cl\u{1b}[2Jear"],
        vec!["user", "remove", name],
        vec!["user", "remove", name],
        vec!["log", "--user", name],
    ] {
        let out = sb.run(&args);
        out.expect_no_panic();
        assert_output_clean(&format!("{args:?}"), &out);
    }
    let out = sb.verify("cl\u{1b}[2Jear", PW);
    assert_output_clean("verify", &out);
}

#[test]
fn store_errors_escape_the_path_they_name() {
    let sb = Sandbox::new();
    let dir = sb.dir.path().join("d\u{1b}[2J\u{202e}ir");
    std::fs::create_dir(&dir).unwrap();
    let data = dir.join("users.json");
    std::fs::write(&data, b"{not json").unwrap();
    let data = data.to_str().unwrap();
    for args in [
        vec!["--data-file", data, "user", "list"],
        vec!["--data-file", data, "log"],
    ] {
        let out = common::run(sb.bare_command(&args), None);
        out.expect_no_panic();
        assert_output_clean(&format!("{args:?}"), &out);
    }
    let out = common::run(sb.bare_command(&["--data-file", data, "user", "list"]), None);
    out.expect_code(2);
    assert!(out.stderr.contains("d\\u{1b}[2J\\u{202e}ir"), "{out:#?}");
}
