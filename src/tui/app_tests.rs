//! `update`, one behaviour per test: every key and transition, without a terminal.

use std::time::Duration;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::*;
use crate::auth::{Clock, FakeClock, Service};
use crate::store::MemoryStore;
use crate::tui::screens::{change_password, delete_account, login, signup};
use crate::tui::testing::{GOOD, ctrl, key};

fn model() -> Model {
    crate::tui::testing::model_on("/tmp/users.json")
}

fn done(id: u64, outcome: Outcome) -> Msg {
    Msg::Done {
        id,
        outcome,
        log_failures: Vec::new(),
    }
}

fn welcome() -> Welcome {
    Welcome {
        session: session(),
        events: Vec::new(),
    }
}

fn service() -> Service {
    Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(FakeClock::at_epoch())
}

fn session() -> Session {
    service().signup("alice", &GOOD.into()).unwrap()
}

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        assert!(update(m, key(KeyCode::Char(c))).is_none());
    }
}

fn login(m: &Model) -> &Login {
    match &m.screen {
        Screen::Login(s) => s,
        _ => panic!("not on Log in but {}", m.screen.title()),
    }
}

fn signup(m: &Model) -> &Signup {
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
    m.screen = Screen::Dashboard(Dashboard::new(session(), Vec::new()));
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

/// The screen as text, drawn by the real view at 80x24.
fn drawn(m: &Model) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| crate::tui::view::view(m, f, &crate::tui::theme::Theme { color: false }))
        .unwrap();
    let buffer = terminal.backend().buffer();
    buffer.content().iter().map(|c| c.symbol()).collect()
}

#[test]
fn ticks_turn_the_spinner_only_while_busy() {
    let mut m = model();
    assert_eq!(m.next_wakeup(), None, "at rest on Log in nothing wakes the loop");
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", GOOD) else {
        panic!("a login was asked for")
    };
    // Each wake-up the model asks for is one frame on, and the frame drawn after its tick
    // shows the next glyph: the loop wakes for the spinner and for nothing else.
    let mut seen = vec![drawn(&m)];
    for frame in 1..=3u32 {
        let wake = m.next_wakeup().expect("busy: the spinner needs a wake-up");
        assert_eq!(wake, m.busy.as_ref().unwrap().since + SPINNER_FRAME * frame);
        m.now = wake;
        assert!(update(&mut m, Msg::Tick).is_none());
        let screen = drawn(&m);
        assert_ne!(
            &screen,
            seen.last().unwrap(),
            "frame {frame} drew the same spinner"
        );
        seen.push(screen);
    }
    update(
        &mut m,
        done(id, Outcome::LoggedIn(Err(AuthError::InvalidCredentials))),
    );
    assert!(m.busy.is_none());
    assert_eq!(m.next_wakeup(), None, "no spinner, no wake-up");
}

#[test]
fn a_served_sessions_spinner_turns_slower() {
    let mut m = model();
    m.context.peer = Some("203.0.113.7:50122".into());
    submit_login(&mut m, "alice", GOOD);
    let since = m.busy.as_ref().unwrap().since;
    assert_eq!(m.next_wakeup(), Some(since + SERVED_SPINNER_FRAME));
    let before = drawn(&m);
    m.now = since + SPINNER_FRAME;
    assert_eq!(drawn(&m), before, "not turned at the local pace");
    m.now = since + SERVED_SPINNER_FRAME;
    update(&mut m, Msg::Tick);
    assert_ne!(drawn(&m), before);
    assert_eq!(m.next_wakeup(), Some(since + SERVED_SPINNER_FRAME * 2));
}

#[test]
fn login_success_opens_the_dashboard() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", GOOD) else {
        panic!()
    };
    update(&mut m, done(id, Outcome::LoggedIn(Ok(welcome()))));
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
        done(id, Outcome::LoggedIn(Err(AuthError::InvalidCredentials))),
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
    update(&mut m, done(id, Outcome::LoggedIn(Err(locked))));
    let banner = m.banner.clone().unwrap();
    assert_eq!(banner.kind, BannerKind::Error);
    assert_eq!(
        banner.text_at(m.now),
        "Too many failed attempts. Try again in 27 s"
    );
}

