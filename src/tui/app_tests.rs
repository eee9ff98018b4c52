//! `update`, one behaviour per test: every key and transition, without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::*;
use crate::auth::{Clock, FakeClock, Service};
use crate::store::MemoryStore;

const GOOD: &str = "correct horse battery staple";

fn model() -> Model {
    Model::new(Context {
        data_file: "/tmp/users.json".into(),
        cost: Cost::new(4).unwrap(),
        time_zone: TimeZone::Utc,
    })
}

fn service() -> Service {
    Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(FakeClock::at_epoch())
}

fn session() -> Session {
    service().signup("alice", &GOOD.into()).unwrap()
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        assert!(update(m, key(KeyCode::Char(c))).is_none());
    }
}

fn login(m: &Model) -> &LoginScreen {
    match &m.screen {
        Screen::Login(s) => s,
        _ => panic!("not on Log in but {}", m.screen.title()),
    }
}

fn signup(m: &Model) -> &SignupScreen {
    match &m.screen {
        Screen::Signup(s) => s,
        _ => panic!("not on Sign up but {}", m.screen.title()),
    }
}

/// Fills the login form and presses Enter; returns the command.
fn submit_login(m: &mut Model, user: &str, password: &str) -> Cmd {
    type_text(m, user);
    update(m, key(KeyCode::Enter));
    type_text(m, password);
    update(m, key(KeyCode::Enter)).expect("a login command")
}

fn on_dashboard() -> Model {
    let mut m = model();
    m.screen = Screen::Dashboard(Dashboard { session: session() });
    m
}

#[test]
fn opens_on_login_with_empty_fields_and_focus_on_username() {
    let m = model();
    let s = login(&m);
    assert!(s.form.field(login::USERNAME).is_empty());
    assert!(s.form.field(login::PASSWORD).is_empty());
    assert_eq!(s.form.focused_field(), Some(login::USERNAME));
    assert!(m.banner.is_none());
}

#[test]
fn tab_and_down_move_forward_shift_tab_and_up_move_back() {
    let mut m = model();
    update(&mut m, key(KeyCode::Tab));
    assert_eq!(login(&m).form.focus, 1);
    update(&mut m, key(KeyCode::Down));
    assert_eq!(login(&m).form.focused_button(), Some(0));
    update(&mut m, key(KeyCode::BackTab));
    assert_eq!(login(&m).form.focus, 1);
    update(&mut m, key(KeyCode::Up));
    assert_eq!(login(&m).form.focus, 0);
    update(&mut m, key(KeyCode::Up));
    assert_eq!(login(&m).form.focused_button(), Some(1), "wraps around");
}

#[test]
fn enter_in_a_field_moves_to_the_next() {
    let mut m = model();
    type_text(&mut m, "alice");
    assert!(update(&mut m, key(KeyCode::Enter)).is_none());
    assert_eq!(login(&m).form.focused_field(), Some(login::PASSWORD));
}

#[test]
fn enter_on_the_last_field_submits_a_login() {
    let mut m = model();
    match submit_login(&mut m, "alice", GOOD) {
        Cmd::Login {
            username, password, ..
        } => {
            assert_eq!(username, "alice");
            assert_eq!(password.expose(), GOOD);
        }
        _ => panic!("expected a login"),
    }
    assert!(m.busy.is_some());
    assert!(
        login(&m).form.field(login::PASSWORD).is_empty(),
        "password taken out of the field"
    );
}

#[test]
fn the_log_in_button_submits() {
    let mut m = model();
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, GOOD);
    update(&mut m, key(KeyCode::Tab));
    assert!(matches!(
        update(&mut m, key(KeyCode::Enter)),
        Some(Cmd::Login { .. })
    ));
}

#[test]
fn empty_fields_are_not_submitted() {
    let mut m = model();
    assert!(update(&mut m, key(KeyCode::Tab)).is_none());
    assert!(update(&mut m, key(KeyCode::Enter)).is_none());
    assert_eq!(m.banner, Some(Banner::error("Enter your username")));
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Enter));
    assert!(update(&mut m, key(KeyCode::Enter)).is_none());
    assert_eq!(m.banner, Some(Banner::error("Enter your password")));
}

#[test]
fn a_second_enter_while_busy_does_not_submit_twice() {
    let mut m = model();
    submit_login(&mut m, "alice", GOOD);
    assert!(update(&mut m, key(KeyCode::Enter)).is_none());
    type_text(&mut m, "x");
    assert_eq!(
        login(&m).form.field(login::PASSWORD).value(),
        "",
        "typing ignored while busy"
    );
}

