//! End to end, the account's life in a real pseudo-terminal (issue 4): change the password
//! then log in with the new one; delete the account then fail to log in; the idle time-out
//! returns to Log in by itself; five wrong passwords lock the account with a live
//! countdown; Ctrl+R shows a password and Tab masks it again.
//!
//! Each test has its own temporary directory, accounts made with `authtui user add` at
//! bcrypt cost 4, and its own passwords, which may never be on screen nor in the output
//! (see `pty/mod.rs`). Waits poll the screen or a file until a deadline.
#![cfg(unix)]

mod pty;

use pty::{App, CTRL_R, ENTER, ESC, Setup, TAB};

const INVALID: &str = "Invalid username or password";
const LOCKED_30: &str = "Too many failed attempts. Try again in 30 s";

/// Types a username and a password on the Log in screen (whose fields must be empty) and
/// submits.
fn log_in(app: &mut App, name: &str, password: &str) {
    app.type_into("Username", name);
    app.send(ENTER); // next field
    app.type_password_into("Password", password);
    app.send(ENTER); // submit
}

/// Waits for the Dashboard of `name`.
fn wait_dashboard(app: &App, name: &str) {
    app.wait_for(&format!("Welcome, {name}"));
    app.wait_for(&format!("signed in as {name}"));
    app.wait_for("Login count");
}

/// Waits for a refused login, after it has been handled in full: the banner is shown, the
/// password field is empty again, and no request is running.
fn wait_refused(app: &App) {
    app.wait_until("a refused login", |app| {
        app.screen().contains(INVALID)
            && app.bullets_in("Password") == Some(0)
            && !app.screen().contains("Logging in")
    });
}

/// Quits from the Log in screen with Esc: exit status 0, terminal restored, no password in
/// the output.
fn quit_from_log_in(app: &mut App) {
    app.send(ESC);
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    app.assert_terminal_restored();
    app.assert_raw_clean();
}

/// Neither file beside the data holds any of `passwords`.
fn assert_files_clean(app: &App, passwords: &[&str]) {
    for path in [app.data_file(), app.events_file()] {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for pw in passwords {
            assert!(!text.contains(pw), "{pw:?} is in {}", path.display());
        }
    }
}

#[test]
fn change_password_then_log_in_with_the_new_one() {
    const OLD: &str = "mauve otter quilts zephyr";
    const NEW: &str = "brisk pelican juggles amber";
    let mut app = Setup::new()
        .add_user("alice", OLD)
        .forbid(OLD)
        .forbid(NEW)
        .start();
    log_in(&mut app, "alice", OLD);
    wait_dashboard(&app, "alice");

    // Change it: current, new, confirm; Enter on the last field submits.
    app.send("p");
    app.wait_for("Current password");
    app.wait_for("Confirm password");
    app.type_password_into("Current password", OLD);
    app.send(TAB);
    app.type_password_into("New password", NEW);
    app.send(TAB);
    app.type_password_into("Confirm password", NEW);
    app.wait_for("Passwords match");
    app.send(ENTER);
    app.wait_for("Password changed");
    wait_dashboard(&app, "alice");
    assert!(
        !app.screen().contains("Current password"),
        "still on Change password:\n{}",
        app.dump()
    );
    app.wait_for("changed password"); // the Dashboard's recent activity

    // The old password no longer works.
    app.send("l");
    app.wait_for("Logged out");
    app.wait_for("Create an account");
    log_in(&mut app, "alice", OLD);
    wait_refused(&app);
    assert!(app.row_with("Username").contains("alice"), "{}", app.dump());

    // The new one does (the cursor is already in the Password field).
    app.type_password_into("Password", NEW);
    app.send(ENTER);
    wait_dashboard(&app, "alice");

    app.send("l");
    app.wait_for("Logged out");
    app.wait_for("Create an account");
    quit_from_log_in(&mut app);

    assert_eq!(
        app.count_events("password_changed", "alice"),
        1,
        "{:#?}",
        app.events()
    );
    assert_files_clean(&app, &[OLD, NEW]);
}

#[test]
fn delete_the_account_then_logging_in_fails() {
    const PW: &str = "plum harbor vexes wizardry";
    let mut app = Setup::new().add_user("bob", PW).forbid(PW).start();
    log_in(&mut app, "bob", PW);
    wait_dashboard(&app, "bob");

    // Delete: the password, then the username typed out; Enter on the last field deletes.
    app.send("d");
    app.wait_for("Your username");
    app.wait_for("Type bob to confirm");
    app.type_password_into("Password", PW);
    app.send(ENTER); // next field
    app.type_into("Your username", "bob");
    app.send(ENTER);
    app.wait_for("Account deleted");
    app.wait_for("Create an account");
    assert!(
        !app.screen().contains("signed in as"),
        "still signed in:\n{}",
        app.dump()
    );

    // The account is gone: its name and password are refused like any wrong pair.
    log_in(&mut app, "bob", PW);
    wait_refused(&app);
    quit_from_log_in(&mut app);

    let users = app.users_json();
    assert!(
        users["users"].is_object(),
        "users.json has no \"users\" object: {users}"
    );
    assert!(
        users["users"].get("bob").is_none(),
        "bob is still in users.json: {users}"
    );
    assert_eq!(
        app.count_events("account_deleted", "bob"),
        1,
        "{:#?}",
        app.events()
    );
    assert_files_clean(&app, &[PW]);
}

