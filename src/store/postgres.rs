//! Accounts and the activity log in a PostgreSQL database (`--store postgres://…`), for
//! several hosts sharing one set of accounts.
//!
//! Each change is one transaction (or one statement): a claim of a login attempt is a
//! single `UPDATE … RETURNING` that applies the lock schedule in SQL, so however many
//! processes on however many hosts guess at once, the count and the lock come out as the
//! rules say. The schema is versioned in `authtui_meta` (key `schema_version`): an empty
//! database gets version 1 when it is opened; a newer one is refused before anything is
//! written. Times are whole seconds since the epoch (BIGINT), as the JSON file keeps them.
//!
//! Connections come from a small pool of our own (a `Mutex<Vec<…>>` and a `Condvar`):
//! bounded, each connect bounded in time, a connection that broke is dropped rather than
//! handed out again, and no background threads (a command opens one connection and ends).

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, GenericClient, NoTls, Row, Statement};
use chrono::{DateTime, Utc};

use super::events::{Event, EventKind, EventLog};
use super::lock::{Bucket, Claim, LockSchedule};
use super::url::redact_password;
use super::{Change, SCHEMA_VERSION, StoreError, UserMap, UserRecord, UserStore};

/// Schema version 1, created in one transaction on an empty database.
const SCHEMA_V2: &str = "
CREATE TABLE authtui_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at BIGINT,
    last_login_at BIGINT,
    previous_login_at BIGINT,
    login_count BIGINT NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    last_login_from TEXT,
    known_addresses TEXT[] NOT NULL DEFAULT '{}',
    known_failed_attempts INTEGER NOT NULL DEFAULT 0,
    known_locked_until BIGINT
);
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    username TEXT NOT NULL,
    from_addr TEXT
);
CREATE INDEX events_username_id ON events (username, id);
INSERT INTO authtui_meta (key, value) VALUES ('schema_version', '2');
";

/// Schema 1 to 2: client addresses (docs/security.md rule 36). Run by `authtui
/// upgrade-store`, in one transaction.
const UPGRADE_1_TO_2: &str = "
ALTER TABLE users ADD COLUMN last_login_from TEXT;
ALTER TABLE users ADD COLUMN known_addresses TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN known_failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN known_locked_until BIGINT;
ALTER TABLE events ADD COLUMN from_addr TEXT;
UPDATE authtui_meta SET value = '2' WHERE key = 'schema_version';
";

/// Serializes the creation of the schema between processes opening an empty database at
/// once (a transaction-level advisory lock; "authtui" in ASCII).
const SCHEMA_LOCK: i64 = 0x0061_7574_6874_7569;

/// The columns of `users`, in the order [`record_of`] reads them.
macro_rules! columns {
    () => {
        "username, password_hash, created_at, last_login_at, previous_login_at, login_count, \
         failed_attempts, locked_until, last_login_from, known_addresses, known_failed_attempts, \
         known_locked_until"
    };
}

