//! A session that does not know its terminal: the [`Model`], its [`update`], its
//! [`view`](super::view::view) and its deadlines, with its slow work handed to the shared
//! [`Pool`](super::pool::Pool).
//!
//! A driver owns one terminal: it turns what arrives (crossterm events, raw bytes, sizes)
//! into [`Msg`]s for [`SessionCore::handle`], delivers the pool's results the same way,
//! wakes the session at [`SessionCore::next_wakeup`], and calls [`SessionCore::draw`] on
//! any ratatui [`Backend`]. The local terminal (`drivers::local`) is one driver; the
//! byte-input driver (`drivers::bytes`) is the one a remote session reuses.

use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::Backend;

use super::app::{Cmd, Context, Model, Msg, Outcome, update};
use super::pool::Client;
use super::theme::Theme;
use super::{view, wipe};

pub struct SessionCore {
    model: Model,
    theme: Theme,
    pool: Client,
}

impl SessionCore {
    /// A session on the Log in screen; its requests go to `pool`, whose results the
    /// driver hands back to [`Self::handle`].
    pub fn new(context: Context, theme: Theme, pool: Client) -> SessionCore {
        let now = (context.clock)();
        SessionCore {
            model: Model::new(context, now),
            theme,
            pool,
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The session's clock (the context's).
    pub fn now(&self) -> Instant {
        (self.model.context.clock)()
    }

    /// Handles one message at the clock's time: input, a size, a tick, a result.
    pub fn handle(&mut self, msg: Msg) {
        let now = self.now();
        self.handle_at(msg, now);
    }

    /// Handles one message at `now`.
    pub fn handle_at(&mut self, msg: Msg, now: Instant) {
        self.model.now = now;
        if let Some(cmd) = update(&mut self.model, msg) {
            self.submit(cmd);
        }
    }

    /// Sends slow work to the pool; a full queue is answered at once with
    /// [`Outcome::Busy`] (the banner says to try again).
    fn submit(&mut self, cmd: Cmd) {
        let id = cmd.id();
        if self.pool.submit(cmd).is_err()
            && let Some(id) = id
        {
            let busy = Msg::Done {
                id,
                outcome: Outcome::Busy,
                log_failures: Vec::new(),
            };
            // A refused request's outcome asks for nothing more.
            let _ = update(&mut self.model, busy);
        }
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.handle(Msg::Resize(width, height));
    }

    /// A deadline from [`Self::next_wakeup`] came (or may have): spinner, countdown, idle.
    pub fn tick(&mut self, now: Instant) {
        self.handle_at(Msg::Tick, now);
    }

    /// When the driver must wake the session without input; `None`: not until something
    /// arrives (no CPU at rest).
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.model.next_wakeup()
    }

    /// The session has ended (the user quit, or a signal or hang-up came).
    pub fn quit(&self) -> bool {
        self.model.quit
    }

    /// A request is still running on the pool: at quit, its result is worth waiting for
    /// (a session it opens is then logged out).
    pub fn in_flight(&self) -> bool {
        self.model.busy.is_some()
    }

    /// Does the work put off while input arrives (the strength meter), then zeroes the
    /// stack that input's handling left pieces of a password on.
    pub fn settle(&mut self) {
        self.model.settle();
        wipe::scrub_stack();
    }

    /// Settles and draws one frame.
    pub fn draw<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> Result<(), B::Error> {
        self.model.settle();
        terminal.draw(|frame| view::view(&self.model, frame, &self.theme))?;
        Ok(())
    }
}
