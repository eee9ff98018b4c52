//! The activity log never tears: a line is written whole or not at all (a short write,
//! as under `ulimit -f`, is cut back), a torn tail left by an older build is cut before
//! the next line, and a reader skips a torn or unparsable line with a warning instead of
//! failing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{PW, Sandbox};

fn events_path(sb: &Sandbox) -> PathBuf {
    sb.data.with_file_name("events.jsonl")
}

fn event_line(at: &str, event: &str, username: &str) -> String {
    let mut line = serde_json::json!({ "at": at, "event": event, "username": username }).to_string();
    line.push('\n');
    line
}

/// Whole lines that parse as events, `size` bytes exactly.
fn lines_of(size: usize) -> String {
    let line = |name: &str| event_line("2026-01-02T03:04:05Z", "login_failure", name);
    let mut text = String::new();
    while size - text.len() >= 2 * line("alice").len() {
        text += &line("alice");
    }
    let short = line("").len();
    text += &line(&"a".repeat(size - text.len() - short));
    assert_eq!(text.len(), size);
    text
}

/// `authtui … ARGS` under `ulimit -f 1` (512 bytes) with SIGXFSZ ignored, so that a write
/// past the limit is short and the next one fails with EFBIG (as on a full disk).
fn under_file_size_limit(sb: &Sandbox, args: &[&str]) -> Command {
    let cmd = sb.command(args);
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let mut sh = Command::new("/bin/sh");
    sh.args(["-c", "trap '' XFSZ; ulimit -f 1 && exec \"$0\" \"$@\""])
        .arg(program)
        .args(args);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => sh.env(key, v),
            None => sh.env_remove(key),
        };
    }
    sh.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    sh
}

#[test]
fn a_short_write_under_ulimit_leaves_the_log_as_it_was() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    // Fill the log to 30 bytes under the 512-byte limit: the next line crosses it.
    let before = lines_of(482);
    std::fs::write(events_path(&sb), &before).unwrap();
    assert!(
        std::fs::metadata(&sb.data).unwrap().len() < 400,
        "users.json must fit"
    );

    let cmd = under_file_size_limit(&sb, &["verify", "alice", "--password-stdin"]);
    let out = common::run(cmd, Some(format!("{PW}\n").as_bytes()));
    out.expect_no_panic().expect_code(0);
    assert!(
        out.stderr.contains("the activity log was not written"),
        "{out:#?}"
    );
    let after = std::fs::read_to_string(events_path(&sb)).unwrap();
    assert_eq!(after, before, "a half line was left behind");

    // And the log still reads, and takes the next line whole.
    sb.verify("alice", PW).expect_code(0);
    let out = sb.run(&["log"]);
    out.expect_code(0);
    assert_eq!(out.errors(), Vec::<&str>::new(), "{out:#?}");
    assert_eq!(
        out.stdout.lines().last().map(|l| l.ends_with("logged in")),
        Some(true)
    );
}

#[test]
fn a_torn_tail_is_cut_before_the_next_line_is_written() {
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let whole = std::fs::read_to_string(events_path(&sb)).unwrap();
    let torn = r#"{"at":"2026-01-02T03:04:05Z","event":"log"#;
    std::fs::write(events_path(&sb), whole.clone() + torn).unwrap();

    sb.verify("alice", PW).expect_code(0);
    let text = std::fs::read_to_string(events_path(&sb)).unwrap();
    assert!(text.starts_with(&whole), "{text}");
    assert!(!text.contains(torn), "the torn tail is still there: {text}");
    let new: Vec<&str> = text[whole.len()..].lines().collect();
    assert_eq!(new.len(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(new[0]).unwrap();
    assert_eq!(v["event"], "login_success");
    assert!(text.ends_with('\n'));

    let out = sb.run(&["log"]);
    out.expect_code(0);
    assert_eq!(out.errors(), Vec::<&str>::new(), "{out:#?}");
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
}

#[test]
fn log_skips_torn_and_unparsable_lines_with_a_warning_and_exits_0() {
    let sb = Sandbox::with_file(&common::users_file(["alice"]));
    let text = event_line("2026-01-02T03:04:05Z", "login_success", "alice")
        // An old torn write with the next event glued to it.
        + r#"{"at":"2026-01-02T03:04:06Z","event":"logo"#
        + &event_line("2026-01-02T03:04:07Z", "login_failure", "alice")
        + "not json at all\n"
        + &event_line("2026-01-02T03:04:08Z", "logout", "alice")
        // A torn tail.
        + r#"{"at":"2026-01-02T03:04:09Z","ev"#;
    std::fs::write(events_path(&sb), text).unwrap();
    for args in [vec!["log"], vec!["log", "--user", "alice"]] {
        let out = sb.run(&args);
        out.expect_no_panic().expect_code(0);
        let what: Vec<&str> = out
            .stdout
            .lines()
            .map(|l| l.split("  ").last().unwrap().trim())
            .collect();
        assert_eq!(what, ["logged in", "logged out"], "{out:#?}");
        let warnings = out.errors();
        assert_eq!(warnings.len(), 3, "{out:#?}");
        for (warning, line) in warnings.iter().zip([2, 3, 5]) {
            assert!(warning.starts_with("authtui: warning: "), "{warning}");
            assert!(warning.contains(&format!("events.jsonl:{line}")), "{warning}");
            assert!(!warning.contains("users file"), "{warning}");
        }
    }
}

#[test]
fn the_dashboard_shows_the_event_after_a_torn_line() {
    // What the Dashboard reads (`Service::recent_events`) after a torn tail and the next
    // login: the login, not a glued line skipped.
    let sb = Sandbox::new();
    sb.add("alice", PW).expect_code(0);
    let mut text = std::fs::read_to_string(events_path(&sb)).unwrap();
    text += r#"{"at":"2026-01-02T03:04:05Z","event":"log"#;
    std::fs::write(events_path(&sb), text).unwrap();
    sb.verify("alice", PW).expect_code(0);
    let service = authtui::cli::open_service(&sb.data, authtui::auth::Cost::new(4).unwrap());
    let recent = service.recent_events("alice", 5).unwrap();
    let kinds: Vec<_> = recent.iter().map(|e| e.event).collect();
    use authtui::store::EventKind;
    assert_eq!(kinds, [EventKind::LoginSuccess, EventKind::AccountCreated]);
}
