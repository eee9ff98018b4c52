//! The activity log: `events.jsonl` beside `users.json`, one JSON object a line, appended
//! and never rewritten. It holds times, usernames and what happened; never a password.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    #[serde(with = "super::timestamp::required")]
    pub at: DateTime<Utc>,
    pub event: EventKind,
    pub username: String,
    /// The client address of a served session that caused it (`203.0.113.7:50122`);
    /// absent for the local terminal and the commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Where events go.
pub trait EventLog: Send + Sync {
    fn append(&self, event: &Event) -> Result<(), StoreError>;

    /// Appends many events at once, in order (a migration): one write where the log can.
    fn append_all(&self, events: &[Event]) -> Result<(), StoreError> {
        events.iter().try_for_each(|e| self.append(e))
    }

    /// What the reads since the last call skipped, for people (a torn line in a file).
    fn take_warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// The newest `limit` events of one user, newest first.
    fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError>;

    /// Every event, oldest first.
    fn all(&self) -> Result<Vec<Event>, StoreError>;
}

/// A log shared with whoever keeps a handle on it (the CLI keeps one to print what a
/// read skipped).
impl<T: EventLog + ?Sized> EventLog for Arc<T> {
    fn append(&self, event: &Event) -> Result<(), StoreError> {
        (**self).append(event)
    }

    fn append_all(&self, events: &[Event]) -> Result<(), StoreError> {
        (**self).append_all(events)
    }

    fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError> {
        (**self).recent(username, limit)
    }

    fn all(&self) -> Result<Vec<Event>, StoreError> {
        (**self).all()
    }

    fn take_warnings(&self) -> Vec<String> {
        (**self).take_warnings()
    }
}

/// `events.jsonl`: created 0600, appended with one write per line (O_APPEND), so lines
/// from several processes never interleave. A line is written whole or not at all: an
/// append holds an exclusive lock on the file, first cuts a torn tail (a line without its
/// newline, left by a short write of an older build or a crash), and cuts its own line
/// back if the write fails part way (disk full, file size limit). Readers skip a torn or
/// unparsable line instead of failing; [`EventFile::take_warnings`] says which.
#[derive(Debug)]
pub struct EventFile {
    path: PathBuf,
    /// What the last [`EventLog::all`] skipped, one message a line (at most
    /// [`MAX_WARNINGS`] and a count of the rest).
    warnings: Mutex<Vec<String>>,
}

/// Lines skipped in one read that are each named; more are counted in one message.
const MAX_WARNINGS: usize = 20;

impl EventFile {
    pub fn new(path: impl Into<PathBuf>) -> EventFile {
        EventFile {
            path: path.into(),
            warnings: Mutex::new(Vec::new()),
        }
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

    /// A warning about line `number`, which is skipped.
    fn skipped(&self, number: usize, why: &str) -> String {
        format!(
            "{}:{number}: skipped a line that is not a whole event ({}); the other lines are shown",
            crate::printable::path(&self.path),
            crate::printable::printable(why, 200),
        )
    }

    /// Every whole line that parses, oldest first, and a warning for each one that does
    /// not (a torn tail, a glued or foreign line).
    fn parse_all(&self, bytes: &[u8]) -> (Vec<Event>, Vec<String>) {
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let (body, tail) = bytes.split_at(whole);
        let mut events = Vec::new();
        let mut warnings = Vec::new();
        let mut bad = 0;
        let mut warn = |warnings: &mut Vec<String>, message: &dyn Fn() -> String| {
            bad += 1;
            if bad <= MAX_WARNINGS {
                warnings.push(message());
            }
        };
        let mut lines = 0;
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            lines = i;
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Event>(line) {
                Ok(event) => events.push(event),
                Err(e) => warn(&mut warnings, &|| self.skipped(i + 1, &reason_of(&e))),
            }
        }
        if !tail.is_empty() {
            let why = "torn: it has no newline at its end";
            warn(&mut warnings, &|| self.skipped(lines + 1, why));
        }
        if bad > MAX_WARNINGS {
            warnings.push(format!(
                "{}: {} more lines that are not whole events were skipped",
                crate::printable::path(&self.path),
                bad - MAX_WARNINGS
            ));
        }
        (events, warnings)
    }

