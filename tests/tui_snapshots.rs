//! Every screen drawn on ratatui's TestBackend, at 80x24 and at a small size.

use authtui::auth::{Cost, FakeClock, Service, Session};
use authtui::store::MemoryStore;
use authtui::tui::app::{Context, Model, Msg, Outcome, Screen, update};
use authtui::tui::screens::dashboard::{Dashboard, TimeZone};
use authtui::tui::theme::Theme;
use authtui::tui::view::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

const GOOD: &str = "correct horse battery staple";
const SMALL: (u16, u16) = (56, 20);

fn model() -> Model {
    Model::new(
        Context {
            data_file: "/home/alice/.local/share/authtui/users.json".into(),
            cost: Cost::new(4).unwrap(),
            time_zone: TimeZone::Utc,
            idle_timeout: Some(Duration::from_secs(15 * 60)),
        },
        Instant::now(),
    )
}

fn draw(model: &Model, (w, h): (u16, u16)) -> TestBackend {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view(model, f, &Theme { color: true })).unwrap();
    terminal.backend().clone()
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        update(m, key(KeyCode::Char(c)));
    }
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

fn both_sizes(name: &str, model: &Model) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(model, (80, 24)));
    insta::assert_snapshot!(format!("{name}_small"), draw(model, SMALL));
}

#[test]
fn login_empty() {
    both_sizes("login_empty", &model());
}

#[test]
fn login_with_error_banner() {
    let mut m = model();
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, "wrong password");
    let Some(authtui::tui::app::Cmd::Login { id, .. }) = update(&mut m, key(KeyCode::Enter)) else {
        panic!("no login command")
    };
    update(
        &mut m,
        Msg::Done {
            id,
            outcome: Outcome::LoggedIn(Err(authtui::auth::AuthError::InvalidCredentials)),
            log_failures: Vec::new(),
        },
    );
    both_sizes("login_error", &m);
}

#[test]
fn signup_with_field_errors() {
    let mut m = model();
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
    );
    type_text(&mut m, "1bob");
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, "short");
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, "shorter");
    update(&mut m, key(KeyCode::Enter));
    both_sizes("signup_errors", &m);
}

#[test]
fn busy_spinner() {
    let mut m = model();
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, GOOD);
    update(&mut m, key(KeyCode::Enter));
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
    update(
        &mut signup,
        Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
    );
    screens.push(signup);
    for m in &screens {
        for w in 1..=90 {
            for h in [1, 2, 5, 10, 16, 17, 18, 19, 20, 24, 40] {
                draw(m, (w, h));
            }
        }
    }
}
