//! The accounts of one store, as a sorted map with copy-on-write records.
//!
//! Read from a file, `Users` keeps the file's bytes and an index of where each record
//! lies; a record is turned into a `UserRecord` only when asked for, and a save copies the
//! untouched records' bytes as they were. So a login at 100,000 users costs one pass over
//! the file and one write of it, not a hundred thousand records parsed and re-serialized.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::Arc;

use super::UserRecord;

/// Every account, materialized: for listing.
pub type UserMap = BTreeMap<String, UserRecord>;

/// A file's bytes and where its records are. Every record was validated when the file
/// was read, so turning one into a `UserRecord` later cannot fail.
#[derive(Debug)]
pub(super) struct Base {
    pub bytes: Vec<u8>,
    /// Sorted by username, no duplicates; each range is a JSON object in `bytes`.
    pub entries: Vec<(Box<str>, Range<usize>)>,
}

impl Base {
    fn find(&self, name: &str) -> Option<&Range<usize>> {
        self.entries
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    fn record(&self, range: &Range<usize>) -> UserRecord {
        serde_json::from_slice(&self.bytes[range.clone()])
            .expect("records are validated when the file is read")
    }
}

#[derive(Clone, Debug, Default)]
pub struct Users {
    base: Option<Arc<Base>>,
    /// Changed or added records (`Some`) and removed ones (`None`).
    changes: BTreeMap<String, Option<UserRecord>>,
}

/// One account's JSON, as kept or as changed.
enum Item<'a> {
    Raw(&'a [u8]),
    Record(&'a UserRecord),
}

impl Users {
    pub fn new() -> Users {
        Users::default()
    }

    pub(super) fn from_base(base: Base) -> Users {
        Users {
            base: Some(Arc::new(base)),
            changes: BTreeMap::new(),
        }
    }

    /// About how many bytes `write_file` will write.
    pub(super) fn size_hint(&self) -> usize {
        self.base.as_ref().map_or(0, |b| b.bytes.len()) + 256 * self.changes.len() + 64
    }

    /// The file's bytes, if nothing was changed since it was read: a save then writes
    /// them as they were.
    pub(super) fn unchanged_bytes(&self) -> Option<&[u8]> {
        self.base
            .as_ref()
            .filter(|_| self.changes.is_empty())
            .map(|b| b.bytes.as_slice())
    }

    /// The bytes of the file these accounts were read from, if they were (changed since or
    /// not).
    pub(super) fn base_bytes(&self) -> Option<&[u8]> {
        self.base.as_ref().map(|b| b.bytes.as_slice())
    }

    pub fn get(&self, name: &str) -> Option<UserRecord> {
        match self.changes.get(name) {
            Some(change) => change.clone(),
            None => {
                let base = self.base.as_ref()?;
                base.find(name).map(|range| base.record(range))
            }
        }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        match self.changes.get(name) {
            Some(change) => change.is_some(),
            None => self.base.as_ref().is_some_and(|b| b.find(name).is_some()),
        }
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut UserRecord> {
        if !self.changes.contains_key(name) {
            let record = self.get(name)?;
            self.changes.insert(name.to_owned(), Some(record));
        }
        self.changes.get_mut(name)?.as_mut()
    }

    /// Adds or replaces an account; returns the one replaced.
    pub fn insert(&mut self, name: String, record: UserRecord) -> Option<UserRecord> {
        let old = self.get(&name);
        self.changes.insert(name, Some(record));
        old
    }

    pub fn remove(&mut self, name: &str) -> Option<UserRecord> {
        let old = self.get(name)?;
        self.changes.insert(name.to_owned(), None);
        Some(old)
    }

    pub fn len(&self) -> usize {
        let base = self.base.as_ref().map_or(0, |b| b.entries.len());
        let mut len = base;
        for (name, change) in &self.changes {
            let in_base = self.base.as_ref().is_some_and(|b| b.find(name).is_some());
            match (in_base, change.is_some()) {
                (false, true) => len += 1,
                (true, false) => len -= 1,
                _ => {}
            }
        }
        len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every account, in username order, as `UserRecord`s.
    pub fn to_map(&self) -> UserMap {
        self.merged()
            .into_iter()
            .map(|(name, item)| {
                let record = match item {
                    Item::Raw(bytes) => serde_json::from_slice(bytes).expect("validated when read"),
                    Item::Record(r) => r.clone(),
                };
                (name.to_owned(), record)
            })
            .collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.merged().into_iter().map(|(n, _)| n.to_owned()).collect()
    }

    /// The accounts in username order: the file's untouched records merged with changes.
    fn merged(&self) -> Vec<(&str, Item<'_>)> {
        let base: &[(Box<str>, Range<usize>)] = self.base.as_deref().map_or(&[], |b| &b.entries);
        let bytes: &[u8] = self.base.as_deref().map_or(&[], |b| &b.bytes);
        let mut out = Vec::with_capacity(base.len() + self.changes.len());
        let mut changes = self.changes.iter().peekable();
        for (name, range) in base {
            while let Some((changed, record)) = changes.next_if(|(c, _)| c.as_str() < &**name) {
                if let Some(r) = record {
                    out.push((changed.as_str(), Item::Record(r)));
                }
            }
            match changes.next_if(|(c, _)| c.as_str() == &**name) {
                Some((_, Some(r))) => out.push((&**name, Item::Record(r))),
                Some((_, None)) => {}
                None => out.push((&**name, Item::Raw(&bytes[range.clone()]))),
            }
        }
        out.extend(changes.filter_map(|(name, r)| r.as_ref().map(|r| (name.as_str(), Item::Record(r)))));
        out
    }

    /// Writes the current file format, compact, untouched records byte for byte.
    pub(super) fn write_file(&self, out: &mut impl Write, version: u64) -> io::Result<()> {
        write!(out, "{{\"version\":{version},\"users\":{{")?;
        for (i, (name, item)) in self.merged().into_iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, name)?;
            out.write_all(b":")?;
            match item {
                Item::Raw(bytes) => out.write_all(bytes)?,
                Item::Record(r) => serde_json::to_writer(&mut *out, r)?,
            }
        }
        out.write_all(b"}}\n")
    }
}

impl FromIterator<(String, UserRecord)> for Users {
    fn from_iter<I: IntoIterator<Item = (String, UserRecord)>>(iter: I) -> Users {
        Users {
            base: None,
            changes: iter.into_iter().map(|(n, r)| (n, Some(r))).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: &str) -> UserRecord {
        UserRecord {
            password_hash: hash.into(),
            ..UserRecord::default()
        }
    }

    /// A base from JSON records, as the reader would make it.
    fn base(records: &[(&str, &str)]) -> Users {
        let mut bytes = Vec::new();
        let mut entries = Vec::new();
        for (name, json) in records {
            let start = bytes.len();
            bytes.extend_from_slice(json.as_bytes());
            entries.push(((*name).into(), start..bytes.len()));
            bytes.push(b' ');
        }
        Users::from_base(Base { bytes, entries })
    }

    fn written(users: &Users) -> String {
        let mut out = Vec::new();
        users.write_file(&mut out, 1).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn untouched_records_are_copied_byte_for_byte() {
        let u = base(&[
            ("a", r#"{"password_hash":"x", "login_count":1}"#),
            ("c", r#"{"password_hash":"z"}"#),
        ]);
        assert_eq!(
            written(&u),
            "{\"version\":1,\"users\":{\"a\":{\"password_hash\":\"x\", \"login_count\":1},\"c\":{\"password_hash\":\"z\"}}}\n"
        );
    }

    #[test]
    fn changes_merge_in_order() {
        let mut u = base(&[
            ("b", r#"{"password_hash":"x"}"#),
            ("d", r#"{"password_hash":"z"}"#),
        ]);
        u.insert("a".into(), record("1"));
        u.insert("c".into(), record("2"));
        u.insert("e".into(), record("3"));
        u.get_mut("d").unwrap().login_count = 7;
        u.remove("b");
        assert_eq!(u.names(), ["a", "c", "d", "e"]);
        assert_eq!(u.len(), 4);
        assert_eq!(
            written(&u),
            concat!(
                r#"{"version":1,"users":{"a":{"password_hash":"1"},"c":{"password_hash":"2"},"#,
                r#""d":{"password_hash":"z","login_count":7},"e":{"password_hash":"3"}}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn get_contains_and_remove_see_changes() {
        let mut u = base(&[("b", r#"{"password_hash":"x"}"#)]);
        assert!(u.contains_key("b"));
        assert_eq!(u.get("b").unwrap().password_hash, "x");
        assert_eq!(u.remove("b").unwrap().password_hash, "x");
        assert!(!u.contains_key("b"));
        assert!(u.get_mut("b").is_none());
        assert!(u.remove("b").is_none());
        assert!(u.is_empty());
        assert!(u.insert("b".into(), record("y")).is_none());
        assert_eq!(u.to_map()["b"].password_hash, "y");
    }

    #[test]
    fn an_unchanged_read_is_saved_byte_for_byte() {
        let mut u = base(&[("a", r#"{ "password_hash" : "x" }"#)]);
        assert!(u.unchanged_bytes().is_some());
        u.get_mut("a");
        assert!(u.unchanged_bytes().is_none(), "touched: written anew");
        assert!(Users::new().unchanged_bytes().is_none());
    }

    #[test]
    fn names_are_escaped_when_written() {
        let u: Users = [("quo\"te".to_owned(), record("h"))].into_iter().collect();
        assert!(written(&u).contains(r#""quo\"te":"#));
    }
}
