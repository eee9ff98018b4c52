//! A text field on tui-input, optionally masked. A masked field never shows its text,
//! never copies it (no yank buffer, no reallocation) and wipes it when cleared, taken
//! or dropped.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::{Input, InputRequest};
use zeroize::Zeroize;

use crate::auth::Password;

/// Fields hold at most this many characters (docs/security.md rule 21).
pub const MAX_CHARS: usize = 256;
/// Room for `MAX_CHARS` of any width, reserved up front so the buffer never moves.
const CAPACITY: usize = MAX_CHARS * 4;

pub struct TextField {
    input: Input,
    masked: bool,
    /// A masked field shown in clear text for now (Ctrl+R).
    revealed: bool,
}

impl TextField {
    pub fn plain() -> TextField {
        TextField {
            input: Input::new(String::with_capacity(CAPACITY)),
            masked: false,
            revealed: false,
        }
    }

    pub fn masked() -> TextField {
        TextField {
            input: Input::new(String::with_capacity(CAPACITY)),
            masked: true,
            revealed: false,
        }
    }

    pub fn is_masked(&self) -> bool {
        self.masked
    }

    /// True while a masked field shows its text.
    pub fn is_revealed(&self) -> bool {
        self.masked && self.revealed
    }

    /// Shows or hides a masked field's text; does nothing to a plain field.
    pub fn toggle_reveal(&mut self) {
        self.revealed = self.masked && !self.revealed;
    }

    /// Masks the field again.
    pub fn conceal(&mut self) {
        self.revealed = false;
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    pub fn is_empty(&self) -> bool {
        self.input.value().is_empty()
    }

    pub fn char_count(&self) -> usize {
        self.input.value().chars().count()
    }

    /// What the screen shows, scrolled to keep the cursor in `width` columns, and the
    /// cursor's column within it.
    pub fn visible(&self, width: usize) -> (String, usize) {
        if width == 0 {
            return (String::new(), 0);
        }
        if self.masked && !self.revealed {
            // One bullet per character; the cursor sits by character index.
            let count = self.char_count();
            let cursor = self.input.cursor();
            let scroll = (cursor + 1).saturating_sub(width);
            let shown = count.saturating_sub(scroll).min(width);
            ("•".repeat(shown), cursor - scroll)
        } else {
            let scroll = self.input.visual_scroll(width);
            let mut skipped = 0;
            let mut text = String::new();
            let mut used = 0;
            for g in unicode_graphemes(self.input.value()) {
                let w = unicode_width(g);
                if skipped < scroll {
                    skipped += w;
                    continue;
                }
                if used + w > width {
                    break;
                }
                used += w;
                text.push_str(g);
            }
            (text, self.input.visual_cursor().saturating_sub(scroll))
        }
    }

    /// Applies an editing key. Returns false when the key is not an editing key.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let request = match key.code {
            KeyCode::Char('u') if ctrl => {
                self.clear();
                return true;
            }
            // Word and line cuts would copy a password into tui-input's yank buffer,
            // which is never wiped: on masked fields they delete character by character.
            KeyCode::Char('w') if ctrl && self.masked => {
                self.delete_prev_word_masked();
                return true;
            }
            KeyCode::Char('k') if ctrl && self.masked => {
                while self.input.handle(InputRequest::DeleteNextChar).is_some() {}
                return true;
            }
            KeyCode::Char('y') if ctrl && self.masked => return true,
            KeyCode::Backspace
                if key.modifiers.intersects(KeyModifiers::ALT | KeyModifiers::META) && self.masked =>
            {
                self.delete_prev_word_masked();
                return true;
            }
            KeyCode::Char('w') if ctrl => InputRequest::DeletePrevWord,
            KeyCode::Char('k') if ctrl => InputRequest::DeleteTillEnd,
            KeyCode::Char('a') if ctrl => InputRequest::GoToStart,
            KeyCode::Char('e') if ctrl => InputRequest::GoToEnd,
            KeyCode::Char('h') if ctrl => InputRequest::DeletePrevChar,
            KeyCode::Backspace => InputRequest::DeletePrevChar,
            KeyCode::Delete => InputRequest::DeleteNextChar,
            KeyCode::Left if ctrl => InputRequest::GoToPrevWord,
            KeyCode::Right if ctrl => InputRequest::GoToNextWord,
            KeyCode::Left => InputRequest::GoToPrevChar,
            KeyCode::Right => InputRequest::GoToNextChar,
            KeyCode::Home => InputRequest::GoToStart,
            KeyCode::End => InputRequest::GoToEnd,
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                self.insert(c);
                return true;
            }
            _ => return false,
        };
        self.input.handle(request);
        true
    }

    /// Inserts pasted text at the cursor: control characters (newlines included) are
    /// dropped, and the field stops at `MAX_CHARS`.
    pub fn paste(&mut self, text: &str) {
        for c in text.chars() {
            if self.char_count() >= MAX_CHARS {
                break;
            }
            self.insert(c);
        }
    }

    fn insert(&mut self, c: char) {
        if c.is_control() || self.char_count() >= MAX_CHARS {
            return;
        }
        self.input.handle(InputRequest::InsertChar(c));
    }

    fn delete_prev_word_masked(&mut self) {
        // Delete spaces before the cursor, then the word before them.
        let before: Vec<char> = self.input.value().chars().take(self.input.cursor()).collect();
        let trailing_spaces = before.iter().rev().take_while(|c| c.is_whitespace()).count();
        let word = before[..before.len() - trailing_spaces]
            .iter()
            .rev()
            .take_while(|c| !c.is_whitespace())
            .count();
        let target = before.len() - trailing_spaces - word;
        while self.input.cursor() > target && self.input.handle(InputRequest::DeletePrevChar).is_some() {}
    }

    /// Empties the field, wiping a masked one.
    pub fn clear(&mut self) {
        drop(self.take());
    }

    /// Takes the text out, leaving the field empty. The text moves (no copy is made), so
    /// wrapping it in a `Password` keeps it the only copy.
    pub fn take(&mut self) -> Password {
        self.revealed = false;
        let fresh = Input::new(String::with_capacity(CAPACITY));
        let old = std::mem::replace(&mut self.input, fresh);
        Password::new(String::from(old))
    }
}

