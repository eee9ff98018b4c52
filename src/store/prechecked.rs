//! `users.json` read without parsing every record, when an earlier read checked these
//! very bytes whole (docs/security.md rule 38).
//!
//! A journal is only ever started by a process that parsed and checked the file it
//! extends, and its header names that file by length and xxHash64. So when the header
//! still names the bytes just read, they are bytes that were checked: valid JSON of the
//! current format, every record valid, no name twice. Any change to them gives another
//! hash, and they are parsed and checked again.
//!
//! In such bytes, if there is no backslash anywhere, an account can be found by its
//! name's bytes alone. Without escapes, every `"` opens or closes a string, and a string's
//! bytes are its value. Then a match of `"name"`, blanks, `:`, blanks, `{` is that string
//! as an object key, provided that:
//!
//! - the first `"` is not a string's closing quote. After a closing quote, valid JSON
//!   allows only blanks, `,`, `:`, `}` or `]`, so the name must not begin with one of
//!   those;
//! - the name holds no `"`, `\` or control character.
//!
//! The only keys whose values are objects are `users` at the top, and the accounts inside
//! it (a record's fields are strings, numbers and lists of strings). So for any other
//! name, the match is that account's record, and no match means there is no such account.
//! Every match is looked at, whether the name is found or not, so finding a name takes as
//! long as not finding it.

use std::ops::Range;
use std::sync::Mutex;

use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{FORMAT_VERSION, UserRecord};

/// How many names one read answers by search: enough for a command's login (the name as
/// typed and lower-cased, then the same name again). After that the bytes are parsed and
/// indexed: a long-lived process (the TUI, the server) looks names up in the index, not
/// by scanning the file for each.
pub(super) const SEARCHES: usize = 4;

/// A name looked up, and where its record lies (`None`: there is none).
type Found = (Box<str>, Option<Range<usize>>);

/// Bytes checked whole by an earlier read, and the names looked up in them so far.
#[derive(Debug)]
pub(super) struct Prechecked {
    bytes: Vec<u8>,
    found: Mutex<Vec<Found>>,
}

