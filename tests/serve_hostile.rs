//! `authtui serve` against hostile clients (issue §2), each case while a well-behaved
//! session (the real OpenSSH client) keeps working: it still signs up and logs in.
//!
//! - the caps: sessions in all, sessions per address, the accept rate per address: a clear
//!   message to the client refused and a line in the server's log;
//! - sizes: a pty request and window changes of u32::MAX (and 0) from a client of our own
//!   on russh; the session draws at most 250x100;
//! - a flood of input (2 MiB) is dropped past a few KiB, never queued without bound;
//! - a client that stops reading is disconnected after `--stall-timeout`;
//! - failed logins from one address are answered later and later (a right password is
//!   not held);
//! - random pty requests, window changes and data into a session (at the driver level):
//!   no panic.
#![cfg(unix)]

mod sshpty;

use std::sync::Arc;
use std::time::{Duration, Instant};

use authtui::auth::{Cost, Service};
use authtui::store::MemoryStore;
use authtui::tui::app::Context;
use authtui::tui::drivers::bytes::{BytesDriver, MAX_SIZE};
use authtui::tui::pool::Pool;
use authtui::tui::screens::dashboard::TimeZone;
use authtui::tui::theme::Theme;
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use russh::ChannelMsg;
use sshpty::{Server, log_in, log_out, sign_up};

const PW: &str = "correct horse battery staple";

/// The well-behaved session: signs up `name`, logs out, logs in again, quits.
fn a_good_session_still_works(server: &Server, name: &str) {
    let mut c = server.connect("x", 80, 24);
    c.wait_for("Create an account");
    sign_up(&mut c, name, PW);
    log_out(&mut c);
    log_in(&mut c, name, PW);
    log_out(&mut c);
    c.send(sshpty::ESC);
    assert_eq!(c.wait_exit(), 0);
    c.assert_terminal_restored();
}

#[test]
fn past_max_per_ip_a_client_is_told_and_the_others_go_on() {
    let server = Server::start(&["--max-per-ip", "2"]);
    let a = server.connect("x", 80, 24);
    a.wait_for("Create an account");
    let b = server.connect("x", 80, 24);
    b.wait_for("Create an account");
    let mut c = server.connect("x", 80, 24);
    c.wait_for("too many sessions from your address (2)");
    assert_eq!(c.wait_exit(), 1);
    server.wait_log("refused: too many sessions from your address");
    drop(b);
    // b's slot comes back once its connection is gone.
    let deadline = Instant::now() + sshpty::DEADLINE;
    loop {
        let probe = server.connect("x", 80, 24);
        probe.wait_until("an answer", |p| {
            p.screen().contains("Create an account") || p.screen().contains("too many")
        });
        if probe.screen().contains("Create an account") {
            let mut p = probe;
            sign_up(&mut p, "bob", PW);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot did not come back:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(a);
}

#[test]
fn past_max_sessions_a_client_is_told_the_server_is_full() {
    let server = Server::start(&["--max-sessions", "1"]);
    let mut a = server.connect("x", 80, 24);
    a.wait_for("Create an account");
    let mut b = server.connect("x", 80, 24);
    b.wait_for("the server is full (1 sessions)");
    assert_eq!(b.wait_exit(), 1);
    server.wait_log("refused: the server is full");
    // The session inside the cap works as ever.
    sign_up(&mut a, "alice", PW);
    log_out(&mut a);
    log_in(&mut a, "alice", PW);
}

#[test]
fn connections_too_fast_from_one_address_are_refused() {
    let server = Server::start(&["--accept-burst", "3", "--accept-rate", "0.01"]);
    let mut a = server.connect("x", 80, 24);
    a.wait_for("Create an account");
    for _ in 0..4 {
        let _ = server.ssh_plain(&["-T", "127.0.0.1"]);
    }
    server.wait_log("connections too fast from 127.0.0.1: refused");
    let (code, _) = server.ssh_plain(&["-T", "127.0.0.1"]);
    assert_eq!(code, Some(255), "ssh's code for a closed connection");
    sign_up(&mut a, "alice", PW);
    log_out(&mut a);
    log_in(&mut a, "alice", PW);
}

// A client of our own, on russh, that sends what OpenSSH would not.

struct Trusting;

impl russh::client::Handler for Trusting {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// A TCP relay to the server whose server-to-client half stops when `paused` is set: the
/// client then reads nothing, as a frozen terminal would, while what it sends still
/// arrives. Returns the relay's port.
async fn stalling_relay(server: u16, paused: Arc<std::sync::atomic::AtomicBool>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let upstream = tokio::net::TcpStream::connect(("127.0.0.1", server))
            .await
            .unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut ur, mut uw) = upstream.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut cr, &mut uw).await;
        });
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if paused.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            match ur.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    port
}

