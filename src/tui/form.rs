//! A form: text fields then buttons, one of them focused, with a message slot under each
//! field. Log in, Sign up, Change password and Delete account are all forms; only their
//! fields and buttons differ.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::field::TextField;
use crate::auth::Strength;

pub struct Form {
    pub fields: Vec<Labeled>,
    pub buttons: Vec<&'static str>,
    /// Index into fields, then buttons.
    pub focus: usize,
}

pub struct Labeled {
    pub label: &'static str,
    pub field: TextField,
    /// Why the value was refused at the last submit.
    pub error: Option<String>,
    /// A live note while typing ("✔ Passwords match", a strength tip); an error wins.
    pub hint: Option<Hint>,
    /// A strength meter under the field (new passwords).
    pub meter: Option<Strength>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub text: String,
    pub good: bool,
}

/// What a key did to a form, for the screen to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormEvent {
    /// Handled inside the form (moving focus, showing a password).
    Handled,
    /// An editing key went to the focused field.
    Edited,
    /// Enter on the last field, or on the button with this index.
    Press(usize),
    /// Not a form key: the screen decides.
    Unhandled,
}

impl Form {
    pub fn new(fields: Vec<(&'static str, TextField)>, buttons: Vec<&'static str>) -> Form {
        Form {
            fields: fields
                .into_iter()
                .map(|(label, field)| Labeled {
                    label,
                    field,
                    error: None,
                    hint: None,
                    meter: None,
                })
                .collect(),
            buttons,
            focus: 0,
        }
    }

    fn slots(&self) -> usize {
        self.fields.len() + self.buttons.len()
    }

    pub fn focused_field(&self) -> Option<usize> {
        (self.focus < self.fields.len()).then_some(self.focus)
    }

    pub fn focused_button(&self) -> Option<usize> {
        self.focus.checked_sub(self.fields.len())
    }

    /// Moves focus; a password shown in clear text is masked again when focus leaves it.
    pub fn set_focus(&mut self, slot: usize) {
        let slot = slot.min(self.slots() - 1);
        if slot != self.focus {
            self.conceal_all();
        }
        self.focus = slot;
    }

    pub fn next(&mut self) {
        self.set_focus((self.focus + 1) % self.slots());
    }

    pub fn prev(&mut self) {
        self.set_focus((self.focus + self.slots() - 1) % self.slots());
    }

    pub fn conceal_all(&mut self) {
        for f in &mut self.fields {
            f.field.conceal();
        }
    }

    pub fn field(&self, index: usize) -> &TextField {
        &self.fields[index].field
    }

    pub fn field_mut(&mut self, index: usize) -> &mut TextField {
        &mut self.fields[index].field
    }

    pub fn clear_errors(&mut self) {
        for f in &mut self.fields {
            f.error = None;
        }
    }

    pub fn set_error(&mut self, index: usize, message: impl Into<String>) {
        self.fields[index].error = Some(message.into());
    }

    /// Focuses the first field marked with an error and returns its message, for the
    /// banner; `None` if no field is marked.
    pub fn first_error(&mut self) -> Option<String> {
        let first = self.fields.iter().position(|f| f.error.is_some())?;
        self.set_focus(first);
        self.fields[first].error.clone()
    }

    /// Focuses the first empty field, if any.
    pub fn focus_first_empty(&mut self) {
        if let Some(field) = self.fields.iter().position(|f| f.field.is_empty()) {
            self.set_focus(field);
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> FormEvent {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let shift_tab = key.code == KeyCode::BackTab
            || (key.code == KeyCode::Tab && key.modifiers.contains(KeyModifiers::SHIFT));
        match key.code {
            _ if shift_tab => self.prev(),
            KeyCode::Tab | KeyCode::Down => self.next(),
            KeyCode::Up => self.prev(),
            KeyCode::Char('r') if ctrl => match self.focused_field() {
                Some(i) => self.fields[i].field.toggle_reveal(),
                None => return FormEvent::Unhandled,
            },
            KeyCode::Enter => {
                return match self.focused_button() {
                    Some(button) => FormEvent::Press(button),
                    None if self.focus + 1 == self.fields.len() => FormEvent::Press(0),
                    None => {
                        self.next();
                        FormEvent::Handled
                    }
                };
            }
            _ => {
                let Some(index) = self.focused_field() else {
                    return FormEvent::Unhandled;
                };
                return if self.fields[index].field.handle_key(key) {
                    // The message about the old value no longer applies.
                    self.fields[index].error = None;
                    FormEvent::Edited
                } else {
                    FormEvent::Unhandled
                };
            }
        }
        FormEvent::Handled
    }

    /// Pasted text goes to the focused field, if a field is focused. Returns whether it did.
    pub fn paste(&mut self, text: &str) -> bool {
        match self.focused_field() {
            Some(index) => {
                self.fields[index].field.paste(text);
                self.fields[index].error = None;
                true
            }
            None => false,
        }
    }
}
