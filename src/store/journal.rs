//! `users.json.journal`: what logins record (failure counts, locks, login times and
//! counts), appended one checksummed line per change instead of rewriting `users.json`.
//!
//! The file, all lines ending in `\n`, each `CCCCCCCC JSON` (the CRC-32 of the JSON, as
//! eight lowercase hex digits, a space, the JSON):
//!
//! - line 1, the header: `{"journal":1,"base_len":N,"base_xxh64":"…","id":"…"}`: the
//!   journal's format version, the length and xxHash64 of the exact `users.json` bytes it
//!   extends, and an id unique to this journal (so that a reader told apart a journal
//!   made anew from one it read before);
//! - then one line per change: `{"user":"alice","failed_attempts":1,"locked_until":"…",
//!   "last_login_at":"…","previous_login_at":"…","login_count":3,"last_login_from":"…",
//!   "known_addresses":["…"],"known_failed_attempts":0,"known_locked_until":"…"}`: the
//!   account's new values of those fields, all of them (an absent field is zero or none), so that a
//!   line replayed twice changes nothing the second time; `{}` changes nothing (the write
//!   a login for an unknown name makes, so that it costs what a claim costs).
//!
//! Reading stops at the first line that is not complete and checksummed (a crash's torn
//! tail): what is before it counts, what is after it does not, and the next append cuts it
//! off. A journal whose header names other bytes than the `users.json` now on disk is left
//! from before a fold (which wrote the journal's effect into `users.json`): it is ignored,
//! and replaced at the next append.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::safe_open::{self, Mode};
use super::{StoreError, UserRecord, timestamp};

/// The journal format this build writes and reads.
pub(super) const JOURNAL_VERSION: u64 = 1;

/// The fields a line may change: what claiming an attempt and recording a login change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Facts {
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub previous_login_at: Option<DateTime<Utc>>,
    pub login_count: u64,
    pub last_login_from: Option<String>,
    pub known_addresses: Vec<String>,
    pub known_failed_attempts: u32,
    pub known_locked_until: Option<DateTime<Utc>>,
}

impl Facts {
    pub fn of(record: &UserRecord) -> Facts {
        Facts {
            failed_attempts: record.failed_attempts,
            locked_until: record.locked_until,
            last_login_at: record.last_login_at,
            previous_login_at: record.previous_login_at,
            login_count: record.login_count,
            last_login_from: record.last_login_from.clone(),
            known_addresses: record.known_addresses.clone(),
            known_failed_attempts: record.known_failed_attempts,
            known_locked_until: record.known_locked_until,
        }
    }

    pub fn apply(&self, record: &mut UserRecord) {
        record.failed_attempts = self.failed_attempts;
        record.locked_until = self.locked_until;
        record.last_login_at = self.last_login_at;
        record.previous_login_at = self.previous_login_at;
        record.login_count = self.login_count;
        record.last_login_from.clone_from(&self.last_login_from);
        record.known_addresses.clone_from(&self.known_addresses);
        record.known_failed_attempts = self.known_failed_attempts;
        record.known_locked_until = self.known_locked_until;
    }

    /// True if `after` differs from `before` in these fields only: the change can be a
    /// journal line. Any other field (the hash, the creation time, one added later) makes
    /// it a full rewrite.
    pub fn only_difference(before: &UserRecord, after: &UserRecord) -> bool {
        let mut replayed = before.clone();
        Facts::of(after).apply(&mut replayed);
        replayed == *after
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// One change line's JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    failed_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    locked_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    last_login_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    previous_login_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    login_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_login_from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    known_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    known_failed_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
    known_locked_until: Option<DateTime<Utc>>,
}

/// The header line's JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Header {
    journal: u64,
    pub base_len: u64,
    pub base_xxh64: String,
    id: String,
}

/// Only the version, read first so that a newer journal is refused, not misread.
#[derive(Deserialize)]
struct VersionOnly {
    journal: u64,
}

impl Header {
    /// The header of a journal extending a `users.json` of `len` bytes whose xxHash64 is
    /// `hash`.
    pub fn new(len: usize, hash: u64) -> Header {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Header {
            journal: JOURNAL_VERSION,
            base_len: len as u64,
            base_xxh64: format!("{hash:016x}"),
            id: format!("{:x}-{:x}", now.as_nanos(), std::process::id()),
        }
    }