impl Drop for TextField {
    fn drop(&mut self) {
        if self.masked {
            let old = std::mem::take(&mut self.input);
            String::from(old).zeroize();
        }
    }
}

fn unicode_graphemes(s: &str) -> impl Iterator<Item = &str> {
    unicode_segmentation::UnicodeSegmentation::graphemes(s, true)
}

fn unicode_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(field: &mut TextField, s: &str) {
        for c in s.chars() {
            field.handle_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn masked_shows_one_bullet_per_character() {
        let mut f = TextField::masked();
        typed(&mut f, "pässwörd");
        assert_eq!(f.visible(40), ("••••••••".to_owned(), 8));
        f.handle_key(key(KeyCode::Home));
        assert_eq!(f.visible(40).1, 0);
    }

    #[test]
    fn masked_scrolls_to_keep_the_cursor_visible() {
        let mut f = TextField::masked();
        typed(&mut f, &"x".repeat(30));
        let (shown, cursor) = f.visible(10);
        assert_eq!(shown.chars().count(), 9);
        assert_eq!(cursor, 9);
    }

    #[test]
    fn plain_scrolls_too() {
        let mut f = TextField::plain();
        typed(&mut f, "abcdefghijklmnop");
        let (shown, cursor) = f.visible(5);
        assert!(shown.ends_with('p'), "{shown}");
        assert_eq!(cursor, 5.min(shown.chars().count()));
    }

    #[test]
    fn editing_keys_work() {
        let mut f = TextField::plain();
        typed(&mut f, "hello world");
        f.handle_key(ctrl('w'));
        assert_eq!(f.value(), "hello ");
        f.handle_key(key(KeyCode::Home));
        f.handle_key(key(KeyCode::Delete));
        assert_eq!(f.value(), "ello ");
        f.handle_key(key(KeyCode::End));
        f.handle_key(key(KeyCode::Backspace));
        assert_eq!(f.value(), "ello");
        f.handle_key(ctrl('u'));
        assert_eq!(f.value(), "");
    }

    #[test]
    fn masked_ctrl_w_deletes_the_previous_word_without_yanking() {
        let mut f = TextField::masked();
        typed(&mut f, "correct horse  ");
        f.handle_key(ctrl('w'));
        assert_eq!(f.value(), "correct ");
        f.handle_key(ctrl('y'));
        assert_eq!(f.value(), "correct ");
    }

    #[test]
    fn paste_drops_control_characters_and_newlines() {
        let mut f = TextField::plain();
        f.paste("ab\ncd\r\t\u{1b}[31mef\u{7}");
        assert_eq!(f.value(), "abcd[31mef");
    }

    #[test]
    fn fields_stop_at_256_characters() {
        let mut f = TextField::masked();
        f.paste(&"é".repeat(1_000_000));
        assert_eq!(f.char_count(), MAX_CHARS);
        typed(&mut f, "x");
        assert_eq!(f.char_count(), MAX_CHARS);
    }

    #[test]
    fn reveal_shows_the_text_until_concealed() {
        let mut f = TextField::masked();
        typed(&mut f, "secret");
        f.toggle_reveal();
        assert_eq!(f.visible(40).0, "secret");
        f.conceal();
        assert_eq!(f.visible(40).0, "••••••");
        let mut plain = TextField::plain();
        plain.toggle_reveal();
        assert!(!plain.is_revealed());
    }

    #[test]
    fn taking_the_text_masks_the_field_again() {
        let mut f = TextField::masked();
        typed(&mut f, "secret");
        f.toggle_reveal();
        f.take();
        typed(&mut f, "again");
        assert_eq!(f.visible(40).0, "•••••");
    }

    #[test]
    fn take_moves_the_text_out() {
        let mut f = TextField::masked();
        typed(&mut f, "secret words here");
        let p = f.take();
        assert_eq!(p.expose(), "secret words here");
        assert!(f.is_empty());
    }

    #[test]
    fn typing_never_reallocates_the_buffer() {
        let mut f = TextField::masked();
        let before = f.value().as_ptr();
        f.paste(&"😀".repeat(MAX_CHARS));
        assert_eq!(f.value().as_ptr(), before);
    }
}
