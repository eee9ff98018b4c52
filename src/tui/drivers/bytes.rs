//! The byte-input driver: one session fed raw terminal bytes (what an SSH channel's
//! `data` carries) and sizes (a pty request, a window change), drawn to any ratatui
//! [`Backend`]. It knows no crossterm terminal and no network: the server owns those.
//!
//! Bounded throughout: the parser holds at most [`input::MAX_PENDING`] bytes (an
//! over-long paste is dropped), sizes are clamped to [`MAX_SIZE`] (two screen buffers of
//! 40-byte cells each), and the pool refuses work past its queue's capacity.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use ratatui::backend::Backend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::{RemoteBackend, event_msg};
use crate::tui::app::{Context, Model, Msg};
use crate::tui::core::SessionCore;
use crate::tui::input::Parser;
use crate::tui::pool::{Client, Pool};
use crate::tui::theme::Theme;
use crate::tui::wipe;

/// The largest size a session draws at: 250x100 is two buffers of about 1 MiB each.
pub const MAX_SIZE: (u16, u16) = (250, 100);

/// A size within 1x1 and [`MAX_SIZE`] (a remote pty's size arrives as `u32`).
pub fn clamp_size(width: u32, height: u32) -> (u16, u16) {
    let clamp = |v: u32, max: u16| v.clamp(1, u32::from(max)) as u16;
    (clamp(width, MAX_SIZE.0), clamp(height, MAX_SIZE.1))
}

pub struct BytesDriver<B: Backend> {
    core: SessionCore,
    terminal: Terminal<B>,
    parser: Parser,
    results: Option<Receiver<Msg>>,
}

impl<B: RemoteBackend> BytesDriver<B> {
    /// A session of `pool` at `width` x `height` (clamped), drawing to `backend`; the
    /// pool's results come back on a channel of its own, read by [`Self::poll`].
    pub fn new(
        backend: B,
        size: (u32, u32),
        context: Context,
        theme: Theme,
        pool: &Pool,
    ) -> Result<Self, B::Error> {
        let (client, results) = pool.channel();
        let mut driver = BytesDriver::with_client(backend, size, context, theme, client)?;
        driver.results = Some(results);
        Ok(driver)
    }

    /// As [`Self::new`], with results delivered wherever `client`'s reply sink sends
    /// them: the server hands each to [`Self::deliver`].
    pub fn with_client(
        backend: B,
        (width, height): (u32, u32),
        context: Context,
        theme: Theme,
        client: Client,
    ) -> Result<Self, B::Error> {
        let (w, h) = clamp_size(width, height);
        let mut backend = backend;
        backend.set_size(w, h);
        let viewport = Viewport::Fixed(Rect::new(0, 0, w, h));
        let terminal = Terminal::with_options(backend, TerminalOptions { viewport })?;
        let mut core = SessionCore::new(context, theme, client);
        core.resize(w, h);
        Ok(BytesDriver {
            core,
            terminal,
            parser: Parser::new(),
            results: None,
        })
    }

    /// Parses raw terminal bytes and handles every event in them. Unknown and malformed
    /// sequences are dropped; what follows them still arrives.
    pub fn feed_bytes(&mut self, bytes: &[u8]) {
        let core = &mut self.core;
        self.parser.advance(bytes, false, |event| {
            if let Some(msg) = event_msg(event) {
                core.handle(msg);
            }
        });
        self.core.settle();
    }

    /// The terminal's new size (clamped); the next frame is drawn whole at it.
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), B::Error> {
        let (w, h) = clamp_size(width, height);
        self.terminal.backend_mut().set_size(w, h);
        self.terminal.resize(Rect::new(0, 0, w, h))?;
        self.core.resize(w, h);
        Ok(())
    }

    /// Hands the session one result of the pool (for drivers that route them).
    pub fn deliver(&mut self, msg: Msg) {
        self.core.handle(msg);
    }

    /// Handles the results that have arrived on the driver's own channel; returns how
    /// many.
    pub fn poll(&mut self) -> usize {
        let mut n = 0;
        while let Some(msg) = self.results.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.core.handle(msg);
            n += 1;
        }
        n
    }

    /// Waits at most `timeout` for a result on the driver's own channel and handles it.
    pub fn wait_result(&mut self, timeout: Duration) -> bool {
        let Some(rx) = &self.results else {
            return false;
        };
        match rx.recv_timeout(timeout) {
            Ok(msg) => {
                self.core.handle(msg);
                true
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        }
    }

    /// Wakes the session at `now` if a deadline of [`Self::next_wakeup`] has come.
    pub fn tick(&mut self, now: Instant) {
        if self.core.next_wakeup().is_some_and(|at| at <= now) {
            self.core.tick(now);
        }
    }

    pub fn next_wakeup(&self) -> Option<Instant> {
        self.core.next_wakeup()
    }

    /// Draws a frame (only the cells that changed reach the backend).
    pub fn draw(&mut self) -> Result<(), B::Error> {
        self.core.draw(&mut self.terminal)?;
        wipe::scrub_stack();
        Ok(())
    }

    /// The user quit: the server closes the channel.
    pub fn quit(&self) -> bool {
        self.core.quit()
    }

    /// The connection is gone: a signed-in session is logged out (as a signal does
    /// locally), and a result still to come is logged out when it arrives.
    pub fn hang_up(&mut self) {
        self.core.handle(Msg::Signal);
    }

    pub fn in_flight(&self) -> bool {
        self.core.in_flight()
    }

    pub fn model(&self) -> &Model {
        self.core.model()
    }

    pub fn terminal(&self) -> &Terminal<B> {
        &self.terminal
    }

    pub fn terminal_mut(&mut self) -> &mut Terminal<B> {
        &mut self.terminal
    }
}