#[test]
fn ctrl_c_quits_even_while_busy() {
    let mut m = model();
    submit_login(&mut m, "alice", GOOD);
    update(&mut m, ctrl('c'));
    assert!(m.quit);
}

#[test]
fn ticks_turn_the_spinner_only_while_busy() {
    let mut m = model();
    update(&mut m, Msg::Tick);
    assert!(m.busy.is_none());
    submit_login(&mut m, "alice", GOOD);
    update(&mut m, Msg::Tick);
    assert_eq!(m.busy.as_ref().unwrap().frame, 1);
}

#[test]
fn login_success_opens_the_dashboard() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", GOOD) else {
        panic!()
    };
    update(&mut m, Msg::Done(id, Outcome::LoggedIn(Ok(session()))));
    assert!(matches!(m.screen, Screen::Dashboard(_)));
    assert!(m.busy.is_none());
}

#[test]
fn wrong_password_keeps_username_and_clears_password() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", "wrong password") else {
        panic!()
    };
    update(
        &mut m,
        Msg::Done(id, Outcome::LoggedIn(Err(AuthError::InvalidCredentials))),
    );
    let s = login(&m);
    assert_eq!(s.username(), "alice");
    assert!(s.form.field(login::PASSWORD).is_empty());
    assert_eq!(s.form.focused_field(), Some(login::PASSWORD));
    assert_eq!(m.banner, Some(Banner::error("Invalid username or password")));
}

#[test]
fn a_locked_account_shows_when_to_retry() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", "wrong password") else {
        panic!()
    };
    let now = FakeClock::at_epoch().now();
    let locked = AuthError::Locked {
        until: Some(now + chrono::Duration::seconds(27)),
        now,
    };
    update(&mut m, Msg::Done(id, Outcome::LoggedIn(Err(locked))));
    assert_eq!(
        m.banner,
        Some(Banner::error(
            "Invalid username or password. Too many failed attempts. Try again in 27 s"
        ))
    );
}

#[test]
fn stale_results_are_ignored_and_their_sessions_ended() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", GOOD) else {
        panic!()
    };
    let cmd = update(&mut m, Msg::Done(id + 100, Outcome::LoggedIn(Ok(session()))));
    assert!(matches!(cmd, Some(Cmd::Logout(_))));
    assert!(matches!(m.screen, Screen::Login(_)));
    assert!(m.busy.is_some(), "still waiting for the real answer");
}

#[test]
fn ctrl_n_on_login_opens_signup_and_esc_goes_back() {
    let mut m = model();
    update(&mut m, ctrl('n'));
    assert_eq!(signup(&m).form.focused_field(), Some(signup::USERNAME));
    update(&mut m, key(KeyCode::Esc));
    assert!(login(&m).form.field(login::USERNAME).is_empty());
}

#[test]
fn the_create_an_account_button_opens_signup() {
    let mut m = model();
    update(&mut m, key(KeyCode::BackTab));
    update(&mut m, key(KeyCode::Enter));
    signup(&m);
}

#[test]
fn esc_on_login_quits() {
    let mut m = model();
    update(&mut m, key(KeyCode::Esc));
    assert!(m.quit);
}

#[test]
fn ctrl_u_clears_the_field() {
    let mut m = model();
    type_text(&mut m, "alice");
    update(&mut m, ctrl('u'));
    assert!(login(&m).form.field(login::USERNAME).is_empty());
}

#[test]
fn key_releases_are_ignored() {
    let mut m = model();
    let mut release = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    update(&mut m, Msg::Key(release));
    assert!(login(&m).form.field(login::USERNAME).is_empty());
}

#[test]
fn paste_goes_into_the_focused_field_without_newlines() {
    let mut m = model();
    update(&mut m, Msg::Paste("ali\nce\r\n".into()));
    assert_eq!(login(&m).username(), "alice");
    assert!(m.busy.is_none(), "a pasted newline never submits");
}

fn fill_signup(m: &mut Model, user: &str, password: &str, confirm: &str) -> Option<Cmd> {
    update(m, ctrl('n'));
    type_text(m, user);
    update(m, key(KeyCode::Enter));
    type_text(m, password);
    update(m, key(KeyCode::Enter));
    type_text(m, confirm);
    update(m, key(KeyCode::Enter))
}

