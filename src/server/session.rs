//! One served session: a task that owns a [`BytesDriver`], fed the channel's bytes and
//! sizes by the handler, woken only by input, a pool result, its own next deadline or
//! the server's shutdown (no redraw timer), and drawing into an [`Outbox`] that a writer
//! task sends to the channel.
//!
//! Output is bounded: frames queue in the outbox up to [`OUTBOX_CAP`]; past that the
//! unsent frames are dropped and the next frame is drawn whole, so a slow reader sees the
//! latest screen rather than a backlog. A client that takes no output for
//! `--stall-timeout` (30 s) is disconnected. A panic in the session's work ends this session only.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::cursor::Show;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::queue;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use russh::ChannelId;
use russh::server::Handle;
use tokio::sync::{Notify, mpsc};

use super::Shared;
use crate::auth::Username;
use crate::tui::app::{Context, Msg, Outcome};
use crate::tui::drivers::bytes::BytesDriver;
use crate::tui::drivers::lean::LeanBackend;
use crate::tui::screens::dashboard::TimeZone;
use crate::tui::theme::Theme;

/// The most output queued for one client; past it, stale frames are dropped.
pub const OUTBOX_CAP: usize = 256 * 1024;
/// The most input bytes one message to the session carries; bigger `data` is split.
pub const INPUT_CHUNK: usize = 1024;
/// Input messages waiting for the session; past it, input is dropped (a flood).
pub const INPUT_QUEUE: usize = 4;
/// How long the end of a session waits for a request still running (a login to log out).
pub const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(10);

/// What the handler tells a session.
pub enum Input {
    Data(Vec<u8>),
    Resize(u32, u32),
    /// The client closed the channel (or sent EOF).
    Close,
}

/// Frames waiting for the writer task.
#[derive(Default)]
struct Queue {
    bytes: Vec<u8>,
    closing: bool,
    /// Frames were dropped: the next frame must be drawn whole.
    dropped: bool,
}

#[derive(Default)]
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `bytes`; if that would pass [`OUTBOX_CAP`], what is queued is dropped
    /// instead and false is returned (the caller redraws whole).
    pub fn push(&self, bytes: &[u8]) -> bool {
        let mut q = self.lock();
        let fits = q.bytes.len() + bytes.len() <= OUTBOX_CAP;
        if fits {
            q.bytes.extend_from_slice(bytes);
        } else {
            q.bytes.clear();
            q.bytes.shrink_to(OUTBOX_CAP / 4);
            q.dropped = true;
        }
        drop(q);
        self.ready.notify_one();
        fits
    }

    /// Takes whether frames were dropped since the last call.
    fn take_dropped(&self) -> bool {
        std::mem::take(&mut self.lock().dropped)
    }

    fn close(&self) {
        self.lock().closing = true;
        self.ready.notify_one();
    }

    pub fn queued(&self) -> usize {
        self.lock().bytes.len()
    }
}

/// Where the backend writes a frame; the session moves it to the outbox after each draw.
#[derive(Clone, Default)]
pub struct FrameSink(Arc<Mutex<Vec<u8>>>);

impl FrameSink {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for FrameSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // One frame at 250x100 is well under this; a bound all the same.
        if v.len() + buf.len() > 4 * OUTBOX_CAP {
            return Err(io::Error::other("frame too large"));
        }
        v.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

type Driver = BytesDriver<LeanBackend<FrameSink>>;

/// What a session starts with.
pub struct Start {
    pub handle: Handle,
    pub channel: ChannelId,
    pub peer: SocketAddr,
    /// The SSH user name, pre-filled as the Username when it is one.
    pub user: String,
    pub size: (u32, u32),
    /// A second handle on the connection's socket: shut down, it ends the connection.
    pub kill: Option<TcpStream>,
}

/// The terminal modes the app needs, and their undoing (written around the frames, so
/// the backend's knowledge of the cursor starts unknown and ends with the session).
fn setup_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    let _ = queue!(v, EnterAlternateScreen, EnableBracketedPaste, EnableMouseCapture);
    v
}

fn restore_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    let _ = queue!(
        v,
        DisableMouseCapture,
        DisableBracketedPaste,
        Show,
        LeaveAlternateScreen
    );
    v
}

