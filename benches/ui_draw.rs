//! The draw time of each screen (issue 5, "The UI"): `view` of a model in each state,
//! drawn with ratatui's `Terminal::draw` on a `TestBackend` at 80x24 (the "too small"
//! screen at 40x10, where it is what the app shows).
//!
//! Two groups:
//! - `redraw/*`: the same terminal drawn again and again, as the event loop does on every
//!   wake-up: `view` into a fresh buffer, the diff against the last frame, and the
//!   backend's write of the changed cells (none, or the one spinner cell on the busy
//!   screen, whose clock moves one spinner frame per draw).
//! - `first/*`: each draw on a new terminal, so every cell differs and is written: the
//!   cost of the first frame of a screen (after a screen change the real loop writes
//!   about this much).
//!
//! The models are built through `update()` as `tests/tui_snapshots.rs` builds them; the
//! strength meter is settled before timing (zxcvbn runs in `Model::settle`, not in the
//! view: `benches/strength_meter.rs` measures it).
//!
//! Run: `cargo bench --bench ui_draw` (about 30 s). Criterion's options work after `--`,
//! e.g. `cargo bench --bench ui_draw -- redraw/login` or `-- --measurement-time 5`.
//! `cargo test --benches` runs each bench once, untimed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use authtui::auth::{AuthError, Cost};
use authtui::tui::app::{Model, Msg, Outcome, SPINNER_FRAME, Screen, update};
use authtui::tui::testing::{GOOD, answer, context, ctrl, key, signed_in, submit_login, type_text};
use authtui::tui::theme::Theme;
use authtui::tui::view::view;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZE: (u16, u16) = (80, 24);
const TOO_SMALL: (u16, u16) = (40, 10);
const THEME: Theme = Theme { color: true };

/// At the default cost, so that no "tests only" note is drawn.
fn model() -> Model {
    Model::new(
        context(
            "/home/alice/.local/share/authtui/users.json",
            Cost::new(12).unwrap(),
        ),
        Instant::now(),
    )
}

fn login_with_banner() -> Model {
    let mut m = model();
    let cmd = submit_login(&mut m, "wrong password");
    answer(&mut m, cmd, Outcome::LoggedIn(Err(AuthError::InvalidCredentials)));
    assert!(m.banner.is_some());
    m
}

fn signup_with_meter() -> Model {
    let mut m = model();
    update(&mut m, ctrl('n'));
    type_text(&mut m, "alice");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "violet marmot sings");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "violet marmot sings");
    m.settle();
    assert!(matches!(m.screen, Screen::Signup(_)));
    m
}

fn busy() -> Model {
    let mut m = model();
    submit_login(&mut m, GOOD);
    m.now += Duration::from_millis(170);
    update(&mut m, Msg::Tick);
    assert!(m.busy.is_some());
    m
}

/// The Dashboard after a login a day after sign-up, with two failed attempts in between
/// and the activity log's five newest events (as `tests/tui_snapshots.rs` builds it).
fn dashboard() -> Model {
    signed_in(model(), 2)
}

fn change_password() -> Model {
    let mut m = dashboard();
    update(&mut m, key(KeyCode::Char('p')));
    type_text(&mut m, "old password here");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "violet marmot sings");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "violet marmot sings");
    m.settle();
    assert!(matches!(m.screen, Screen::ChangePassword(_)));
    m
}

fn delete_account() -> Model {
    let mut m = dashboard();
    update(&mut m, key(KeyCode::Char('d')));
    type_text(&mut m, GOOD);
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "alice");
    assert!(matches!(m.screen, Screen::DeleteAccount(_)));
    m
}

fn help() -> Model {
    let mut m = model();
    update(&mut m, key(KeyCode::F(1)));
    assert!(m.help);
    m
}

/// Each screen: its name, its model, the terminal size.
fn screens() -> Vec<(&'static str, Model, (u16, u16))> {
    vec![
        ("login", model(), SIZE),
        ("login_banner", login_with_banner(), SIZE),
        ("signup_meter", signup_with_meter(), SIZE),
        ("busy_spinner", busy(), SIZE),
        ("dashboard_activity", dashboard(), SIZE),
        ("change_password", change_password(), SIZE),
        ("delete_account", delete_account(), SIZE),
        ("help_overlay", help(), SIZE),
        ("too_small_40x10", model(), TOO_SMALL),
    ]
}

fn terminal((w, h): (u16, u16)) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(w, h)).unwrap()
}

fn draw(terminal: &mut Terminal<TestBackend>, model: &Model) {
    terminal.draw(|f| view(black_box(model), f, &THEME)).unwrap();
}

fn redraw(c: &mut Criterion) {
    let mut group = c.benchmark_group("redraw");
    for (name, mut m, size) in screens() {
        let mut term = terminal(size);
        draw(&mut term, &m);
        let spins = m.busy.is_some();
        group.bench_function(name, |b| {
            b.iter(|| {
                if spins {
                    // The next spinner frame, as a Tick does it: one cell changes.
                    m.now += SPINNER_FRAME;
                }
                draw(&mut term, &m);
            })
        });
    }
    group.finish();
}

fn first(c: &mut Criterion) {
    let mut group = c.benchmark_group("first");
    for (name, m, size) in screens() {
        group.bench_function(name, |b| {
            b.iter_batched_ref(|| terminal(size), |term| draw(term, &m), BatchSize::SmallInput)
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = redraw, first
}
criterion_main!(benches);
