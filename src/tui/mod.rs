//! The full-screen app: a screen-state machine on ratatui and crossterm.
//!
//! Data flows one way: a key press becomes a [`app::Msg`], [`app::update`] changes the
//! [`app::Model`] and may ask for slow work (a [`app::Cmd`]) that the worker thread does
//! and returns as another message; [`view::view`] draws the model. The loop blocks on one
//! channel, so an idle app uses no CPU.

pub mod app;
pub mod field;
pub mod form;
pub mod input;
pub mod screens;
pub mod theme;
pub mod view;
pub mod wipe;
pub mod worker;

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
};
use crossterm::execute;
use ratatui::DefaultTerminal;

use crate::auth::Service;
use app::{Context, Model, Msg, update};
use screens::dashboard::TimeZone;
use theme::Theme;
use worker::Worker;

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
            let _ = input::read_events(|event| {
                let msg = match event {
                    Event::Key(key) => Msg::Key(key),
                    Event::Paste(text) => Msg::Paste(text),
                    Event::Resize(w, h) => Msg::Resize(w, h),
                    Event::Mouse(mouse) => Msg::Mouse(mouse),
                    _ => return true,
                };
                tx.send(msg).is_ok()
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
    let theme = Theme::from_env();
    let (tx, rx) = mpsc::channel();
    spawn_input(tx.clone());
    spawn_signals(tx.clone())?;
    let worker = Worker::spawn(service, tx);
    let mut model = Model::new(context, Instant::now());
    let size = terminal.size()?;
    model.size = (size.width, size.height);
    loop {
        model.settle();
        terminal.draw(|frame| view::view(&model, frame, &theme))?;
        // Block until something happens, or until the model's next deadline (a spinner
        // frame, a countdown second, the idle time-out): at rest, no wake-ups at all.
        let msg = match model.next_wakeup() {
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
            model.now = Instant::now();
            if let Some(cmd) = update(&mut model, msg) {
                worker.send(cmd);
            }
            if model.quit {
                break;
            }
            next = rx.try_recv().ok();
        }
        if model.quit {
            break;
        }
        // Keys and pastes went through the fields, the meter through zxcvbn: zero the
        // stack their calls left pieces of a password on.
        model.settle();
        wipe::scrub_stack();
    }
    // Past the limit the hash is abandoned with the process (before it could record a
    // login): then nothing is waited for, lest the login complete unseen meanwhile.
    let settled = settle_in_flight(&mut model, &rx, &worker, IN_FLIGHT_LIMIT);
    worker.finish(if settled {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    });
    Ok(())
}

/// How long quitting waits for a request still running (bcrypt at cost 12 takes a
/// quarter of a second; at 16, four).
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(10);

/// At quit, a request may still be running (a signal came while bcrypt hashed a login):
/// waits at most `limit` for its result, so that a session it produced is logged out
/// rather than left open. Returns false if it is still running.
fn settle_in_flight(model: &mut Model, rx: &Receiver<Msg>, worker: &Worker, limit: Duration) -> bool {
    if model.busy.is_none() {
        return true;
    }
    let deadline = Instant::now() + limit;
    while let Ok(msg) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Msg::Done { .. } = msg {
            model.now = Instant::now();
            if let Some(cmd) = update(model, msg) {
                worker.send(cmd);
            }
            return true;
        }
    }
    false
}
