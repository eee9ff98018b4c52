//! A second driver, written without touching `app.rs` or any screen: sessions driven by
//! raw terminal bytes (what an SSH channel carries) on ratatui's `TestBackend`, with no
//! crossterm terminal at all, their slow work done by one shared pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authtui::auth::{Cost, FakeClock, Service};
use authtui::store::MemoryStore;
use authtui::tui::app::{BUSY, Context, Screen};
use authtui::tui::drivers::bytes::{BytesDriver, MAX_SIZE};
use authtui::tui::pool::Pool;
use authtui::tui::screens::dashboard::TimeZone;
use authtui::tui::screens::{form_rects, login};
use authtui::tui::theme::Theme;
use authtui::tui::view::card_area;
use ratatui::backend::TestBackend;

const PW: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(10);

fn service(users: &[&str]) -> Arc<Service> {
    let service = Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(FakeClock::at_epoch());
    for user in users {
        service.signup(user, &PW.into()).unwrap();
    }
    Arc::new(service)
}

fn context() -> Context {
    Context {
        data_file: "memory".into(),
        cost: Cost::new(4).unwrap(),
        time_zone: TimeZone::Utc,
        idle_timeout: None,
        peer: Some("192.0.2.7:50022".into()),
        clock: Instant::now,
    }
}

fn driver(pool: &Pool) -> BytesDriver<TestBackend> {
    let mut d = BytesDriver::new(
        TestBackend::new(80, 24),
        (80, 24),
        context(),
        Theme { color: false },
        pool,
    )
    .unwrap();
    d.draw().unwrap();
    d
}

fn screen(d: &BytesDriver<TestBackend>) -> String {
    authtui::tui::testing::text(d.terminal().backend().buffer())
}

fn username(d: &BytesDriver<TestBackend>) -> &str {
    match &d.model().screen {
        Screen::Login(s) => s.username(),
        _ => panic!("not on Log in"),
    }
}

/// Waits for the pool's answer, then draws.
fn answer(d: &mut BytesDriver<TestBackend>) {
    assert!(d.wait_result(WAIT), "the pool answers");
    d.draw().unwrap();
}

#[test]
fn typed_bytes_log_in_and_the_dashboard_shows_once_the_pool_answers() {
    let pool = Pool::new(service(&["alice"]), 2, 8);
    let mut d = driver(&pool);
    assert!(screen(&d).contains("Log in"));
    d.feed_bytes(b"alice\r");
    d.feed_bytes(PW.as_bytes());
    d.feed_bytes(b"\r");
    assert!(d.in_flight(), "Enter on the password submits");
    d.draw().unwrap();
    assert!(screen(&d).contains("Logging in"), "{}", screen(&d));
    // While busy, the session wakes for the spinner only.
    assert!(d.next_wakeup().is_some());
    answer(&mut d);
    assert!(matches!(d.model().screen, Screen::Dashboard(_)));
    assert!(screen(&d).contains("Dashboard"), "{}", screen(&d));
    assert!(screen(&d).contains("alice"));
    // At rest: no wake-ups (no idle time-out in this context).
    assert_eq!(d.next_wakeup(), None);
    d.feed_bytes(b"l");
    d.draw().unwrap();
    assert!(matches!(d.model().screen, Screen::Login(_)));
    assert!(screen(&d).contains("Logged out"));
    pool.finish(WAIT);
}

#[test]
fn a_bracketed_paste_fills_the_focused_field() {
    let pool = Pool::new(service(&[]), 1, 4);
    let mut d = driver(&pool);
    d.feed_bytes(b"\x1b[200~ali");
    d.feed_bytes(b"ce\x1b[201~");
    assert_eq!(username(&d), "alice");
    pool.finish(WAIT);
}

#[test]
fn an_sgr_mouse_click_focuses_the_field_under_it() {
    let pool = Pool::new(service(&[]), 1, 4);
    let mut d = driver(&pool);
    let form = d.model().screen.form().unwrap();
    assert_eq!(form.focused_field(), Some(login::USERNAME));
    let card = card_area(d.model().size, &d.model().screen).unwrap();
    let field = form_rects(card, form).fields[login::PASSWORD];
    // SGR coordinates count from 1.
    let click = format!(
        "\x1b[<0;{};{}M\x1b[<0;{};{}m",
        field.x + 3,
        field.y + 1,
        field.x + 3,
        field.y + 1
    );
    d.feed_bytes(click.as_bytes());
    let form = d.model().screen.form().unwrap();
    assert_eq!(form.focused_field(), Some(login::PASSWORD));
    pool.finish(WAIT);
}

