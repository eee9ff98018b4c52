//! `users.json` on disk: read without a lock (saves are atomic renames, appends are whole
//! lines), change under an exclusive lock on `users.json.lock`. An account change (signup,
//! password, deletion, an administrator's edit) saves the whole file through a synced temp
//! file; what a login records (its claim, its success) is a line appended to
//! `users.json.journal` (see `journal.rs`), which the next save folds into the file.

use std::fs::{self, File, Metadata, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::format::Parsed;
use super::journal::{self, Facts, Header, Journal};
use super::prechecked::Prechecked;
use super::safe_open::{self, Mode, Owner};
use super::users::Base;
use super::{
    Change, FORMAT_VERSION, StoreError, UserMap, UserRecord, UserStore, Users, insert_new_by,
    unchanged_unless_empty,
};

/// The platform data file: `$XDG_DATA_HOME/authtui/users.json` on Linux
/// (`~/.local/share/authtui/users.json` by default).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "authtui").map(|dirs| dirs.data_dir().join("users.json"))
}

/// Told, once per wait, the path of a lock that another process holds, after
/// [`JsonFile::LOCK_NOTICE_AFTER`] of waiting for it: the CLI prints it, the app shows it
/// in its busy line.
pub type LockNotice = Arc<dyn Fn(&Path) + Send + Sync>;

/// The `users.json` store.
pub struct JsonFile {
    path: PathBuf,
    lock_path: PathBuf,
    temp_path: PathBuf,
    journal_path: PathBuf,
    /// Past this many bytes, the journal is folded into `users.json` instead of grown.
    journal_limit: u64,
    /// How long a change waits for a lock held elsewhere before it fails.
    lock_timeout: Duration,
    lock_notice: Option<LockNotice>,
    /// What was last read (`users.json` parsed, the journal replayed), so that the next
    /// read, and the change under the lock that follows it, need not read and parse the
    /// same bytes again. See [`BaseSnap`] for when it is trusted.
    cached: Mutex<Option<Snapshot>>,
}

/// How a file was when it was read: if any of these differ now, it was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

/// A file changed within this long before it was read may be changed again with the same
/// timestamps (they tick coarsely): its stamp is not trusted until a later read.
const RACY_NS: i128 = 50_000_000;

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// True if the file had last changed well before `read_at`: any change after that read
    /// gives it another stamp (a write sets the change time to the clock, which by then
    /// has moved past both). Else a change in the same tick could keep the stamp.
    fn settled_before(&self, read_at: SystemTime) -> bool {
        let Ok(at) = read_at.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        self.mtime_ns.max(self.ctime_ns) + RACY_NS < at.as_nanos() as i128
    }
}

/// `users.json` as last read.
#[derive(Clone, Debug, Default)]
struct BaseSnap {
    /// The accounts parsed (for the current format, no changes: the file's records).
    users: Users,
    /// The file's stamp when read; `None`: there was no file.
    stamp: Option<Stamp>,
    /// The stamp alone says whether the file is still these bytes (see
    /// [`Stamp::settled_before`]); else the bytes are read and compared.
    trusted: bool,
    /// The bytes of a legacy file (a current file's are in `users`).
    legacy: Option<Arc<Vec<u8>>>,
    /// Bytes the journal names (so an earlier read checked them whole), searched for the
    /// names asked instead of parsed (`users` is then empty) until all of them are needed:
    /// see `prechecked.rs` and docs/security.md rule 38.
    prechecked: Option<Arc<Prechecked>>,
    /// xxHash64 of the bytes, computed when a journal asks.
    hash: Arc<OnceLock<u64>>,
}

impl BaseSnap {
    fn bytes(&self) -> Option<&[u8]> {
        match (&self.legacy, &self.prechecked) {
            (Some(bytes), _) => Some(bytes),
            (None, Some(pre)) => Some(pre.bytes()),
            (None, None) => self.users.base_bytes(),
        }
    }

    fn hash(&self) -> u64 {
        *self
            .hash
            .get_or_init(|| journal::xxh64(self.bytes().unwrap_or_default()))
    }
}

/// `users.json` as just read: as before, or new bytes.
enum Read {
    Known(BaseSnap),
    Fresh {
        bytes: Vec<u8>,
        stamp: Stamp,
        trusted: bool,
    },
}

/// `users.json` and its journal, as last read.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    base: BaseSnap,
    journal: Journal,
}