#[test]
fn signup_marks_each_wrong_field_and_sends_nothing() {
    let mut m = model();
    assert!(fill_signup(&mut m, "1x", "short", "shirt").is_none());
    let s = signup(&m);
    assert_eq!(
        s.form.fields[signup::USERNAME].error.as_deref(),
        Some("Username must start with a letter")
    );
    assert_eq!(
        s.form.fields[signup::PASSWORD].error.as_deref(),
        Some("Password must be at least 12 characters (it has 5)")
    );
    assert_eq!(
        s.form.fields[signup::CONFIRM].error.as_deref(),
        Some("Passwords do not match")
    );
    assert_eq!(s.form.focused_field(), Some(signup::USERNAME));
    assert_eq!(m.banner, Some(Banner::error("Username must start with a letter")));
}

#[test]
fn signup_sends_a_valid_form_and_wipes_both_password_fields() {
    let mut m = model();
    let cmd = fill_signup(&mut m, "Alice", GOOD, GOOD);
    assert!(matches!(cmd, Some(Cmd::Signup { ref username, .. }) if username == "Alice"));
    let s = signup(&m);
    assert!(s.form.field(signup::PASSWORD).is_empty());
    assert!(s.form.field(signup::CONFIRM).is_empty());
}

#[test]
fn signup_success_opens_the_dashboard_with_a_banner() {
    let mut m = model();
    let Some(Cmd::Signup { id, .. }) = fill_signup(&mut m, "alice", GOOD, GOOD) else {
        panic!()
    };
    update(&mut m, Msg::Done(id, Outcome::SignedUp(Ok(session()))));
    assert!(matches!(m.screen, Screen::Dashboard(_)));
    assert_eq!(m.banner, Some(Banner::success("Account created")));
}

#[test]
fn a_taken_name_is_marked_under_the_username() {
    let mut m = model();
    let Some(Cmd::Signup { id, .. }) = fill_signup(&mut m, "alice", GOOD, GOOD) else {
        panic!()
    };
    update(
        &mut m,
        Msg::Done(
            id,
            Outcome::SignedUp(Err(AuthError::UsernameTaken("alice".into()))),
        ),
    );
    let s = signup(&m);
    assert_eq!(
        s.form.fields[signup::USERNAME].error.as_deref(),
        Some("Username alice is already taken")
    );
    assert_eq!(s.form.focused_field(), Some(signup::USERNAME));
    assert_eq!(m.banner, Some(Banner::error("Username alice is already taken")));
}

#[test]
fn l_logs_out_to_an_empty_login_with_a_banner() {
    let mut m = on_dashboard();
    let cmd = update(&mut m, key(KeyCode::Char('l')));
    assert!(matches!(cmd, Some(Cmd::Logout(_))));
    assert!(login(&m).form.field(login::USERNAME).is_empty());
    assert_eq!(m.banner, Some(Banner::info("Logged out")));
    assert!(!m.quit);
}

#[test]
fn q_logs_out_and_quits() {
    let mut m = on_dashboard();
    assert!(matches!(
        update(&mut m, key(KeyCode::Char('q'))),
        Some(Cmd::Logout(_))
    ));
    assert!(m.quit);
}

#[test]
fn ctrl_c_on_the_dashboard_logs_out_and_quits() {
    let mut m = on_dashboard();
    assert!(matches!(update(&mut m, ctrl('c')), Some(Cmd::Logout(_))));
    assert!(m.quit);
}

#[test]
fn a_signal_quits_and_ends_the_session() {
    let mut m = on_dashboard();
    assert!(matches!(update(&mut m, Msg::Signal), Some(Cmd::Logout(_))));
    assert!(m.quit);
}

#[test]
fn other_keys_on_the_dashboard_do_nothing() {
    let mut m = on_dashboard();
    for c in ['x', 'L', 'Q', ' '] {
        assert!(update(&mut m, key(KeyCode::Char(c))).is_none());
    }
    assert!(update(&mut m, Msg::Paste("q".into())).is_none());
    assert!(matches!(m.screen, Screen::Dashboard(_)));
}

#[test]
fn a_new_submit_clears_the_banner() {
    let mut m = model();
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, key(KeyCode::Enter));
    assert!(m.banner.is_some());
    submit_login(&mut m, "alice", GOOD);
    assert!(m.banner.is_none());
}

#[test]
fn a_worker_failure_is_shown_not_frozen() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", GOOD) else {
        panic!()
    };
    update(&mut m, Msg::Done(id, Outcome::Failed("boom".into())));
    assert!(m.busy.is_none());
    assert_eq!(m.banner, Some(Banner::error("Internal error: boom")));
}