async fn raw_client(
    port: u16,
    window: u32,
) -> (
    russh::client::Handle<Trusting>,
    russh::Channel<russh::client::Msg>,
) {
    let config = Arc::new(russh::client::Config {
        window_size: window,
        channel_buffer_size: 8,
        ..Default::default()
    });
    let mut session = russh::client::connect(config, ("127.0.0.1", port), Trusting)
        .await
        .expect("connect");
    let auth = session.authenticate_none("mallory").await.expect("auth none");
    assert!(auth.success(), "auth none refused");
    let channel = session.channel_open_session().await.expect("a session channel");
    (session, channel)
}

/// Reads the channel's data for `limit` or until it closes; returns the bytes.
async fn read_for(channel: &mut russh::Channel<russh::client::Msg>, limit: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, channel.wait()).await {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::Close | ChannelMsg::Eof => break,
            _ => {}
        }
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn huge_and_zero_sizes_are_clamped_and_nobody_else_notices() {
    let server = Server::start(&[]);
    let rt = runtime();
    let (session, channel) = rt.block_on(async {
        let (session, mut channel) = raw_client(server.port, 2 * 1024 * 1024).await;
        channel
            .request_pty(false, "xterm", u32::MAX, u32::MAX, u32::MAX, u32::MAX, &[])
            .await
            .unwrap();
        channel.request_shell(false).await.unwrap();
        let first = read_for(&mut channel, Duration::from_secs(3)).await;
        let mut more = Vec::new();
        for (w, h) in [
            (0, 0),
            (u32::MAX, 1),
            (1, u32::MAX),
            (65_535, 65_535),
            (u32::MAX, u32::MAX),
        ] {
            // Bounded, as every send of these raw clients: a client that does not read
            // can stop its own sends (see the flood test); a hang must be a failure.
            tokio::time::timeout(Duration::from_secs(10), channel.window_change(w, h, 0, 0))
                .await
                .expect("the server takes a window change")
                .unwrap();
            more.extend(read_for(&mut channel, Duration::from_millis(20)).await);
        }
        more.extend(read_for(&mut channel, Duration::from_secs(2)).await);
        assert!(
            String::from_utf8_lossy(&first).contains("Log in"),
            "no first frame"
        );
        // A frame at the clamp (250x100) is tens of KiB, not gigabytes.
        assert!(
            first.len() < 256 * 1024 && more.len() < 1024 * 1024,
            "{} {}",
            first.len(),
            more.len()
        );
        (session, channel)
    });
    a_good_session_still_works(&server, "alice");
    drop((channel, session));
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn a_flood_of_input_is_dropped_not_queued() {
    let server = Server::start(&[]);
    let rt = runtime();
    let held = rt.block_on(async {
        let (session, mut channel) = raw_client(server.port, 2 * 1024 * 1024).await;
        channel
            .request_pty(false, "xterm", 80, 24, 0, 0, &[])
            .await
            .unwrap();
        channel.request_shell(false).await.unwrap();
        read_for(&mut channel, Duration::from_millis(500)).await;
        // A 1 MiB paste, then 1 MiB of letters, in 32 KiB messages.
        let mut flood = b"\x1b[200~".to_vec();
        flood.extend(std::iter::repeat_n(b'a', 1 << 20));
        flood.extend_from_slice(b"\x1b[201~");
        flood.extend(std::iter::repeat_n(b'b', 1 << 20));
        for chunk in flood.chunks(32 * 1024) {
            // Each send is bounded, and what the server draws meanwhile is read: a client
            // that reads nothing fills its own receive queue, and russh then stops taking
            // the window adjustments its sends wait for (a hang of the test, not the server).
            tokio::time::timeout(Duration::from_secs(10), channel.data_bytes(chunk.to_vec()))
                .await
                .expect("the server takes the client's data")
                .unwrap();
            read_for(&mut channel, Duration::from_millis(2)).await;
        }
        (session, channel)
    });
    server.wait_log("input faster than the session reads it: dropped");
    a_good_session_still_works(&server, "alice");
    drop(held);
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn a_client_that_stops_reading_is_disconnected_and_nobody_else_waits() {
    let server = Server::start(&["--stall-timeout", "2s"]);
    let rt = runtime();
    let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (session, channel) = rt.block_on(async {
        // A small window, so that the server's sending stops soon after the relay's does.
        let relay = stalling_relay(server.port, Arc::clone(&paused)).await;
        let (session, mut channel) = raw_client(relay, 32 * 1024).await;
        channel
            .request_pty(false, "xterm", 250, 100, 0, 0, &[])
            .await
            .unwrap();
        channel.request_shell(false).await.unwrap();
        read_for(&mut channel, Duration::from_millis(500)).await;
        (session, channel)
    });
    paused.store(true, std::sync::atomic::Ordering::SeqCst);
    // Size changes, each a whole new frame that is never read, until the server cuts it.
    let sizes = rt.spawn(async move {
        for n in 0..10_000u32 {
            let sent = tokio::time::timeout(
                Duration::from_millis(500),
                channel.window_change(200 + n % 50, 60 + n % 40, 0, 0),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(session);
    });
    // Meanwhile (and after), the others are served.
    a_good_session_still_works(&server, "alice");
    server.wait_log("the client read nothing for 2 s: disconnected");
    sizes.abort();
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

/// One message a client may send a session.
#[derive(Clone, Debug)]
enum Wire {
    PtyReq(u32, u32),
    WindowChange(u32, u32),
    Data(Vec<u8>),
}

fn wire() -> impl Strategy<Value = Wire> {
    let size = prop_oneof![Just(0u32), Just(u32::MAX), Just(65_535u32), 0u32..400];
    let data = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        // Escape sequences, whole or cut: CSI, SS3, mouse, paste, `CSI ? …` reports.
        proptest::sample::select(vec![
            b"\x1b[".to_vec(),
            b"\x1b[?1;2c".to_vec(),
            b"\x1b[<0;10;5M".to_vec(),
            b"\x1b[200~abc".to_vec(),
            b"\x1b[201~".to_vec(),
            b"\x1bOP".to_vec(),
            b"\x1b[M   ".to_vec(),
            b"\t\r\x0e\x1b".to_vec(),
            b"\x1b[999999999;999999999R".to_vec(),
        ]),
    ];
    prop_oneof![
        (size.clone(), size.clone()).prop_map(|(w, h)| Wire::PtyReq(w, h)),
        (size.clone(), size).prop_map(|(w, h)| Wire::WindowChange(w, h)),
        data.prop_map(Wire::Data),
    ]
}

fn context() -> Context {
    Context {
        data_file: "memory".into(),
        cost: Cost::new(4).unwrap(),
        time_zone: TimeZone::Utc,
        idle_timeout: Some(Duration::from_secs(60)),
        peer: Some("203.0.113.7:50122".into()),
        clock: Instant::now,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// What the server does with each message (a pty request starts a session at its size,
    /// a window change resizes it, data is fed in chunks of at most 1 KiB), then a frame:
    /// never a panic, never a frame larger than the clamp.
    #[test]
    fn random_client_messages_never_panic_a_session(messages in proptest::collection::vec(wire(), 1..40)) {
        let service = Arc::new(Service::new(MemoryStore::new(), Cost::new(4).unwrap()));
        let pool = Pool::new(service, 1, 4);
        let mut driver: Option<BytesDriver<TestBackend>> = None;
        for message in messages {
            match message {
                Wire::PtyReq(w, h) => {
                    let backend = TestBackend::new(MAX_SIZE.0, MAX_SIZE.1);
                    driver = Some(BytesDriver::new(backend, (w, h), context(), Theme { color: true }, &pool).unwrap());
                }
                Wire::WindowChange(w, h) => {
                    if let Some(d) = driver.as_mut() {
                        d.resize(w, h).unwrap();
                    }
                }
                Wire::Data(bytes) => {
                    if let Some(d) = driver.as_mut() {
                        for chunk in bytes.chunks(1024) {
                            d.feed_bytes(chunk);
                        }
                    }
                }
            }
            if let Some(d) = driver.as_mut() {
                d.poll();
                d.tick(Instant::now());
                d.draw().unwrap();
                let area = d.terminal_mut().get_frame().area();
                prop_assert!(area.width <= MAX_SIZE.0 && area.height <= MAX_SIZE.1);
            }
        }
    }
}

#[test]
fn failed_logins_from_one_address_back_off_and_a_right_password_does_not_wait() {
    let server = Server::start(&[]);
    let mut bad = server.connect("x", 80, 24);
    bad.wait_for("Create an account");
    let mut good = server.connect("x", 80, 24);
    good.wait_for("Create an account");
    sign_up(&mut good, "alice", PW);
    log_out(&mut good);
    // Guesses at name after name (none an account, so no lock of a name comes into
    // it): five free failures, then each answer is held 1 s, 2 s …
    bad.type_into("Username", "ghost");
    bad.send(sshpty::ENTER);
    for n in 0..7 {
        if n > 0 {
            // Back to the Username field, and another name.
            bad.send("\x1b[Z");
            bad.type_into("Username", &format!("ghost{}", &"123456789"[..n]));
            bad.send(sshpty::TAB);
        }
        bad.type_password_into("Password", "wrong wrong wrong");
        bad.send(sshpty::ENTER);
        bad.wait_until(&format!("refusal {n}"), |c| {
            c.screen().contains("Invalid username or password") && c.bullets_in("Password") == Some(0)
        });
    }
    server.wait_log("failed logins from 127.0.0.1: answer held 1 s");
    server.wait_log("failed logins from 127.0.0.1: answer held 2 s");
    // The owner, from the same address, logs in at once: only failures are held.
    let started = Instant::now();
    log_in(&mut good, "alice", PW);
    assert!(started.elapsed() < Duration::from_secs(5));
}
