//! Where accounts live. The store knows the shape of `users.json`, how to read and
//! replace it safely, and nothing about bcrypt or the password policy.

mod events;
mod format;
mod json_file;
mod memory;
mod safe_open;
mod timestamp;
mod users;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use events::{Event, EventFile, EventKind, EventLog, MemoryLog};
pub use json_file::{JsonFile, LockNotice, default_path};
pub use memory::MemoryStore;
pub use users::{UserMap, Users};

/// The version of the `users.json` format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// One account as stored. Field names are the file's names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    /// A bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    pub password_hash: String,
    /// When the account was created; absent for accounts from the legacy format.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    pub created_at: Option<DateTime<Utc>>,
    /// The most recent successful login.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    pub last_login_at: Option<DateTime<Utc>>,
    /// The successful login before `last_login_at`, so a login can say "previous login".
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    pub previous_login_at: Option<DateTime<Utc>>,
    /// Successful logins, ever.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub login_count: u64,
    /// Consecutive failed attempts since the last success.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub failed_attempts: u32,
    /// Logins are refused until this time.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    pub locked_until: Option<DateTime<Utc>>,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl UserRecord {
    /// A new account with only its hash and creation time.
    pub fn new(password_hash: String, created_at: DateTime<Utc>) -> Self {
        UserRecord {
            password_hash,
            created_at: Some(created_at),
            ..UserRecord::default()
        }
    }
}

/// Whether an [`UserStore::update`] closure changed anything (and so needs a save).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Save,
    Keep,
}

/// What can go wrong reading or writing the store. Each message names the file and says
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} {}: {source}", crate::printable::path(path))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{}:{line}:{column}: not a valid users file ({}); it was left untouched: fix or restore it",
        crate::printable::path(path),
        crate::printable::printable(reason, 200)
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error(
        "{} has format version {found}, but this authtui reads only version {FORMAT_VERSION}: use a newer authtui",
        crate::printable::path(path)
    )]
    UnsupportedVersion { path: PathBuf, found: u64 },
    #[error(
        "{} is a symbolic link; authtui never follows a link for its files: replace it with the real file (or point --data-file at the real users.json)",
        crate::printable::path(path)
    )]
    Symlink { path: PathBuf },
    #[error(
        "{} is {kind}, not a regular file; authtui reads and writes only regular files: move it away (or point --data-file elsewhere)",
        crate::printable::path(path)
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "cannot keep {} owned by uid {uid} gid {gid} ({source}); nothing was changed: run authtui as that user (or as root)",
        crate::printable::path(path)
    )]
    Owner {
        path: PathBuf,
        uid: u32,
        gid: u32,
        #[source]
        source: io::Error,
    },
    #[error(
        "the lock on {} is held by another process and was not released within {} s; nothing was changed: try again when it is done, or wait longer with --lock-timeout (env AUTHTUI_LOCK_TIMEOUT)",
        crate::printable::path(path), waited.as_secs()
    )]
    LockTimeout { path: PathBuf, waited: Duration },
}

/// Storage for accounts, as the auth layer sees it. Small on purpose, so that another
/// backend can come later without touching `auth` or the TUI.
pub trait UserStore: Send + Sync {
    /// One account, read from a consistent snapshot (no lock needed).
    fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Every account, read from a consistent snapshot.
    fn all(&self) -> Result<UserMap, StoreError>;

    /// The first of `names` that is an account, with its record, from one consistent
    /// snapshot: looking up a second spelling must cost no second read, or the time it
    /// takes would tell whether the first one exists.
    fn find(&self, names: &[&str]) -> Result<Option<(String, UserRecord)>, StoreError> {
        for name in names {
            if let Some(record) = self.get(name)? {
                return Ok(Some(((*name).to_owned(), record)));
            }
        }
        Ok(None)
    }

    /// Read-modify-write under an exclusive lock: `change` sees the current accounts (never
    /// a stale copy) and says whether to save them.
    fn update(&self, change: &mut dyn FnMut(&mut Users) -> Change) -> Result<(), StoreError>;

    /// Where the accounts are kept, for people to read (a path, or "memory").
    fn location(&self) -> String;

    /// Saves the accounts unchanged: the same work as a save that changes one, so that a
    /// caller can make two paths cost the same (a failed login for an unknown name and
    /// for a known one). An empty store is left alone (and unwritten).
    fn rewrite(&self) -> Result<(), StoreError> {
        self.update(&mut unchanged_unless_empty)
    }
}

/// The change of a rewrite: save the accounts as they are, unless there are none.
pub(crate) fn unchanged_unless_empty(users: &mut Users) -> Change {
    if users.is_empty() {
        Change::Keep
    } else {
        Change::Save
    }
}

/// A shared store is a store: a program can keep a handle on what its `Service` uses.
impl<T: UserStore + ?Sized> UserStore for std::sync::Arc<T> {
    fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        (**self).get(username)
    }

    fn all(&self) -> Result<UserMap, StoreError> {
        (**self).all()
    }

    fn find(&self, names: &[&str]) -> Result<Option<(String, UserRecord)>, StoreError> {
        (**self).find(names)
    }

    fn update(&self, change: &mut dyn FnMut(&mut Users) -> Change) -> Result<(), StoreError> {
        (**self).update(change)
    }

    fn location(&self) -> String {
        (**self).location()
    }

    fn rewrite(&self) -> Result<(), StoreError> {
        (**self).rewrite()
    }
}
