//! Change password (Dashboard `p`): current, new (with the strength meter), confirm.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::super::field::TextField;
use super::super::form::{Form, FormEvent};
use super::super::theme::Theme;
use super::dashboard::Dashboard;
use super::{draw_form, mark_match, measure_new_password};
use crate::auth::{Password, policy};

pub const CURRENT: usize = 0;
pub const NEW: usize = 1;
pub const CONFIRM: usize = 2;

pub struct ChangePasswordScreen {
    /// The Dashboard to return to, with its session.
    pub dashboard: Dashboard,
    pub form: Form,
    /// The meter no longer matches the password (see `settle`).
    meter_stale: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ChangePasswordAction {
    None,
    Submit,
    Cancel,
}

impl ChangePasswordScreen {
    pub const TITLE: &'static str = "Change password";
    pub const KEYS: &'static [(&'static str, &'static str)] = &[
        ("Tab/↓", "next"),
        ("Enter", "change"),
        ("Ctrl+R", "show"),
        ("Esc", "cancel"),
        ("F1", "help"),
    ];

    pub fn new(dashboard: Dashboard) -> ChangePasswordScreen {
        let mut screen = ChangePasswordScreen {
            dashboard,
            form: Form::new(
                vec![
                    ("Current password", TextField::masked()),
                    ("New password", TextField::masked()),
                    ("Confirm password", TextField::masked()),
                ],
                vec!["Change password"],
            ),
            meter_stale: true,
        };
        screen.settle();
        screen
    }

    fn username(&self) -> String {
        self.dashboard.session.username().to_string()
    }

    /// After an edit: the match mark now, the meter when the app settles.
    fn refresh(&mut self) {
        mark_match(&mut self.form, NEW, CONFIRM);
        self.meter_stale = true;
    }

    /// Measures the new password if it changed since.
    pub fn settle(&mut self) {
        if std::mem::take(&mut self.meter_stale) {
            let name = self.username();
            measure_new_password(&mut self.form, NEW, &name);
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> ChangePasswordAction {
        if key.code == KeyCode::Esc {
            return ChangePasswordAction::Cancel;
        }
        match self.form.handle_key(key) {
            FormEvent::Press(_) => ChangePasswordAction::Submit,
            FormEvent::Edited => {
                self.refresh();
                ChangePasswordAction::None
            }
            _ => ChangePasswordAction::None,
        }
    }

    pub fn paste(&mut self, text: &str) {
        if self.form.paste(text) {
            self.refresh();
        }
    }

    /// Marks each problem under its field; returns the first, for the banner.
    pub fn validate(&mut self) -> Option<String> {
        self.form.clear_errors();
        if self.form.field(CURRENT).is_empty() {
            self.form.set_error(CURRENT, "Enter your current password");
        }
        let new = Password::from(self.form.field(NEW).value()).normalized();
        if let Some(problem) = policy::strength(&new, &self.username()).problem {
            self.form.set_error(NEW, problem.to_string());
        } else if self.form.field(NEW).value() == self.form.field(CURRENT).value() {
            self.form
                .set_error(NEW, "New password must differ from the current one");
        }
        drop(new);
        if self.form.field(CONFIRM).value() != self.form.field(NEW).value() {
            self.form.set_error(CONFIRM, "Passwords do not match");
        }
        let first = self.form.fields.iter().position(|f| f.error.is_some())?;
        self.form.focus_field(first);
        self.form.fields[first].error.clone()
    }

    /// Takes (current, new) out and wipes all three fields.
    pub fn take_passwords(&mut self) -> (Password, Password) {
        self.form.conceal_all();
        self.form.field_mut(CONFIRM).clear();
        let current = self.form.field_mut(CURRENT).take();
        let new = self.form.field_mut(NEW).take();
        self.refresh();
        (current, new)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, busy: bool) {
        draw_form(frame, area, theme, Self::TITLE, &self.form, busy);
    }
}
