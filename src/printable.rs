//! Text from files or command lines shown to a person: control characters (which could
//! move the cursor, clear the screen or retitle the terminal) are escaped, and very long
//! text is cut.

/// `text` with control characters escaped (`\u{1b}`) and cut to `max` characters.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A name (a username or a key) for a message: printable, at most 64 characters.
pub fn name(text: &str) -> String {
    printable(text, 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(printable("ev\u{1b}[2Jil\u{7}", 100), "ev\\u{1b}[2Jil\\u{7}");
        assert_eq!(printable("tab\there", 100), "tab\\there");
    }

    #[test]
    fn cuts_long_text() {
        assert_eq!(printable(&"x".repeat(10), 4), "xxxx…");
        assert_eq!(name(&"é".repeat(1000)).chars().count(), 65);
    }
}