    /// Cuts a torn tail (bytes after the last newline) off the log; gives the length
    /// left. Called with the exclusive lock held.
    fn cut_torn_tail(&self, file: &File) -> Result<u64, StoreError> {
        let len = file.metadata().map_err(self.io("read"))?.len();
        let mut end = len;
        let mut last = [0u8];
        if end == 0 || (file.read_exact_at(&mut last, end - 1).is_ok() && last[0] == b'\n') {
            return Ok(len);
        }
        // Find the last newline, reading backwards a block at a time.
        let mut block = vec![0u8; 4096];
        let whole = loop {
            if end == 0 {
                break 0;
            }
            let start = end.saturating_sub(block.len() as u64);
            let chunk = &mut block[..(end - start) as usize];
            file.read_exact_at(chunk, start).map_err(self.io("read"))?;
            if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
                break start + i as u64 + 1;
            }
            end = start;
        };
        file.set_len(whole)
            .map_err(self.io("cut the torn last line of"))?;
        Ok(whole)
    }
}

/// serde_json's message without its " at line 1 column C" (the line is given our way).
fn reason_of(e: &serde_json::Error) -> String {
    let mut reason = e.to_string();
    if let Some(cut) = reason.rfind(" at line ") {
        reason.truncate(cut);
    }
    format!("{reason}, at column {}", e.column())
}

impl EventLog for EventFile {
    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn append(&self, event: &Event) -> Result<(), StoreError> {
        self.append_all(std::slice::from_ref(event))
    }

    /// All the lines in one write, whole or not at all.
    fn append_all(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut line = Vec::new();
        for event in events {
            serde_json::to_writer(&mut line, event).map_err(|e| self.io("write")(e.into()))?;
            line.push(b'\n');
        }
        if line.is_empty() {
            return Ok(());
        }
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
        let Some(file) = safe_open::open(&self.path, Mode::AppendCreate, owner)? else {
            return Ok(());
        };
        // Exclusive while the tail is checked and the line written: no other writer can
        // append between the two, or be cut back by our truncation. (Released on close.)
        file.lock().map_err(self.io("lock"))?;
        let len = self.cut_torn_tail(&file)?;
        if let Err(e) = (&file).write_all(&line) {
            // A short write leaves part of the line: take it back. Should that fail too,
            // the next append cuts it as a torn tail.
            let _ = file.set_len(len);
            return Err(self.io("write")(e));
        }
        Ok(())
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
        // The file's last segment (after its last newline) is torn unless it is empty.
        let mut last_seen = false;
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
            let mut lines = chunk[split..].split(|&b| b == b'\n').rev();
            if !last_seen && split < chunk.len() {
                last_seen = true;
                lines.next();
            }
            for line in lines {
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
        let (events, warnings) = self.parse_all(&bytes);
        *self.warnings.lock().unwrap_or_else(|p| p.into_inner()) = warnings;
        Ok(events)
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
            from: None,
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

    fn line(secs: i64, user: &str) -> String {
        let mut text = serde_json::to_string(&event(secs, EventKind::LoginSuccess, user)).unwrap();
        text.push('\n');
        text
    }

    #[test]
    fn all_skips_torn_and_foreign_lines_and_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        let text = line(1, "alice")
            + r#"{"at":"1970-01-01T00:00:02Z","event":"log"#
            + &line(3, "bob")
            + r#"{"at":"1970-01-01T00:00:04Z","event":"\u001b]0;x\u0007","username":"x"}"#
            + "\n"
            + &line(5, "carol")
            + r#"{"at":"1970"#;
        std::fs::write(log.path(), text).unwrap();
        let times: Vec<i64> = log.all().unwrap().iter().map(|e| e.at.timestamp()).collect();
        assert_eq!(times, [1, 5]);
        let warnings = log.take_warnings();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        for (w, n) in warnings.iter().zip([2, 3, 5]) {
            assert!(w.contains(&format!("events.jsonl:{n}: skipped")), "{w}");
            assert!(!w.chars().any(crate::printable::is_hidden), "{w:?}");
        }
        assert!(warnings[2].contains("torn"), "{}", warnings[2]);
        assert_eq!(log.take_warnings(), Vec::<String>::new());
    }

    #[test]
    fn many_bad_lines_are_counted_not_each_named() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        std::fs::write(log.path(), "junk\n".repeat(1000) + &line(1, "alice")).unwrap();
        assert_eq!(log.all().unwrap().len(), 1);
        let warnings = log.take_warnings();
        assert_eq!(warnings.len(), MAX_WARNINGS + 1);
        assert!(warnings[MAX_WARNINGS].contains("980 more lines"), "{warnings:?}");
    }