const SELECT_ANY: &str = concat!("SELECT ", columns!(), " FROM users WHERE username = ANY($1)");
const SELECT_ALL: &str = concat!("SELECT ", columns!(), " FROM users");
const SELECT_FOR_UPDATE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE username = $1 FOR UPDATE"
);
const INSERT: &str = concat!(
    "INSERT INTO users (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
const INSERT_NEW: &str = concat!(
    "INSERT INTO users (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     ON CONFLICT (username) DO NOTHING RETURNING TRUE"
);
const UPDATE: &str = "UPDATE users SET password_hash = $2, created_at = $3, last_login_at = $4, \
     previous_login_at = $5, login_count = $6, failed_attempts = $7, locked_until = $8, \
     last_login_from = $9, known_addresses = $10, known_failed_attempts = $11, \
     known_locked_until = $12 WHERE username = $1";
const DELETE: &str = "DELETE FROM users WHERE username = $1";

/// One login attempt of one bucket claimed in one statement (docs/security.md rules 24
/// and 36), the bucket's columns `$failed` and `$locked`. `old` locks the row and reads
/// it as it is (the newest committed version: a racing claim is waited for); the UPDATE
/// counts the failure and applies [`LockSchedule::lock_duration`] in SQL unless the
/// bucket is locked at `now` ([`LockSchedule::state_of`]); the last SELECT tells the
/// three outcomes apart: no row (missing), `admitted` false (locked: the bucket as it
/// is), `admitted` true (the row after the claim, and the bucket's count and lock before).
///
/// Parameters: $1 username, $2 now (seconds), $3 lock_after, $4 permanent_after,
/// $5 first_lock_secs, $6 max_lock_secs.
macro_rules! claim {
    ($failed:literal, $locked:literal) => {
        concat!(
            "WITH old AS MATERIALIZED (
    SELECT username, ",
            $failed,
            " AS failed, ",
            $locked,
            " AS locked
      FROM users WHERE username = $1 FOR UPDATE
), claimed AS (
    UPDATE users AS u SET
        ",
            $failed,
            " = u.",
            $failed,
            " + 1,
        ",
            $locked,
            " = CASE
            WHEN u.",
            $failed,
            "::bigint + 1 >= $3::bigint
            THEN $2::bigint + LEAST(
                $5::bigint << LEAST(u.",
            $failed,
            "::bigint + 1 - $3::bigint, 16)::integer,
                $6::bigint)
            ELSE u.",
            $locked,
            "
        END
    FROM old
    WHERE u.username = old.username
      AND NOT (old.failed::bigint >= $4::bigint OR COALESCE(old.locked > $2::bigint, FALSE))
    RETURNING u.username, u.password_hash, u.created_at, u.last_login_at, u.previous_login_at,
              u.login_count, u.failed_attempts, u.locked_until, u.last_login_from,
              u.known_addresses, u.known_failed_attempts, u.known_locked_until,
              old.failed AS before_failed, old.locked AS before_locked
)
SELECT TRUE AS admitted, username, password_hash, created_at, last_login_at, previous_login_at,
       login_count, failed_attempts, locked_until, last_login_from, known_addresses,
       known_failed_attempts, known_locked_until, before_failed, before_locked
  FROM claimed
UNION ALL
SELECT FALSE, username, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       failed, locked
  FROM old WHERE NOT EXISTS (SELECT 1 FROM claimed)"
        )
    };
}
const CLAIM_ANYONE: &str = claim!("failed_attempts", "locked_until");
const CLAIM_KNOWN: &str = claim!("known_failed_attempts", "known_locked_until");

/// A write that changes nothing, of a claim's cost (one row updated, one commit), unless
/// there are no accounts.
const REWRITE: &str = "UPDATE authtui_meta SET value = value \
     WHERE key = 'schema_version' AND EXISTS (SELECT 1 FROM users)";

const EVENT_APPEND: &str = "INSERT INTO events (at, event, username, from_addr) VALUES ($1, $2, $3, $4)";
const EVENT_RECENT: &str =
    "SELECT at, event, username, from_addr FROM events WHERE username = $1 ORDER BY id DESC LIMIT $2";
const EVENT_ALL: &str = "SELECT at, event, username, from_addr FROM events ORDER BY id";

/// How many times a transaction that lost a race (serialization failure, deadlock, a
/// name inserted by another process meanwhile) is run again before giving up.
const MAX_RETRIES: usize = 50;

/// How long a connect may take when the URL sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An idle connection older than this is checked (one round trip) before it is used.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Connections a store keeps at most (a command uses one; a server's threads share them).
pub const DEFAULT_POOL_SIZE: usize = 8;

/// The test hook (tests/postgres.rs): `update_user` and `insert_new` stop this many
/// seconds after their writes and before their commit, holding the row locks, so that a
/// test can kill the connection mid-transaction.
const PAUSE_HOOK: &str = "AUTHTUI_TEST_PG_PAUSE_BEFORE_COMMIT";

/// The accounts in a PostgreSQL database.
pub struct PostgresStore {
    pool: Arc<Pool>,
}

/// The activity log in the same database (table `events`).
pub struct PostgresLog {
    pool: Arc<Pool>,
    /// Rows a read skipped (an event name this build does not know).
    warnings: Mutex<Vec<String>>,
}

impl PostgresStore {
    /// Connects to `url` and makes sure it holds this build's schema, creating it in an
    /// empty database. `wait` bounds the wait for a free connection and for a row lock
    /// held by another process (`--lock-timeout`). An unreachable server, a wrong URL or
    /// a schema of another version is an error before anything is written.
    pub fn open(url: &str, wait: Duration) -> Result<PostgresStore, StoreError> {
        PostgresStore::open_with_pool_size(url, wait, DEFAULT_POOL_SIZE)
    }

    /// [`PostgresStore::open`] with at most `size` connections (at least one).
    pub fn open_with_pool_size(url: &str, wait: Duration, size: usize) -> Result<PostgresStore, StoreError> {
        let pool = Arc::new(Pool::new(url, wait, size)?);
        {
            let mut conn = pool.get()?;
            let result = ensure_schema(conn.parts().0);
            if let Err(problem) = pool.check(&mut conn, result, "open the database")? {
                return Err(schema_error(&pool, problem));
            }
        }
        Ok(PostgresStore { pool })
    }

    /// The activity log kept in the same database, sharing this store's connections.
    pub fn event_log(&self) -> PostgresLog {
        PostgresLog {
            pool: Arc::clone(&self.pool),
            warnings: Mutex::new(Vec::new()),
        }
    }

    fn data_error(&self, reason: String) -> StoreError {
        StoreError::Database {
            store: self.pool.name.clone(),
            reason,
        }
    }

    fn records(&self, rows: &[Row]) -> Result<Vec<(String, UserRecord)>, StoreError> {
        rows.iter()
            .map(|row| record_of(row).map_err(|reason| self.data_error(reason)))
            .collect()
    }

    fn run_update(
        &self,
        client: &mut Client,
        cache: &mut Statements,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<Result<(), StoreError>, ::postgres::Error> {
        let mut tx = client.transaction()?;
        let select = cache.get(&mut tx, SELECT_FOR_UPDATE)?;
        let row = tx.query_opt(&select, &[&username])?;
        let mut record = match row.as_ref().map(record_of).transpose() {
            Ok(found) => found.map(|(_, record)| record),
            Err(reason) => return Ok(Err(self.data_error(reason))),
        };
        let existed = record.is_some();
        if change(&mut record) == Change::Keep {
            tx.rollback()?;
            return Ok(Ok(()));
        }
        match (existed, &record) {
            (_, Some(r)) => {
                let sql = if existed { UPDATE } else { INSERT };
                let statement = cache.get(&mut tx, sql)?;
                let name = username.to_owned();
                tx.execute(&statement, &Columns::of(r).params(&name))?;
            }
            (true, None) => {
                let statement = cache.get(&mut tx, DELETE)?;
                tx.execute(&statement, &[&username])?;
            }
            (false, None) => {
                tx.rollback()?;
                return Ok(Ok(()));
            }
        }
        pause_hook();
        tx.commit()?;
        Ok(Ok(()))
    }
}

fn pause_hook() {
    if let Some(secs) = std::env::var(PAUSE_HOOK).ok().and_then(|v| v.parse::<u64>().ok()) {
        eprintln!("authtui: test hook: paused before commit");
        thread::sleep(Duration::from_secs(secs));
    }
}

/// Reads the schema version; creates this build's in an empty database. Ok(Err) is a
/// refusal (newer or unknown schema), Err a database error.
fn ensure_schema(client: &mut Client) -> Result<Result<(), SchemaProblem>, ::postgres::Error> {
    if let Some(found) = schema_version(client)? {
        return Ok(check_version(&found));
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    // Another process may have created it while this one waited for the lock.
    if let Some(found) = schema_version(&mut tx)? {
        return Ok(check_version(&found));
    }
    tx.batch_execute(SCHEMA_V2)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// `schema_version` from `authtui_meta`, or None when there is no such table.
fn schema_version(client: &mut impl GenericClient) -> Result<Option<String>, ::postgres::Error> {
    // A query of the catalog (not `to_regclass`, whose cached lookup may not yet see a
    // table another process committed while this one waited for the schema lock).
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables \
             WHERE schemaname = current_schema() AND tablename = 'authtui_meta')",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client.query_opt("SELECT value FROM authtui_meta WHERE key = 'schema_version'", &[])?;
    Ok(Some(row.map_or_else(String::new, |r| r.get(0))))
}

enum SchemaProblem {
    Newer(i64),
    /// Upgraded only when told (`authtui upgrade-store`).
    Older(i64),
    Unknown(String),
}

fn check_version(found: &str) -> Result<(), SchemaProblem> {
    match found.trim().parse::<i64>() {
        Ok(SCHEMA_VERSION) => Ok(()),
        Ok(v) if v > SCHEMA_VERSION => Err(SchemaProblem::Newer(v)),
        Ok(v) if v >= 1 => Err(SchemaProblem::Older(v)),
        _ => Err(SchemaProblem::Unknown(found.to_owned())),
    }
}

/// Upgrades the schema to this build's in one transaction (`authtui upgrade-store`): the
/// versions it went from and to, or `None` when it was current (or there is none yet:
/// the first open makes it). Newer or unknown schemas are refused, never changed.
pub fn upgrade(url: &str, wait: Duration) -> Result<Option<(i64, i64)>, StoreError> {
    let pool = Pool::new(url, wait, 1)?;
    let mut conn = pool.get()?;
    let result = (|| -> Result<Result<Option<(i64, i64)>, SchemaProblem>, ::postgres::Error> {
        let client = conn.parts().0;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        let Some(found) = schema_version(&mut tx)? else {
            return Ok(Ok(None));
        };
        match check_version(&found) {
            Ok(()) => Ok(Ok(None)),
            Err(SchemaProblem::Older(v)) => {
                tx.batch_execute(UPGRADE_1_TO_2)?;
                tx.commit()?;
                Ok(Ok(Some((v, SCHEMA_VERSION))))
            }
            Err(problem) => Ok(Err(problem)),
        }
    })();
    match pool.check(&mut conn, result, "upgrade the schema")? {
        Ok(done) => Ok(done),
        Err(problem) => Err(schema_error(&pool, problem)),
    }
}

/// A refused schema as the error people see.
fn schema_error(pool: &Pool, problem: SchemaProblem) -> StoreError {
    match problem {
        SchemaProblem::Newer(found) => StoreError::NewerSchema {
            store: pool.name.clone(),
            found,
            known: SCHEMA_VERSION,
        },
        SchemaProblem::Older(found) => StoreError::OlderSchema {
            store: pool.name.clone(),
            found,
            known: SCHEMA_VERSION,
        },
        SchemaProblem::Unknown(found) => pool.error(format!(
            "authtui_meta says schema_version '{}', which is no authtui schema; nothing was written: is this the right database?",
            crate::printable::name(&found)
        )),
    }
}

/// The columns after `username` of a record, as stored ([`columns!`] order).
struct Columns<'a> {
    password_hash: &'a str,
    created_at: Option<i64>,
    last_login_at: Option<i64>,
    previous_login_at: Option<i64>,
    login_count: i64,
    failed_attempts: i32,
    locked_until: Option<i64>,
    last_login_from: Option<&'a str>,
    known_addresses: &'a [String],
    known_failed_attempts: i32,
    known_locked_until: Option<i64>,
}

impl<'a> Columns<'a> {
    fn of(r: &'a UserRecord) -> Columns<'a> {
        let secs = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp());
        Columns {
            password_hash: r.password_hash.as_str(),
            created_at: secs(r.created_at),
            last_login_at: secs(r.last_login_at),
            previous_login_at: secs(r.previous_login_at),
            login_count: i64::try_from(r.login_count).unwrap_or(i64::MAX),
            failed_attempts: i32::try_from(r.failed_attempts).unwrap_or(i32::MAX),
            locked_until: secs(r.locked_until),
            last_login_from: r.last_login_from.as_deref(),
            known_addresses: &r.known_addresses,
            known_failed_attempts: i32::try_from(r.known_failed_attempts).unwrap_or(i32::MAX),
            known_locked_until: secs(r.known_locked_until),
        }
    }

    /// The statement parameters `$1` (the username) to `$12`.
    fn params<'b>(&'b self, username: &'b String) -> [&'b (dyn ToSql + Sync); 12] {
        [
            username,
            &self.password_hash,
            &self.created_at,
            &self.last_login_at,
            &self.previous_login_at,
            &self.login_count,
            &self.failed_attempts,
            &self.locked_until,
            &self.last_login_from,
            &self.known_addresses,
            &self.known_failed_attempts,
            &self.known_locked_until,
        ]
    }
}

/// A `users` row (columns in [`columns!`] order) as a record.
fn record_of(row: &Row) -> Result<(String, UserRecord), String> {
    record_at(row, 0)
}

/// The record whose columns ([`columns!`] order) start at column `at` of `row`.
fn record_at(row: &Row, at: usize) -> Result<(String, UserRecord), String> {
    let username: String = row.try_get(at).map_err(|e| describe(&e))?;
    let bad = |what: &str, e: String| format!("account {}: {what} {e}", crate::printable::name(&username));
    let time = |i: usize, what: &str| -> Result<Option<DateTime<Utc>>, String> {
        let secs: Option<i64> = row.try_get(at + i).map_err(|e| bad(what, describe(&e)))?;
        secs.map(|s| DateTime::from_timestamp(s, 0).ok_or_else(|| bad(what, format!("{s} is out of range"))))
            .transpose()
    };
    let login_count: i64 = row
        .try_get(at + 5)
        .map_err(|e| bad("login_count", describe(&e)))?;
    let count = |i: usize, what: &str| -> Result<u32, String> {
        let n: i32 = row.try_get(at + i).map_err(|e| bad(what, describe(&e)))?;
        u32::try_from(n).map_err(|_| bad(what, format!("{n} is negative")))
    };
    let record = UserRecord {
        password_hash: row
            .try_get(at + 1)
            .map_err(|e| bad("password_hash", describe(&e)))?,
        created_at: time(2, "created_at")?,
        last_login_at: time(3, "last_login_at")?,
        previous_login_at: time(4, "previous_login_at")?,
        login_count: u64::try_from(login_count)
            .map_err(|_| bad("login_count", format!("{login_count} is negative")))?,
        failed_attempts: count(6, "failed_attempts")?,
        locked_until: time(7, "locked_until")?,
        last_login_from: row
            .try_get(at + 8)
            .map_err(|e| bad("last_login_from", describe(&e)))?,
        known_addresses: row
            .try_get(at + 9)
            .map_err(|e| bad("known_addresses", describe(&e)))?,
        known_failed_attempts: count(10, "known_failed_attempts")?,
        known_locked_until: time(11, "known_locked_until")?,
    };
    Ok((username, record))
}

/// Whether a failed transaction lost a race and may be run again.
fn is_retryable(e: &::postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            | Some(&SqlState::T_R_DEADLOCK_DETECTED)
            | Some(&SqlState::UNIQUE_VIOLATION)
    )
}

