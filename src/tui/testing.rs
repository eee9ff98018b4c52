//! Fixtures for the app's tests, benchmarks and examples (not part of the API): a model
//! at test cost, keys as messages, and a signed-in Dashboard reached as a person reaches
//! it. Written once here so that `src/tui/app_tests.rs`, `tests/`, `benches/` and
//! `examples/` share them.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Cmd, Context, Model, Msg, Outcome, Welcome, update};
use super::present::TimeZone;
use crate::auth::{Cost, FakeClock, LogoutReason, Service};
use crate::store::{MemoryLog, MemoryStore};

/// A password every policy rule accepts for alice.
pub const GOOD: &str = "correct horse battery staple";

/// The settings of a model: `data_file`, `cost`, UTC times, a 15-minute idle time-out.
pub fn context(data_file: &str, cost: Cost) -> Context {
    Context {
        data_file: data_file.into(),
        cost,
        time_zone: TimeZone::Utc,
        idle_timeout: Some(Duration::from_secs(15 * 60)),
        peer: None,
        clock: Instant::now,
    }
}

/// A model on Log in at bcrypt cost 4, on `data_file`.
pub fn model_on(data_file: &str) -> Model {
    Model::new(context(data_file, Cost::new(4).expect("cost 4")), Instant::now())
}

/// A model on Log in at bcrypt cost 4.
pub fn model() -> Model {
    model_on("/home/alice/.local/share/authtui/users.json")
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Types `text`, a key a character.
pub fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        update(m, key(KeyCode::Char(c)));
    }
}

/// Answers the request `cmd` with `outcome`, as the pool would.
pub fn answer(m: &mut Model, cmd: Option<Cmd>, outcome: Outcome) -> Option<Cmd> {
    let id = cmd.as_ref().and_then(Cmd::id).expect("a request to answer");
    update(
        m,
        Msg::Done {
            id,
            outcome,
            log_failures: Vec::new(),
        },
    )
}

/// Types alice and `password` on Log in and presses Enter: the command it asks for.
pub fn submit_login(m: &mut Model, password: &str) -> Option<Cmd> {
    type_text(m, "alice");
    update(m, key(KeyCode::Enter));
    type_text(m, password);
    update(m, key(KeyCode::Enter))
}

/// What alice's Dashboard shows after she signed up, logged out, and a day later failed
/// `failures` logins before this one: her session and her five newest events.
pub fn welcome_back(failures: u32) -> Welcome {
    let clock = FakeClock::at_epoch();
    let service = Service::new(MemoryStore::new(), Cost::new(4).expect("cost 4"))
        .with_clock(clock.clone())
        .with_log(MemoryLog::new());
    let first = service.signup("alice", &GOOD.into()).expect("sign up");
    clock.advance(chrono::Duration::minutes(7));
    service.logout(&first, LogoutReason::User);
    clock.advance(chrono::Duration::hours(26));
    for _ in 0..failures {
        clock.advance(chrono::Duration::seconds(41));
        let _ = service.login("alice", &"not the password".into());
    }
    clock.advance(chrono::Duration::minutes(3));
    let session = service.login("alice", &GOOD.into()).expect("log in");
    let events = service.recent_events("alice", 5).expect("events");
    Welcome { session, events }
}

/// `m` (on Log in) taken to alice's Dashboard through Log in, with
/// [`welcome_back`]`(failures)`.
pub fn signed_in(mut m: Model, failures: u32) -> Model {
    let cmd = submit_login(&mut m, GOOD);
    answer(&mut m, cmd, Outcome::LoggedIn(Ok(welcome_back(failures))));
    assert!(
        matches!(m.screen, super::app::Screen::Dashboard(_)),
        "not signed in"
    );
    m
}

/// A drawn buffer's text, a line a row.
pub fn text(buffer: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
