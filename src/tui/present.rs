//! How the app words what it shows: times, waits, the lock countdown, and names that came
//! from the store (escaped by [`crate::printable`], so a hostile name cannot drive the
//! terminal). Screens and the view call these; none of them formats these on its own.

use std::time::Instant;

use chrono::{DateTime, Local, Utc};
use unicode_width::UnicodeWidthStr;

use crate::auth;

/// How times are shown: the user's local time, or UTC (for tests that must not depend on
/// the machine's zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeZone {
    Local,
    Utc,
}

impl TimeZone {
    pub fn format(self, t: DateTime<Utc>) -> String {
        const FMT: &str = "%Y-%m-%d %H:%M";
        match self {
            TimeZone::Local => t.with_timezone(&Local).format(FMT).to_string(),
            TimeZone::Utc => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    /// Month, day and time, for lists.
    pub fn format_short(self, t: DateTime<Utc>) -> String {
        const FMT: &str = "%b %d %H:%M:%S";
        match self {
            TimeZone::Local => t.with_timezone(&Local).format(FMT).to_string(),
            TimeZone::Utc => t.format(FMT).to_string(),
        }
    }
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ if secs < 2 * 86_400 => "1 day ago".to_owned(),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// A wait or a duration: "27 s", "15 min", "1 min 30 s".
pub fn wait(duration: std::time::Duration) -> String {
    auth::format_wait(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}

/// Whole seconds until `at`, rounded up.
pub fn secs_until(now: Instant, at: Instant) -> i64 {
    let left = at.saturating_duration_since(now);
    left.as_secs() as i64 + i64::from(left.subsec_nanos() > 0)
}

/// The lock message with `secs` left: the same words as the service's (and the CLI's).
pub fn lock_countdown(secs: i64) -> String {
    let now = DateTime::<Utc>::UNIX_EPOCH;
    let until = now + chrono::Duration::seconds(secs.clamp(1, i64::from(u32::MAX)));
    auth::locked_message(Some(until), now)
}

/// A name from the store (a username), as shown to people: control, bidi and invisible
/// characters escaped, at most 64 columns.
pub fn name(text: &str) -> String {
    crate::printable::name(text)
}

/// A client address as shown to people: the IP without its port ("203.0.113.7",
/// "2001:db8::1"); anything else escaped.
pub fn address(text: &str) -> String {
    match text.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => crate::printable::printable(text, 48),
    }
}

/// Keeps the end of a long path, which says the most: "…/share/authtui/users.json".
pub fn shorten_left(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let tail: String = text.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

/// `text` broken into lines of at most `width` columns, at spaces where it can be and
/// inside a word longer than a line. Every character is kept (but the spaces a line is
/// broken at), so a message is never cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = if line.is_empty() {
            word.width()
        } else {
            line.width() + 1 + word.width()
        };
        if needed <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if !line.is_empty() && line.width() + w > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_shown_without_its_port_and_anything_else_escaped() {
        assert_eq!(address("203.0.113.7:50122"), "203.0.113.7");
        assert_eq!(address("[2001:db8::1]:22"), "2001:db8::1");
        assert_eq!(address("odd\u{1b}[2J"), "odd\\u{1b}[2J");
    }

    #[test]
    fn ago_reads_naturally() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let at = |s: i64| DateTime::from_timestamp(1_000_000 - s, 0).unwrap();
        assert_eq!(ago(at(5), now), "just now");
        assert_eq!(ago(at(300), now), "5 min ago");
        assert_eq!(ago(at(3 * 3600), now), "3 h ago");
        assert_eq!(ago(at(86_400 + 5), now), "1 day ago");
        assert_eq!(ago(at(5 * 86_400), now), "5 days ago");
    }

    #[test]
    fn shorten_keeps_the_end() {
        assert_eq!(shorten_left("/a/b/users.json", 40), "/a/b/users.json");
        assert_eq!(
            shorten_left("/home/someone/.local/share/authtui/users.json", 20),
            "…/authtui/users.json"
        );
        assert_eq!(shorten_left("abc", 0), "");
    }

    #[test]
    fn the_countdown_uses_the_services_words() {
        assert_eq!(lock_countdown(27), "Too many failed attempts. Try again in 27 s");
        assert_eq!(lock_countdown(0), "Too many failed attempts. Try again in 1 s");
        assert_eq!(
            lock_countdown(90),
            "Too many failed attempts. Try again in 1 min 30 s"
        );
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(name("ad\u{202e}nimda"), "ad\\u{202e}nimda");
    }

    #[test]
    fn wrap_keeps_every_word() {
        let text = "Username may only contain a-z, 0-9 (not 'ë')";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.width() <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(wrap("x", 0), ["x"]);
    }
}