impl UserStore for PostgresStore {
    fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.find(&[username])?.map(|(_, record)| record))
    }

    fn all(&self) -> Result<UserMap, StoreError> {
        let rows = self.pool.run("read the accounts", |client, cache| {
            let statement = cache.get(client, SELECT_ALL)?;
            client.query(&statement, &[])
        })?;
        Ok(self.records(&rows)?.into_iter().collect())
    }

    fn find(&self, names: &[&str]) -> Result<Option<(String, UserRecord)>, StoreError> {
        if names.is_empty() {
            return Ok(None);
        }
        let rows = self.pool.run("read an account", |client, cache| {
            let statement = cache.get(client, SELECT_ANY)?;
            client.query(&statement, &[&names])
        })?;
        let mut found = self.records(&rows)?;
        // The first name given that is an account.
        Ok(names.iter().find_map(|name| {
            let i = found.iter().position(|(key, _)| key == name)?;
            Some(found.swap_remove(i))
        }))
    }

    fn update_user(
        &self,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<(), StoreError> {
        for _ in 0..MAX_RETRIES {
            let mut conn = self.pool.get()?;
            let (client, cache) = conn.parts();
            let result = self.run_update(client, cache, username, change);
            match result {
                Err(e) if is_retryable(&e) => continue,
                other => return self.pool.check(&mut conn, other, "change an account")?,
            }
        }
        Err(self.data_error(format!(
            "cannot change an account: it kept changing under {MAX_RETRIES} tries; nothing was changed: try again"
        )))
    }

    fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        self.pool.run("add accounts", |client, cache| {
            let mut tx = client.transaction()?;
            let statement = cache.get(&mut tx, INSERT_NEW)?;
            let mut added = Vec::with_capacity(accounts.len());
            for (name, record) in accounts {
                let row = tx.query_opt(&statement, &Columns::of(record).params(name))?;
                added.push(row.is_some());
            }
            pause_hook();
            tx.commit()?;
            Ok(added)
        })
    }

    fn claim_attempt(
        &self,
        username: &str,
        now: DateTime<Utc>,
        schedule: &LockSchedule,
        bucket: Bucket,
    ) -> Result<Claim, StoreError> {
        let now_secs = now.timestamp();
        let sql = match bucket {
            Bucket::Anyone => CLAIM_ANYONE,
            Bucket::Known => CLAIM_KNOWN,
        };
        let params = (
            i64::from(schedule.lock_after),
            i64::from(schedule.permanent_after),
            schedule.first_lock_secs,
            schedule.max_lock_secs,
        );
        let row = self.pool.run("claim a login attempt", |client, cache| {
            let statement = cache.get(client, sql)?;
            client.query_opt(
                &statement,
                &[&username, &now_secs, &params.0, &params.1, &params.2, &params.3],
            )
        })?;
        let Some(row) = row else {
            return Ok(Claim::Missing);
        };
        let shape =
            |e: ::postgres::Error| self.data_error(format!("cannot claim a login attempt: {}", describe(&e)));
        let admitted: bool = row.try_get(0).map_err(shape)?;
        let before_failed: i32 = row.try_get(13).map_err(shape)?;
        let before_locked: Option<i64> = row.try_get(14).map_err(shape)?;
        let before_failed = u32::try_from(before_failed)
            .map_err(|_| self.data_error(format!("failed_attempts {before_failed} is negative")))?;
        let before_locked = before_locked
            .map(|s| {
                DateTime::from_timestamp(s, 0)
                    .ok_or_else(|| self.data_error(format!("locked_until {s} is out of range")))
            })
            .transpose()?;
        if !admitted {
            return Ok(Claim::Locked(schedule.state_at(
                before_failed,
                before_locked,
                now,
            )));
        }
        // Columns 1..=12 are the row after the claim, in `columns!` order.
        let (_, after) = record_at(&row, 1).map_err(|reason| self.data_error(reason))?;
        let lock = schedule.state_of(&after, bucket, now);
        let mut before = after;
        match bucket {
            Bucket::Anyone => (before.failed_attempts, before.locked_until) = (before_failed, before_locked),
            Bucket::Known => {
                (before.known_failed_attempts, before.known_locked_until) = (before_failed, before_locked);
            }
        }
        Ok(Claim::Admitted { before, lock })
    }

    fn rewrite(&self) -> Result<(), StoreError> {
        self.pool.run("write the database", |client, cache| {
            let statement = cache.get(client, REWRITE)?;
            client.execute(&statement, &[]).map(drop)
        })
    }

    fn location(&self) -> String {
        self.pool.name.clone()
    }
}

