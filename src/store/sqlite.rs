//! Accounts and the activity log in a SQLite database (`--store sqlite:PATH`): for a big
//! single host, where rewriting a whole `users.json` for every change would cost too much.
//!
//! - WAL mode, so readers never wait for a writer; `synchronous=FULL`, so a change that
//!   was acknowledged survives a power cut; a busy timeout (the lock timeout), so
//!   processes take turns instead of failing.
//! - Every change is one `BEGIN IMMEDIATE` transaction (the write lock is taken first, so
//!   two writers never both read before either writes); a login's claim raises the count
//!   and sets the lock in one `UPDATE` (docs/security.md rule 24).
//! - The file follows the rules of every file authtui opens (rule 25): never through a
//!   link, only a regular file, created 0600 in a 0700 directory (SQLite gives its `-wal`
//!   and `-shm` files the database's mode).
//! - The schema is versioned (`authtui_meta.schema_version`); an empty file gets the
//!   current one, a newer one is refused, nothing is ever downgraded. A missing file is an
//!   empty store, and reads do not create it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::safe_open::{self, Mode, Owner};
use super::{
    Bucket, Change, Claim, Event, EventKind, EventLog, LockSchedule, SCHEMA_VERSION, StoreError, UserMap,
    UserRecord, UserStore,
};

const SCHEMA: &str = "
    CREATE TABLE authtui_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at INTEGER,
        last_login_at INTEGER,
        previous_login_at INTEGER,
        login_count INTEGER NOT NULL DEFAULT 0,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        last_login_from TEXT,
        known_addresses TEXT NOT NULL DEFAULT '',
        known_failed_attempts INTEGER NOT NULL DEFAULT 0,
        known_locked_until INTEGER
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        username TEXT NOT NULL,
        from_addr TEXT
    );
    CREATE INDEX events_by_user ON events (username, id);
";

/// Schema 1 to 2: client addresses (docs/security.md rule 36). Run by `authtui
/// upgrade-store`, in one transaction.
const UPGRADE_1_TO_2: &str = "
    ALTER TABLE users ADD COLUMN last_login_from TEXT;
    ALTER TABLE users ADD COLUMN known_addresses TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN known_failed_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN known_locked_until INTEGER;
    ALTER TABLE events ADD COLUMN from_addr TEXT;
    UPDATE authtui_meta SET value = '2' WHERE key = 'schema_version';
";

const COLUMNS: &str = "password_hash, created_at, last_login_at, previous_login_at, login_count, \
     failed_attempts, locked_until, last_login_from, known_addresses, known_failed_attempts, \
     known_locked_until";

/// The SQLite store. Connections are opened as needed and kept for reuse, so that threads
/// (a server's bcrypt pool) read in parallel.
pub struct SqliteStore {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, checking what is there (a regular file holding an
    /// authtui schema this build reads, or nothing) without writing anything.
    pub fn open(path: impl Into<PathBuf>, busy_timeout: Duration) -> Result<SqliteStore, StoreError> {
        let store = SqliteStore {
            path: path.into(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        };
        if let Some(conn) = store.connect(false)? {
            store.check_schema(&conn)?;
            store.give_back(conn);
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Database {
            store: format!("sqlite:{}", crate::printable::path(&self.path)),
            reason: crate::printable::printable(&e.to_string(), 200),
        }
    }

    /// A connection: an idle one, or a new one. `create`: make the file (and its
    /// directory) if it is missing; else `None` when there is no database yet.
    fn connect(&self, create: bool) -> Result<Option<Connection>, StoreError> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(Some(conn));
        }
        // The file itself by the rules of every file: no link, regular, 0600, the owner's.
        match safe_open::open(&self.path, Mode::Read, None)? {
            Some(_) => {}
            None if !create => return Ok(None),
            None => {
                safe_open::create_parent_dirs(&self.path)?;
                let owner = Owner::of_data(&self.path);
                safe_open::open(&self.path, Mode::ReadWriteCreate, owner)?;
            }
        }
        #[cfg(test)]
        tests::between_check_and_open();
        // No link even if one was put there since the check, and the path as a file name,
        // never a URI (see `as_file_name`).
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(as_file_name(&self.path), flags).map_err(|e| self.error(e))?;
        conn.busy_timeout(self.busy_timeout).map_err(|e| self.error(e))?;
        if create {
            // Kept in the file once set: readers then never wait for a writer.
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| self.error(e))?;
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.error(e))?;
        // A file with no tables yet (just made, or empty) holds no accounts: for a read,
        // it is no database; the first write gives it the schema.
        if !create && table_count(&conn).map_err(|e| self.error(e))? == 0 {
            return Ok(None);
        }
        Ok(Some(conn))
    }