impl Snapshot {
    /// True if the journal extends the file as it is (else it is left from before a fold,
    /// or there is none).
    fn journal_applies(&self) -> bool {
        match (self.journal.header(), self.base.bytes()) {
            (Some(header), Some(bytes)) => header.extends(bytes, || self.base.hash()),
            _ => false,
        }
    }

    /// `record`, the account `name` as `users.json` has it, with the journal replayed.
    fn replayed(&self, name: &str, record: Option<UserRecord>) -> Option<UserRecord> {
        let mut record = record?;
        if self.journal_applies()
            && let Some(facts) = self.journal.overlay().get(name)
        {
            facts.apply(&mut record);
        }
        Some(record)
    }

    /// Every account, the journal replayed (of a snapshot that is not prechecked: see
    /// [`JsonFile::indexed`]).
    fn users(&self) -> Users {
        debug_assert!(self.base.prechecked.is_none(), "users of an unparsed file");
        let mut users = self.base.users.clone();
        if self.journal_applies() {
            for (name, facts) in self.journal.overlay() {
                if let Some(record) = users.get_mut(name) {
                    facts.apply(record);
                }
            }
        }
        users
    }

    /// True if a change may be a journal line: there is a file in the current format.
    fn can_journal(&self) -> bool {
        self.base.stamp.is_some() && self.base.legacy.is_none() && self.base.bytes().is_some()
    }
}