impl PostgresLog {
    fn data_error(&self, reason: String) -> StoreError {
        StoreError::Database {
            store: self.pool.name.clone(),
            reason,
        }
    }

    /// The rows as events; a row this build cannot read is skipped, with a warning.
    fn events(&self, rows: &[Row]) -> Result<Vec<Event>, StoreError> {
        let mut events = Vec::with_capacity(rows.len());
        let mut warnings = Vec::new();
        for row in rows {
            let at: i64 = row.try_get(0).map_err(|e| self.data_error(describe(&e)))?;
            let name: String = row.try_get(1).map_err(|e| self.data_error(describe(&e)))?;
            let username: String = row.try_get(2).map_err(|e| self.data_error(describe(&e)))?;
            let from: Option<String> = row.try_get(3).map_err(|e| self.data_error(describe(&e)))?;
            let kind = serde_json::from_value::<EventKind>(serde_json::Value::String(name.clone()));
            match (DateTime::from_timestamp(at, 0), kind) {
                (Some(at), Ok(event)) => events.push(Event {
                    at,
                    event,
                    username,
                    from,
                }),
                _ => {
                    if warnings.len() < 20 {
                        warnings.push(format!(
                            "{}: skipped an event this authtui cannot read ({}, at {at})",
                            self.pool.name,
                            crate::printable::name(&name)
                        ));
                    }
                }
            }
        }
        if !warnings.is_empty() {
            self.warnings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(warnings);
        }
        Ok(events)
    }
}

