//! The full-screen app: a screen-state machine on ratatui, with drivers for where its
//! bytes come from and go.
//!
//! Data flows one way: input becomes a [`app::Msg`], [`app::update`] changes the
//! [`app::Model`] and may ask for slow work (a [`app::Cmd`]) that the shared [`pool`] does
//! and returns as another message by request id; [`view::view`] draws the model. A
//! [`core::SessionCore`] is one session of all that, knowing no terminal; a driver
//! ([`drivers::local`] for this process's terminal, [`drivers::bytes`] for raw bytes on
//! any ratatui backend) feeds it and draws it.
//!
//! `update` only routes: each screen in [`screens`] owns its form, its key table (its
//! footer and help), its submit and its results, behind [`screens::Page`]. What the app
//! shows of times, waits and names is worded in [`present`].

pub mod app;
pub mod core;
pub mod drivers;
pub mod field;
pub mod form;
pub mod input;
pub mod pool;
pub mod present;
pub mod screens;
#[doc(hidden)]
pub mod testing;
pub mod theme;
pub mod view;
pub mod wipe;
pub mod worker;

pub use drivers::local::{exit_signal, run};