/// Runs one session to its end. `input` closes when the connection goes.
pub async fn run(shared: Arc<Shared>, start: Start, mut input: mpsc::Receiver<Input>) {
    let Start {
        handle,
        channel,
        peer,
        user,
        size,
        kill,
    } = start;
    let outbox = Arc::new(Outbox::default());
    let writer = tokio::spawn(write_out(
        handle,
        channel,
        Arc::clone(&outbox),
        kill,
        peer,
        shared.stall_timeout,
    ));
    let _live = shared.live_session();

    let (results_tx, mut results) = mpsc::unbounded_channel::<Msg>();
    let Some(client) = shared
        .client(Arc::new(move |msg| {
            let _ = results_tx.send(msg);
        }))
        .map(|client| client.with_peer(peer))
    else {
        outbox.push(b"authtui: the server is shutting down\r\n");
        outbox.close();
        let _ = writer.await;
        return;
    };
    let context = Context {
        data_file: shared.location.clone(),
        cost: shared.cost,
        time_zone: TimeZone::Utc,
        idle_timeout: shared.idle_timeout,
        peer: Some(peer.to_string()),
        clock: Instant::now,
    };
    let sink = FrameSink::default();
    let backend = LeanBackend::new(sink.clone());
    let made = catch_unwind(AssertUnwindSafe(|| {
        BytesDriver::with_client(backend, size, context, Theme { color: true }, client)
    }));
    let mut driver = match made {
        Ok(Ok(driver)) => driver,
        _ => {
            outbox.push(b"authtui: cannot start a session\r\n");
            outbox.close();
            let _ = writer.await;
            return;
        }
    };
    outbox.push(&setup_bytes());
    if Username::parse(&user).is_ok() {
        // The Username field has the focus on the Log in screen.
        let name = user.clone();
        let _ = guarded(peer, || driver.feed_bytes(name.as_bytes()));
    }
    let mut shutdown = shared.shutdown.subscribe();
    let mut held: Option<(Instant, Msg)> = None;
    let mut ok = frame(&mut driver, &sink, &outbox, peer);
    let mut goodbye: &[u8] = b"";
    while ok && !driver.quit() {
        let wake = match (&held, driver.next_wakeup()) {
            (Some((at, _)), Some(w)) => Some((*at).min(w)),
            (Some((at, _)), None) => Some(*at),
            (None, w) => w,
        };
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = input.recv() => match event {
                Some(Input::Data(bytes)) => ok = guarded(peer, || driver.feed_bytes(&bytes)),
                Some(Input::Resize(w, h)) => ok = guarded(peer, || { let _ = driver.resize(w, h); }),
                Some(Input::Close) | None => {
                    ok = guarded(peer, || driver.hang_up());
                    break;
                }
            },
            Some(msg) = results.recv() => {
                match hold(&shared, peer, msg) {
                    (Some(at), msg) => held = Some((at, msg)),
                    (None, msg) => ok = guarded(peer, || driver.deliver(msg)),
                }
            }
            () = sleep => {
                let now = Instant::now();
                if let Some((at, msg)) = held.take() {
                    if at <= now {
                        ok = guarded(peer, || driver.deliver(msg));
                    } else {
                        held = Some((at, msg));
                    }
                }
                if ok {
                    ok = guarded(peer, || driver.tick(now));
                }
            }
            _ = shutdown.changed() => {
                ok = guarded(peer, || driver.hang_up());
                goodbye = b"authtui: the server is shutting down. Goodbye.\r\n";
                break;
            }
        }
        if ok {
            ok = frame(&mut driver, &sink, &outbox, peer);
        }
    }
    // A request still running may open a session: wait for it, so it is logged out.
    if driver.in_flight() {
        let deadline = tokio::time::Instant::now() + IN_FLIGHT_LIMIT;
        if let Some((_, msg)) = held.take() {
            let _ = guarded(peer, || driver.deliver(msg));
        }
        while driver.in_flight() {
            match tokio::time::timeout_at(deadline, results.recv()).await {
                Ok(Some(msg)) => {
                    if !guarded(peer, || {
                        driver.deliver(msg);
                        driver.hang_up();
                    }) {
                        break;
                    }
                }
                _ => break,
            }
        }
    }
    if !ok {
        goodbye = b"authtui: this session hit an internal error and was closed.\r\n";
    }
    let mut last = restore_bytes();
    last.extend_from_slice(goodbye);
    outbox.push(&last);
    outbox.close();
    drop(driver);
    drop(input);
    let _ = writer.await;
}

/// A failed login's answer is held back when its address has failed too often.
fn hold(shared: &Shared, peer: SocketAddr, msg: Msg) -> (Option<Instant>, Msg) {
    if let Msg::Done {
        outcome: Outcome::LoggedIn(Err(_)),
        ..
    } = &msg
    {
        let now = Instant::now();
        let delay = shared.failed_login(peer.ip(), now);
        if !delay.is_zero() {
            eprintln!(
                "authtui serve: {peer}: failed logins from {}: answer held {} s",
                peer.ip(),
                delay.as_secs()
            );
            return (Some(now + delay), msg);
        }
    }
    (None, msg)
}