impl JsonFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let with_suffix = |suffix: &str| {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(suffix);
            path.with_file_name(name)
        };
        JsonFile {
            lock_path: with_suffix(".lock"),
            temp_path: with_suffix(".tmp"),
            journal_path: with_suffix(".journal"),
            journal_limit: JsonFile::JOURNAL_LIMIT,
            path,
            lock_timeout: JsonFile::DEFAULT_LOCK_TIMEOUT,
            lock_notice: None,
            cached: Mutex::new(None),
        }
    }

    /// The journal's size bound by default: about 1,400 lines, 700 logins.
    pub const JOURNAL_LIMIT: u64 = 256 * 1024;

    /// Folds the journal into `users.json` once it would pass `bytes` (for tests: the
    /// default is [`JsonFile::JOURNAL_LIMIT`]).
    #[doc(hidden)]
    pub fn with_journal_limit(mut self, bytes: u64) -> Self {
        self.journal_limit = bytes;
        self
    }

    /// The journal beside the data file.
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    /// How long a change waits for the lock by default.
    pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);
    /// How long a change waits for the lock before it says so.
    pub const LOCK_NOTICE_AFTER: Duration = Duration::from_secs(2);

    /// Waits at most `timeout` for a lock held by another process, then fails with
    /// [`StoreError::LockTimeout`] (zero: one try).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Calls `notice` with the lock's path once a change has waited
    /// [`JsonFile::LOCK_NOTICE_AFTER`] for it.
    pub fn with_lock_notice(mut self, notice: LockNotice) -> Self {
        self.lock_notice = Some(notice);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file beside the data file.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    fn io_error(&self, action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { action, path, source }
    }

    /// The file's bytes as they are now, and its metadata when opened; `None` if there is
    /// no file. Anything unreadable is an error, never an empty store.
    fn read_bytes(&self) -> Result<Option<(Vec<u8>, Metadata)>, StoreError> {
        // Never a link, a FIFO, a device: only a regular file is read.
        let Some(mut file) = safe_open::open(&self.path, Mode::Read, None)? else {
            return Ok(None);
        };
        let meta = file.metadata().map_err(self.io_error("read", &self.path))?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        io::Read::read_to_end(&mut file, &mut bytes).map_err(self.io_error("read", &self.path))?;
        Ok(Some((bytes, meta)))
    }

    /// `users.json` as it is now, reusing `old` when the file is unchanged: by its stamp
    /// alone when that is trusted, else by comparing its bytes. New bytes are returned as
    /// they are, to be settled once the journal is read.
    fn refresh_base(&self, old: Option<BaseSnap>) -> Result<Read, StoreError> {
        let read_at = SystemTime::now();
        let old = old.filter(|o| o.stamp.is_some());
        if let Some(old) = &old
            && old.trusted
            && let Ok(meta) = fs::symlink_metadata(&self.path)
            && Some(Stamp::of(&meta)) == old.stamp
        {
            return Ok(Read::Known(old.clone()));
        }
        let Some((bytes, meta)) = self.read_bytes()? else {
            return Ok(Read::Known(BaseSnap::default()));
        };
        let stamp = Stamp::of(&meta);
        let trusted = stamp.settled_before(read_at);
        if let Some(old) = old
            && old.bytes() == Some(&bytes[..])
        {
            return Ok(Read::Known(BaseSnap {
                stamp: Some(stamp),
                trusted,
                ..old
            }));
        }
        Ok(Read::Fresh {
            bytes,
            stamp,
            trusted,
        })
    }

    /// New bytes of `users.json`, parsed and checked whole; or, if `journal` names them
    /// (an earlier read checked them whole), kept to be searched (docs/security.md rule 38).
    fn settle(&self, read: Read, journal: &Journal) -> Result<BaseSnap, StoreError> {
        let (mut bytes, stamp, trusted) = match read {
            Read::Known(base) => return Ok(base),
            Read::Fresh {
                bytes,
                stamp,
                trusted,
            } => (bytes, Some(stamp), trusted),
        };
        let hash: Arc<OnceLock<u64>> = Arc::default();
        if let Some(header) = journal.header()
            && header.extends(&bytes, || *hash.get_or_init(|| journal::xxh64(&bytes)))
        {
            match Prechecked::new(bytes) {
                Ok(pre) => {
                    return Ok(BaseSnap {
                        users: Users::new(),
                        stamp,
                        trusted,
                        legacy: None,
                        prechecked: Some(Arc::new(pre)),
                        hash,
                    });
                }
                Err(unsearchable) => bytes = unsearchable,
            }
        }
        let (users, legacy) = self.parse(bytes)?;
        Ok(BaseSnap {
            users,
            stamp,
            trusted,
            legacy: legacy.map(Arc::new),
            prechecked: None,
            hash,
        })
    }

    /// `snapshot` with `users.json` parsed and checked whole, for what needs every
    /// account (a list, a save); kept for later reads if it is still the one cached.
    fn indexed(&self, snapshot: Snapshot) -> Result<Snapshot, StoreError> {
        let Some(pre) = snapshot.base.prechecked.clone() else {
            return Ok(snapshot);
        };
        // Of this format's version (`Prechecked::new` saw to it), so never a legacy file.
        let (users, _) = self.parse(pre.bytes().to_vec())?;
        let base = BaseSnap {
            users,
            prechecked: None,
            ..snapshot.base
        };
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_mut()
            && c.base.prechecked.as_ref().is_some_and(|p| Arc::ptr_eq(p, &pre))
        {
            c.base = base.clone();
        }
        Ok(Snapshot {
            base,
            journal: snapshot.journal,
        })
    }

    /// The account `name` in `snapshot`, the journal replayed.
    fn record(&self, snapshot: &Snapshot, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let record = match &snapshot.base.prechecked {
            None => snapshot.base.users.get(name),
            Some(pre) => match pre.get(name) {
                Some(found) => found,
                // Not to be told by a search: parsed whole (and kept so).
                None => return self.record(&self.indexed(snapshot.clone())?, name),
            },
        };
        Ok(snapshot.replayed(name, record))
    }

    /// `users.json` and the journal as they are now (reusing what was read before where
    /// they are unchanged), kept for the next read.
    fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let old = self.cached.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (mut old_base, mut old_journal) = match old {
            Some(s) => (Some(s.base), Some(s.journal)),
            None => (None, None),
        };
        // The file, then the journal, then the file's stamp once more: a fold that renamed
        // a new file in between (and removed the journal the old one had) would otherwise
        // pair the old file with no journal, or with the new file's, and a reader would
        // see logins go backwards. Without the lock this is retried until the two agree
        // (a fold is rare); under it, nothing moves.
        let mut tries = 0;
        let snapshot = loop {
            let read = self.refresh_base(old_base.take())?;
            #[cfg(test)]
            tests::between_reads();
            let journal = Journal::refresh(&self.journal_path, old_journal.take())?;
            let base = self.settle(read, &journal)?;
            let now = fs::symlink_metadata(&self.path).ok().map(|m| Stamp::of(&m));
            tries += 1;
            if now == base.stamp || tries >= 100 {
                break Snapshot { base, journal };
            }
            old_base = Some(base);
            old_journal = Some(journal);
        };
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(snapshot.clone());
        Ok(snapshot)
    }

    fn forget(&self) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The accounts of `bytes`, and the bytes themselves if they are a legacy file.
    fn parse(&self, bytes: Vec<u8>) -> Result<(Users, Option<Vec<u8>>), StoreError> {
        let entries = match serde_json::from_slice::<Parsed>(&bytes) {
            Ok(Parsed::Current(entries)) => entries,
            Ok(Parsed::Legacy(pairs)) => {
                // The prototype's file: small, and rewritten in the current shape at the
                // next save, so every record is simply new.
                let users = pairs.into_iter().map(|(name, password_hash)| {
                    let record = UserRecord {
                        password_hash,
                        ..UserRecord::default()
                    };
                    (name, record)
                });
                let users = users.collect();
                return Ok((users, Some(bytes)));
            }
            Ok(Parsed::Future(found)) => {
                return Err(StoreError::UnsupportedVersion {
                    path: self.path.clone(),
                    found,
                });
            }
            Err(e) => {
                let mut reason = reason_of(&e);
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    reason = "the file is empty".to_owned();
                }
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    line: e.line(),
                    column: e.column(),
                    reason,
                });
            }
        };
        // Where each record lies, then every record checked, so that later reads of one
        // cannot fail and a save never carries a bad record along.
        let start = bytes.as_ptr() as usize;
        let mut index: Vec<(Box<str>, std::ops::Range<usize>)> = entries
            .into_iter()
            .map(|(name, raw)| {
                let at = raw.get().as_ptr() as usize - start;
                (name.into_boxed_str(), at..at + raw.get().len())
            })
            .collect();
        for (_, range) in &index {
            if let Err(e) = serde_json::from_slice::<UserRecord>(&bytes[range.clone()]) {
                let reason = reason_of(&e);
                let (line, column) = position(&bytes, range.start, e.line(), e.column());
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    line,
                    column,
                    reason,
                });
            }
        }
        // Files this store writes are sorted already (the sort is then one linear pass).
        index.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = index.windows(2).find(|w| w[0].0 == w[1].0) {
            let at = pair[0].1.start.max(pair[1].1.start);
            let name = crate::printable::name(&pair[0].0);
            return Err(self.corrupt_at(&bytes, at, format!("duplicate username \"{name}\"")));
        }
        Ok((
            Users::from_base(Base {
                bytes,
                entries: index,
            }),
            None,
        ))
    }

    fn corrupt_at(&self, bytes: &[u8], offset: usize, reason: String) -> StoreError {
        let (line, column) = position(bytes, offset, 1, 1);
        StoreError::Corrupt {
            path: self.path.clone(),
            line,
            column,
            reason,
        }
    }

    fn create_parent_dir(&self) -> Result<(), StoreError> {
        let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) else {
            return Ok(());
        };
        if dir.is_dir() {
            return Ok(());
        }
        // The directories to make, outermost first; root gives them to the owner of the
        // directory they are made in, as the files later made in them.
        let owner = Owner::of_nearest_dir(&self.path);
        let mut missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        // Directories we create are private to the user (0700), like ~/.ssh.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(self.io_error("create the directory", dir))?;
        safe_open::adopt_dirs(&missing, owner)
    }

    fn lock(&self) -> Result<File, StoreError> {
        self.create_parent_dir()?;
        let owner = Owner::of_data(&self.path);
        let file = safe_open::open(&self.lock_path, Mode::ReadWriteCreate, owner)?
            .ok_or_else(|| self.io_error("open", &self.lock_path)(io::ErrorKind::NotFound.into()))?;
        // The lock is on a separate file: a save renames a new inode over users.json, so a
        // lock held on users.json itself would stop excluding the next writer.
        // A lock held elsewhere is waited for, said after a while, and given up on in the
        // end: never a silent hang.
        let started = Instant::now();
        let mut told = false;
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(self.io_error("lock", &self.lock_path)(e)),
            }
            let waited = started.elapsed();
            if waited >= self.lock_timeout {
                return Err(StoreError::LockTimeout {
                    path: self.lock_path.clone(),
                    waited: self.lock_timeout,
                });
            }
            if !told && waited >= JsonFile::LOCK_NOTICE_AFTER {
                told = true;
                if let Some(notice) = &self.lock_notice {
                    notice(&self.lock_path);
                }
            }
            std::thread::sleep(pause.min(self.lock_timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Replaces the file atomically: a crash at any point leaves the old file or the new
    /// one, never a torn one. Called only with the lock held, so one temp name suffices.
    fn save(&self, users: &Users) -> Result<(), StoreError> {
        let result = self.write_temp(users).and_then(|()| {
            fault::point("after-temp-sync");
            fs::rename(&self.temp_path, &self.path).map_err(self.io_error("replace", &self.path))
        });
        if result.is_err() {
            let _ = fs::remove_file(&self.temp_path);
            return result;
        }
        fault::point("after-rename");
        // The rename is durable only once the directory entry is on disk: neither
        // rename nor tempfile-style helpers sync the directory for you.
        self.sync_dir()?;
        fault::point("after-dir-sync");
        Ok(())
    }

    fn write_temp(&self, users: &Users) -> Result<(), StoreError> {
        // A temp file left by a writer that crashed: ours to replace, since we hold the lock.
        match fs::remove_file(&self.temp_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(self.io_error("remove the stale temp file", &self.temp_path)(e));
            }
            _ => {}
        }
        // The whole file is made in memory and written with one call: a buffered writer's
        // hundreds of small writes cost milliseconds at 100,000 accounts.
        let mut buf = Vec::with_capacity(users.size_hint());
        users
            .write_file(&mut buf, FORMAT_VERSION)
            .map_err(self.io_error("write", &self.temp_path))?;
        // Nothing changed (a rewrite): keep the file's bytes as they were. The serializing
        // above is then only the work a real save does, kept so that both cost the same
        // (see `UserStore::rewrite`).
        let bytes = users.unchanged_bytes().unwrap_or(&buf);
        // The new file keeps the owner and group of the one it replaces (a save by root
        // must not take another user's file); a first file goes, from root, to the owner
        // of the directory.
        let replaces = fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_file());
        let owner = Owner::of_data(&self.path);
        let mut file = safe_open::open(&self.temp_path, Mode::CreateNew, None)?
            .ok_or_else(|| self.io_error("create", &self.temp_path)(io::ErrorKind::NotFound.into()))?;
        let meta = file
            .metadata()
            .map_err(self.io_error("create", &self.temp_path))?;
        safe_open::adopt(&file, &meta, owner, &self.path, replaces)?;
        io::Write::write_all(&mut file, bytes).map_err(self.io_error("write", &self.temp_path))?;
        fault::point("after-temp-write");
        file.sync_all().map_err(self.io_error("write", &self.temp_path))
    }
}

