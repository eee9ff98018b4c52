//! Arbitrary keys, pastes and resizes: the app never panics, and no typed password ever
//! reaches the screen. Auth commands run for real (memory store, cost 4), so sequences
//! reach the Dashboard and back.

use authtui::auth::{Cost, FakeClock, Password, Service};
use authtui::store::MemoryStore;
use authtui::tui::app::{Context, Model, Msg, update};
use authtui::tui::screens::dashboard::TimeZone;
use authtui::tui::theme::Theme;
use authtui::tui::view::view;
use authtui::tui::worker::perform;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Typed only into password fields; must never be drawn.
const SECRET: &str = "Zebra-Quartz-Violin-42";

#[derive(Debug, Clone)]
enum Action {
    Key(KeyCode, KeyModifiers),
    Paste(String),
    Resize(u16, u16),
    /// Types SECRET if a password field has focus.
    TypeSecret,
    /// Pastes SECRET if a password field has focus.
    PasteSecret,
    Username,
}

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        any::<char>().prop_map(KeyCode::Char),
        Just(KeyCode::Tab),
        Just(KeyCode::BackTab),
        Just(KeyCode::Enter),
        Just(KeyCode::Esc),
        Just(KeyCode::Backspace),
        Just(KeyCode::Delete),
        Just(KeyCode::Left),
        Just(KeyCode::Right),
        Just(KeyCode::Up),
        Just(KeyCode::Down),
        Just(KeyCode::Home),
        Just(KeyCode::End),
        Just(KeyCode::F(1)),
    ]
}

fn modifiers() -> impl Strategy<Value = KeyModifiers> {
    prop_oneof![
        4 => Just(KeyModifiers::NONE),
        1 => Just(KeyModifiers::SHIFT),
        1 => Just(KeyModifiers::CONTROL),
        1 => Just(KeyModifiers::ALT),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => (key_code(), modifiers())
            // Ctrl+C quits, and Ctrl+R shows a password on purpose: neither here.
            .prop_filter("not Ctrl+C or Ctrl+R", |(c, m)| {
                !(matches!(c, KeyCode::Char('c' | 'r')) && m.contains(KeyModifiers::CONTROL))
            })
            .prop_map(|(c, m)| Action::Key(c, m)),
        1 => "\\PC{0,300}".prop_map(Action::Paste),
        1 => (1u16..130, 1u16..50).prop_map(|(w, h)| Action::Resize(w, h)),
        2 => Just(Action::TypeSecret),
        1 => Just(Action::PasteSecret),
        1 => Just(Action::Username),
    ]
}

fn password_focused(m: &Model) -> bool {
    let Some(form) = m.screen.form() else { return false };
    form.focused_field().is_some_and(|i| form.field(i).is_masked())
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    authtui::tui::testing::text(terminal.backend().buffer())
}

/// Feeds a message to the app, doing any command it asks for as the worker would.
fn run(service: &Service, model: &mut Model, msg: Msg) {
    let mut pending = vec![msg];
    while let Some(msg) = pending.pop() {
        if let Some(cmd) = update(model, msg) {
            pending.extend(perform(service, cmd));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_and_no_password_on_screen(actions in prop::collection::vec(action(), 1..120)) {
        let service = Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(FakeClock::at_epoch());
        // An account whose password is the secret, so logins can succeed.
        service.create_account("alice", &Password::from(SECRET)).unwrap();
        let mut model = Model::new(
            Context {
                data_file: "users.json".into(),
                cost: Cost::new(4).unwrap(),
                time_zone: TimeZone::Utc,
                idle_timeout: Some(std::time::Duration::from_secs(900)),
                peer: None,
                clock: std::time::Instant::now,
            },
            std::time::Instant::now(),
        );
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let theme = Theme { color: false };
        for action in actions {
            match action {
                Action::Key(code, mods) => run(&service, &mut model, Msg::Key(KeyEvent::new(code, mods))),
                Action::Paste(text) => run(&service, &mut model, Msg::Paste(text)),
                Action::Resize(w, h) => {
                    terminal.backend_mut().resize(w, h);
                    run(&service, &mut model, Msg::Resize(w, h));
                }
                Action::TypeSecret if password_focused(&model) => {
                    for c in SECRET.chars() {
                        run(&service, &mut model, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
                    }
                }
                Action::PasteSecret if password_focused(&model) => {
                    run(&service, &mut model, Msg::Paste(SECRET.into()));
                }
                Action::Username => {
                    for c in "alice".chars() {
                        run(&service, &mut model, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
                    }
                }
                Action::TypeSecret | Action::PasteSecret => {}
            }
            if model.quit {
                break;
            }
            model.settle();
            terminal.draw(|f| view(&model, f, &theme)).unwrap();
            let text = screen_text(&terminal);
            // No run of 5 characters of the secret, anywhere (also not wrapped or cut).
            let chars: Vec<char> = SECRET.chars().collect();
            for window in chars.windows(5) {
                let piece: String = window.iter().collect();
                prop_assert!(!text.contains(&piece), "{piece:?} on screen:\n{text}");
            }
        }
    }
}