    /// True if this journal extends exactly `base` (its length, then its hash).
    pub fn extends(&self, base: &[u8], hash: impl FnOnce() -> u64) -> bool {
        self.base_len == base.len() as u64 && self.base_xxh64 == format!("{:016x}", hash())
    }
}

/// A line as written: checksum, space, JSON, newline.
fn framed(json: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(json.len() + 10);
    line.extend_from_slice(format!("{:08x} ", crc32(json)).as_bytes());
    line.extend_from_slice(json);
    line.push(b'\n');
    line
}

pub(super) fn header_line(header: &Header) -> Vec<u8> {
    framed(&serde_json::to_vec(header).unwrap_or_default())
}

/// The line that sets `user`'s facts.
pub(super) fn set_line(user: &str, facts: &Facts) -> Vec<u8> {
    let line = Line {
        user: Some(user.to_owned()),
        failed_attempts: facts.failed_attempts,
        locked_until: facts.locked_until,
        last_login_at: facts.last_login_at,
        previous_login_at: facts.previous_login_at,
        login_count: facts.login_count,
        last_login_from: facts.last_login_from.clone(),
        known_addresses: facts.known_addresses.clone(),
        known_failed_attempts: facts.known_failed_attempts,
        known_locked_until: facts.known_locked_until,
    };
    framed(&serde_json::to_vec(&line).unwrap_or_default())
}

/// The line that changes nothing.
pub(super) fn noop_line() -> Vec<u8> {
    framed(b"{}")
}

/// The JSON of a complete, checksummed line (without its newline), or `None`.
fn checked(line: &[u8]) -> Option<&[u8]> {
    if line.len() < 10 || line[8] != b' ' {
        return None;
    }
    let hex = std::str::from_utf8(&line[..8]).ok()?;
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let sum = u32::from_str_radix(hex, 16).ok()?;
    let json = &line[9..];
    (crc32(json) == sum).then_some(json)
}

/// The journal as last read: its file, its header, and every account's latest facts.
#[derive(Clone, Debug, Default)]
pub(super) struct Journal {
    /// `(dev, ino)` of the file read; `None`: there is no journal.
    file: Option<(u64, u64)>,
    /// The header line as read (checksum and newline included) and what it says; `None`:
    /// no complete header (an empty file, or one torn before its first line ended).
    header: Option<(Vec<u8>, Header)>,
    /// The end of the last good line: where the next append goes.
    pub good_end: u64,
    /// Complete lines read, the header included.
    lines: usize,
    /// The latest facts of each account named.
    overlay: Arc<BTreeMap<String, Facts>>,
}

impl Journal {
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref().map(|(_, h)| h)
    }

    pub fn overlay(&self) -> &BTreeMap<String, Facts> {
        &self.overlay
    }

    /// The journal at `path` as it is now, reading only what was appended since `old` was
    /// read when it is the same file with the same header.
    pub fn refresh(path: &Path, old: Option<Journal>) -> Result<Journal, StoreError> {
        let Some(mut file) = safe_open::open(path, Mode::Read, None)? else {
            return Ok(Journal::default());
        };
        let meta = file.metadata().map_err(io_error("read", path))?;
        let id = (meta.dev(), meta.ino());
        let len = meta.len();
        if let Some(old) = old
            && old.file == Some(id)
            && len >= old.good_end
            && let Some((raw, _)) = &old.header
        {
            let mut head = vec![0; raw.len()];
            if file.read_exact_at(&mut head, 0).is_ok() && head == *raw {
                // Nothing past the last good line: nothing new (a torn tail seen before
                // and cut since leaves the same good lines).
                if len == old.good_end {
                    return Ok(old);
                }
                let mut tail = vec![0; (len - old.good_end) as usize];
                file.read_exact_at(&mut tail, old.good_end)
                    .map_err(io_error("read", path))?;
                let mut journal = old;
                journal.scan(path, &tail)?;
                return Ok(journal);
            }
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes).map_err(io_error("read", path))?;
        let mut journal = Journal {
            file: Some(id),
            ..Journal::default()
        };
        journal.scan(path, &bytes)?;
        Ok(journal)
    }

    /// Reads the lines of `bytes`, which start at `self.good_end`, up to the first that is
    /// not complete and checksummed.
    fn scan(&mut self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let start = self.good_end;
        let mut pos = 0;
        while let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') {
            let raw = &bytes[pos..pos + nl + 1];
            let Some(json) = checked(&raw[..nl]) else { break };
            let number = self.lines + 1;
            if self.header.is_none() {
                let header = parse_header(path, number, json)?;
                self.header = Some((raw.to_vec(), header));
            } else {
                let line: Line = serde_json::from_slice(json).map_err(|e| corrupt(path, number, &e))?;
                if let Some(user) = line.user {
                    let facts = Facts {
                        failed_attempts: line.failed_attempts,
                        locked_until: line.locked_until,
                        last_login_at: line.last_login_at,
                        previous_login_at: line.previous_login_at,
                        login_count: line.login_count,
                        last_login_from: line.last_login_from,
                        known_addresses: line.known_addresses,
                        known_failed_attempts: line.known_failed_attempts,
                        known_locked_until: line.known_locked_until,
                    };
                    Arc::make_mut(&mut self.overlay).insert(user, facts);
                }
            }
            self.lines = number;
            pos += nl + 1;
        }
        self.good_end = start + pos as u64;
        Ok(())
    }
}

