//! The Sign up screen: Username, Password (with a live strength meter), Confirm password,
//! "Create account". Problems are shown under the field they concern, and in the banner.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::super::field::TextField;
use super::super::form::{Form, FormEvent};
use super::super::theme::Theme;
use super::{draw_form, mark_match, measure_new_password};
use crate::auth::{Password, Username, policy};

pub const USERNAME: usize = 0;
pub const PASSWORD: usize = 1;
pub const CONFIRM: usize = 2;

pub struct SignupScreen {
    pub form: Form,
    /// The meter no longer matches the password (see `settle`).
    meter_stale: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignupAction {
    None,
    Submit,
    Back,
}

impl Default for SignupScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl SignupScreen {
    pub const TITLE: &'static str = "Sign up";
    pub const KEYS: &'static [(&'static str, &'static str)] = &[
        ("Tab/↓", "next"),
        ("Enter", "create"),
        ("Ctrl+R", "show"),
        ("Esc", "back"),
        ("F1", "help"),
    ];

    pub fn new() -> SignupScreen {
        let mut screen = SignupScreen {
            form: Form::new(
                vec![
                    ("Username", TextField::plain()),
                    ("Password", TextField::masked()),
                    ("Confirm password", TextField::masked()),
                ],
                vec!["Create account"],
            ),
            meter_stale: true,
        };
        screen.settle();
        screen
    }

    pub fn on_key(&mut self, key: KeyEvent) -> SignupAction {
        if key.code == KeyCode::Esc {
            return SignupAction::Back;
        }
        match self.form.handle_key(key) {
            FormEvent::Press(_) => SignupAction::Submit,
            FormEvent::Edited => {
                self.refresh();
                SignupAction::None
            }
            _ => SignupAction::None,
        }
    }

    pub fn paste(&mut self, text: &str) {
        if self.form.paste(text) {
            self.refresh();
        }
    }

    /// After an edit: the match mark now, the meter when the app settles.
    fn refresh(&mut self) {
        mark_match(&mut self.form, PASSWORD, CONFIRM);
        self.meter_stale = true;
    }

    /// Measures the password if it changed since (the username is a context word).
    pub fn settle(&mut self) {
        if std::mem::take(&mut self.meter_stale) {
            let name = self.username().trim().to_owned();
            measure_new_password(&mut self.form, PASSWORD, &name);
        }
    }

    pub fn username(&self) -> &str {
        self.form.field(USERNAME).value()
    }

    /// Checks every field as the service will, marking each problem under its field.
    /// Returns the first problem, for the banner.
    pub fn validate(&mut self) -> Option<String> {
        self.form.clear_errors();
        let name = Username::parse(self.username().trim());
        if let Err(e) = &name {
            self.form.set_error(USERNAME, e.to_string());
        }
        let password = Password::from(self.form.field(PASSWORD).value()).normalized();
        let name_for_policy = name.as_ref().map(|n| n.as_str()).unwrap_or("");
        if let Some(problem) = policy::strength(&password, name_for_policy).problem {
            self.form.set_error(PASSWORD, problem.to_string());
        }
        drop(password);
        if self.form.field(CONFIRM).value() != self.form.field(PASSWORD).value() {
            self.form.set_error(CONFIRM, "Passwords do not match");
        }
        let first = self.form.fields.iter().position(|f| f.error.is_some())?;
        self.form.focus_field(first);
        self.form.fields[first].error.clone()
    }

    /// Takes the password out and wipes both password fields.
    pub fn take_password(&mut self) -> Password {
        self.form.conceal_all();
        self.form.field_mut(CONFIRM).clear();
        let password = self.form.field_mut(PASSWORD).take();
        self.refresh();
        password
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, busy: bool) {
        draw_form(frame, area, theme, Self::TITLE, &self.form, busy);
    }
}
