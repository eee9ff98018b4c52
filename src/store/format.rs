//! The shape of `users.json`, current and legacy.
//!
//! Current: `{"version": 1, "users": {"alice": {"password_hash": "$2b$12$…", …}}}`.
//! Legacy (the Python prototype): `{"alice": "$2b$12$…"}`. Both are read by one pass of a
//! hand-written visitor, so even a large file is parsed once, without an intermediate
//! `serde_json::Value`.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, UserRecord, Users};

/// What a file held.
#[derive(Debug)]
pub(super) enum Parsed {
    Current(Users),
    /// A version this build does not understand.
    Future(u64),
}

/// The file as written.
#[derive(Serialize)]
pub(super) struct FileOut<'a> {
    pub version: u64,
    pub users: &'a Users,
}

impl<'a> FileOut<'a> {
    pub fn new(users: &'a Users) -> Self {
        FileOut {
            version: FORMAT_VERSION,
            users,
        }
    }
}

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopVisitor)
    }
}

struct TopVisitor;

/// The value under a top-level key, before we know which shape the file has.
enum TopValue {
    Number(u64),
    Users(Users),
    Hash(String),
    Other,
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a JSON object like {"version": 1, "users": {…}}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut version: Option<u64> = None;
        let mut users: Option<Users> = None;
        let mut legacy = Users::new();
        let mut unknown_key: Option<String> = None;

        while let Some(key) = map.next_key::<String>()? {
            // A legacy user may be called "version" or "users": its value is then a hash.
            // Once a newer version is known, the rest is skipped unread: its shape is not ours.
            let skip = version.is_some_and(|v| v != FORMAT_VERSION);
            match map.next_value_seed(TopValueSeed { skip })? {
                TopValue::Number(n) if key == "version" => version = Some(n),
                TopValue::Users(u) if key == "users" => users = Some(u),
                TopValue::Hash(hash) => {
                    if legacy.contains_key(&key) {
                        return Err(de::Error::custom(format!("duplicate username \"{key}\"")));
                    }
                    legacy.insert(
                        key,
                        UserRecord {
                            password_hash: hash,
                            ..UserRecord::default()
                        },
                    );
                }
                _ => {
                    unknown_key.get_or_insert(key);
                }
            }
        }

        match version {
            Some(v) if v != FORMAT_VERSION => Ok(Parsed::Future(v)),
            Some(_) => {
                if let Some(key) = unknown_key {
                    return Err(de::Error::custom(format!("unexpected key \"{key}\"")));
                }
                if let Some(name) = legacy.keys().next() {
                    return Err(de::Error::custom(format!(
                        "\"{name}\" is a bare hash beside \"version\"; mixed formats"
                    )));
                }
                users
                    .map(Parsed::Current)
                    .ok_or_else(|| de::Error::missing_field("users"))
            }
            None if users.is_some() || unknown_key.is_some() => Err(de::Error::custom(format!(
                "key \"{}\" without \"version\"",
                unknown_key.as_deref().unwrap_or("users")
            ))),
            // The prototype's flat shape (also `{}`: an empty store).
            None => Ok(Parsed::Current(legacy)),
        }
    }
}

struct TopValueSeed {
    skip: bool,
}

impl<'de> DeserializeSeed<'de> for TopValueSeed {
    type Value = TopValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<TopValue, D::Error> {
        if self.skip {
            IgnoredAny::deserialize(deserializer).map(|_| TopValue::Other)
        } else {
            deserializer.deserialize_any(TopValueVisitor)
        }
    }
}

struct TopValueVisitor;

impl<'de> Visitor<'de> for TopValueVisitor {
    type Value = TopValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a version number, a users object or a password hash")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<TopValue, E> {
        Ok(TopValue::Number(n))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<TopValue, E> {
        Ok(TopValue::Hash(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<TopValue, E> {
        Ok(TopValue::Hash(s))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TopValue, A::Error> {
        UsersVisitor.visit_map(map).map(TopValue::Users)
    }

    // Anything else (negative or fractional numbers, arrays, booleans, null) is read and
    // reported as an unexpected key by the caller.
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopValue, E> {
        Ok(TopValue::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopValue, E> {
        Ok(TopValue::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopValue, E> {
        Ok(TopValue::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<TopValue, E> {
        Ok(TopValue::Other)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TopValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopValue::Other)
    }
}

/// The `users` object: like a `BTreeMap`, but a duplicate username is an error rather
/// than a silent overwrite.
struct UsersVisitor;

impl<'de> Visitor<'de> for UsersVisitor {
    type Value = Users;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of users")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Users, A::Error> {
        let mut users = Users::new();
        while let Some(name) = map.next_key::<String>()? {
            let record: UserRecord = map.next_value()?;
            if users.contains_key(&name) {
                return Err(de::Error::custom(format!("duplicate username \"{name}\"")));
            }
            users.insert(name, record);
        }
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Parsed, serde_json::Error> {
        serde_json::from_str(s)
    }

    fn users(s: &str) -> Users {
        match parse(s).unwrap() {
            Parsed::Current(u) => u,
            Parsed::Future(v) => panic!("unexpected future version {v}"),
        }
    }

    #[test]
    fn reads_current_shape() {
        let u = users(
            r#"{"version":1,"users":{"alice":{"password_hash":"h","created_at":"2026-01-02T03:04:05Z","login_count":3}}}"#,
        );
        assert_eq!(u["alice"].password_hash, "h");
        assert_eq!(u["alice"].login_count, 3);
        assert_eq!(
            u["alice"].created_at.unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
    }

    #[test]
    fn reads_legacy_flat_shape() {
        let u = users(r#"{"alice": "$2b$04$x", "bob": "$2b$04$y"}"#);
        assert_eq!(u.len(), 2);
        assert_eq!(u["bob"].password_hash, "$2b$04$y");
        assert_eq!(u["bob"].created_at, None);
    }

    #[test]
    fn legacy_users_may_be_named_like_keys() {
        let u = users(r#"{"version": "$2b$04$x", "users": "$2b$04$y"}"#);
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn empty_object_is_no_users() {
        assert!(users("{}").is_empty());
    }

    #[test]
    fn future_version_is_reported_not_parsed() {
        assert!(matches!(
            parse(r#"{"version":2,"users":{"a":{"new_field":1}},"extra":[]}"#).unwrap(),
            Parsed::Future(2)
        ));
    }

    #[test]
    fn duplicate_usernames_are_an_error() {
        let err = parse(r#"{"version":1,"users":{"a":{"password_hash":"h"},"a":{"password_hash":"i"}}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("duplicate username \"a\""), "{err}");
    }

    #[test]
    fn wrong_types_are_errors() {
        for bad in [
            "[]",
            "null",
            r#"{"version":1}"#,
            r#"{"version":1,"users":[]}"#,
            r#"{"version":1,"users":{"a":{"password_hash":5}}}"#,
            r#"{"version":1,"users":{"a":{"password_hash":"h","login_count":-1}}}"#,
            r#"{"version":1,"users":{"a":{"password_hash":"h","surprise":1}}}"#,
            r#"{"version":1,"users":{},"alice":"$2b$"}"#,
            r#"{"users":{}}"#,
            r#"{"alice": 5}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn writes_compact_current_shape_without_empty_fields() {
        let mut u = Users::new();
        u.insert(
            "alice".into(),
            UserRecord {
                password_hash: "h".into(),
                ..UserRecord::default()
            },
        );
        let s = serde_json::to_string(&FileOut::new(&u)).unwrap();
        assert_eq!(s, r#"{"version":1,"users":{"alice":{"password_hash":"h"}}}"#);
    }
}
