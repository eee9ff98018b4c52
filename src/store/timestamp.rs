//! RFC 3339 UTC times as the file keeps them: `2026-11-24T16:34:02Z`. Written and read by
//! hand for that exact shape (chrono's general formatter and parser cost about as much as
//! the rest of a 100,000-user file put together); any other RFC 3339 form is still read,
//! through chrono.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

/// `YYYY-MM-DDTHH:MM:SSZ` (sub-seconds are dropped: the store keeps whole seconds).
pub fn format(t: &DateTime<Utc>) -> [u8; 20] {
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, digits: usize, mut n: u32| {
        for i in (0..digits).rev() {
            out[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, t.year().clamp(0, 9999) as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    out
}

fn parse_fast(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = date.and_hms_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?)?;
    Some(Utc.from_utc_datetime(&time))
}

pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    parse_fast(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// `#[serde(with = "timestamp::required")]` for `DateTime<Utc>` fields.
pub mod required {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        super::option::serialize(&Some(*t), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let t: Option<DateTime<Utc>> = super::option::deserialize(d)?;
        t.ok_or_else(|| de::Error::custom("a time is required"))
    }
}

/// `#[serde(with = "timestamp::option")]` for `Option<DateTime<Utc>>` fields.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => {
                let bytes = format(t);
                // The bytes are ASCII digits and separators.
                s.serialize_str(std::str::from_utf8(&bytes).unwrap_or_default())
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 time such as \"2026-11-24T16:34:02Z\", or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            parse(s).map(Some).ok_or_else(|| {
                E::custom(format!(
                    "{s:?} is not an RFC 3339 time such as \"2026-11-24T16:34:02Z\""
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_reader_reads_the_file_shape_and_nothing_else() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 16, 34, 2).unwrap();
        assert_eq!(parse_fast("2026-11-24T16:34:02Z"), Some(t));
        assert_eq!(
            parse_fast("0999-01-09T09:08:07Z"),
            Utc.with_ymd_and_hms(999, 1, 9, 9, 8, 7).single()
        );
        let good = b"2026-11-24T16:34:02Z";
        // Each separator wrong on its own, a digit that is none, the wrong length.
        for (at, byte) in [
            (4, b'x'),
            (7, b'x'),
            (10, b' '),
            (13, b'.'),
            (16, b'.'),
            (19, b'z'),
            (2, b'x'),
            (12, b'-'),
        ] {
            let mut bad = *good;
            bad[at] = byte;
            let bad = std::str::from_utf8(&bad).unwrap();
            assert_eq!(parse_fast(bad), None, "{bad}");
        }
        assert_eq!(parse_fast("2026-11-24T16:34:02.5Z"), None);
        assert_eq!(parse_fast("2026-13-24T16:34:02Z"), None, "no 13th month");
    }

    #[test]
    fn a_time_of_another_type_says_what_was_expected() {
        let err = serde_json::from_str::<crate::store::UserRecord>(r#"{"password_hash":"h","created_at":5}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"expected an RFC 3339 time such as "2026-11-24T16:34:02Z", or null"#),
            "{err}"
        );
    }

    #[test]
    fn round_trips_the_file_shape() {
        let t = parse("2026-11-24T16:34:02Z").unwrap();
        assert_eq!(&format(&t), b"2026-11-24T16:34:02Z");
        assert_eq!(
            t,
            DateTime::parse_from_rfc3339("2026-11-24T16:34:02+00:00").unwrap()
        );
    }

    #[test]
    fn reads_other_rfc3339_forms() {
        let t = parse("2026-11-24T17:34:02.5+01:00").unwrap();
        assert_eq!(&format(&t), b"2026-11-24T16:34:02Z");
    }

    #[test]
    fn refuses_non_times() {
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-24 16:34:02",
            "yesterday",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn formats_the_same_as_chrono() {
        for secs in [0i64, 1, 951_782_400, 1_767_225_600, 4_102_444_799] {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            assert_eq!(
                std::str::from_utf8(&format(&t)).unwrap(),
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
    }
}
