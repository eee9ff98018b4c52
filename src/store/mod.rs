//! Where accounts live. The store knows the shape of `users.json`, how to read and
//! replace it safely, and nothing about bcrypt or the password policy.

mod events;
mod format;
mod journal;
mod json_file;
mod lock;
mod memory;
pub mod migrate;
mod postgres;
mod prechecked;
mod safe_open;
mod sqlite;
mod timestamp;
mod url;
mod users;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use self::postgres::{PostgresLog, PostgresStore, upgrade as postgres_upgrade};
pub use events::{Event, EventFile, EventKind, EventLog, MemoryLog};
pub use json_file::{JsonFile, LockNotice, default_path};
pub use lock::{Bucket, Claim, LockSchedule, LockState, reset};
pub use memory::MemoryStore;
pub use sqlite::{SqliteStore, network_fs_warning};
pub use url::{StoreUrl, redact_password};
pub use users::{UserMap, Users};

/// The version of the `users.json` format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// The version of the database schema (SQLite and PostgreSQL) this build creates, reads
/// and writes. Version 1 (before client addresses) is upgraded only when told
/// (`authtui upgrade-store`), never silently; a newer one is refused.
pub const SCHEMA_VERSION: i64 = 2;

/// Addresses an account remembers as its owner's (docs/security.md rule 36).
pub const KNOWN_ADDRESSES: usize = 8;

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
    /// Where the most recent successful login came from (`203.0.113.7:50122`); absent for
    /// a login at the local terminal or by a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_from: Option<String>,
    /// The IP addresses of the owner's successful logins, newest first (at most
    /// [`KNOWN_ADDRESSES`]): attempts from them are throttled on their own, so that the
    /// failures of others do not lock the owner out (docs/security.md rule 36).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_addresses: Vec<String>,
    /// Consecutive failed attempts from known addresses since the last success.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub known_failed_attempts: u32,
    /// Logins from known addresses are refused until this time.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    pub known_locked_until: Option<DateTime<Utc>>,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl UserRecord {
    /// Whether `ip` is one of the owner's known addresses.
    pub fn knows(&self, ip: std::net::IpAddr) -> bool {
        self.known_addresses
            .iter()
            .any(|a| a.parse::<std::net::IpAddr>() == Ok(ip))
    }

    /// Remembers `ip` as the owner's, newest first, keeping at most [`KNOWN_ADDRESSES`].
    pub fn remember(&mut self, ip: std::net::IpAddr) {
        self.known_addresses
            .retain(|a| a.parse::<std::net::IpAddr>() != Ok(ip));
        self.known_addresses.insert(0, ip.to_string());
        self.known_addresses.truncate(KNOWN_ADDRESSES);
    }

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
    #[error("{store}: this build of authtui cannot open this kind of store")]
    Unsupported { store: String },
    /// A database that cannot be reached or refused a statement. `store` is shown without
    /// its password; `reason` is one line.
    #[error("{store}: {}", crate::printable::printable(reason, 400))]
    Database { store: String, reason: String },
    #[error(
        "{store} has schema version {found}, but this authtui reads only version {known}: use a newer authtui (nothing was changed)"
    )]
    NewerSchema { store: String, found: i64, known: i64 },
    #[error(
        "{store} has schema version {found}, older than this authtui's {known}: back it up, then run `authtui upgrade-store` (nothing was changed)"
    )]
    OlderSchema { store: String, found: i64, known: i64 },
    #[error("{store} is not an authtui database (it holds other tables): point --store at another one")]
    NotOurs { store: String },
}