impl std::fmt::Debug for JsonFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonFile")
            .field("path", &self.path)
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_notice", &self.lock_notice.is_some())
            .finish_non_exhaustive()
    }
}

impl JsonFile {
    /// Read-modify-write of the whole file under its exclusive lock: `change` sees the
    /// current accounts (never a stale copy, the journal replayed) and says whether to
    /// save them. A save is a full rewrite, which folds the journal in.
    pub fn update(&self, change: &mut dyn FnMut(&mut Users) -> Change) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        // Re-read under the lock (never write from a stale copy): see `snapshot`.
        let snapshot = self.indexed(self.snapshot()?)?;
        let mut users = snapshot.users();
        if change(&mut users) == Change::Save {
            self.fold(&users)?;
        }
        Ok(())
        // `_lock` drops here, releasing the lock.
    }

    /// Saves `users` whole (the journal's effect is in them), then removes the journal,
    /// which no longer extends the file. A crash before the rename leaves the old file
    /// and its journal; after it, the new file and a journal that names the old one, so
    /// is ignored: the journal counts once either way.
    fn fold(&self, users: &Users) -> Result<(), StoreError> {
        self.forget();
        self.save(users)?;
        // A journal that cannot be removed is harmless (it names the old file) and is cut
        // at the next append; the save is done.
        let _ = fs::remove_file(&self.journal_path);
        fault::point("after-journal-remove");
        Ok(())
    }

    /// Appends `line` to the journal under the lock, starting the journal anew (a header
    /// naming the file as it is) when there is none or it is left from before a fold.
    /// Returns false, writing nothing, if the journal would pass its bound: the caller
    /// then folds.
    fn append(&self, snapshot: &Snapshot, line: &[u8]) -> Result<bool, StoreError> {
        let Some(bytes) = snapshot.base.bytes() else {
            return Ok(false);
        };
        let (keep, write) = if snapshot.journal_applies() {
            (snapshot.journal.good_end, line.to_vec())
        } else {
            let mut header = journal::header_line(&Header::new(bytes.len(), snapshot.base.hash()));
            header.extend_from_slice(line);
            (0, header)
        };
        if keep + write.len() as u64 > self.journal_limit {
            return Ok(false);
        }
        let created = fs::symlink_metadata(&self.journal_path).is_err();
        let owner = Owner::of_data(&self.path);
        let file = safe_open::open(&self.journal_path, Mode::AppendCreate, owner)?
            .ok_or_else(|| self.io_error("open", &self.journal_path)(io::ErrorKind::NotFound.into()))?;
        journal::append(&file, &self.journal_path, keep, &write)?;
        if created {
            // A new file is durable only once its directory entry is.
            self.sync_dir()?;
        }
        fault::point("journal-after-sync");
        Ok(true)
    }

    fn sync_dir(&self) -> Result<(), StoreError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        safe_open::open_dir(dir)?
            .sync_all()
            .map_err(self.io_error("sync the directory", dir))
    }
}