#[test]
fn stale_results_are_ignored_and_their_sessions_ended() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", GOOD) else {
        panic!()
    };
    let cmd = update(&mut m, done(id + 100, Outcome::LoggedIn(Ok(welcome()))));
    assert!(matches!(cmd, Some(Cmd::Logout { .. })));
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
    update(&mut m, done(id, Outcome::SignedUp(Ok(welcome()))));
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
        done(
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
    assert!(matches!(
        cmd,
        Some(Cmd::Logout {
            reason: LogoutReason::User,
            ..
        })
    ));
    assert!(login(&m).form.field(login::USERNAME).is_empty());
    assert_eq!(m.banner, Some(Banner::info("Logged out")));
    assert!(!m.quit);
}

#[test]
fn q_logs_out_and_quits() {
    let mut m = on_dashboard();
    assert!(matches!(
        update(&mut m, key(KeyCode::Char('q'))),
        Some(Cmd::Logout { .. })
    ));
    assert!(m.quit);
}

#[test]
fn ctrl_c_on_the_dashboard_logs_out_and_quits() {
    let mut m = on_dashboard();
    assert!(matches!(update(&mut m, ctrl('c')), Some(Cmd::Logout { .. })));
    assert!(m.quit);
}

#[test]
fn a_signal_quits_and_ends_the_session() {
    let mut m = on_dashboard();
    assert!(matches!(update(&mut m, Msg::Signal), Some(Cmd::Logout { .. })));
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
    update(&mut m, done(id, Outcome::Failed("boom".into())));
    assert!(m.busy.is_none());
    assert_eq!(m.banner, Some(Banner::error("Internal error: boom")));
}

#[test]
fn a_request_the_pool_refused_says_busy_and_the_form_takes_input_again() {
    let mut m = model();
    let cmd = submit_login(&mut m, "alice", GOOD);
    assert_eq!(cmd.id(), m.busy.as_ref().map(|b| b.id));
    update(&mut m, done(cmd.id().unwrap(), Outcome::Busy));
    assert!(m.busy.is_none());
    assert_eq!(m.banner, Some(Banner::error(super::BUSY)));
    // The password went with the refused request: the cursor waits for it again.
    assert_eq!(login(&m).username(), "alice");
    assert_eq!(login(&m).form.focused_field(), Some(login::PASSWORD));
    type_text(&mut m, "x");
    assert_eq!(login(&m).form.field(login::PASSWORD).value(), "x");
}

// --- Issue 4: account life ---

fn press(m: &mut Model, c: char) -> Option<Cmd> {
    update(m, key(KeyCode::Char(c)))
}

#[test]
fn a_lock_countdown_counts_down_once_a_second_and_ends() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", "wrong password") else {
        panic!()
    };
    let now = FakeClock::at_epoch().now();
    let locked = AuthError::Locked {
        until: Some(now + chrono::Duration::seconds(27)),
        now,
    };
    let t0 = m.now;
    update(&mut m, done(id, Outcome::LoggedIn(Err(locked))));
    assert_eq!(
        m.next_wakeup(),
        Some(t0 + Duration::from_secs(1)),
        "wakes when the number changes"
    );
    m.now = t0 + Duration::from_millis(1500);
    update(&mut m, Msg::Tick);
    assert_eq!(
        m.banner.as_ref().unwrap().text_at(m.now),
        "Too many failed attempts. Try again in 26 s"
    );
    assert_eq!(m.next_wakeup(), Some(t0 + Duration::from_secs(2)));
    m.now = t0 + Duration::from_secs(27);
    update(&mut m, Msg::Tick);
    assert_eq!(m.banner, Some(Banner::info("You can try again now")));
    assert_eq!(m.next_wakeup(), None, "no more ticks once the countdown is gone");
}

