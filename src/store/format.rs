//! The shape of `users.json`, current and legacy.
//!
//! Current: `{"version": 1, "users": {"alice": {"password_hash": "$2b$12$…", …}}}`.
//! Legacy (the Python prototype): `{"alice": "$2b$12$…"}`. One pass of a hand-written
//! visitor tells them apart and finds where each record lies, without building any record:
//! the caller validates them from their bytes.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, de::SeqAccess};
use serde_json::value::RawValue;

use super::FORMAT_VERSION;

/// What a file held.
#[derive(Debug)]
pub(super) enum Parsed<'de> {
    /// Usernames and the JSON of their records, as found in the file (unsorted).
    Current(Vec<(String, &'de RawValue)>),
    /// The prototype's flat `{"name": "hash"}`, names unique.
    Legacy(Vec<(String, String)>),
    /// A version this build does not understand.
    Future(u64),
}

impl<'de> Deserialize<'de> for Parsed<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopVisitor)
    }
}

struct TopVisitor;

/// The value under a top-level key, before we know which shape the file has.
enum TopValue<'de> {
    Number(u64),
    Users(Vec<(String, &'de RawValue)>),
    Hash(String),
    Other,
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Parsed<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a JSON object like {"version": 1, "users": {…}}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        let mut version: Option<u64> = None;
        let mut users = None;
        let mut legacy: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut unknown_key: Option<String> = None;

        while let Some(key) = map.next_key::<String>()? {
            // Errors are raised as soon as they are seen, so that serde_json reports the
            // position of the entry at fault.
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            // A legacy user may be called "version" or "users": its value is then a hash.
            // Once a newer version is known, the rest is skipped unread: its shape is not ours.
            let skip = version.is_some_and(|v| v != FORMAT_VERSION);
            let role = match key.as_str() {
                "users" => Role::Users,
                "version" => Role::Version,
                _ => Role::Other,
            };
            match map.next_value_seed(TopValueSeed { skip, role })? {
                TopValue::Number(n) => version = Some(n),
                TopValue::Users(u) => users = Some(u),
                TopValue::Hash(hash) => legacy.push((key, hash)),
                TopValue::Other => {
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
                if let Some((name, _)) = legacy.first() {
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
            None => Ok(Parsed::Legacy(legacy)),
        }
    }
}

/// Which top-level key a value belongs to: it decides which shapes are acceptable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Users,
    Version,
    Other,
}

struct TopValueSeed {
    skip: bool,
    role: Role,
}

impl<'de> DeserializeSeed<'de> for TopValueSeed {
    type Value = TopValue<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<TopValue<'de>, D::Error> {
        if self.skip {
            IgnoredAny::deserialize(deserializer).map(|_| TopValue::Other)
        } else {
            deserializer.deserialize_any(TopValueVisitor { role: self.role })
        }
    }
}

struct TopValueVisitor {
    role: Role,
}

impl TopValueVisitor {
    /// A value of another shape than the key takes.
    fn other<'de, E: de::Error>(self) -> Result<TopValue<'de>, E> {
        match self.role {
            Role::Users => Err(E::custom("\"users\" must be an object of accounts")),
            Role::Version => Err(E::custom("\"version\" must be a whole number")),
            Role::Other => Ok(TopValue::Other),
        }
    }
}

impl<'de> Visitor<'de> for TopValueVisitor {
    type Value = TopValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a version number, a users object or a password hash")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<TopValue<'de>, E> {
        match self.role {
            Role::Version => Ok(TopValue::Number(n)),
            _ => self.other(),
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<TopValue<'de>, E> {
        Ok(TopValue::Hash(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<TopValue<'de>, E> {
        Ok(TopValue::Hash(s))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopValue<'de>, A::Error> {
        if self.role != Role::Users {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return self.other();
        }
        let mut users = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            users.push((name, map.next_value::<&'de RawValue>()?));
        }
        Ok(TopValue::Users(users))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopValue<'de>, E> {
        self.other()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopValue<'de>, E> {
        self.other()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopValue<'de>, E> {
        self.other()
    }
    fn visit_unit<E: de::Error>(self) -> Result<TopValue<'de>, E> {
        self.other()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopValue<'de>, A::Error> {
        if self.role != Role::Other {
            return self.other();
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopValue::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Parsed<'_>, serde_json::Error> {
        serde_json::from_str(s)
    }

    #[test]
    fn finds_current_records_without_parsing_them() {
        let Parsed::Current(users) =
            parse(r#"{"version":1,"users":{"alice":{"password_hash":"h","login_count":3}}}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(users[0].0, "alice");
        assert_eq!(users[0].1.get(), r#"{"password_hash":"h","login_count":3}"#);
    }

    #[test]
    fn reads_legacy_flat_shape() {
        let Parsed::Legacy(users) = parse(r#"{"alice": "$2b$04$x", "bob": "$2b$04$y"}"#).unwrap() else {
            panic!()
        };
        assert_eq!(
            users,
            [
                ("alice".into(), "$2b$04$x".into()),
                ("bob".into(), "$2b$04$y".into())
            ]
        );
    }

    #[test]
    fn legacy_users_may_be_named_like_keys() {
        let Parsed::Legacy(users) = parse(r#"{"version": "$2b$04$x", "users": "$2b$04$y"}"#).unwrap() else {
            panic!()
        };
        assert_eq!(users.len(), 2);
    }

    #[test]
    fn empty_object_is_no_users() {
        assert!(matches!(parse("{}").unwrap(), Parsed::Legacy(u) if u.is_empty()));
    }

    #[test]
    fn future_version_is_reported_not_parsed() {
        assert!(matches!(
            parse(r#"{"version":2,"users":{"a":{"new_field":1}},"extra":[]}"#).unwrap(),
            Parsed::Future(2)
        ));
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for bad in [
            "[]",
            "null",
            r#"{"version":1}"#,
            r#"{"version":1,"users":[]}"#,
            r#"{"version":1,"users":{},"alice":"$2b$"}"#,
            r#"{"users":{}}"#,
            r#"{"alice": 5}"#,
            r#"{"version":1,"users":{"a":{"password_hash":"h"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }
}
