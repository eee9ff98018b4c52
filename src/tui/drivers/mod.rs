//! Drivers: each owns one terminal and feeds a [`super::core::SessionCore`].
//!
//! What a new driver writes: where bytes (or events) and sizes come from, where frames go
//! (a ratatui `Backend`), when to wake (`SessionCore::next_wakeup`), how the pool's
//! results reach it (a `worker::Reply`), and what ends it. [`bytes::BytesDriver`] does
//! all but the first and the last for any source of raw terminal bytes.

pub mod bytes;
pub mod lean;
pub mod local;

use crossterm::event::Event;
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};

use super::app::Msg;

/// A backend whose terminal is at the far end of a byte stream: the driver tells it the
/// size the client reported, for ratatui asks the backend when it clears.
pub trait RemoteBackend: Backend {
    fn set_size(&mut self, width: u16, height: u16);
}

impl RemoteBackend for TestBackend {
    fn set_size(&mut self, width: u16, height: u16) {
        self.resize(width, height);
    }
}

/// Crossterm's backend asks the local terminal (tests compare [`lean::LeanBackend`] to it).
impl<W: std::io::Write> RemoteBackend for CrosstermBackend<W> {
    fn set_size(&mut self, _width: u16, _height: u16) {}
}

/// The message for a terminal event; `None` for those the app ignores (focus).
pub fn event_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        Event::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        Event::FocusGained | Event::FocusLost => None,
    }
}