#[test]
fn a_permanent_lock_says_to_ask_an_administrator() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", "wrong password") else {
        panic!()
    };
    let locked = AuthError::Locked {
        until: None,
        now: FakeClock::at_epoch().now(),
    };
    update(&mut m, done(id, Outcome::LoggedIn(Err(locked))));
    assert!(m.banner.as_ref().unwrap().text.contains("ask an administrator"));
    assert_eq!(m.next_wakeup(), None);
}

#[test]
fn idle_time_out_signs_out_at_the_deadline_and_not_before() {
    let mut m = on_dashboard();
    let t0 = m.now;
    m.last_input = t0;
    assert_eq!(
        m.next_wakeup(),
        Some(t0 + Duration::from_secs(900)),
        "one wake-up, at the deadline"
    );
    m.now = t0 + Duration::from_secs(899);
    assert!(update(&mut m, Msg::Tick).is_none());
    assert!(matches!(m.screen, Screen::Dashboard(_)));
    m.now = t0 + Duration::from_secs(900);
    let cmd = update(&mut m, Msg::Tick);
    assert!(matches!(
        cmd,
        Some(Cmd::Logout {
            reason: LogoutReason::Idle,
            ..
        })
    ));
    assert!(matches!(m.screen, Screen::Login(_)));
    assert_eq!(
        m.banner,
        Some(Banner::info("Logged out after 15 min of inactivity"))
    );
    assert_eq!(m.next_wakeup(), None, "no timer on Log in");
}

#[test]
fn a_key_pushes_the_idle_deadline_back() {
    let mut m = on_dashboard();
    let t0 = m.now;
    m.now = t0 + Duration::from_secs(600);
    press(&mut m, 'x');
    assert_eq!(m.idle_deadline(), Some(t0 + Duration::from_secs(1500)));
}

#[test]
fn idle_time_out_can_be_off() {
    let mut m = on_dashboard();
    m.context.idle_timeout = None;
    assert_eq!(m.next_wakeup(), None);
}

#[test]
fn ctrl_r_shows_the_password_and_leaving_the_field_hides_it() {
    let mut m = model();
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "secret");
    update(&mut m, ctrl('r'));
    assert!(login(&m).form.field(login::PASSWORD).is_revealed());
    update(&mut m, key(KeyCode::Tab));
    assert!(!login(&m).form.field(login::PASSWORD).is_revealed());
}

#[test]
fn submitting_hides_a_shown_password() {
    let mut m = model();
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, GOOD);
    update(&mut m, ctrl('r'));
    update(&mut m, key(KeyCode::Enter));
    assert!(!login(&m).form.field(login::PASSWORD).is_revealed());
}

#[test]
fn ctrl_r_does_nothing_to_the_username() {
    let mut m = model();
    type_text(&mut m, "alice");
    update(&mut m, ctrl('r'));
    assert!(!login(&m).form.field(login::USERNAME).is_revealed());
}

fn meter(m: &Model) -> crate::auth::Strength {
    signup(m).form.fields[signup::PASSWORD].meter.clone().unwrap()
}

#[test]
fn the_meter_follows_typing() {
    let mut m = model();
    update(&mut m, ctrl('n'));
    assert_eq!(meter(&m).score, 0);
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "password");
    m.settle();
    assert!(meter(&m).score <= 1);
    assert_eq!(
        signup(&m).form.fields[signup::PASSWORD]
            .hint
            .as_ref()
            .unwrap()
            .text,
        "Password must be at least 12 characters (it has 8)"
    );
    update(&mut m, ctrl('u'));
    type_text(&mut m, "violet marmot sings under quartz");
    assert!(meter(&m).score <= 1, "keys alone do not measure");
    m.settle();
    assert_eq!(meter(&m).score, 4);
    assert_eq!(meter(&m).label(), "strong");
    assert!(
        signup(&m).form.fields[signup::PASSWORD]
            .hint
            .as_ref()
            .unwrap()
            .good
    );
}