impl EventLog for PostgresLog {
    fn append(&self, event: &Event) -> Result<(), StoreError> {
        let name = match serde_json::to_value(event.event) {
            Ok(serde_json::Value::String(name)) => name,
            _ => return Err(self.data_error("an event without a name".to_owned())),
        };
        let at = event.at.timestamp();
        self.pool.run("write the activity log", |client, cache| {
            let statement = cache.get(client, EVENT_APPEND)?;
            client
                .execute(&statement, &[&at, &name, &event.username, &event.from])
                .map(drop)
        })
    }

    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.pool.run("read the activity log", |client, cache| {
            let statement = cache.get(client, EVENT_RECENT)?;
            client.query(&statement, &[&username, &limit])
        })?;
        self.events(&rows)
    }

    fn all(&self) -> Result<Vec<Event>, StoreError> {
        let rows = self.pool.run("read the activity log", |client, cache| {
            let statement = cache.get(client, EVENT_ALL)?;
            client.query(&statement, &[])
        })?;
        self.events(&rows)
    }
}

// --- The pool ---

/// Prepared statements of one connection, by their text.
#[derive(Default)]
struct Statements(HashMap<&'static str, Statement>);

impl Statements {
    fn get(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
    ) -> Result<Statement, ::postgres::Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }
}