/// Storage for accounts, as the auth layer sees it: one account at a time, each change
/// atomic, so that a database can implement it with a transaction (or one statement) per
/// change and never needs to load every account to change one.
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

    /// Read-modify-write of one account, atomically: `change` sees the account as it is
    /// now (`None`: there is none), may change, create (`Some`) or delete (`None`) it, and
    /// says whether to save. It may be called more than once (a database retries a
    /// transaction that lost a race), so it must not consume what it is given.
    fn update_user(
        &self,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<(), StoreError>;

    /// Adds the accounts whose names are free, all in one change; returns, for each,
    /// whether it was added (false: the name was taken).
    fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
        let mut added = Vec::with_capacity(accounts.len());
        for (name, record) in accounts {
            let mut new = false;
            self.update_user(name, &mut |current| {
                new = current.is_none();
                if new {
                    *current = Some(record.clone());
                    Change::Save
                } else {
                    Change::Keep
                }
            })?;
            added.push(new);
        }
        Ok(added)
    }

    /// Claims one login attempt of `bucket` on `username` (docs/security.md rules 24 and
    /// 36): refused if that bucket is locked, else counted as a failure at once, in one
    /// atomic change.
    fn claim_attempt(
        &self,
        username: &str,
        now: DateTime<Utc>,
        schedule: &LockSchedule,
        bucket: Bucket,
    ) -> Result<Claim, StoreError> {
        let mut claim = Claim::Missing;
        self.update_user(username, &mut |record| {
            let (outcome, changed) = schedule.claim(record.as_mut(), bucket, now);
            claim = outcome;
            if changed { Change::Save } else { Change::Keep }
        })?;
        Ok(claim)
    }

    /// A write that changes nothing but costs what a claim costs, so that a failed login
    /// for an unknown name takes as long as one for a known name. An empty store is left
    /// alone (and unwritten): it has no names to tell about.
    fn rewrite(&self) -> Result<(), StoreError>;

    /// Where the accounts are kept, for people to read (a path, or "memory").
    fn location(&self) -> String;
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

    fn update_user(
        &self,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<(), StoreError> {
        (**self).update_user(username, change)
    }

    fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
        (**self).insert_new(accounts)
    }

    fn claim_attempt(
        &self,
        username: &str,
        now: DateTime<Utc>,
        schedule: &LockSchedule,
        bucket: Bucket,
    ) -> Result<Claim, StoreError> {
        (**self).claim_attempt(username, now, schedule, bucket)
    }

    fn rewrite(&self) -> Result<(), StoreError> {
        (**self).rewrite()
    }

    fn location(&self) -> String {
        (**self).location()
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

/// One account's change applied to a whole set of accounts (for stores that keep them all
/// together: the file, memory).
pub(crate) fn change_one(
    users: &mut Users,
    username: &str,
    change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
) -> Change {
    let mut record = users.get(username);
    let existed = record.is_some();
    let outcome = change(&mut record);
    if outcome == Change::Save {
        match record {
            Some(record) => {
                users.insert(username.to_owned(), record);
            }
            None if existed => {
                users.remove(username);
            }
            None => return Change::Keep,
        }
    }
    outcome
}

/// `UserStore::insert_new` for a store that changes its accounts as a set through `update`.
pub(crate) fn insert_new_by(
    update: impl FnOnce(&mut dyn FnMut(&mut Users) -> Change) -> Result<(), StoreError>,
    accounts: &[(String, UserRecord)],
) -> Result<Vec<bool>, StoreError> {
    let mut added = Vec::new();
    update(&mut |users| {
        let (which, change) = insert_free(users, accounts);
        added = which;
        change
    })?;
    Ok(added)
}

/// Adds the free names of `accounts` to `users`; returns which were added.
fn insert_free(users: &mut Users, accounts: &[(String, UserRecord)]) -> (Vec<bool>, Change) {
    let added: Vec<bool> = accounts
        .iter()
        .map(|(name, record)| {
            let free = !users.contains_key(name);
            if free {
                users.insert(name.clone(), record.clone());
            }
            free
        })
        .collect();
    let change = if added.contains(&true) {
        Change::Save
    } else {
        Change::Keep
    };
    (added, change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_one_saves_a_deletion_only_of_an_account_that_was_there() {
        let mut users: Users = [("alice".to_owned(), UserRecord::default())]
            .into_iter()
            .collect();
        let mut delete = |r: &mut Option<UserRecord>| {
            *r = None;
            Change::Save
        };
        assert_eq!(change_one(&mut users, "ghost", &mut delete), Change::Keep);
        assert_eq!(change_one(&mut users, "alice", &mut delete), Change::Save);
        assert!(users.is_empty());
    }

    #[test]
    fn a_shared_store_answers_as_the_store_it_shares() {
        let store = std::sync::Arc::new(MemoryStore::new());
        let record = UserRecord {
            password_hash: "h".into(),
            ..UserRecord::default()
        };
        assert_eq!(
            store.insert_new(&[("alice".into(), record.clone())]).unwrap(),
            [true]
        );
        assert_eq!(UserStore::get(&store, "alice").unwrap(), Some(record.clone()));
        assert_eq!(UserStore::all(&store).unwrap().len(), 1);
        assert_eq!(
            UserStore::find(&store, &["bob", "alice"]).unwrap().unwrap().0,
            "alice"
        );
        assert_eq!(UserStore::location(&store), store.as_ref().location());
    }
}