#[test]
fn idle_timeout_returns_to_log_in_by_itself() {
    const PW: &str = "cobalt meadow fjord sprints";
    let mut app = Setup::new()
        .add_user("carol", PW)
        .forbid(PW)
        .arg("--idle-timeout")
        .arg("2s")
        .start();
    log_in(&mut app, "carol", PW);
    wait_dashboard(&app, "carol");
    app.wait_for("idle log-out after 2 s");

    // Touch nothing: the app signs out by itself.
    app.wait_for("Logged out after 2 s of inactivity");
    app.wait_for("Create an account");
    assert!(
        !app.screen().contains("signed in as"),
        "still signed in:\n{}",
        app.dump()
    );
    assert!(app.is_running(), "the app quit instead of returning to Log in");
    app.wait_until("an idle_timeout event for carol", |app| {
        app.count_events("idle_timeout", "carol") == 1
    });
    assert!(app.is_running(), "the app quit after the idle time-out");

    quit_from_log_in(&mut app);
    assert_files_clean(&app, &[PW]);
}

/// The seconds in the lock banner: "… Try again in 27 s" -> 27.
fn countdown(app: &App) -> Option<u32> {
    let screen = app.screen();
    let (_, rest) = screen.split_once("Too many failed attempts. Try again in ")?;
    let (number, rest) = rest.split_once(' ')?;
    rest.starts_with('s').then(|| number.parse().ok())?
}

#[test]
fn five_wrong_passwords_lock_with_a_countdown() {
    const PW: &str = "glacier tofu hums nightly";
    const WRONG: &str = "ochre kettle ravine";
    let mut app = Setup::new().add_user("dave", PW).forbid(PW).forbid(WRONG).start();

    app.type_into("Username", "dave");
    app.send(ENTER);
    for attempt in 1..=4 {
        app.type_password_into("Password", WRONG);
        app.send(ENTER);
        // The log says when the worker has handled this attempt; the screen then settles.
        app.wait_until(&format!("failed login {attempt} in events.jsonl"), |app| {
            app.count_events("login_failure", "dave") >= attempt
        });
        wait_refused(&app);
    }
    app.type_password_into("Password", WRONG);
    app.send(ENTER);
    app.wait_for(LOCKED_30);
    assert_eq!(app.bullets_in("Password"), Some(0), "{}", app.dump());

    // It counts down by itself.
    app.wait_until("the countdown to go below 30 s", |app| {
        countdown(app).is_some_and(|n| (1..30).contains(&n))
    });
    assert!(
        !app.screen().contains(LOCKED_30),
        "two banners at once:\n{}",
        app.dump()
    );

    quit_from_log_in(&mut app);
    assert_files_clean(&app, &[PW, WRONG]);
}

#[test]
fn ctrl_r_shows_the_password_and_tab_masks_it_again() {
    const SHOWN: &str = "saffron yodel kiwi bramble";
    let mut app = Setup::new().forbid(SHOWN).start();
    app.send(TAB); // to Password
    app.type_password_into("Password", SHOWN);

    // Shown in clear on request: only now may it be on screen.
    app.exempt(SHOWN);
    app.send(CTRL_R);
    app.wait_until("the password in clear", |app| {
        app.value_of("Password").is_some_and(|v| v.contains(SHOWN))
    });
    assert_eq!(app.bullets_in("Password"), Some(0), "{}", app.dump());

    // Focus leaves the field: masked again, and from here on it may not show.
    app.send(TAB);
    app.wait_until("the password masked again", |app| {
        app.bullets_in("Password") == Some(SHOWN.chars().count()) && !app.screen().contains(SHOWN)
    });
    app.forbid(SHOWN);
    assert!(app.row_with("[ Log in ]").contains("Log in"), "{}", app.dump());

    // Back in the field, it stays masked; typing more shows bullets only.
    app.send("\x1b[Z"); // Shift+Tab
    app.wait_until("focus back on Password", |app| {
        app.find_row("› Password").is_some()
    });
    app.send("xyz");
    app.wait_until("three more bullets", |app| {
        app.bullets_in("Password") == Some(SHOWN.chars().count() + 3)
    });

    quit_from_log_in(&mut app);
}