struct Idle {
    client: Client,
    cache: Statements,
    since: Instant,
}

struct Slots {
    idle: Vec<Idle>,
    /// Connections open, idle or lent.
    open: usize,
}

/// At most `size` connections to one database, made on demand and reused.
struct Pool {
    /// The URL without its password, for messages.
    name: String,
    /// The password, to be sure no message shows it.
    secret: Option<String>,
    config: Config,
    connect_timeout: Duration,
    /// `SET …` run on each new connection.
    session: String,
    size: usize,
    wait: Duration,
    slots: Mutex<Slots>,
    freed: Condvar,
}

/// A connection lent by the pool; it goes back when dropped, or is closed if it broke.
struct Lease<'a> {
    pool: &'a Pool,
    conn: ManuallyDrop<(Client, Statements)>,
    broken: bool,
}

impl Lease<'_> {
    fn parts(&mut self) -> (&mut Client, &mut Statements) {
        let (client, cache) = &mut *self.conn;
        (client, cache)
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // SAFETY: `conn` is taken once, here, and the lease is not used after.
        let (client, cache) = unsafe { ManuallyDrop::take(&mut self.conn) };
        let mut slots = self.pool.lock();
        if !self.broken && !client.is_closed() {
            slots.idle.push(Idle {
                client,
                cache,
                since: Instant::now(),
            });
        } else {
            slots.open -= 1;
        }
        drop(slots);
        self.pool.freed.notify_one();
    }
}

