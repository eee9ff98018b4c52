//! Every screen drawn on ratatui's TestBackend, at 80x24 and at a small size.

use authtui::auth::{AuthError, Clock, Cost, FakeClock, Password, Service, Session, policy};
use authtui::store::MemoryStore;
use authtui::tui::app::{Cmd, Model, Msg, Outcome, Screen, update};
use authtui::tui::screens::dashboard::Dashboard;
use authtui::tui::testing::{GOOD, ctrl, key, model, signed_in, submit_login, type_text};
use authtui::tui::theme::Theme;
use authtui::tui::view::{min_size_of, view};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Duration;

fn draw(model: &Model, (w, h): (u16, u16)) -> TestBackend {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view(model, f, &Theme { color: true })).unwrap();
    terminal.backend().clone()
}

/// A session whose facts are fixed: created on day one, previous login a day before
/// this one, `failures` failed attempts in between.
fn session(failures: u32) -> Session {
    let clock = FakeClock::at_epoch();
    let service = Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(clock.clone());
    service.signup("alice", &GOOD.into()).unwrap();
    clock.advance(chrono::Duration::hours(26));
    for _ in 0..failures {
        let _ = service.login("alice", &"not the password".into());
    }
    service.login("alice", &GOOD.into()).unwrap()
}

/// The screen at 80x24 and at the smallest size it is drawn at (not "too small").
fn both_sizes(name: &str, model: &Model) {
    let small = min_size_of(model);
    insta::assert_snapshot!(format!("{name}_80x24"), draw(model, (80, 24)));
    insta::assert_snapshot!(format!("{name}_small"), draw(model, small));
    let (w, h) = small;
    for smaller in [(w - 1, h), (w, h - 1)] {
        assert!(
            text(model, smaller).contains("Terminal too small"),
            "{name} fits in {smaller:?}, below its minimum {small:?}"
        );
    }
}

/// The text of a drawn screen, for asserts on what a snapshot must show.
fn text(model: &Model, size: (u16, u16)) -> String {
    let backend = draw(model, size);
    authtui::tui::testing::text(backend.buffer())
}

/// Log in as alice with a wrong password, the worker answering `error`.
fn login_refused(error: AuthError) -> Model {
    let mut m = model();
    let cmd = submit_login(&mut m, "wrong password");
    authtui::tui::testing::answer(&mut m, cmd, Outcome::LoggedIn(Err(error)));
    m
}

/// Alice's Dashboard, reached through Log in, after `failures` failed logins.
fn dashboard_with_activity(failures: u32) -> Model {
    signed_in(model(), failures)
}

/// The Sign up screen with alice's name and `password` typed, the meter settled.
fn signup_with_password(password: &str) -> Model {
    let mut m = model();
    update(&mut m, ctrl('n'));
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, password);
    m.settle();
    m
}

#[test]
fn login_empty() {
    both_sizes("login_empty", &model());
}

#[test]
fn login_with_error_banner() {
    let m = login_refused(AuthError::InvalidCredentials);
    both_sizes("login_error", &m);
}

#[test]
fn signup_with_field_errors() {
    let mut m = model();
    update(&mut m, ctrl('n'));
    type_text(&mut m, "1bob");
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, "short");
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, "shorter");
    update(&mut m, key(KeyCode::Enter));
    both_sizes("signup_errors", &m);
}

#[test]
fn long_field_errors_wrap() {
    let mut m = model();
    update(&mut m, ctrl('n'));
    type_text(&mut m, "zoë");
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, key(KeyCode::Enter));
    let small = min_size_of(&m);
    let shown = text(&m, small);
    assert!(shown.contains("(not 'ë')"), "cut:\n{shown}");
    both_sizes("signup_long_error", &m);
}

#[test]
fn busy_spinner() {
    let mut m = model();
    submit_login(&mut m, GOOD);
    m.now += Duration::from_millis(170);
    update(&mut m, Msg::Tick);
    assert!(m.busy.is_some());
    both_sizes("busy", &m);
}

#[test]
fn dashboard_first_login() {
    let mut m = model();
    let clock = FakeClock::at_epoch();
    let service = Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(clock);
    m.screen = Screen::Dashboard(Dashboard::new(
        service.signup("alice", &GOOD.into()).unwrap(),
        Vec::new(),
    ));
    both_sizes("dashboard_first", &m);
}

