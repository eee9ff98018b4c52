//! Text from files, command lines or typed names shown to a person. The one sanitiser for
//! all of it: characters that could act on the terminal or mislead the reader are escaped
//! visibly (`\u{1b}`, `\u{202e}`), and long text is cut to a display width.
//!
//! Escaped are control characters (C0, DEL, C1: they move the cursor, clear the screen,
//! retitle the window), bidi controls (they reverse what follows: `ad\u{202e}nimda` shows
//! as "adadmin"), and invisible characters: zero-width spaces and joiners, the other
//! format characters (Unicode category Cf), variation selectors, Hangul fillers, the line
//! and paragraph separators and the rest of Unicode's default-ignorable code points.
//! Widths are terminal columns (`unicode-width`): a CJK character is two, a combining
//! accent none.

use unicode_width::UnicodeWidthChar;

/// Code points shown escaped besides the control characters: every format character
/// (general category Cf, Unicode 16), the line and paragraph separators (Zl, Zp) and
/// every default-ignorable code point (variation selectors, Hangul fillers, the combining
/// grapheme joiner, tags, …). Sorted, inclusive ranges.
const HIDDEN: &[(u32, u32)] = &[
    (0x00AD, 0x00AD), // soft hyphen
    (0x034F, 0x034F), // combining grapheme joiner
    (0x0600, 0x0605), // Arabic number signs (Cf)
    (0x061C, 0x061C), // Arabic letter mark (bidi)
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160), // Hangul fillers
    (0x17B4, 0x17B5),
    (0x180B, 0x180F), // Mongolian variation selectors, vowel separator
    (0x200B, 0x200F), // zero-width space, ZWNJ, ZWJ, LRM, RLM
    (0x2028, 0x202E), // line/paragraph separators; LRE, RLE, PDF, LRO, RLO
    (0x2060, 0x206F), // word joiner, invisible operators; LRI, RLI, FSI, PDI; deprecated
    (0x3164, 0x3164), // Hangul filler
    (0xFE00, 0xFE0F), // variation selectors
    (0xFEFF, 0xFEFF), // zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0), // halfwidth Hangul filler
    (0xFFF0, 0xFFFB), // interlinear annotation (and unassigned ignorables)
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F), // Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol format controls
    (0xE0000, 0xE0FFF), // tags, variation selectors supplement
];