impl Pool {
    fn new(url: &str, wait: Duration, size: usize) -> Result<Pool, StoreError> {
        let name = redact_password(url);
        let mut config: Config = url.parse().map_err(|e: ::postgres::Error| StoreError::Database {
            store: name.clone(),
            reason: format!(
                "not a PostgreSQL URL that authtui can use ({})",
                one_line(&describe(&e))
            ),
        })?;
        let secret = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty());
        let connect_timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        config.connect_timeout(connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("authtui");
        }
        // PostgreSQL's 0 means "wait forever"; ours means "try once".
        let lock_ms = wait.as_millis().clamp(1, i32::MAX as u128);
        let pool = Pool {
            name,
            secret,
            config,
            connect_timeout,
            session: format!("SET lock_timeout = {lock_ms}"),
            size: size.max(1),
            wait,
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        };
        Ok(pool)
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, else a new one while fewer than `size` are open, else
    /// the first one given back within `wait`.
    fn get(&self) -> Result<Lease<'_>, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut slots = self.lock();
        loop {
            if let Some(mut idle) = slots.idle.pop() {
                drop(slots);
                let usable = !idle.client.is_closed()
                    && (idle.since.elapsed() < CHECK_AFTER_IDLE
                        || idle.client.is_valid(self.connect_timeout).is_ok());
                if usable {
                    return Ok(self.lease(idle.client, idle.cache));
                }
                drop(idle);
                slots = self.lock();
                slots.open -= 1;
                continue;
            }
            if slots.open < self.size {
                slots.open += 1;
                drop(slots);
                return match self.connect() {
                    Ok(client) => Ok(self.lease(client, Statements::default())),
                    Err(reason) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(self.error(reason))
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.error(format!(
                    "no database connection was free within {} s ({} in use); nothing was changed: try again, or wait longer with --lock-timeout",
                    self.wait.as_secs(),
                    self.size
                )));
            }
            slots = self
                .freed
                .wait_timeout(slots, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn lease(&self, client: Client, cache: Statements) -> Lease<'_> {
        Lease {
            pool: self,
            conn: ManuallyDrop::new((client, cache)),
            broken: false,
        }
    }

    /// A new connection, within the connect time-out (the whole of it: the socket, the
    /// startup and the authentication), with the session settings made.
    fn connect(&self) -> Result<Client, String> {
        let config = self.config.clone();
        let session = self.session.clone();
        let (tx, rx) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("authtui-pg-connect".into())
            .spawn(move || {
                let result = config.connect(NoTls).and_then(|mut client| {
                    client.batch_execute(&session)?;
                    Ok(client)
                });
                let _ = tx.send(result);
            });
        if let Err(e) = spawned {
            return Err(format!("cannot connect: {e}"));
        }
        match rx.recv_timeout(self.connect_timeout) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(format!("cannot connect: {}", self.scrub(&describe(&e)))),
            Err(_) => Err(format!(
                "cannot connect: no answer within {} s (set connect_timeout in the URL to wait longer)",
                self.connect_timeout.as_secs()
            )),
        }
    }

