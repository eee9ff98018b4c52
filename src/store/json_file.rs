//! `users.json` on disk: read without a lock (saves are atomic renames), change under an
//! exclusive lock on `users.json.lock`, save through a synced temp file.

use std::fs::{self, File, TryLockError};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::format::Parsed;
use super::safe_open::{self, Mode, Owner};
use super::users::Base;
use super::{
    Change, FORMAT_VERSION, StoreError, UserMap, UserRecord, UserStore, Users, change_one, insert_free,
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
    /// How long a change waits for a lock held elsewhere before it fails.
    lock_timeout: Duration,
    lock_notice: Option<LockNotice>,
    /// The accounts last read by `get`, so that the `update` that usually follows (a login
    /// recording its facts) need not parse and check the same bytes again. Used only if
    /// the file, re-read under the lock, is byte for byte what was parsed; taken, not
    /// copied, by `update`.
    cached: Mutex<Option<Users>>,
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
            path,
            lock_timeout: JsonFile::DEFAULT_LOCK_TIMEOUT,
            lock_notice: None,
            cached: Mutex::new(None),
        }
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

    /// The file's bytes as they are now; `None` if there is no file. Anything unreadable
    /// is an error, never an empty store.
    fn read_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        // Never a link, a FIFO, a device: only a regular file is read.
        let Some(mut file) = safe_open::open(&self.path, Mode::Read, None)? else {
            return Ok(None);
        };
        let meta = file.metadata().map_err(self.io_error("read", &self.path))?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        io::Read::read_to_end(&mut file, &mut bytes).map_err(self.io_error("read", &self.path))?;
        Ok(Some(bytes))
    }

    /// Reads and parses the file as it is now (a missing file is an empty store).
    fn read(&self) -> Result<Users, StoreError> {
        match self.read_bytes()? {
            Some(bytes) => self.parse(bytes),
            None => Ok(Users::new()),
        }
    }

    fn parse(&self, bytes: Vec<u8>) -> Result<Users, StoreError> {
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
                return Ok(users.collect());
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
        Ok(Users::from_base(Base {
            bytes,
            entries: index,
        }))
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
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        safe_open::open_dir(dir)?
            .sync_all()
            .map_err(self.io_error("sync the directory", dir))?;
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
    /// current accounts (never a stale copy) and says whether to save them.
    pub fn update(&self, change: &mut dyn FnMut(&mut Users) -> Change) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Re-read under the lock (never write from a stale copy). Parsing and checking is
        // skipped only when the bytes are exactly those the cached accounts came from.
        let mut users = match (self.read_bytes()?, cached) {
            (Some(bytes), Some(cached)) if cached.is_read_from(&bytes) => cached,
            (Some(bytes), _) => self.parse(bytes)?,
            (None, _) => Users::new(),
        };
        if change(&mut users) == Change::Save {
            self.save(&users)?;
        }
        Ok(())
        // `_lock` drops here, releasing the lock.
    }
}

impl UserStore for JsonFile {
    fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let users = self.read()?;
        let record = users.get(username);
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(users);
        Ok(record)
    }

    fn all(&self) -> Result<UserMap, StoreError> {
        Ok(self.read()?.to_map())
    }

    fn find(&self, names: &[&str]) -> Result<Option<(String, UserRecord)>, StoreError> {
        let users = self.read()?;
        let found = names
            .iter()
            .find_map(|name| Some(((*name).to_owned(), users.get(name)?)));
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(users);
        Ok(found)
    }

    fn update_user(
        &self,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<(), StoreError> {
        self.update(&mut |users| change_one(users, username, change))
    }

    fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
        let mut added = Vec::new();
        self.update(&mut |users| {
            let (which, change) = insert_free(users, accounts);
            added = which;
            change
        })?;
        Ok(added)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn rewrite(&self) -> Result<(), StoreError> {
        // No file, no accounts: and taking the lock would create the directory.
        if !self.path.exists() {
            return Ok(());
        }
        self.update(&mut unchanged_unless_empty)
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
/// `after-temp-sync`, `after-rename`, `after-dir-sync`), as a power cut or `kill -9`
/// would stop it. It is in every build so the tests drive the real binary; it lets a user
/// do nothing they could not do with `kill -9`.
mod fault {
    pub const VAR: &str = "AUTHTUI_TEST_CRASH_AT";

    pub fn point(name: &str) {
        if std::env::var_os(VAR).is_some_and(|v| v == name) {
            std::process::abort();
        }
    }
}