#[test]
fn dashboard_with_previous_login_and_failures() {
    let mut m = model();
    m.screen = Screen::Dashboard(Dashboard::new(session(2), Vec::new()));
    both_sizes("dashboard_failures", &m);
}

/// A served session's Dashboard: where the previous login came from, where this one is,
/// the addresses of its events, and no path of the server's (docs/security.md rule 36).
#[test]
fn dashboard_served_over_ssh() {
    use authtui::auth::origin;
    let clock = FakeClock::at_epoch();
    let service = Service::new(MemoryStore::new(), Cost::new(4).unwrap())
        .with_clock(clock.clone())
        .with_log(authtui::store::MemoryLog::new());
    {
        let _at = origin::scope(Some("198.51.100.23:40022".parse().unwrap()));
        service.signup("alice", &GOOD.into()).unwrap();
    }
    clock.advance(chrono::Duration::hours(26));
    let session = {
        let _at = origin::scope(Some("[2001:db8::7]:50122".parse().unwrap()));
        let _ = service.login("alice", &"not the password".into());
        service.login("alice", &GOOD.into()).unwrap()
    };
    let events = service.recent_events("alice", Dashboard::EVENTS).unwrap();
    let mut m = model();
    m.context.peer = Some("[2001:db8::7]:50122".into());
    m.screen = Screen::Dashboard(Dashboard::new(session, events));
    let shown = text(&m, (80, 24));
    assert!(shown.contains("Previous from    198.51.100.23"), "{shown}");
    assert!(shown.contains("Signed in from   2001:db8::7"), "{shown}");
    assert!(
        !shown.contains("Data file") && !shown.contains("users.json"),
        "{shown}"
    );
    both_sizes("dashboard_served", &m);
}

#[test]
fn signup_meter_at_each_score() {
    let passwords = [
        "passwordpassword",
        "sunshine1985",
        "Tr0ub4dour&3",
        "violet marmot",
        "violet marmot sings",
    ];
    for (score, password) in passwords.into_iter().enumerate() {
        let strength = policy::strength(&Password::from(password), "alice");
        assert_eq!(usize::from(strength.score), score, "{password:?}");
        let m = signup_with_password(password);
        let screen = text(&m, (80, 24));
        let bar = format!(
            "{}{} {}",
            "▰".repeat(score + 1),
            "▱".repeat(4 - score),
            policy::score_label(strength.score)
        );
        assert!(screen.contains(&bar), "{bar:?} not in\n{screen}");
        both_sizes(&format!("signup_meter_{score}"), &m);
    }
}

#[test]
fn show_password_on_and_off() {
    let secret = "violet marmot sings";
    let mut m = signup_with_password(secret);
    update(&mut m, ctrl('r'));
    assert!(text(&m, (80, 24)).contains(secret));
    both_sizes("signup_password_shown", &m);

    update(&mut m, ctrl('r'));
    assert!(!text(&m, (80, 24)).contains(secret));
    both_sizes("signup_password_hidden", &m);

    // Shown again, then masked by leaving the field.
    update(&mut m, ctrl('r'));
    assert!(text(&m, (80, 24)).contains(secret));
    update(&mut m, key(KeyCode::Tab));
    assert!(!text(&m, (80, 24)).contains(secret));
    both_sizes("signup_password_hidden_after_tab", &m);
}

#[test]
fn locked_banner_counts_down() {
    let now = FakeClock::at_epoch().now();
    let mut m = login_refused(AuthError::Locked {
        until: Some(now + chrono::Duration::seconds(27)),
        now,
    });
    assert!(text(&m, (80, 24)).contains("Too many failed attempts. Try again in 27 s"));
    both_sizes("locked_27s", &m);

    m.now += Duration::from_secs(2);
    update(&mut m, Msg::Tick);
    assert!(text(&m, (80, 24)).contains("Too many failed attempts. Try again in 25 s"));
    both_sizes("locked_25s", &m);
}

#[test]
fn locked_until_unlocked() {
    let now = FakeClock::at_epoch().now();
    let m = login_refused(AuthError::Locked { until: None, now });
    both_sizes("locked_permanently", &m);
}