/// Whether `c` is shown escaped: a control character, a bidi control, or an invisible
/// (format or default-ignorable) character.
pub fn is_hidden(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    let u = c as u32;
    if u < 0xAD {
        return false;
    }
    HIDDEN
        .binary_search_by(|&(lo, hi)| {
            if hi < u {
                std::cmp::Ordering::Less
            } else if lo > u {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The columns a character takes on a terminal (none for a combining mark).
fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// The display width of text as a terminal lays it out, a character at a time: what the
/// columns of a table must be measured in. Meant for text that is already printable.
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `text` followed by spaces up to `columns` display columns (unchanged if it is as wide
/// already): a left-aligned table cell.
pub fn pad(text: &str, columns: usize) -> String {
    let mut out = text.to_owned();
    out.extend(std::iter::repeat_n(' ', columns.saturating_sub(width(text))));
    out
}

/// Appends `c` to `out`, escaped if it is hidden; gives the columns it took.
fn push_shown(out: &mut String, c: char) -> usize {
    let start = out.len();
    if c.is_control() {
        out.extend(c.escape_default());
    } else if is_hidden(c) {
        out.extend(c.escape_unicode());
    } else {
        out.push(c);
        return char_width(c);
    }
    out.len() - start
}

/// `text` with control, bidi and invisible characters escaped (`\u{1b}`, `\u{202e}`),
/// and cut to at most `max` display columns: a cut text ends in "…", which counts. An
/// escape is never cut in half.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    // Where to cut if the rest does not fit: the longest prefix that leaves a column for "…".
    let mut cut = 0;
    for c in text.chars() {
        used += push_shown(&mut out, c);
        if used > max {
            out.truncate(cut);
            if max > 0 {
                out.push('…');
            }
            return out;
        }
        if used < max {
            cut = out.len();
        }
    }
    out
}

/// `text` escaped like [`printable`] but not cut: for a whole message (a reason, a path).
pub fn escape(text: &str) -> String {
    printable(text, usize::MAX)
}

/// A name (a username or a key) for a message: printable, at most 64 columns.
pub fn name(text: &str) -> String {
    printable(text, 64)
}

/// A path for a message: printable, at most 1024 columns.
pub fn path(path: &std::path::Path) -> String {
    printable(&path.to_string_lossy(), 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(printable("ev\u{1b}[2Jil\u{7}", 100), "ev\\u{1b}[2Jil\\u{7}");
        assert_eq!(printable("tab\there", 100), "tab\\there");
        assert_eq!(
            printable("del\u{7f} c1\u{9b}\u{85}", 100),
            "del\\u{7f} c1\\u{9b}\\u{85}"
        );
    }

    #[test]
    fn escapes_bidi_controls() {
        assert_eq!(printable("ad\u{202e}nimda", 100), "ad\\u{202e}nimda");
        for c in ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}']
            .into_iter()
            .chain(['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'])
            .chain(['\u{200e}', '\u{200f}', '\u{61c}'])
        {
            assert_eq!(
                printable(&format!("a{c}b"), 100),
                format!("a{}b", c.escape_unicode())
            );
        }
    }

    #[test]
    fn escapes_zero_width_and_other_invisible_characters() {
        assert_eq!(printable("bo\u{200b}b", 100), "bo\\u{200b}b");
        for c in [
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{feff}',
            '\u{ad}',
            '\u{180e}',
            '\u{fe0f}',
            '\u{fe00}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e0100}',
            '\u{3164}',
            '\u{115f}',
            '\u{34f}',
            '\u{2028}',
            '\u{2029}',
            '\u{600}',
            '\u{fff9}',
            '\u{1d173}',
            '\u{13430}',
        ] {
            assert_eq!(
                printable(&format!("a{c}b"), 100),
                format!("a{}b", c.escape_unicode())
            );
        }
    }

    #[test]
    fn keeps_ordinary_text_of_any_script() {
        for text in [
            "alice",
            "李小龍",
            "émile",
            "e\u{301}mile",
            "Ωμέγα",
            "שלום",
            "😀",
            "a b",
        ] {
            assert_eq!(printable(text, 100), text);
        }
    }

    #[test]
    fn cuts_long_text_to_a_display_width() {
        assert_eq!(printable(&"x".repeat(10), 4), "xxx…");
        assert_eq!(printable(&"x".repeat(4), 4), "xxxx");
        assert_eq!(name(&"é".repeat(1000)).chars().count(), 64);
        // Wide characters take two columns each: "李小" and "…" are 5, a third would be 7.
        assert_eq!(printable("李小龍李小龍", 12), "李小龍李小龍");
        assert_eq!(printable("李小龍李小龍", 11), "李小龍李小…");
        assert_eq!(printable("李小龍李小龍", 6), "李小…");
        assert_eq!(printable("李小龍李小龍", 5), "李小…");
        assert_eq!(printable("李小龍李小龍", 4), "李…");
        // An escape is never cut in half.
        assert_eq!(printable("ab\u{202e}cd", 8), "ab…");
        assert_eq!(printable("ab\u{202e}cd", 12), "ab\\u{202e}cd");
        assert_eq!(printable("abc", 0), "");
        assert_eq!(printable("", 0), "");
    }

    #[test]
    fn pads_by_display_width() {
        assert_eq!(pad("李小", 6), "李小  ");
        assert_eq!(pad("ab", 6), "ab    ");
        assert_eq!(pad("e\u{301}", 3), "e\u{301}  ");
        assert_eq!(pad("toolong", 3), "toolong");
        assert_eq!(width("李小龍x"), 7);
    }

    /// Written out independently of `HIDDEN`: the characters the review named.
    fn forbidden(c: char) -> bool {
        let u = c as u32;
        c.is_control()
            || matches!(u,
                0x00AD | 0x061C | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
                | 0x2066..=0x2069 | 0xFEFF | 0xFE00..=0xFE0F | 0xE0001 | 0xE0020..=0xE007F)
    }

    fn hostile_text() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '\u{1b}',
                '\u{7}',
                '\u{7f}',
                '\u{9b}',
                '\u{202e}',
                '\u{2066}',
                '\u{200b}',
                '\u{200d}',
                '\u{feff}',
                '\u{ad}',
                '\u{fe0f}',
                '\u{e0041}',
                '李',
                'Ｆ',
                '\u{301}',
                '😀',
                'a',
                '…',
                '\\',
            ]),
        ];
        prop::collection::vec(pieces, 0..80).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn no_output_holds_a_hidden_character_or_exceeds_its_width(
            text in hostile_text(),
            max in 0usize..100,
        ) {
            let out = printable(&text, max);
            prop_assert!(!out.chars().any(forbidden), "{out:?}");
            prop_assert!(!out.chars().any(is_hidden), "{out:?}");
            prop_assert!(width(&out) <= max, "{out:?} is {} wide, max {max}", width(&out));
            prop_assert!(out.width() <= max, "{out:?} is {} wide, max {max}", out.width());
            // Nothing is lost unless it is cut, and a cut says so.
            let whole = escape(&text);
            if width(&whole) <= max {
                prop_assert_eq!(&out, &whole);
            } else {
                prop_assert!(max == 0 || out.ends_with('…'), "{out:?}");
                prop_assert!(whole.starts_with(out.trim_end_matches('…')));
            }
        }

        #[test]
        fn padding_reaches_the_column(text in hostile_text(), columns in 0usize..60) {
            let cell = pad(&printable(&text, 30), columns);
            prop_assert!(width(&cell) >= columns);
            prop_assert!(width(&cell) == columns || width(&printable(&text, 30)) > columns);
        }
    }
}