#[test]
fn a_resize_redraws_at_the_new_size_and_sizes_are_clamped() {
    let pool = Pool::new(service(&[]), 1, 4);
    let mut d = driver(&pool);
    d.terminal_mut().backend_mut().resize(100, 30);
    d.resize(100, 30).unwrap();
    d.draw().unwrap();
    assert_eq!(d.model().size, (100, 30));
    assert_eq!(d.terminal().backend().buffer().area.width, 100);
    assert!(screen(&d).contains("Log in"));
    // A remote pty's size is a u32: anything is clamped, nothing panics.
    d.terminal_mut().backend_mut().resize(MAX_SIZE.0, MAX_SIZE.1);
    d.resize(u32::MAX, 70_000).unwrap();
    assert_eq!(d.model().size, MAX_SIZE);
    d.draw().unwrap();
    d.terminal_mut().backend_mut().resize(1, 1);
    d.resize(0, 0).unwrap();
    assert_eq!(d.model().size, (1, 1));
    d.draw().unwrap();
    pool.finish(WAIT);
}

#[test]
fn unknown_reports_and_garbage_do_not_swallow_the_keys_after_them() {
    let pool = Pool::new(service(&[]), 1, 4);
    let mut d = driver(&pool);
    // Replies to queries a remote terminal may send unasked, then garbage.
    d.feed_bytes(b"\x1b[?1;2c");
    d.feed_bytes(b"\x1b[?2026;2$y\x1b[?12;5R\x1b[>0;276;0c");
    d.feed_bytes(b"\xff\xfe\x80\x1b[1;\x1b[<0;1;2x\x1bO\x01\x1b[?\x1b[99");
    // (An unfinished CSI sequence ends at the next final byte, even in a later read: a
    // sequence split across packets still parses. Here a control byte, Ctrl+U, ends it.)
    d.feed_bytes(b"\x15al");
    d.feed_bytes(b"ice");
    assert_eq!(username(&d), "alice");
    // An unknown report split across reads, and keys in the same read after it.
    d.feed_bytes(b"\x1b[?1;");
    d.feed_bytes(b"2c!");
    assert_eq!(username(&d), "alice!");
    // A sequence longer than any known one is dropped; what follows arrives.
    let mut long = b"\x1b[".to_vec();
    long.extend([b'9'; 200]);
    d.feed_bytes(&long);
    d.feed_bytes(b"m?");
    assert_eq!(username(&d), "alice!?");
    pool.finish(WAIT);
}

#[test]
fn a_full_pool_says_busy_and_the_session_can_try_again() {
    let service = service(&["alice"]);
    // No room at all in the queue: every request is refused.
    let full = Pool::new(Arc::clone(&service), 1, 0);
    let mut d = driver(&full);
    d.feed_bytes(format!("alice\r{PW}\r").as_bytes());
    d.draw().unwrap();
    assert!(!d.in_flight(), "refused, not queued");
    assert!(screen(&d).contains(BUSY), "{}", screen(&d));
    assert!(matches!(d.model().screen, Screen::Login(_)));
    assert_eq!(username(&d), "alice", "the username stays");
    full.finish(WAIT);

    let pool = Pool::new(service, 1, 4);
    let mut d = driver(&pool);
    d.feed_bytes(format!("alice\r{PW}\r").as_bytes());
    answer(&mut d);
    assert!(matches!(d.model().screen, Screen::Dashboard(_)));
    pool.finish(WAIT);
}

#[test]
fn many_sessions_share_one_pool_and_each_gets_its_own_result() {
    let names: Vec<String> = (0..12).map(|i| format!("user{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let pool = Pool::new(service(&refs), 2, 8);
    let mut drivers: Vec<_> = names.iter().map(|_| driver(&pool)).collect();
    for (d, name) in drivers.iter_mut().zip(&names) {
        // Every other one with a wrong password.
        let pw = if name.ends_with(['0', '2', '4', '6', '8']) {
            PW
        } else {
            "wrong password"
        };
        d.feed_bytes(format!("{name}\r{pw}\r").as_bytes());
    }
    // 12 requests, room for 8 waiting (and 2 running): some may be refused.
    for (d, name) in drivers.iter_mut().zip(&names) {
        if d.in_flight() {
            answer(d);
        }
        d.draw().unwrap();
        let text = screen(d);
        match &d.model().screen {
            Screen::Dashboard(dash) => {
                assert_eq!(dash.session.username().as_str(), name);
                assert!(text.contains(name.as_str()));
            }
            Screen::Login(s) => {
                assert_eq!(s.username(), name);
                assert!(
                    text.contains(BUSY) || !name.ends_with(['0', '2', '4', '6', '8']),
                    "{name}: {text}"
                );
            }
            _ => panic!("{name}: {text}"),
        }
    }
    pool.finish(WAIT);
}

#[test]
fn a_hang_up_mid_login_logs_out_the_session_its_result_opens() {
    let pool = Pool::new(service(&["alice"]), 1, 4);
    let mut d = driver(&pool);
    d.feed_bytes(format!("alice\r{PW}\r").as_bytes());
    assert!(d.in_flight());
    d.hang_up();
    assert!(d.quit());
    answer(&mut d);
    assert!(
        matches!(d.model().screen, Screen::Login(_)),
        "never shown signed in"
    );
    pool.finish(WAIT);
}