impl UserStore for JsonFile {
    fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        self.record(&self.snapshot()?, username)
    }

    fn all(&self) -> Result<UserMap, StoreError> {
        Ok(self.indexed(self.snapshot()?)?.users().to_map())
    }

    fn find(&self, names: &[&str]) -> Result<Option<(String, UserRecord)>, StoreError> {
        let snapshot = self.snapshot()?;
        // Every name is looked up, found or not: in a searched file each lookup is a scan
        // of it, and stopping at the first found would make a known name typed with a
        // capital cost less than an unknown one (docs/security.md rule 11).
        let mut found = None;
        for name in names {
            let record = self.record(&snapshot, name)?;
            if found.is_none() {
                found = record.map(|r| ((*name).to_owned(), r));
            }
        }
        Ok(found)
    }

    /// A change of the five fields a login changes (`journal::Facts`) on an account that
    /// stays is a journal line; anything else (a new account, a deletion, a new hash, an
    /// unknown field) is a full rewrite.
    fn update_user(
        &self,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let snapshot = self.snapshot()?;
        let before = self.record(&snapshot, username)?;
        let mut record = before.clone();
        if change(&mut record) == Change::Keep {
            return Ok(());
        }
        match (&before, record) {
            (None, None) => Ok(()),
            (Some(old), Some(new)) if snapshot.can_journal() && Facts::only_difference(old, &new) => {
                let line = journal::set_line(username, &Facts::of(&new));
                if !self.append(&snapshot, &line)? {
                    let mut users = self.indexed(snapshot)?.users();
                    users.insert(username.to_owned(), new);
                    self.fold(&users)?;
                }
                Ok(())
            }
            (_, new) => {
                let mut users = self.indexed(snapshot)?.users();
                match new {
                    Some(new) => {
                        users.insert(username.to_owned(), new);
                    }
                    None => {
                        users.remove(username);
                    }
                }
                self.fold(&users)
            }
        }
    }

    fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
        insert_new_by(|change| self.update(change), accounts)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// What a claim costs: a line appended (one that changes nothing), or, where a claim
    /// would rewrite the file (a legacy file, a full journal), the file rewritten.
    fn rewrite(&self) -> Result<(), StoreError> {
        // No file, no accounts: and taking the lock would create the directory.
        if !self.path.exists() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let mut snapshot = self.snapshot()?;
        let empty = match snapshot.base.prechecked.as_ref().and_then(|pre| pre.is_empty()) {
            Some(empty) => empty,
            None => {
                snapshot = self.indexed(snapshot)?;
                unchanged_unless_empty(&mut snapshot.base.users.clone()) == Change::Keep
            }
        };
        if empty {
            return Ok(());
        }
        if snapshot.can_journal() && self.append(&snapshot, &journal::noop_line())? {
            return Ok(());
        }
        self.fold(&self.indexed(snapshot)?.users())
    }
}