impl Prechecked {
    /// `bytes` to be searched, if they can be: no backslash, and of this build's format
    /// version. The caller vouches that an earlier read checked them whole.
    pub fn new(bytes: Vec<u8>) -> Result<Prechecked, Vec<u8>> {
        if memchr::memchr(b'\\', &bytes).is_some() || version(&bytes) != Some(FORMAT_VERSION) {
            return Err(bytes);
        }
        Ok(Prechecked {
            bytes,
            found: Mutex::new(Vec::new()),
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many names were searched for so far.
    #[cfg(test)]
    pub fn searched(&self) -> usize {
        self.found.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The record of `name`: `Some(None)` if there is no such account, `None` if this
    /// cannot tell (the name cannot be searched for, too many names were looked up, or the
    /// record does not parse): then the bytes are to be parsed whole.
    pub fn get(&self, name: &str) -> Option<Option<UserRecord>> {
        let range = {
            let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            match found.iter().find(|(n, _)| **n == *name) {
                Some((_, range)) => range.clone(),
                None if found.len() >= SEARCHES => return None,
                None => {
                    let range = locate(&self.bytes, name)?;
                    found.push((name.into(), range.clone()));
                    range
                }
            }
        };
        match range {
            None => Some(None),
            Some(range) => serde_json::from_slice(&self.bytes[range]).ok().map(Some),
        }
    }

    /// Whether there are no accounts; `None` if this cannot tell.
    pub fn is_empty(&self) -> Option<bool> {
        let users = key_objects(&self.bytes, "users").next()?;
        Some(self.bytes.get(skip_blanks(&self.bytes, users + 1)) == Some(&b'}'))
    }
}

/// True if `name` can be searched for by its bytes (see the module's comment).
fn searchable(name: &str) -> bool {
    !name.is_empty()
        && name != "users"
        && !name.starts_with([' ', '\t', '\n', '\r', ',', ':', '}', ']'])
        && !name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

/// Where the record of `name` lies in checked bytes without backslashes: `Some(None)` if
/// there is none, `None` if this cannot tell.
pub(super) fn locate(bytes: &[u8], name: &str) -> Option<Option<Range<usize>>> {
    if !searchable(name) {
        return None;
    }
    let mut starts = key_objects(bytes, name);
    // Every match is looked at (the same work whether the name is found or not); more
    // than one cannot be in checked bytes, and is left to the parse.
    let start = starts.next();
    if starts.count() > 0 {
        return None;
    }
    let Some(start) = start else {
        return Some(None);
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes[start..]);
    let raw = <&RawValue>::deserialize(&mut de).ok()?;
    Some(Some(start..start + raw.get().len()))
}

/// The offsets of the `{` of every `"key"`, blanks, `:`, blanks, `{` in `bytes`.
fn key_objects<'a>(bytes: &'a [u8], key: &str) -> impl Iterator<Item = usize> + 'a {
    let mut quoted = Vec::with_capacity(key.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(key.as_bytes());
    quoted.push(b'"');
    let finder = memmem::Finder::new(&quoted).into_owned();
    let len = quoted.len();
    let ends: Vec<usize> = finder.find_iter(bytes).map(|at| at + len).collect();
    ends.into_iter().filter_map(move |end| {
        let colon = skip_blanks(bytes, end);
        if bytes.get(colon) != Some(&b':') {
            return None;
        }
        let brace = skip_blanks(bytes, colon + 1);
        (bytes.get(brace) == Some(&b'{')).then_some(brace)
    })
}

fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The format version of checked bytes without backslashes: the number after the key
/// `"version"` (no account's record is a number, no record field is called so).
fn version(bytes: &[u8]) -> Option<u64> {
    let at = memmem::find(bytes, br#""version""#)? + br#""version""#.len();
    let colon = skip_blanks(bytes, at);
    (bytes.get(colon) == Some(&b':')).then_some(())?;
    let digits = skip_blanks(bytes, colon + 1);
    let end = bytes[digits..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |n| digits + n);
    std::str::from_utf8(&bytes[digits..end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The index a full parse makes: every name and the JSON of its record.
    fn parsed(bytes: &[u8]) -> BTreeMap<String, String> {
        #[derive(Deserialize)]
        struct File<'a> {
            #[serde(borrow)]
            users: BTreeMap<String, &'a RawValue>,
        }
        let file: File = serde_json::from_slice(bytes).unwrap();
        file.users
            .into_iter()
            .map(|(n, r)| (n, r.get().to_owned()))
            .collect()
    }

    fn found(bytes: &[u8], name: &str) -> Option<Option<String>> {
        let range = locate(bytes, name)?;
        Some(range.map(|r| String::from_utf8(bytes[r].to_vec()).unwrap()))
    }

    const FILE: &str = r#"{ "version" : 1,
        "users" : {
          "bob" : { "password_hash" : "$2b$04$abc", "known_addresses" : ["alice:{"] },
          "alice":{"password_hash":"$2b$04$def","last_login_from":"\"bob\":{"},
          "al":{"password_hash":"x"}
        }
    }"#;

    #[test]
    fn finds_each_record_as_the_parse_does_and_no_other() {
        // Without the escaped value (a file with a backslash is never searched).
        let file = FILE.replace(r#""\"bob\":{""#, r#""bob:{""#);
        let bytes = file.as_bytes();
        for (name, json) in parsed(bytes) {
            assert_eq!(found(bytes, &name), Some(Some(json)), "{name}");
        }
        assert_eq!(found(bytes, "ali"), Some(None), "a prefix is no account");
        assert_eq!(found(bytes, "alicia"), Some(None));
        assert_eq!(
            found(bytes, "password_hash"),
            Some(None),
            "a field's name is no account"
        );
        assert_eq!(found(bytes, "version"), Some(None));
    }

    #[test]
    fn names_that_cannot_be_searched_for_are_left_to_the_parse() {
        let bytes = br#"{"version":1,"users":{"users":{"password_hash":"x"}}}"#;
        assert_eq!(
            found(bytes, "users"),
            None,
            "the top-level key has the same bytes"
        );
        for name in ["", "a\"b", "a\\b", "a\u{1}b", ",a", ":a", "}a", "]a", " a"] {
            assert_eq!(found(bytes, name), None, "{name:?}");
        }
        assert!(searchable("Alice") && searchable("ünï") && searchable("a,b") && searchable("a b"));
    }

    #[test]
    fn a_name_found_twice_is_left_to_the_parse() {
        // Checked bytes never hold one; the search does not rely on it.
        let bytes = br#"{"version":1,"users":{"ann":{"password_hash":"x"},"ann":{"password_hash":"y"}}}"#;
        assert_eq!(found(bytes, "ann"), None);
    }

    #[test]
    fn a_file_with_a_backslash_or_of_another_version_is_not_searched() {
        let new = |s: &str| Prechecked::new(s.as_bytes().to_vec()).is_ok();
        assert!(new(r#"{"version":1,"users":{}}"#));
        assert!(!new(FILE), "a backslash");
        assert!(!new(r#"{"version":2,"users":{"a":{"password_hash":"x"}}}"#));
        assert!(!new(r#"{"version":10,"users":{}}"#));
        assert!(!new(r#"{"users":{}}"#), "no version: not this format");
        assert_eq!(version(br#"{"users":{}, "version" :	1 }"#), Some(1));
    }

    #[test]
    fn records_are_read_once_found_and_emptiness_told() {
        let bytes = br#"{"users":{"ann":{"password_hash":"h","login_count":3}},"version":1}"#;
        let pre = Prechecked::new(bytes.to_vec()).unwrap();
        let ann = pre.get("ann").unwrap().unwrap();
        assert_eq!((ann.password_hash.as_str(), ann.login_count), ("h", 3));
        assert_eq!(pre.get("ann").unwrap(), Some(ann), "asked again: the same answer");
        assert_eq!(pre.get("bea"), Some(None));
        assert_eq!(pre.get("users"), None);
        assert_eq!(pre.is_empty(), Some(false));
        let empty = Prechecked::new(br#"{"version":1,"users":{ }}"#.to_vec()).unwrap();
        assert_eq!(empty.is_empty(), Some(true));
        assert_eq!(empty.get("ann"), Some(None));
    }

    #[test]
    fn after_so_many_names_the_bytes_are_left_to_the_parse() {
        let pre =
            Prechecked::new(br#"{"version":1,"users":{"ann":{"password_hash":"h"}}}"#.to_vec()).unwrap();
        for i in 0..SEARCHES {
            assert_eq!(pre.get(&format!("n{i}")), Some(None));
        }
        assert_eq!(pre.get("ann"), None, "a new name past the bound");
        assert_eq!(
            pre.get("n0"),
            Some(None),
            "a name already looked up is still answered"
        );
    }

    #[test]
    fn a_record_that_does_not_parse_is_left_to_the_parse() {
        let bytes = br#"{"version":1,"users":{"ann":{"password_hash":7}}}"#;
        let pre = Prechecked::new(bytes.to_vec()).unwrap();
        assert_eq!(pre.get("ann"), None);
    }

    /// Names and string values of any characters but `"` and `\` (a file with those is
    /// never searched), written with any blanks: the search agrees with the parse.
    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex(r#"[a-z:,{}\[\] "]{0,6}"#)
            .unwrap()
            .prop_map(|s| s.replace('"', ""))
    }

    fn blank() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just(" "), Just("\n\t"), Just("\r\n  ")]
    }

    proptest! {
        #[test]
        fn the_search_agrees_with_the_parse(
            accounts in proptest::collection::btree_map(text(), (text(), text()), 0..6),
            asked in text(),
            b in blank(),
        ) {
            let mut file = format!(r#"{{{b}"version"{b}:{b}1{b},{b}"users"{b}:{b}{{"#);
            for (i, (name, (hash, from))) in accounts.iter().enumerate() {
                if i > 0 {
                    file.push_str(&format!("{b},{b}"));
                }
                file.push_str(&format!(
                    r#""{name}"{b}:{b}{{{b}"password_hash"{b}:{b}"{hash}"{b},{b}"known_addresses":[{b}"{from}"{b},"{name}"]}}"#
                ));
            }
            file.push_str(&format!("{b}}}{b}}}"));
            let bytes = file.as_bytes();
            let index = parsed(bytes);
            for name in accounts.keys().chain([&asked]) {
                if let Some(got) = found(bytes, name) {
                    prop_assert_eq!(got, index.get(name).cloned(), "{:?} in {}", name, file);
                }
            }
        }
    }
}