fn parse_header(path: &Path, number: usize, json: &[u8]) -> Result<Header, StoreError> {
    let version: VersionOnly = serde_json::from_slice(json).map_err(|e| corrupt(path, number, &e))?;
    if version.journal != JOURNAL_VERSION {
        return Err(StoreError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version.journal,
        });
    }
    serde_json::from_slice(json).map_err(|e| corrupt(path, number, &e))
}

/// A checksummed line we cannot read: written by something else than this build. Never
/// cut or written over.
fn corrupt(path: &Path, line: usize, e: &serde_json::Error) -> StoreError {
    let mut reason = e.to_string();
    if let Some(cut) = reason.rfind(" at line ") {
        reason.truncate(cut);
    }
    StoreError::Corrupt {
        path: path.to_path_buf(),
        line,
        // After the checksum and its space.
        column: 9 + e.column(),
        reason: format!("not a journal line this authtui writes ({reason})"),
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path: PathBuf = path.to_path_buf();
    move |source| StoreError::Io { action, path, source }
}

/// Appends `bytes` to the journal file opened for appending, first cutting it to
/// `keep` bytes (the good lines; 0 for a journal made anew), then syncs its data.
pub(super) fn append(file: &File, path: &Path, keep: u64, bytes: &[u8]) -> Result<(), StoreError> {
    let len = file.metadata().map_err(io_error("examine", path))?.len();
    if len != keep {
        file.set_len(keep)
            .map_err(io_error("cut the torn tail of", path))?;
    }
    // One write of the whole line (O_APPEND): a reader sees it whole or not at all, and a
    // crash leaves it whole or torn, never interleaved with another.
    io::Write::write_all(&mut &*file, bytes).map_err(io_error("append to", path))?;
    super::json_file::fault::point("journal-after-write");
    file.sync_data().map_err(io_error("sync", path))
}

/// CRC-32 (IEEE 802.3, as zlib and PNG), table-driven.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in bytes {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// xxHash64 with seed 0: a fast hash of the whole `users.json`, to tell the file a journal
/// extends from any other (not a defence against someone who can write the file: they
/// can write the journal too).
pub(super) fn xxh64(bytes: &[u8]) -> u64 {
    const P1: u64 = 0x9E37_79B1_85EB_CA87;
    const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    const P3: u64 = 0x1656_67B1_9E37_79F9;
    const P4: u64 = 0x85EB_CA77_C2B2_AE63;
    const P5: u64 = 0x27D4_EB2F_1656_67C5;
    fn round(acc: u64, input: u64) -> u64 {
        acc.wrapping_add(input.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    }
    fn merge(acc: u64, v: u64) -> u64 {
        (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
    }
    let word = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let len = bytes.len() as u64;
    let mut rest = bytes;
    let mut h = if rest.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, word(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for acc in v {
            h = merge(h, acc);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(len);
    while rest.len() >= 8 {
        h = (h ^ round(0, word(rest)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        let k = u32::from_le_bytes(rest[..4].try_into().unwrap_or([0; 4])) as u64;
        h = (h ^ k.wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h = (h ^ (b as u64).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_leaves_out_what_is_zero_or_absent() {
        let facts = Facts {
            login_count: 3,
            ..Facts::default()
        };
        let line = String::from_utf8(set_line("alice", &facts)).unwrap();
        assert!(
            line.ends_with(" {\"user\":\"alice\",\"login_count\":3}\n"),
            "{line}"
        );
        let counted = Facts {
            failed_attempts: 2,
            known_failed_attempts: 1,
            ..Facts::default()
        };
        let line = String::from_utf8(set_line("alice", &counted)).unwrap();
        assert!(line.contains("\"failed_attempts\":2"), "{line}");
        assert!(line.contains("\"known_failed_attempts\":1"), "{line}");
    }

    #[test]
    fn a_header_extends_only_a_file_of_its_length_and_its_hash() {
        let header = Header::new(3, 0xabc);
        assert!(header.extends(b"xyz", || 0xabc));
        assert!(!header.extends(b"xyz", || 0xabd), "same length, another hash");
        assert!(!header.extends(b"wxyz", || 0xabc), "same hash, another length");
    }

    #[test]
    fn lines_too_short_to_hold_a_sum_are_not_lines() {
        for short in [&b""[..], b"abc", b"cafe0000", b"cafe0000 "] {
            assert_eq!(checked(short), None, "{short:?}");
        }
        let noop = noop_line();
        let noop = noop.strip_suffix(b"\n").unwrap();
        assert_eq!(checked(noop), Some(&b"{}"[..]));
        // The shortest line with a sum: its JSON goes on to the parse (which refuses it).
        let one = framed(b"1");
        assert_eq!(checked(one.strip_suffix(b"\n").unwrap()), Some(&b"1"[..]));
    }

    #[test]
    fn a_summed_line_that_is_no_journal_line_is_named_by_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json.journal");
        let bad = br#"{"user":"alice","login_count":"x"}"#;
        let mut bytes = header_line(&Header::new(0, 0));
        bytes.extend_from_slice(&set_line("bob", &Facts::default()));
        bytes.extend_from_slice(&framed(bad));
        std::fs::write(&path, &bytes).unwrap();
        let column = serde_json::from_slice::<Line>(bad).unwrap_err().column();
        match Journal::refresh(&path, None) {
            Err(StoreError::Corrupt {
                line,
                column: at,
                reason,
                ..
            }) => {
                assert_eq!((line, at), (3, 9 + column), "{reason}");
                assert!(
                    reason.starts_with("not a journal line this authtui writes ("),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A header that is not one: line 1.
        std::fs::write(&path, framed(br#"{"journal":1}"#)).unwrap();
        match Journal::refresh(&path, None) {
            Err(StoreError::Corrupt { line, .. }) => assert_eq!(line, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn xxh64_reference_values() {
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
        // Each tail an input can end with after its 32-byte stripes: 8 bytes, 4, single
        // bytes (values from the reference implementation, Python's `xxhash`).
        let counting: Vec<u8> = (0..100).collect();
        assert_eq!(xxh64(&counting[..40]), 0xF5DA_40F1_B117_41E9);
        assert_eq!(xxh64(&counting), 0x6AC1_E580_3216_6597);
        assert_eq!(xxh64(b"abcdefgh123"), 0xA370_7DA0_DB02_25F7);
        assert_eq!(xxh64(b"abcd"), 0xDE03_27B0_D25D_92CC);
    }

    #[test]
    fn lines_check_their_sum() {
        let line = set_line("alice", &Facts::default());
        let body = &line[..line.len() - 1];
        assert!(checked(body).is_some());
        for i in 0..body.len() {
            let mut bad = body.to_vec();
            bad[i] ^= 0x01;
            assert!(checked(&bad).is_none(), "a flipped bit at {i} passed");
        }
        assert!(checked(&body[..body.len() - 1]).is_none());
        assert_eq!(noop_line(), b"a3a6bf43 {}\n");
    }

    #[test]
    fn only_the_five_fields_are_journal_changes() {
        let before = UserRecord {
            password_hash: "h".into(),
            ..UserRecord::default()
        };
        let mut after = before.clone();
        after.login_count = 3;
        after.failed_attempts = 2;
        assert!(Facts::only_difference(&before, &after));
        after.password_hash = "h2".into();
        assert!(!Facts::only_difference(&before, &after));
        let mut created = before.clone();
        created.created_at = Some(Utc::now());
        assert!(!Facts::only_difference(&before, &created));
    }
}
