//! authtui: local accounts in a terminal.
//!
//! The crate is layered; each module uses only the ones listed after it:
//!
//! - [`tui`]: the full-screen app (Log in, Sign up, Dashboard).
//! - [`cli`]: the admin commands (`authtui user add …`, `authtui verify …`).
//! - [`auth`]: the rules: username and password policy, bcrypt hashing, throttling and
//!   the [`auth::Session`] that only a successful login or signup hands out.
//! - [`store`]: `users.json`: its format, the lock, atomic saves, permissions.
//!
//! Embedding the auth module in another program takes three lines:
//!
//! ```no_run
//! use authtui::auth::{Cost, Password, Service};
//! use authtui::store::JsonFile;
//!
//! let service = Service::new(JsonFile::new("users.json"), Cost::DEFAULT);
//! let session = service.login("alice", &Password::from("correct horse battery staple"));
//! ```

pub mod auth;
pub mod cli;
pub mod printable;
pub mod server;
pub mod setup;
pub mod store;
pub mod tui;