/// serde_json's message without its " at line L column C" (the position is given our
/// way), printable and short: it may quote a key from the file.
fn reason_of(e: &serde_json::Error) -> String {
    let mut reason = e.to_string();
    if let Some(cut) = reason.rfind(" at line ") {
        reason.truncate(cut);
    }
    crate::printable::printable(&reason, 200)
}

/// The 1-based line and column of a position given relative to the value at `offset`
/// (as serde_json reports errors inside a record parsed on its own).
fn position(bytes: &[u8], offset: usize, line: usize, column: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let base_line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let base_column = String::from_utf8_lossy(&before[line_start..]).chars().count();
    if line <= 1 {
        (base_line, base_column + column)
    } else {
        (base_line + line - 1, column)
    }
}

/// Crash injection for the fault tests: with `AUTHTUI_TEST_CRASH_AT=<step>` in the
/// environment, the process aborts at that step of a save (`after-temp-write`,
/// `after-temp-sync`, `after-rename`, `after-dir-sync`, then, folding the journal in,
/// `after-journal-remove`) or of a journal append (`journal-after-write`: the line
/// written, not synced; `journal-after-sync`: synced, not yet acknowledged), as a power
/// cut or `kill -9` would stop it. It is in every build so the tests drive the real binary; it lets a user
/// do nothing they could not do with `kill -9`.
pub(super) mod fault {
    pub const VAR: &str = "AUTHTUI_TEST_CRASH_AT";