#[test]
fn the_confirm_field_says_whether_the_passwords_match() {
    let mut m = model();
    update(&mut m, ctrl('n'));
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, GOOD);
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "correct");
    let hint = |m: &Model| signup(m).form.fields[signup::CONFIRM].hint.clone().unwrap();
    assert_eq!(hint(&m).text, "Passwords do not match");
    type_text(&mut m, " horse battery staple");
    assert_eq!(hint(&m).text, "Passwords match");
    assert!(hint(&m).good);
}

#[test]
fn p_opens_change_password_and_esc_returns() {
    let mut m = on_dashboard();
    press(&mut m, 'p');
    assert!(matches!(m.screen, Screen::ChangePassword(_)));
    update(&mut m, key(KeyCode::Esc));
    assert!(matches!(m.screen, Screen::Dashboard(_)));
}

fn fill_change(m: &mut Model, current: &str, new: &str, confirm: &str) -> Option<Cmd> {
    press(m, 'p');
    type_text(m, current);
    update(m, key(KeyCode::Enter));
    type_text(m, new);
    update(m, key(KeyCode::Enter));
    type_text(m, confirm);
    update(m, key(KeyCode::Enter))
}

#[test]
fn change_password_sends_both_passwords_and_returns_with_a_banner() {
    let mut m = on_dashboard();
    let new = "violet marmot sings under quartz";
    let Some(Cmd::ChangePassword {
        id,
        current,
        new: sent,
        ..
    }) = fill_change(&mut m, GOOD, new, new)
    else {
        panic!("no change command")
    };
    assert_eq!((current.expose(), sent.expose()), (GOOD, new));
    update(&mut m, done(id, Outcome::PasswordChanged(Ok(Vec::new()))));
    assert!(matches!(m.screen, Screen::Dashboard(_)), "the session stays");
    assert_eq!(m.banner, Some(Banner::success("Password changed")));
}

#[test]
fn change_password_checks_the_form_first() {
    let mut m = on_dashboard();
    assert!(fill_change(&mut m, GOOD, "short", "shorter").is_none());
    let Screen::ChangePassword(s) = &m.screen else {
        panic!()
    };
    assert!(s.form.fields[change_password::NEW].error.is_some());
    assert!(s.form.fields[change_password::CONFIRM].error.is_some());
}

#[test]
fn a_wrong_current_password_is_marked_under_it() {
    let mut m = on_dashboard();
    let new = "violet marmot sings under quartz";
    let Some(Cmd::ChangePassword { id, .. }) = fill_change(&mut m, "not it at all", new, new) else {
        panic!()
    };
    update(
        &mut m,
        done(id, Outcome::PasswordChanged(Err(AuthError::WrongPassword))),
    );
    let Screen::ChangePassword(s) = &m.screen else {
        panic!()
    };
    assert_eq!(
        s.form.fields[change_password::CURRENT].error.as_deref(),
        Some("Current password is incorrect")
    );
    assert_eq!(s.form.focused_field(), Some(change_password::CURRENT));
}

fn fill_delete(m: &mut Model, password: &str, name: &str) -> Option<Cmd> {
    press(m, 'd');
    type_text(m, password);
    update(m, key(KeyCode::Enter));
    type_text(m, name);
    update(m, key(KeyCode::Enter))
}

#[test]
fn delete_needs_the_username_typed_out() {
    let mut m = on_dashboard();
    assert!(fill_delete(&mut m, GOOD, "alic").is_none());
    let Screen::DeleteAccount(s) = &m.screen else {
        panic!()
    };
    assert_eq!(
        s.form.fields[delete_account::CONFIRM_NAME].error.as_deref(),
        Some("Type alice to confirm")
    );
}

#[test]
fn delete_success_goes_to_login_with_a_banner() {
    let mut m = on_dashboard();
    let Some(Cmd::DeleteAccount { id, password, .. }) = fill_delete(&mut m, GOOD, "alice") else {
        panic!()
    };
    assert_eq!(password.expose(), GOOD);
    update(&mut m, done(id, Outcome::AccountDeleted(Ok(()))));
    assert!(matches!(m.screen, Screen::Login(_)));
    assert_eq!(m.banner, Some(Banner::success("Account deleted")));
}