    #[test]
    fn an_append_cuts_a_torn_tail_first() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        // A tail longer than the block the cut reads backwards with, and a file with no
        // newline at all.
        for (before, torn) in [
            (line(1, "alice"), "x".repeat(10_000)),
            (line(1, "alice"), r#"{"at":"#.to_owned()),
            (String::new(), "no newline anywhere".to_owned()),
        ] {
            std::fs::write(log.path(), before.clone() + &torn).unwrap();
            log.append(&event(2, EventKind::LoginSuccess, "bob")).unwrap();
            let text = std::fs::read_to_string(log.path()).unwrap();
            assert_eq!(text, before + &line(2, "bob"));
        }
    }

    #[test]
    fn recent_skips_a_torn_last_line_even_one_that_parses() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        // A short write that lost only the newline: the next append cuts it, so a reader
        // must not show it either.
        let text = line(1, "alice") + line(2, "alice").trim_end();
        std::fs::write(log.path(), &text).unwrap();
        let times: Vec<i64> = log
            .recent("alice", 5)
            .unwrap()
            .iter()
            .map(|e| e.at.timestamp())
            .collect();
        assert_eq!(times, [1]);
        assert_eq!(log.all().unwrap().len(), 1);
        // And across chunks: a torn tail longer than the 64 KiB the read goes back by.
        let text = line(1, "alice") + &"y".repeat(100_000);
        std::fs::write(log.path(), &text).unwrap();
        assert_eq!(log.recent("alice", 5).unwrap().len(), 1);
        // And a torn last line longer than a chunk that parses all the same.
        let long = "a".repeat(70_000);
        let text = line(1, &long) + line(2, &long).trim_end();
        std::fs::write(log.path(), &text).unwrap();
        let times: Vec<i64> = log
            .recent(&long, 5)
            .unwrap()
            .iter()
            .map(|e| e.at.timestamp())
            .collect();
        assert_eq!(times, [1]);
    }

    #[test]
    fn recent_reads_every_line_across_chunk_bounds() {
        // Lines of many lengths, so that some straddle each 64 KiB bound the read goes
        // back by: none is lost or cut.
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        let events: Vec<Event> = (0..3000)
            .map(|i| Event {
                from: Some(format!("203.0.113.{}:{}", i % 250, 1000 + i * 7)),
                ..event(i, EventKind::LoginSuccess, "alice")
            })
            .collect();
        log.append_all(&events).unwrap();
        assert!(std::fs::metadata(log.path()).unwrap().len() > 3 * 64 * 1024);
        let times: Vec<i64> = log
            .recent("alice", 5000)
            .unwrap()
            .iter()
            .map(|e| e.at.timestamp())
            .collect();
        assert_eq!(times, (0..3000).rev().collect::<Vec<i64>>());
    }

    #[test]
    fn as_many_bad_lines_as_are_named_get_no_count() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventFile::new(dir.path().join("events.jsonl"));
        std::fs::write(log.path(), "junk\n".repeat(MAX_WARNINGS) + &line(1, "alice")).unwrap();
        assert_eq!(log.all().unwrap().len(), 1);
        let warnings = log.take_warnings();
        assert_eq!(warnings.len(), MAX_WARNINGS, "{warnings:?}");
        assert!(!warnings.iter().any(|w| w.contains("more lines")), "{warnings:?}");
        // Each says why, in serde_json's words with the column ours.
        assert!(
            warnings[0].contains("(expected value, at column 1)"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn the_logs_without_their_own_batch_or_warnings_append_in_order_and_warn_of_nothing() {
        // MemoryLog keeps the trait's own `append_all` and `take_warnings`.
        let log = MemoryLog::new();
        let events = [
            event(1, EventKind::Signup, "alice"),
            event(2, EventKind::LoginSuccess, "alice"),
        ];
        log.append_all(&events).unwrap();
        assert_eq!(log.all().unwrap(), events);
        assert_eq!(log.take_warnings(), Vec::<String>::new());
        // A shared file log passes a batch and its warnings on.
        let dir = tempfile::tempdir().unwrap();
        let shared = Arc::new(EventFile::new(dir.path().join("events.jsonl")));
        EventLog::append_all(&shared, &events).unwrap();
        assert_eq!(EventLog::all(&shared).unwrap(), events);
        std::fs::write(shared.path(), "junk\n").unwrap();
        EventLog::all(&shared).unwrap();
        assert_eq!(EventLog::take_warnings(&shared).len(), 1);
    }

    #[test]
    fn a_missing_log_is_empty() {
        let log = EventFile::new("/nonexistent/dir/events.jsonl");
        assert_eq!(log.recent("a", 5).unwrap(), []);
        assert_eq!(log.all().unwrap(), []);
    }
}
