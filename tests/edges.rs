//! Edge values and edge moments: an idle time-out too large for a clock, and a signal
//! that arrives while a login is hashing.
#![cfg(unix)]

mod pty;

use std::process::Command;

use pty::{ENTER, Setup, TAB};

const PW: &str = "correct horse battery staple";

fn authtui(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_authtui"))
        .arg("--data-file")
        .arg(dir.path().join("users.json"))
        .args(args)
        .env_remove("AUTHTUI_DATA_FILE")
        .env("HOME", dir.path())
        .output()
        .expect("run authtui")
}

#[test]
fn idle_timeouts_beyond_a_week_are_refused_at_parse_time() {
    for value in [
        "18446744073709551615",
        "604801",
        "169h",
        "10081m",
        "99999999999999h",
    ] {
        let out = authtui(&["--idle-timeout", value, "user", "list"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--idle-timeout {value}: {stderr}");
        assert!(
            stderr.contains("at most 7 days"),
            "--idle-timeout {value}: {stderr}"
        );
    }
    for value in ["0", "90s", "15m", "168h", "604800"] {
        let out = authtui(&["--idle-timeout", value, "user", "list"]);
        assert!(
            out.status.success(),
            "--idle-timeout {value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A signal while the worker hashes a login: the app exits with 128 + the signal, and the
/// log shows either no login or a login and its logout, never an open session.
fn signal_mid_login(signal: &str, number: u32) {
    // Cost 13: the login re-hashes the cost-4 hash at 13, long enough to be caught.
    let mut app = Setup::new().cost(13).add_user("alice", PW).start();
    app.type_into("Username", "alice");
    app.send(TAB);
    app.type_password_into("Password", PW);
    app.send(ENTER);
    app.wait_for("Logging in");
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(app.pid().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let status = app.wait_exit();
    app.assert_terminal_restored();
    assert_eq!(status.exit_code(), 128 + number, "SIG{signal}: {status:?}");
    let logins = app.count_events("login_success", "alice");
    let logouts = app.count_events("logout", "alice");
    assert_eq!(
        logins,
        logouts,
        "SIG{signal} mid-login: {logins} logins, {logouts} logouts: {:?}",
        app.events()
    );
}

#[test]
fn sigterm_mid_login_logs_out_and_exits_143() {
    signal_mid_login("TERM", 15);
}

#[test]
fn sigint_mid_login_logs_out_and_exits_130() {
    signal_mid_login("INT", 2);
}

#[test]
fn sighup_mid_login_logs_out_and_exits_129() {
    signal_mid_login("HUP", 1);
}
