//! Key tables: each screen has one, and its footer and its help overlay are drawn from
//! it (a test holds the README's key table to them too).

/// One key of a screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHelp {
    /// As the footer and the help show it: "Ctrl+N", "p", "Tab/↓".
    pub key: &'static str,
    /// What the footer says after the key; `None`: the key is only in the help.
    pub footer: Option<&'static str>,
    /// What the help overlay says.
    pub help: &'static str,
    /// When the footer is too narrow, the lowest goes first; [`KEEP`] never goes.
    pub priority: u8,
}

/// The priority of "F1 help": always in the footer.
pub const KEEP: u8 = u8::MAX;

impl KeyHelp {
    pub const fn new(key: &'static str, footer: &'static str, help: &'static str, priority: u8) -> KeyHelp {
        KeyHelp {
            key,
            footer: Some(footer),
            help,
            priority,
        }
    }

    /// A key the help lists but the footer does not.
    pub const fn help_only(key: &'static str, help: &'static str) -> KeyHelp {
        KeyHelp {
            key,
            footer: None,
            help,
            priority: 0,
        }
    }

    /// This key, left out of the footer.
    pub const fn not_in_footer(self) -> KeyHelp {
        KeyHelp { footer: None, ..self }
    }
}

pub const NEXT: KeyHelp = KeyHelp::new("Tab/↓", "next", "next field or button", 1);
pub const PREV: KeyHelp = KeyHelp::help_only("Shift+Tab/↑", "previous field or button");
pub const MOVE: KeyHelp = KeyHelp::help_only("←/→ Home/End", "move in the field");
pub const DELETE: KeyHelp = KeyHelp::help_only("Backspace/Delete", "delete a character");
pub const DELETE_WORD: KeyHelp = KeyHelp::help_only("Ctrl+W", "delete the word before the cursor");
pub const CLEAR: KeyHelp = KeyHelp::help_only("Ctrl+U", "clear the field");
pub const SHOW: KeyHelp = KeyHelp::new("Ctrl+R", "show", "show / hide the password", 2);
pub const CLICK: KeyHelp = KeyHelp::help_only("Click", "focus a field or press a button");
pub const HELP: KeyHelp = KeyHelp::new("F1", "help", "this help (or ? outside a field)", KEEP);
pub const QUIT: KeyHelp = KeyHelp::help_only("Ctrl+C", "quit (logging out first)");

/// Enter on a form whose submit does `what` (the footer's word for it).
pub const fn enter(what: &'static str) -> KeyHelp {
    KeyHelp::new("Enter", what, "next field; submit on the last one", 5)
}

/// The table of a form screen: the form's keys, with `enter` and `show`, then the
/// screen's own, then help and quit.
macro_rules! form_keys {
    ($enter:expr, $show:expr, $($own:expr),* $(,)?) => {
        &[
            $crate::tui::screens::keys::NEXT,
            $crate::tui::screens::keys::PREV,
            $enter,
            $crate::tui::screens::keys::MOVE,
            $crate::tui::screens::keys::DELETE,
            $crate::tui::screens::keys::DELETE_WORD,
            $crate::tui::screens::keys::CLEAR,
            $show,
            $crate::tui::screens::keys::CLICK,
            $($own,)*
            $crate::tui::screens::keys::HELP,
            $crate::tui::screens::keys::QUIT,
        ]
    };
}
pub(crate) use form_keys;

/// Keys every form shares (the README lists them once, as "any form", "any field").
pub const SHARED: &[KeyHelp] = &[
    NEXT,
    PREV,
    MOVE,
    DELETE,
    DELETE_WORD,
    CLEAR,
    SHOW,
    CLICK,
    HELP,
    QUIT,
];

/// The footer's entries that fit in `width` columns, in table order: the lowest priority
/// goes first, "F1 help" never.
pub fn footer(keys: &[KeyHelp], width: usize) -> Vec<(&'static str, &'static str)> {
    let mut shown: Vec<(usize, &KeyHelp, &'static str)> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| Some((i, k, k.footer?)))
        .collect();
    let cost = |s: &[(usize, &KeyHelp, &str)]| -> usize {
        // " key label" each, " · " between.
        s.iter()
            .map(|(_, k, f)| 1 + unicode_width::UnicodeWidthStr::width(k.key) + 1 + f.chars().count())
            .sum::<usize>()
            + 2 * s.len().saturating_sub(1)
    };
    while cost(&shown) > width {
        let lowest = shown
            .iter()
            .enumerate()
            .filter(|(_, (_, k, _))| k.priority != KEEP)
            // The last of the lowest goes first.
            .min_by_key(|(pos, (_, k, _))| (k.priority, usize::MAX - pos))
            .map(|(pos, _)| pos);
        match lowest {
            Some(pos) => {
                shown.remove(pos);
            }
            None => break,
        }
    }
    shown.into_iter().map(|(_, k, f)| (k.key, f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[KeyHelp] = form_keys!(
        enter("log in"),
        SHOW.not_in_footer(),
        KeyHelp::new("Esc", "quit", "quit", 4)
    );

    #[test]
    fn the_footer_drops_the_lowest_first_and_keeps_help() {
        let all = footer(TABLE, 200);
        assert_eq!(
            all,
            [
                ("Tab/↓", "next"),
                ("Enter", "log in"),
                ("Esc", "quit"),
                ("F1", "help")
            ]
        );
        assert_eq!(footer(TABLE, 47), all);
        let narrow = footer(TABLE, 46);
        assert_eq!(narrow, [("Enter", "log in"), ("Esc", "quit"), ("F1", "help")]);
        assert_eq!(footer(TABLE, 33), [("Enter", "log in"), ("F1", "help")]);
        assert_eq!(footer(TABLE, 3), [("F1", "help")]);
    }
}