    fn give_back(&self, conn: Connection) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
    }

    /// Runs `work` on a connection (creating the database first if `create`); `None` when
    /// there is no database and `create` is false. The connection is reused afterwards.
    fn with<T>(
        &self,
        create: bool,
        work: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<Option<T>, StoreError> {
        let Some(mut conn) = self.connect(create)? else {
            return Ok(None);
        };
        let result = work(&mut conn).map_err(|e| self.error(e));
        self.give_back(conn);
        result.map(Some)
    }

    /// The schema must be one this build reads: refused (never changed) otherwise.
    fn check_schema(&self, conn: &Connection) -> Result<(), StoreError> {
        match self.schema_version(conn)? {
            None | Some(SCHEMA_VERSION) => Ok(()),
            Some(found) if found > SCHEMA_VERSION => Err(StoreError::NewerSchema {
                store: self.name(),
                found,
                known: SCHEMA_VERSION,
            }),
            Some(found) => Err(StoreError::OlderSchema {
                store: self.name(),
                found,
                known: SCHEMA_VERSION,
            }),
        }
    }

    fn name(&self) -> String {
        format!("sqlite:{}", crate::printable::path(&self.path))
    }

    /// The schema version in the file; `None`: an empty file (made by us, or by hand),
    /// which gets the schema at the first write. Not an authtui database: an error.
    fn schema_version(&self, conn: &Connection) -> Result<Option<i64>, StoreError> {
        let store = || self.name();
        if table_count(conn).map_err(|e| self.error(e))? == 0 {
            return Ok(None);
        }
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM authtui_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|_| StoreError::NotOurs { store: store() })?;
        match version.as_deref().map(str::parse::<i64>) {
            Some(Ok(found)) if found >= 1 => Ok(Some(found)),
            _ => Err(StoreError::NotOurs { store: store() }),
        }
    }

    /// Upgrades the schema to this build's, in one transaction (`authtui upgrade-store`):
    /// the versions it went from and to, or `None` when it was already current (or there
    /// is no database yet). A newer schema is refused, never downgraded.
    pub fn upgrade(
        path: impl Into<PathBuf>,
        busy_timeout: Duration,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let store = SqliteStore {
            path: path.into(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        };
        let Some(mut conn) = store.connect(false)? else {
            return Ok(None);
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store.error(e))?;
        let found = match store.schema_version(&tx)? {
            None => return Ok(None),
            Some(SCHEMA_VERSION) => return Ok(None),
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema {
                    store: store.name(),
                    found,
                    known: SCHEMA_VERSION,
                });
            }
            Some(found) => found,
        };
        tx.execute_batch(UPGRADE_1_TO_2).map_err(|e| store.error(e))?;
        tx.commit().map_err(|e| store.error(e))?;
        Ok(Some((found, SCHEMA_VERSION)))
    }

    /// A write transaction, the write lock taken first.
    fn write<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        let outcome = self.with(true, |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // A file we just made, or an empty one: the schema comes with the first write
            // (under the write lock, so two first writers do not both make it).
            if table_count(&tx)? == 0 {
                tx.execute_batch(SCHEMA)?;
                tx.execute(
                    "INSERT INTO authtui_meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })?;
        outcome.ok_or_else(|| self.error(rusqlite::Error::InvalidQuery))
    }
}

/// `path` as SQLite must be given it to open that file: SQLite reads a name that starts
/// with `file:` as a URI (the bundled build enables them whatever the open flags), which
/// names another file than the one checked (`file:a.db` is `a.db`) or none at all
/// (`?mode=memory`). A relative path is given as `./path`, which is never one.
fn as_file_name(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new(".").join(path)
    }
}