#[test]
fn dashboard_activity_without_failures() {
    let m = dashboard_with_activity(0);
    assert!(!text(&m, (80, 24)).contains("failed login attempt"));
    both_sizes("dashboard_activity", &m);
}

#[test]
fn dashboard_activity_with_failures() {
    let m = dashboard_with_activity(2);
    assert!(text(&m, (80, 24)).contains("There were 2 failed login attempts since your last login."));
    both_sizes("dashboard_activity_failures", &m);
}

#[test]
fn change_password() {
    let mut m = dashboard_with_activity(0);
    update(&mut m, key(KeyCode::Char('p')));
    m.settle();
    assert!(matches!(m.screen, Screen::ChangePassword(_)));
    both_sizes("change_password_empty", &m);

    type_text(&mut m, "old password here");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "violet marmot sings");
    m.settle();
    assert!(text(&m, (80, 24)).contains("▰▰▰▰▰ strong"));
    both_sizes("change_password_typed", &m);

    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "violet marmot sings");
    m.settle();
    let Some(Cmd::ChangePassword { id, .. }) = update(&mut m, key(KeyCode::Enter)) else {
        panic!("no change-password command")
    };
    update(
        &mut m,
        Msg::Done {
            id,
            outcome: Outcome::PasswordChanged(Err(AuthError::WrongPassword)),
            log_failures: Vec::new(),
        },
    );
    m.settle();
    assert!(text(&m, (80, 24)).contains("Current password is incorrect"));
    both_sizes("change_password_wrong_current", &m);
}

#[test]
fn delete_account() {
    let mut m = dashboard_with_activity(0);
    update(&mut m, key(KeyCode::Char('d')));
    assert!(matches!(m.screen, Screen::DeleteAccount(_)));
    both_sizes("delete_account", &m);

    type_text(&mut m, GOOD);
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "bob");
    assert!(update(&mut m, key(KeyCode::Enter)).is_none());
    assert!(text(&m, (80, 24)).contains("Type alice to confirm"));
    both_sizes("delete_account_wrong_name", &m);
}

#[test]
fn help_overlay() {
    let mut m = model();
    update(&mut m, key(KeyCode::F(1)));
    assert!(m.help);
    both_sizes("help_login", &m);

    // Where the screen fits but its help does not, the message says so.
    let (w, h) = authtui::tui::view::min_size(&m.screen);
    let shown = text(&m, (w, h));
    assert!(shown.contains("too small for the help"), "{shown}");

    let mut m = dashboard_with_activity(0);
    update(&mut m, key(KeyCode::Char('?')));
    assert!(m.help);
    both_sizes("help_dashboard", &m);
}

#[test]
fn too_small() {
    let m = model();
    insta::assert_snapshot!("too_small_40x10", draw(&m, (40, 10)));
    insta::assert_snapshot!("too_small_10x3", draw(&m, (10, 3)));
}

#[test]
fn every_screen_draws_at_every_size_down_to_1x1() {
    let mut screens = vec![model()];
    let mut dash = model();
    dash.screen = Screen::Dashboard(Dashboard::new(session(1), Vec::new()));
    screens.push(dash);
    let mut signup = model();
    update(&mut signup, ctrl('n'));
    screens.push(signup);
    for m in &screens {
        for w in 1..=90 {
            for h in [1, 2, 5, 10, 16, 17, 18, 19, 20, 24, 40] {
                draw(m, (w, h));
            }
        }
    }
}

#[test]
fn the_footer_keeps_help_at_every_width() {
    let mut screens = vec![model(), dashboard_with_activity(0)];
    let mut signup = model();
    update(&mut signup, ctrl('n'));
    screens.push(signup);
    for k in ['p', 'd'] {
        let mut m = dashboard_with_activity(0);
        update(&mut m, key(KeyCode::Char(k)));
        screens.push(m);
    }
    for m in &screens {
        let (min_w, min_h) = min_size_of(m);
        for w in min_w..=100 {
            let shown = text(m, (w, min_h.max(24)));
            let footer = shown.lines().last().unwrap();
            assert!(
                footer.trim_end().ends_with("F1 help"),
                "{} at {w}: {footer:?}",
                m.screen.title()
            );
        }
    }
}