/// Runs session work, catching a panic: false if it panicked (the session then ends).
fn guarded(peer: SocketAddr, work: impl FnOnce()) -> bool {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(()) => true,
        Err(_) => {
            eprintln!("authtui serve: {peer}: the session panicked; it was closed (others go on)");
            false
        }
    }
}

/// Draws a frame into the outbox (whole, if frames were dropped); false on a panic.
fn frame(driver: &mut Driver, sink: &FrameSink, outbox: &Outbox, peer: SocketAddr) -> bool {
    guarded(peer, || {
        if outbox.take_dropped() {
            redraw_whole(driver, peer);
        }
        if driver.draw().is_err() {
            redraw_whole(driver, peer);
            sink.take();
            return;
        }
        let bytes = sink.take();
        if !bytes.is_empty() && !outbox.push(&bytes) {
            // Dropped with the stale frames: the next one is drawn whole, now.
            outbox.take_dropped();
            redraw_whole(driver, peer);
            if driver.draw().is_ok() {
                outbox.push(&sink.take());
            }
        }
    })
}

/// The client missed frames: what the backend knows of its terminal is forgotten, and
/// the next frame is drawn whole.
fn redraw_whole(driver: &mut Driver, peer: SocketAddr) {
    let terminal = driver.terminal_mut();
    terminal.backend_mut().forget();
    if let Err(e) = terminal.clear() {
        eprintln!("authtui serve: {peer}: cannot redraw the screen whole: {e}");
    }
}

/// Sends the outbox to the channel; a client that takes nothing for `--stall-timeout` (30 s)
/// is cut off. At the close: exit status 0, EOF, close.
async fn write_out(
    handle: Handle,
    channel: ChannelId,
    outbox: Arc<Outbox>,
    kill: Option<TcpStream>,
    peer: SocketAddr,
    stall: Duration,
) {
    loop {
        let (bytes, closing) = {
            let mut q = outbox.lock();
            (std::mem::take(&mut q.bytes), q.closing)
        };
        if !bytes.is_empty() {
            if std::env::var_os("AUTHTUI_DEBUG_WRITER").is_some() {
                eprintln!("DEBUG write {}", bytes.len());
            }
            match tokio::time::timeout(stall, handle.data(channel, bytes)).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return,
                Err(_) => {
                    eprintln!(
                        "authtui serve: {peer}: the client read nothing for {} s: disconnected",
                        stall.as_secs()
                    );
                    if let Some(socket) = &kill {
                        let _ = socket.shutdown(Shutdown::Both);
                    }
                    return;
                }
            }
        }
        if closing {
            let close = async {
                let _ = handle.exit_status_request(channel, 0).await;
                let _ = handle.eof(channel).await;
                let _ = handle.close(channel).await;
            };
            if tokio::time::timeout(stall, close).await.is_err()
                && let Some(socket) = &kill
            {
                let _ = socket.shutdown(Shutdown::Both);
            }
            return;
        }
        outbox.ready.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_drops_stale_frames_past_its_cap_and_says_so() {
        let outbox = Outbox::default();
        assert!(outbox.push(&[b'a'; 1000]));
        assert!(!outbox.take_dropped());
        let big = vec![b'b'; OUTBOX_CAP];
        assert!(!outbox.push(&big), "past the cap");
        assert_eq!(outbox.queued(), 0, "the stale frames are gone");
        assert!(outbox.take_dropped(), "the next frame is drawn whole");
        assert!(!outbox.take_dropped());
        assert!(outbox.push(&big[..OUTBOX_CAP / 2]));
        assert!(outbox.queued() <= OUTBOX_CAP);
    }

    #[test]
    fn a_panic_in_session_work_is_caught() {
        let peer: SocketAddr = "203.0.113.7:50122".parse().unwrap();
        assert!(guarded(peer, || {}));
        assert!(!guarded(peer, || panic!("a bug in one session")));
    }

    #[test]
    fn the_frame_sink_is_bounded() {
        let mut sink = FrameSink::default();
        assert!(sink.write_all(&vec![0; OUTBOX_CAP]).is_ok());
        assert!(sink.write_all(&vec![0; 4 * OUTBOX_CAP]).is_err());
        assert_eq!(sink.take().len(), OUTBOX_CAP);
    }
}