fn table_count(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
}

fn to_secs(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp())
}

fn from_secs(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn record_from(row: &rusqlite::Row, at: usize) -> Result<UserRecord, rusqlite::Error> {
    Ok(UserRecord {
        password_hash: row.get(at)?,
        created_at: from_secs(row.get(at + 1)?),
        last_login_at: from_secs(row.get(at + 2)?),
        previous_login_at: from_secs(row.get(at + 3)?),
        login_count: u64::try_from(row.get::<_, i64>(at + 4)?).unwrap_or(0),
        failed_attempts: u32::try_from(row.get::<_, i64>(at + 5)?).unwrap_or(u32::MAX),
        locked_until: from_secs(row.get(at + 6)?),
        last_login_from: row.get(at + 7)?,
        known_addresses: split_addresses(&row.get::<_, String>(at + 8)?),
        known_failed_attempts: u32::try_from(row.get::<_, i64>(at + 9)?).unwrap_or(u32::MAX),
        known_locked_until: from_secs(row.get(at + 10)?),
    })
}

/// Known addresses are kept as one column, space-separated (an address holds no space).
fn split_addresses(text: &str) -> Vec<String> {
    text.split_ascii_whitespace().map(str::to_owned).collect()
}

fn get_in(conn: &Connection, username: &str) -> Result<Option<UserRecord>, rusqlite::Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE username = ?1"))?
        .query_row([username], |row| record_from(row, 0))
        .optional()
}

fn put_in(conn: &Connection, username: &str, r: &UserRecord) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(&format!(
        "INSERT INTO users (username, {COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
             created_at = excluded.created_at, last_login_at = excluded.last_login_at,
             previous_login_at = excluded.previous_login_at, login_count = excluded.login_count,
             failed_attempts = excluded.failed_attempts, locked_until = excluded.locked_until,
             last_login_from = excluded.last_login_from,
             known_addresses = excluded.known_addresses,
             known_failed_attempts = excluded.known_failed_attempts,
             known_locked_until = excluded.known_locked_until"
    ))?
    .execute(params![
        username,
        r.password_hash,
        to_secs(r.created_at),
        to_secs(r.last_login_at),
        to_secs(r.previous_login_at),
        i64::try_from(r.login_count).unwrap_or(i64::MAX),
        i64::from(r.failed_attempts),
        to_secs(r.locked_until),
        r.last_login_from,
        r.known_addresses.join(" "),
        i64::from(r.known_failed_attempts),
        to_secs(r.known_locked_until),
    ])?;
    Ok(())
}