    pub fn point(name: &str) {
        if std::env::var_os(VAR).is_some_and(|v| v == name) {
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A users.json with `names`, and a journal naming it (a login was recorded).
    fn searched(dir: &Path, names: &[&str]) -> JsonFile {
        let path = dir.join("users.json");
        let accounts: Vec<(String, UserRecord)> = names
            .iter()
            .map(|n| (n.to_string(), UserRecord::default()))
            .collect();
        JsonFile::new(&path).insert_new(&accounts).unwrap();
        JsonFile::new(&path)
            .update_user(names[0], &mut |r| {
                r.as_mut().unwrap().login_count += 1;
                Change::Save
            })
            .unwrap();
        JsonFile::new(&path)
    }

    thread_local! {
        /// Run once by this thread's next `snapshot`, between its read of users.json and
        /// of the journal: where another process's fold may fall.
        static BETWEEN_READS: std::cell::RefCell<Option<Box<dyn FnOnce()>>> =
            const { std::cell::RefCell::new(None) };
    }

    pub(super) fn between_reads() {
        if let Some(then) = BETWEEN_READS.with(|hook| hook.borrow_mut().take()) {
            then();
        }
    }

    fn searches(store: &JsonFile) -> Option<usize> {
        let snapshot = store.cached.lock().unwrap().clone()?;
        Some(snapshot.base.prechecked?.searched())
    }

    #[test]
    fn the_default_data_file_is_users_json_in_an_authtui_directory() {
        // Wherever the platform puts data (this test's HOME or XDG_DATA_HOME).
        let path = default_path().expect("a home directory");
        assert!(path.ends_with("authtui/users.json"), "{}", path.display());
        assert!(path.is_absolute(), "{}", path.display());
    }

    #[test]
    fn a_stamp_holds_the_file_times_in_nanoseconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        file.set_modified(mtime).unwrap();
        let stamp = Stamp::of(&file.metadata().unwrap());
        assert_eq!(stamp.mtime_ns, 1_700_000_000_123_456_789);
        let meta = file.metadata().unwrap();
        assert_eq!(
            stamp.ctime_ns,
            meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128
        );
        assert!(stamp.ctime_ns > stamp.mtime_ns, "changed now, after the time set");
    }

    #[test]
    fn a_file_written_again_with_the_same_bytes_is_kept_with_its_new_stamp() {
        // Same bytes, new times: the parse is kept, under the file's new stamp, trusted
        // once the file has settled (so the next read is a stat, not a read).
        let dir = tempfile::tempdir().unwrap();
        let store = searched(dir.path(), &["alice", "bob"]);
        let path = store.path().to_path_buf();
        store.get("alice").unwrap();
        let before = store.cached.lock().unwrap().clone().unwrap().base;
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&path, fs::read(&path).unwrap()).unwrap();
        std::thread::sleep(Duration::from_nanos(RACY_NS as u64 + 10_000_000));
        store.get("alice").unwrap();
        let after = store.cached.lock().unwrap().clone().unwrap().base;
        let now = Stamp::of(&fs::metadata(&path).unwrap());
        assert_ne!(before.stamp, Some(now));
        assert_eq!(after.stamp, Some(now));
        assert!(after.trusted);
        let same = |a: &BaseSnap, b: &BaseSnap| match (&a.prechecked, &b.prechecked) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        assert!(same(&before, &after), "the bytes were not taken in anew");
    }

