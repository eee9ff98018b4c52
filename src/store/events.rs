//! The activity log: `events.jsonl` beside `users.json`, one JSON object a line, appended
//! and never rewritten. It holds times, usernames and what happened; never a password.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::safe_open::{self, Mode, Owner};

/// What happened. The names are the file's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Signup,
    LoginSuccess,
    LoginFailure,
    Locked,
    Logout,
    IdleTimeout,
    PasswordChanged,
    AccountDeleted,
    /// Administrator actions (the CLI).
    AccountCreated,
    AccountRemoved,
    PasswordSet,
    Unlocked,
    Imported,
}

impl EventKind {
    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            EventKind::Signup => "signed up",
            EventKind::LoginSuccess => "logged in",
            EventKind::LoginFailure => "failed login",
            EventKind::Locked => "locked after failed logins",
            EventKind::Logout => "logged out",
            EventKind::IdleTimeout => "signed out after inactivity",
            EventKind::PasswordChanged => "changed password",
            EventKind::AccountDeleted => "deleted the account",
            EventKind::AccountCreated => "account created by an administrator",
            EventKind::AccountRemoved => "account removed by an administrator",
            EventKind::PasswordSet => "password set by an administrator",
            EventKind::Unlocked => "unlocked by an administrator",
            EventKind::Imported => "imported from htpasswd",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(with = "super::time::required")]
    pub at: DateTime<Utc>,
    pub event: EventKind,
    pub username: String,
}

/// Where events go.
pub trait EventLog: Send + Sync {
    fn append(&self, event: &Event) -> Result<(), StoreError>;

    /// The newest `limit` events of one user, newest first.
    fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError>;

    /// Every event, oldest first.
    fn all(&self) -> Result<Vec<Event>, StoreError>;
}

/// `events.jsonl`: created 0600, appended with one write per line (O_APPEND), so lines
/// from several processes never interleave.
#[derive(Debug)]
pub struct EventFile {
    path: PathBuf,
}

impl EventFile {
    pub fn new(path: impl Into<PathBuf>) -> EventFile {
        EventFile { path: path.into() }
    }

    /// `events.jsonl` in the directory of `users_json`.
    pub fn beside(users_json: &Path) -> EventFile {
        EventFile::new(users_json.with_file_name("events.jsonl"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, action: &'static str) -> impl FnOnce(io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    fn parse_line(&self, line: &[u8], number: usize) -> Result<Event, StoreError> {
        serde_json::from_slice(line).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            line: number,
            column: e.column(),
            reason: e.to_string(),
        })
    }
}

impl EventLog for EventFile {
    fn append(&self, event: &Event) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(event).map_err(|e| self.io("write")(e.into()))?;
        line.push(b'\n');
        // Before any account exists there is no data directory, and nothing worth a log
        // (a failed login against an empty store): reads must not create files.
        if self
            .path
            .parent()
            .is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir())
        {
            return Ok(());
        }
        let owner = Owner::of_nearest_dir(&self.path);
        let Some(mut file) = safe_open::open(&self.path, Mode::AppendCreate, owner)? else {
            return Ok(());
        };
        file.write_all(&line).map_err(self.io("write"))
    }

    fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError> {
        let Some(mut file) = safe_open::open(&self.path, Mode::Read, None)? else {
            return Ok(Vec::new());
        };
        // Read backwards in chunks: the log only grows, and the newest lines are at the end.
        const CHUNK: u64 = 64 * 1024;
        let mut end = file.seek(SeekFrom::End(0)).map_err(self.io("read"))?;
        let mut tail: Vec<u8> = Vec::new();
        let mut found = Vec::new();
        while found.len() < limit && end > 0 {
            let start = end.saturating_sub(CHUNK);
            let mut chunk = vec![0; (end - start) as usize];
            file.seek(SeekFrom::Start(start)).map_err(self.io("read"))?;
            file.read_exact(&mut chunk).map_err(self.io("read"))?;
            chunk.extend_from_slice(&tail);
            // The first line of the chunk may be partial unless the chunk starts the file.
            let split = if start == 0 {
                0
            } else {
                chunk
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(chunk.len(), |i| i + 1)
            };
            tail = chunk[..split].to_vec();
            for line in chunk[split..].split(|&b| b == b'\n').rev() {
                if line.is_empty() || found.len() == limit {
                    continue;
                }
                // A torn or foreign line is skipped here; `all` reports it.
                if let Ok(event) = serde_json::from_slice::<Event>(line)
                    && event.username == username
                {
                    found.push(event);
                }
            }
            end = start;
        }
        Ok(found)
    }

    fn all(&self) -> Result<Vec<Event>, StoreError> {
        let mut bytes = Vec::new();
        match safe_open::open(&self.path, Mode::Read, None)? {
            Some(mut f) => f.read_to_end(&mut bytes).map_err(self.io("read"))?,
            None => return Ok(Vec::new()),
        };
        bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(i, line)| self.parse_line(line, i + 1))
            .collect()
    }
}

/// Events kept in memory (tests, and programs without a log file).
#[derive(Debug, Default)]
pub struct MemoryLog {
    events: Mutex<Vec<Event>>,
}

impl MemoryLog {
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }
}

impl EventLog for MemoryLog {
    fn append(&self, event: &Event) -> Result<(), StoreError> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
        Ok(())
    }

    fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        Ok(events
            .iter()
            .rev()
            .filter(|e| e.username == username)
            .take(limit)
            .cloned()
            .collect())
    }

    fn all(&self) -> Result<Vec<Event>, StoreError> {
        Ok(self.events.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(secs: i64, kind: EventKind, user: &str) -> Event {
        Event {
            at: DateTime::from_timestamp(secs, 0).unwrap(),
            event: kind,
            username: user.into(),
        }
    }

    #[test]
    fn appends_lines_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        log.append(&event(1, EventKind::Signup, "alice")).unwrap();
        log.append(&event(2, EventKind::LoginFailure, "bob")).unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            r#"{"at":"1970-01-01T00:00:01Z","event":"signup","username":"alice"}"#
        );
        assert_eq!(log.all().unwrap().len(), 2);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn recent_finds_the_newest_of_one_user_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        for i in 0..5000 {
            let user = if i % 100 == 0 { "alice" } else { "bob" };
            log.append(&event(i, EventKind::LoginSuccess, user)).unwrap();
        }
        let recent = log.recent("alice", 5).unwrap();
        let times: Vec<i64> = recent.iter().map(|e| e.at.timestamp()).collect();
        assert_eq!(times, [4900, 4800, 4700, 4600, 4500]);
        assert_eq!(log.recent("nobody", 5).unwrap(), []);
    }

    #[test]
    fn no_directory_no_log_and_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("new/authtui/events.jsonl"));
        log.append(&event(1, EventKind::LoginFailure, "nobody")).unwrap();
        assert!(!dir.path().join("new").exists());
    }

    #[test]
    fn a_missing_log_is_empty() {
        let log = EventFile::new("/nonexistent/dir/events.jsonl");
        assert_eq!(log.recent("a", 5).unwrap(), []);
        assert_eq!(log.all().unwrap(), []);
    }
}