impl UserStore for SqliteStore {
    fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.with(false, |conn| get_in(conn, username))?.flatten())
    }

    fn all(&self) -> Result<UserMap, StoreError> {
        let all = self.with(false, |conn| {
            let mut statement = conn.prepare(&format!("SELECT username, {COLUMNS} FROM users"))?;
            let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, record_from(row, 1)?)))?;
            rows.collect::<Result<UserMap, _>>()
        })?;
        Ok(all.unwrap_or_default())
    }

    fn find(&self, names: &[&str]) -> Result<Option<(String, UserRecord)>, StoreError> {
        // One statement for every spelling, the first given preferred.
        let found = self.with(false, |conn| {
            let tx = conn.transaction()?;
            let mut found = None;
            for name in names {
                if let Some(record) = get_in(&tx, name)? {
                    found = Some(((*name).to_owned(), record));
                    break;
                }
            }
            tx.commit()?;
            Ok(found)
        })?;
        Ok(found.flatten())
    }

    fn update_user(
        &self,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut record = get_in(tx, username)?;
            let existed = record.is_some();
            if change(&mut record) == Change::Save {
                match &record {
                    Some(r) => put_in(tx, username, r)?,
                    None if existed => {
                        tx.execute("DELETE FROM users WHERE username = ?1", [username])?;
                    }
                    None => {}
                }
            }
            Ok(())
        })
    }

    fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
        self.write(|tx| {
            accounts
                .iter()
                .map(|(name, record)| {
                    let free = get_in(tx, name)?.is_none();
                    if free {
                        put_in(tx, name, record)?;
                    }
                    Ok(free)
                })
                .collect()
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
        let (failed, locked) = match bucket {
            Bucket::Anyone => ("failed_attempts", "locked_until"),
            Bucket::Known => ("known_failed_attempts", "known_locked_until"),
        };
        self.write(|tx| {
            let Some(before) = get_in(tx, username)? else {
                return Ok(Claim::Missing);
            };
            // The count and the lock in one statement, by the schedule's numbers: the same
            // arithmetic as `LockSchedule::record_failure`, at whole seconds.
            let claimed = tx
                .prepare_cached(&format!(
                    "UPDATE users SET
                         {failed} = {failed} + 1,
                         {locked} = CASE WHEN {failed} + 1 >= ?2
                             THEN ?3 + min(?4 << min({failed} + 1 - ?2, 16), ?5)
                             ELSE {locked} END
                     WHERE username = ?1 AND {failed} < ?6
                         AND ({locked} IS NULL OR {locked} <= ?3)
                     RETURNING {failed}, {locked}"
                ))?
                .query_row(
                    params![
                        username,
                        i64::from(schedule.lock_after),
                        now_secs,
                        schedule.first_lock_secs,
                        schedule.max_lock_secs,
                        i64::from(schedule.permanent_after),
                    ],
                    |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<i64>>(1)?)),
                )
                .optional()?;
            let lock_of = |failed: i64, until: Option<i64>| {
                schedule.state_at(u32::try_from(failed).unwrap_or(u32::MAX), from_secs(until), now)
            };
            Ok(match claimed {
                Some((failed, until)) => Claim::Admitted {
                    lock: lock_of(failed, until),
                    before,
                },
                None => Claim::Locked(schedule.state_of(&before, bucket, now)),
            })
        })
    }

    fn rewrite(&self) -> Result<(), StoreError> {
        // A committed write of a claim's size that changes no account; a store with no
        // accounts (or no file) is left alone. The row written must change: SQLite skips
        // writing a row whose bytes are the same, and a commit with nothing written costs
        // no fsync, which would tell an unknown name from a known one by its time.
        let Some(conn) = self.connect(false)? else {
            return Ok(());
        };
        self.give_back(conn);
        self.write(|tx| {
            let any: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
            if any {
                tx.execute(
                    "INSERT INTO authtui_meta (key, value) VALUES ('rewrite', '1')
                     ON CONFLICT (key) DO UPDATE SET value = CASE value WHEN '1' THEN '0' ELSE '1' END",
                    [],
                )?;
            }
            Ok(())
        })
    }

    fn location(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

fn kind_name(kind: EventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn kind_of(name: &str) -> Option<EventKind> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

fn events_from(
    statement: &mut rusqlite::CachedStatement,
    params: impl rusqlite::Params,
) -> Result<Vec<Event>, rusqlite::Error> {
    let rows = statement.query_map(params, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (at, event, username, from) = row?;
        // A kind from a newer build is skipped, as a foreign line of events.jsonl is.
        if let (Some(at), Some(event)) = (DateTime::from_timestamp(at, 0), kind_of(&event)) {
            events.push(Event {
                at,
                event,
                username,
                from,
            });
        }
    }
    Ok(events)
}

impl EventLog for SqliteStore {
    fn append(&self, event: &Event) -> Result<(), StoreError> {
        self.append_all(std::slice::from_ref(event))
    }

    /// All in one transaction.
    fn append_all(&self, events: &[Event]) -> Result<(), StoreError> {
        // Before any account exists there is no database, and nothing worth a log.
        if self.connect(false)?.map(|c| self.give_back(c)).is_none() {
            return Ok(());
        }
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (at, event, username, from_addr) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for event in events {
                insert.execute(params![
                    event.at.timestamp(),
                    kind_name(event.event),
                    event.username,
                    event.from,
                ])?;
            }
            Ok(())
        })
    }

    fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let events = self.with(false, |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT at, event, username, from_addr FROM events WHERE username = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            events_from(&mut statement, params![username, limit])
        })?;
        Ok(events.unwrap_or_default())
    }

    fn all(&self) -> Result<Vec<Event>, StoreError> {
        let events = self.with(false, |conn| {
            let mut statement =
                conn.prepare_cached("SELECT at, event, username, from_addr FROM events ORDER BY id")?;
            events_from(&mut statement, [])
        })?;
        Ok(events.unwrap_or_default())
    }
}

