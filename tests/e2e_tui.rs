//! End to end: the real `authtui` binary in a real pseudo-terminal at 80x24, read back
//! through a terminal emulator (vt100). Each test has its own data file at bcrypt cost 4.
//! Waits poll the emulated screen until a deadline; nothing is asserted after a fixed sleep.
//! The harness is in `pty/mod.rs`; the account tests (password change, deletion, idle
//! time-out, lockout, show password) are in `e2e_account.rs`.
#![cfg(unix)]

mod pty;

use std::process::Command;
use std::thread;
use std::time::Instant;

use pty::{App, CTRL_C, CTRL_N, DEADLINE, ENTER, POLL, Setup, TAB};

/// The password the scenario signs up with (a test password only).
const PW: &str = "correct horse battery staple";
/// A wrong one, for the failed login.
const WRONG: &str = "wrong password here";

/// Starts the app on a fresh data file. Forbidden on screen and in the output: the whole of
/// each password, and every 6-character piece of the real one. The wrong password's pieces
/// are left out: "password" is also a label on screen.
fn start(no_color: bool) -> App {
    Setup::new()
        .forbid(PW)
        .forbid_whole(WRONG)
        .color(!no_color)
        .start()
}

/// The value in a Dashboard row: "│  Login count       2      │" -> "2".
fn fact(app: &App, label: &str) -> String {
    let row = app.row_with(label);
    let (_, rest) = row.split_once(label).unwrap();
    rest.trim().trim_end_matches('│').trim().to_owned()
}

#[test]
fn sign_up_log_out_fail_log_in_and_quit() {
    let mut app = start(false);

    // Sign up.
    app.send(CTRL_N);
    app.wait_for("Confirm password");
    app.wait_for("Create account");
    app.type_visible("alice");
    app.send(TAB);
    app.type_password(PW, 0);
    app.send(TAB);
    app.type_password(PW, 1);
    app.send(ENTER);
    app.wait_for("Welcome, alice");
    app.wait_for("Account created");
    app.wait_for("Dashboard");
    assert!(app.screen().contains("signed in as alice"), "{}", app.dump());
    assert_eq!(fact(&app, "Login count"), "1", "{}", app.dump());
    assert_eq!(fact(&app, "Previous login"), "First login", "{}", app.dump());

    // Log out.
    app.send("l");
    app.wait_for("Logged out");
    app.wait_for("Log in");
    app.wait_for("Create an account");
    assert!(
        !app.screen().contains("alice"),
        "fields are not empty:\n{}",
        app.dump()
    );

    // A wrong password: the username stays, the banner says why.
    app.type_visible("alice");
    app.send(ENTER); // next field
    app.type_password(WRONG, 0);
    app.send(ENTER); // submit
    app.wait_for("Invalid username or password");
    assert!(app.row_with("Username").contains("alice"), "{}", app.dump());
    assert!(
        !app.row_with("Password").contains('•'),
        "the password was not cleared:\n{}",
        app.dump()
    );

    // The right password: the cursor is already in the Password field.
    app.type_password(PW, 0);
    app.send(ENTER);
    app.wait_for("Welcome, alice");
    app.wait_for("Login count");
    assert_eq!(fact(&app, "Login count"), "2", "{}", app.dump());
    app.wait_for("There was 1 failed login attempt since your last login.");
    assert!(!app.screen().contains("Account created"), "{}", app.dump());

    // Log out and quit.
    app.send("q");
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
    app.assert_raw_clean();

    let text = std::fs::read_to_string(app.data_file()).expect("users.json written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("users.json is JSON");
    let hash = json["users"]["alice"]["password_hash"]
        .as_str()
        .unwrap_or_else(|| panic!("no users.alice.password_hash in {text}"));
    assert!(hash.starts_with("$2b$04$"), "not a cost-4 bcrypt hash: {hash}");
    assert!(!text.contains(PW), "the password is in users.json");
}

#[test]
fn ctrl_c_on_log_in_quits_and_restores_the_terminal() {
    let mut app = start(true);
    app.send(CTRL_C);
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
}

#[test]
fn sigterm_restores_the_terminal_and_exits() {
    let mut app = start(true);
    let killed = Command::new("kill")
        .arg(app.pid().to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = app.wait_exit();
    // Ended by SIGTERM: 128 + 15, as a shell reports it.
    assert_eq!(status.exit_code(), 143, "exit status {status:?}");
    app.assert_terminal_restored();
}

#[test]
fn a_pasted_newline_does_not_submit() {
    let mut app = start(true);
    app.send("\x1b[200~alice\r\n\x1b[201~");
    app.wait_for("alice");
    // A key after the paste: once it shows, the paste has been handled in full, and the
    // focus is still on Username (the newline did not move it nor submit).
    app.send("x");
    app.wait_for("alicex");
    app.send("\x7f"); // Backspace
    let deadline = Instant::now() + DEADLINE;
    while app.screen().contains("alicex") {
        assert!(Instant::now() < deadline, "Backspace ignored:\n{}", app.dump());
        thread::sleep(POLL);
    }
    let screen = app.screen();
    assert!(
        !screen.contains("Enter your password"),
        "the paste submitted:\n{}",
        app.dump()
    );
    assert!(
        !screen.contains("Logging in"),
        "the paste submitted:\n{}",
        app.dump()
    );
    let username = app.row_with("Username");
    assert!(username.contains("› Username"), "focus moved:\n{}", app.dump());
    assert!(username.contains("alice"), "{}", app.dump());

    app.send(CTRL_C);
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
}