    /// Runs `op` on a connection; a transaction that lost a race is run again.
    fn run<T>(
        &self,
        action: &str,
        mut op: impl FnMut(&mut Client, &mut Statements) -> Result<T, ::postgres::Error>,
    ) -> Result<T, StoreError> {
        for _ in 0..MAX_RETRIES {
            let mut conn = self.get()?;
            let (client, cache) = conn.parts();
            match op(client, cache) {
                Err(e) if is_retryable(&e) => continue,
                other => return self.check(&mut conn, other, action),
            }
        }
        Err(self.error(format!(
            "cannot {action}: it lost a race with other writers {MAX_RETRIES} times; nothing was changed: try again"
        )))
    }

    /// A database error as a store error (and the connection marked broken when the
    /// error was the connection's, not a statement's).
    fn check<T>(
        &self,
        conn: &mut Lease<'_>,
        result: Result<T, ::postgres::Error>,
        action: &str,
    ) -> Result<T, StoreError> {
        result.map_err(|e| {
            if e.as_db_error().is_none_or(|d| d.severity() != "ERROR") {
                conn.broken = true;
            }
            let reason = if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
                format!(
                    "cannot {action}: another process held the account's row lock for more than {} s; nothing was changed: try again, or wait longer with --lock-timeout",
                    self.wait.as_secs()
                )
            } else {
                format!("cannot {action}: {}", self.scrub(&describe(&e)))
            };
            self.error(reason)
        })
    }

    fn error(&self, reason: String) -> StoreError {
        StoreError::Database {
            store: self.name.clone(),
            reason: one_line(&reason),
        }
    }

    /// `text` on one line, without the password.
    fn scrub(&self, text: &str) -> String {
        let text = match &self.secret {
            Some(secret) => text.replace(secret.as_str(), "…"),
            None => text.to_owned(),
        };
        one_line(&text)
    }
}

/// What went wrong, in full: the server's message (and its detail and hint), or the
/// client's error and its causes.
fn describe(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let shown = cause.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    text
}

fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_message_is_put_on_one_line() {
        assert_eq!(
            one_line("could not connect\n  DETAIL:  refused\r\n\nHINT: x "),
            "could not connect; DETAIL:  refused; HINT: x"
        );
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn a_schema_version_is_this_one_newer_older_or_not_one() {
        assert!(check_version(&SCHEMA_VERSION.to_string()).is_ok());
        assert!(check_version(&format!(" {SCHEMA_VERSION}\n")).is_ok());
        assert!(matches!(check_version("3"), Err(SchemaProblem::Newer(3))));
        assert!(matches!(check_version("1"), Err(SchemaProblem::Older(1))));
        for not_one in ["0", "-1", "two", ""] {
            assert!(
                matches!(check_version(not_one), Err(SchemaProblem::Unknown(ref s)) if s == not_one),
                "{not_one:?}"
            );
        }
    }
}