    #[test]
    fn an_error_inside_a_record_is_placed_in_the_whole_file() {
        // "é" is one column; the record starts at line 2, column 8.
        let bytes = "{\"users\":\n  \"é\": {\"a\":\n 1}}".as_bytes();
        let offset = bytes.iter().rposition(|&b| b == b'{').unwrap();
        assert_eq!(position(bytes, offset, 1, 1), (2, 8), "the record's first byte");
        assert_eq!(
            position(bytes, offset, 1, 5),
            (2, 12),
            "further on its first line"
        );
        assert_eq!(
            position(bytes, offset, 2, 3),
            (3, 3),
            "a later line of the record"
        );
        assert_eq!(position(bytes, 0, 1, 1), (1, 1));
    }

    #[test]
    fn a_bad_record_is_refused_with_where_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let text = "{\"version\": 1, \"users\": {\n  \"alice\": {\"password_hash\": \"h\"},\n  \"bob\": {\"password_hash\": \"h\", \"login_count\": \"x\"}\n}}\n";
        fs::write(&path, text).unwrap();
        match JsonFile::new(&path).get("alice") {
            Err(StoreError::Corrupt {
                line, column, reason, ..
            }) => {
                assert_eq!((line, column), (3, 50), "{reason}: the end of \"x\"");
                assert_eq!(reason, "invalid type: string \"x\", expected u64");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stamp_is_trusted_only_once_the_file_has_settled() {
        let stamp = |mtime_ns: i128, ctime_ns: i128| Stamp {
            dev: 1,
            ino: 2,
            len: 3,
            mtime_ns,
            ctime_ns,
        };
        let at = |ns: i128| SystemTime::UNIX_EPOCH + Duration::from_nanos(ns as u64);
        let changed = 1_000_000_000_000;
        // The later of the two times counts, whichever it is.
        for s in [stamp(changed, changed - 5), stamp(changed - 5, changed)] {
            assert!(!s.settled_before(at(changed)), "read in the same tick");
            assert!(
                !s.settled_before(at(changed + RACY_NS)),
                "read just within the window"
            );
            assert!(s.settled_before(at(changed + RACY_NS + 1)), "read after it");
        }
        assert!(
            !stamp(changed, changed).settled_before(at(changed - 1)),
            "read before the change"
        );
    }

    #[test]
    fn find_looks_up_every_name_found_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = searched(dir.path(), &["alice", "bob"]);
        let (name, _) = store.find(&["alice", "Alice"]).unwrap().unwrap();
        assert_eq!(name, "alice");
        assert_eq!(searches(&store), Some(2), "the second name was looked up too");
        assert!(store.find(&["carol", "Carol"]).unwrap().is_none());
        assert_eq!(searches(&store), Some(4));
        // And what a login asks next (the claim, the success) is answered from those.
        store.get("alice").unwrap().unwrap();
        assert_eq!(searches(&store), Some(4));
    }

    #[test]
    fn a_fold_between_the_reads_of_the_file_and_its_journal_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        // alice's login is in the journal, not yet in the file.
        let reader = searched(dir.path(), &["alice"]);
        // Another process folds the journal in (a new account is a rewrite) just after
        // this read took the old file: the journal it then reads is gone.
        BETWEEN_READS.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move || {
                let other = JsonFile::new(&path);
                other
                    .insert_new(&[("bob".into(), UserRecord::default())])
                    .unwrap();
                assert!(!other.journal_path().exists(), "folded");
            }))
        });
        let alice = reader.get("alice").unwrap().unwrap();
        assert!(BETWEEN_READS.with(|hook| hook.borrow().is_none()), "the fold ran");
        assert_eq!(
            alice.login_count, 1,
            "the old file without its journal: a login lost"
        );
        assert_eq!(reader.get("bob").unwrap(), Some(UserRecord::default()));
    }

    #[test]
    fn a_fifth_name_indexes_the_file_for_later_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = searched(dir.path(), &["alice", "bob"]);
        for name in ["a1", "a2", "a3", "a4"] {
            assert!(store.get(name).unwrap().is_none());
        }
        assert_eq!(searches(&store), Some(4));
        assert_eq!(store.get("bob").unwrap(), Some(UserRecord::default()));
        assert_eq!(searches(&store), None, "parsed and kept so");
        assert_eq!(store.get("alice").unwrap().unwrap().login_count, 1);
    }
}