/// Whether `path` is on a network file system (NFS, SMB/CIFS, sshfs, …), where SQLite's
/// locking is unreliable: a warning for people, from /proc/mounts.
pub fn network_fs_warning(path: &Path) -> Option<String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).ok()?;
    let mounts = std::fs::read_to_string(mounts_file()).ok()?;
    let fs_type = network_fs_of(&dir, &mounts)?;
    Some(format!(
        "{} is on a network file system ({fs_type}), where SQLite's locks do not hold: keep the database on a local disk, or use PostgreSQL for several hosts",
        crate::printable::path(path)
    ))
}

/// The mount table: /proc/mounts (a test may give a table of its own).
fn mounts_file() -> PathBuf {
    #[cfg(test)]
    if let Some(file) = tests::mounts_file() {
        return file;
    }
    PathBuf::from("/proc/mounts")
}

/// The network file system type of the mount that holds `dir`, if it is one, from the
/// text of /proc/mounts (the longest mount point that contains `dir` wins).
fn network_fs_of(dir: &Path, mounts: &str) -> Option<String> {
    let fs_type = mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let point = fields.next()?.replace("\\040", " ");
            let kind = fields.next()?;
            dir.starts_with(&point).then(|| (point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)?
        .1;
    const NETWORK: [&str; 11] = [
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",
        "ceph",
        "glusterfs",
        "fuse.sshfs",
    ];
    NETWORK.contains(&fs_type.as_str()).then_some(fs_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "/dev/vda / ext4 rw 0 0
server:/export /home nfs4 rw 0 0
/dev/vdb /home/local ext4 rw 0 0
//nas/share /mnt/my\\040share cifs rw 0 0
";

    #[test]
    fn a_database_on_a_network_mount_is_found_by_the_longest_mount_point() {
        assert_eq!(
            network_fs_of(Path::new("/home/alice"), MOUNTS).as_deref(),
            Some("nfs4")
        );
        assert_eq!(network_fs_of(Path::new("/home/local/db"), MOUNTS), None);
        assert_eq!(network_fs_of(Path::new("/var/lib"), MOUNTS), None);
        assert_eq!(
            network_fs_of(Path::new("/mnt/my share/x"), MOUNTS).as_deref(),
            Some("cifs")
        );
    }

    thread_local! {
        /// Run once by this thread's next new connection, between the check of the file
        /// and SQLite's open of it.
        static BETWEEN_CHECK_AND_OPEN: std::cell::RefCell<Option<Box<dyn FnOnce()>>> =
            const { std::cell::RefCell::new(None) };
    }

    thread_local! {
        /// The mount table this thread's `network_fs_warning` reads, if not /proc/mounts.
        static MOUNTS_FILE: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
    }

    pub(super) fn mounts_file() -> Option<PathBuf> {
        MOUNTS_FILE.with(|file| file.borrow().clone())
    }

    /// `network_fs_warning` of `path` with a mount table whose lines are `mounts`.
    fn warning_with_mounts(path: &Path, mounts: &str) -> Option<String> {
        let table = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(table.path(), mounts).unwrap();
        MOUNTS_FILE.with(|file| *file.borrow_mut() = Some(table.path().to_owned()));
        let warning = network_fs_warning(path);
        MOUNTS_FILE.with(|file| *file.borrow_mut() = None);
        warning
    }

    /// The warning looks up, in the mount table, the directory that holds the file (the
    /// current one for a bare file name), and names the file and the file system.
    #[test]
    fn a_database_in_a_directory_on_a_network_mount_is_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let path = dir.path().join("a.db");
        let nfs = format!(
            "/dev/vda / ext4 rw 0 0\nserver:/export {} nfs4 rw 0 0\n",
            real.display()
        );
        assert_eq!(
            warning_with_mounts(&path, &nfs).as_deref(),
            Some(
                format!(
                    "{} is on a network file system (nfs4), where SQLite's locks do not hold: keep the database on a local disk, or use PostgreSQL for several hosts",
                    path.display()
                )
                .as_str()
            )
        );
        let local = format!("/dev/vda / nfs rw 0 0\n/dev/vdb {} ext4 rw 0 0\n", real.display());
        assert_eq!(warning_with_mounts(&path, &local), None);
        // A bare name is in the current directory, which is under / here.
        let root_nfs = "server:/ / nfs rw 0 0\n";
        let bare = warning_with_mounts(Path::new("a.db"), root_nfs).expect("a warning");
        assert!(
            bare.starts_with("a.db is on a network file system (nfs)"),
            "{bare}"
        );
        assert_eq!(warning_with_mounts(&path, "/dev/vda / ext4 rw 0 0\n"), None);
    }

    /// A rewrite commits a write to a store that holds accounts (another connection sees
    /// the database changed) and leaves an empty or absent one as it is.
    #[test]
    fn rewrite_commits_a_write_unless_the_store_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let store = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        store.rewrite().unwrap();
        assert!(!path.exists(), "no accounts, no file");
        store.update_user("alice", &mut |_| Change::Keep).unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        let version = || -> i64 { other.query_row("PRAGMA data_version", [], |r| r.get(0)).unwrap() };
        let empty = version();
        store.rewrite().unwrap();
        assert_eq!(version(), empty, "an empty store is not written");
        store.insert_new(&[("alice".into(), record())]).unwrap();
        let before = version();
        assert_ne!(before, empty);
        store.rewrite().unwrap();
        let after = version();
        assert_ne!(after, before, "a rewrite is a committed write");
        store.rewrite().unwrap();
        assert_ne!(version(), after, "and so is the next one");
        assert_eq!(
            store.get("alice").unwrap().map(|r| r.password_hash),
            Some("$2b$04$x".into())
        );
    }

    #[test]
    fn the_location_is_the_store_url_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let store = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(store.location(), format!("sqlite:{}", path.display()));
    }

    pub(super) fn between_check_and_open() {
        if let Some(then) = BETWEEN_CHECK_AND_OPEN.with(|hook| hook.borrow_mut().take()) {
            then();
        }
    }

    fn record() -> UserRecord {
        UserRecord::new("$2b$04$x".into(), Utc::now())
    }

    /// The file checked, then swapped for a link before SQLite opens it: SQLite refuses the
    /// link itself, and its target is not written.
    #[test]
    fn a_link_put_in_place_after_the_check_is_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let other = dir.path().join("other.db");
        let store = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        store.insert_new(&[("alice".into(), record())]).unwrap();
        std::fs::write(&other, b"").unwrap();
        let (link, target) = (path.clone(), other.clone());
        BETWEEN_CHECK_AND_OPEN.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move || {
                std::fs::remove_file(&link).unwrap();
                std::os::unix::fs::symlink(&target, &link).unwrap();
            }))
        });
        // A new store: its first connection is a new one.
        let err = SqliteStore::open(&path, Duration::from_secs(1)).unwrap_err();
        assert!(
            BETWEEN_CHECK_AND_OPEN.with(|hook| hook.borrow().is_none()),
            "swapped"
        );
        assert!(err.to_string().contains("a.db"), "{err}");
        assert_eq!(
            std::fs::read(&other).unwrap(),
            b"",
            "the link's target is untouched"
        );
    }

    /// Every field is read back as written (times in whole seconds), by each way of
    /// reading; a name that is no account is `None`.
    #[test]
    fn get_find_and_all_read_back_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("a.db"), Duration::from_secs(1)).unwrap();
        let t = |s| DateTime::from_timestamp(s, 0);
        let alice = UserRecord {
            password_hash: "$2b$04$x".into(),
            created_at: t(1),
            last_login_at: t(2),
            previous_login_at: t(3),
            login_count: 4,
            failed_attempts: 5,
            locked_until: t(6),
            last_login_from: Some("203.0.113.7:50122".into()),
            known_addresses: vec!["203.0.113.7".into(), "2001:db8::1".into()],
            known_failed_attempts: 7,
            known_locked_until: t(8),
        };
        let bob = record();
        store
            .insert_new(&[("alice".into(), alice.clone()), ("bob".into(), bob.clone())])
            .unwrap();
        assert_eq!(store.get("alice").unwrap(), Some(alice.clone()));
        assert_eq!(store.get("carol").unwrap(), None);
        assert_eq!(
            store.find(&["Alice", "alice", "bob"]).unwrap(),
            Some(("alice".into(), alice.clone()))
        );
        assert_eq!(store.find(&["carol"]).unwrap(), None);
        let all = UserStore::all(&store).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all.get("alice"), Some(&alice));
        assert_eq!(all.get("bob").map(|r| &r.password_hash), Some(&bob.password_hash));
    }

    /// One thread's reads and writes are served by one connection, kept between them.
    #[test]
    fn a_connection_is_kept_and_used_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("a.db"), Duration::from_secs(1)).unwrap();
        let idle = || store.idle.lock().unwrap().len();
        assert_eq!(idle(), 0, "no database yet, no connection");
        store.insert_new(&[("alice".into(), record())]).unwrap();
        assert_eq!(idle(), 1);
        for _ in 0..3 {
            store.get("alice").unwrap().unwrap();
            store.find(&["Alice", "alice"]).unwrap().unwrap();
            EventLog::all(&store).unwrap();
            store.rewrite().unwrap();
            assert_eq!(idle(), 1);
        }
    }

    #[test]
    fn a_relative_path_is_given_to_sqlite_as_a_file_name() {
        assert_eq!(as_file_name(Path::new("file:a.db")), Path::new("./file:a.db"));
        assert_eq!(as_file_name(Path::new("a/b.db")), Path::new("./a/b.db"));
        assert_eq!(as_file_name(Path::new("/srv/a.db")), Path::new("/srv/a.db"));
    }

    #[test]
    fn debug_names_the_file_and_nothing_of_its_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let store = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        store
            .insert_new(&[("alice".into(), UserRecord::new("$2b$04$x".into(), Utc::now()))])
            .unwrap();
        assert_eq!(
            format!("{store:?}"),
            format!("SqliteStore {{ path: {:?}, .. }}", path)
        );
    }

    #[test]
    fn a_local_temp_directory_is_not_warned_about() {
        // The machine's own temp directory is on a local disk here.
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(network_fs_warning(&dir.path().join("a.db")), None);
    }
}