#[test]
fn esc_cancels_delete() {
    let mut m = on_dashboard();
    press(&mut m, 'd');
    update(&mut m, key(KeyCode::Esc));
    assert!(matches!(m.screen, Screen::Dashboard(_)));
}

#[test]
fn f1_opens_help_and_esc_closes_it_without_quitting() {
    let mut m = model();
    update(&mut m, key(KeyCode::F(1)));
    assert!(m.help);
    update(&mut m, key(KeyCode::Esc));
    assert!(!m.help);
    assert!(!m.quit);
}

#[test]
fn question_mark_is_text_in_a_field_and_help_elsewhere() {
    let mut m = model();
    press(&mut m, '?');
    assert!(!m.help);
    assert_eq!(login(&m).username(), "?");
    let mut d = on_dashboard();
    press(&mut d, '?');
    assert!(d.help);
}

#[test]
fn keys_do_nothing_else_while_help_is_open() {
    let mut m = on_dashboard();
    press(&mut m, '?');
    assert!(press(&mut m, 'l').is_none());
    assert!(matches!(m.screen, Screen::Dashboard(_)));
}

fn click(m: &mut Model, column: u16, row: u16) -> Option<Cmd> {
    update(
        m,
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    )
}

#[test]
fn a_click_focuses_a_field_or_presses_a_button() {
    let mut m = model();
    let card = crate::tui::view::card_area(m.size, &m.screen).unwrap();
    let rects = crate::tui::screens::form_rects(card, &login(&m).form);
    let password = rects.fields[login::PASSWORD];
    click(&mut m, password.x + 30, password.y);
    assert_eq!(login(&m).form.focused_field(), Some(login::PASSWORD));
    let create = rects.buttons[login::CREATE_ACCOUNT];
    click(&mut m, create.x + 1, create.y);
    assert!(matches!(m.screen, Screen::Signup(_)));
}

#[test]
fn a_failed_log_write_is_reported_in_the_banner() {
    let mut m = model();
    let Cmd::Login { id, .. } = submit_login(&mut m, "alice", GOOD) else {
        panic!()
    };
    update(
        &mut m,
        Msg::Done {
            id,
            outcome: Outcome::LoggedIn(Ok(welcome())),
            log_failures: vec!["the activity log was not written: disk full".into()],
        },
    );
    assert!(matches!(m.screen, Screen::Dashboard(_)), "the login stands");
    assert_eq!(
        m.banner,
        Some(Banner::error("The activity log was not written: disk full"))
    );
}

#[test]
fn a_login_that_finishes_after_a_signal_is_logged_out() {
    let mut m = model();
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, GOOD);
    let Some(Cmd::Login { id, .. }) = update(&mut m, key(KeyCode::Enter)) else {
        panic!("no login");
    };
    // SIGTERM while bcrypt runs: nothing to log out yet.
    assert!(update(&mut m, Msg::Signal).is_none());
    assert!(m.quit);
    // The login then succeeds: its session is ended at once, not shown.
    let cmd = update(&mut m, done(id, Outcome::LoggedIn(Ok(welcome()))));
    assert!(
        matches!(cmd, Some(Cmd::Logout { .. })),
        "the new session was left open"
    );
    assert!(m.screen.session().is_none());
}

#[test]
fn huge_durations_never_overflow_an_instant() {
    let mut m = on_dashboard();
    m.context.idle_timeout = Some(Duration::MAX);
    assert_eq!(m.idle_deadline(), None);
    let _ = m.next_wakeup();
    assert!(update(&mut m, Msg::Tick).is_none());
    assert!(m.screen.session().is_some());
    // A lock that ends in the far future.
    let far = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    let e = AuthError::Locked {
        until: Some(far),
        now: chrono::DateTime::<chrono::Utc>::MIN_UTC,
    };
    let banner = Banner::refused(&e, m.now);
    let _ = banner.text_at(m.now);
}
