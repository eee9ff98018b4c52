//! The local terminal's driver: today's full-screen app on the process's own terminal.
//!
//! Input is read by the app's own reader (`input`), signals by a thread of their own,
//! and the pool's results arrive on the same channel, so the loop blocks on one channel
//! and an idle app uses no CPU.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use ratatui::DefaultTerminal;

use crate::auth::Service;
use crate::tui::app::{Context, Msg};
use crate::tui::core::SessionCore;
use crate::tui::input;
use crate::tui::pool::{Pool, reply_to};
use crate::tui::present::TimeZone;
use crate::tui::theme::Theme;

/// Runs the app until the user quits. The terminal is restored on every way out: quit,
/// Ctrl+C, SIGTERM, SIGHUP, an error, or a panic.
pub fn run(service: Service, idle_timeout: Option<Duration>) -> io::Result<()> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(io::Error::other(
            "the app needs a terminal; for scripts, use the subcommands (authtui --help)",
        ));
    }
    let context = Context {
        data_file: service.location(),
        cost: service.cost(),
        time_zone: TimeZone::Local,
        idle_timeout,
        peer: None,
        clock: Instant::now,
    };
    let mut terminal = ratatui::try_init()?;
    install_panic_hook();
    let result = execute!(io::stdout(), EnableBracketedPaste, EnableMouseCapture)
        .and_then(|()| event_loop(&mut terminal, Arc::new(service), context));
    restore();
    result
}

/// The signal that ended the last `run`, if one did (0: none).
static EXIT_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signal (SIGTERM, SIGHUP, SIGINT) that made the app quit, if one did: the process
/// should then exit with 128 + its number.
pub fn exit_signal() -> Option<i32> {
    Some(EXIT_SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// Undoes everything `run` enabled.
fn restore() {
    let _ = execute!(io::stdout(), DisableMouseCapture, DisableBracketedPaste);
    ratatui::restore();
    let _ = io::stdout().flush();
}

fn install_panic_hook() {
    // ratatui::init's hook restores raw mode and the main screen; ours also undoes bracketed
    // paste and mouse capture. Only for the main thread: a worker's panic is caught and
    // shown on screen.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if thread::current().name() == Some("main") {
            let _ = execute!(io::stdout(), DisableMouseCapture, DisableBracketedPaste);
            ratatui::restore();
        }
        previous(info);
    }));
}

/// Reads the terminal with the app's own reader (`input`), which wipes what it has read:
/// crossterm's `event::read` would keep the last bytes read, a password among them.
fn spawn_input(tx: Sender<Msg>) {
    thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            let _ = input::read_events(|event| match super::event_msg(event) {
                Some(msg) => tx.send(msg).is_ok(),
                None => true,
            });
        })
        .expect("spawn the input thread");
}

fn spawn_signals(tx: Sender<Msg>) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGWINCH])?;
    thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            // The input reader is the app's own, so a resize comes here (crossterm's
            // reader used to turn SIGWINCH into a resize event).
            let msg = match signal {
                SIGWINCH => match crossterm::terminal::size() {
                    Ok((w, h)) => Msg::Resize(w, h),
                    Err(_) => continue,
                },
                other => {
                    EXIT_SIGNAL.store(other, Ordering::SeqCst);
                    Msg::Signal
                }
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    })?;
    Ok(())
}

fn event_loop(terminal: &mut DefaultTerminal, service: Arc<Service>, context: Context) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    spawn_input(tx.clone());
    spawn_signals(tx.clone())?;
    let pool = Pool::with_defaults(service);
    let mut core = SessionCore::new(context, Theme::from_env(), pool.client(reply_to(tx)));
    let size = terminal.size()?;
    core.resize(size.width, size.height);
    loop {
        core.draw(terminal)?;
        // Block until something happens, or until the session's next deadline (a spinner
        // frame, a countdown second, the idle time-out): at rest, no wake-ups at all.
        let msg = match core.next_wakeup() {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => Msg::Tick,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(msg) => msg,
                Err(_) => break,
            },
        };
        // Handle everything already waiting (a burst of keys) before settling and drawing.
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            core.handle(msg);
            if core.quit() {
                break;
            }
            next = rx.try_recv().ok();
        }
        if core.quit() {
            break;
        }
        // Keys and pastes went through the fields, the meter through zxcvbn: zero the
        // stack their calls left pieces of a password on.
        core.settle();
    }
    // Past the limit the hash is abandoned with the process (before it could record a
    // login): then nothing is waited for, lest the login complete unseen meanwhile.
    let settled = settle_in_flight(&mut core, &rx, IN_FLIGHT_LIMIT);
    pool.finish(if settled {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    });
    Ok(())
}

/// How long quitting waits for a request still running (bcrypt at cost 12 takes a
/// quarter of a second; at 16, four).
pub const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(10);

/// At quit, a request may still be running (a signal came while bcrypt hashed a login):
/// waits at most `limit` for its result, so that a session it produced is logged out
/// rather than left open. Returns false if it is still running.
pub fn settle_in_flight(core: &mut SessionCore, rx: &Receiver<Msg>, limit: Duration) -> bool {
    if !core.in_flight() {
        return true;
    }
    let deadline = Instant::now() + limit;
    while let Ok(msg) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Msg::Done { .. } = msg {
            core.handle(msg);
            return true;
        }
    }
    false
}
