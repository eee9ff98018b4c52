//! Delete account (Dashboard `d`): the password, then the username typed out to confirm.
//! Enter on the last field deletes.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::super::field::TextField;
use super::super::form::{Form, FormEvent, Hint};
use super::super::theme::Theme;
use super::dashboard::Dashboard;
use super::draw_form;
use crate::auth::Password;

pub const PASSWORD: usize = 0;
pub const CONFIRM_NAME: usize = 1;

pub struct DeleteAccountScreen {
    /// The Dashboard to return to, with its session.
    pub dashboard: Dashboard,
    pub form: Form,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DeleteAction {
    None,
    Submit,
    Cancel,
}

impl DeleteAccountScreen {
    pub const TITLE: &'static str = "Delete account";
    pub const KEYS: &'static [(&'static str, &'static str)] = &[
        ("Tab/↓", "next"),
        ("Enter", "delete"),
        ("Ctrl+R", "show"),
        ("Esc", "cancel"),
        ("F1", "help"),
    ];

    pub fn new(dashboard: Dashboard) -> DeleteAccountScreen {
        let mut form = Form::new(
            vec![
                ("Password", TextField::masked()),
                ("Your username", TextField::plain()),
            ],
            vec!["Delete account"],
        );
        form.fields[CONFIRM_NAME].hint = Some(Hint {
            text: format!(
                "Type {} to confirm: this cannot be undone",
                dashboard.session.username()
            ),
            good: false,
        });
        DeleteAccountScreen { dashboard, form }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> DeleteAction {
        if key.code == KeyCode::Esc {
            return DeleteAction::Cancel;
        }
        match self.form.handle_key(key) {
            FormEvent::Press(_) => DeleteAction::Submit,
            _ => DeleteAction::None,
        }
    }

    /// Marks each problem under its field; returns the first, for the banner.
    pub fn validate(&mut self) -> Option<String> {
        self.form.clear_errors();
        if self.form.field(PASSWORD).is_empty() {
            self.form.set_error(PASSWORD, "Enter your password");
        }
        let name = self.dashboard.session.username().as_str();
        if !self
            .form
            .field(CONFIRM_NAME)
            .value()
            .trim()
            .eq_ignore_ascii_case(name)
        {
            self.form
                .set_error(CONFIRM_NAME, format!("Type {name} to confirm"));
        }
        let first = self.form.fields.iter().position(|f| f.error.is_some())?;
        self.form.focus_field(first);
        self.form.fields[first].error.clone()
    }

    pub fn take_password(&mut self) -> Password {
        self.form.conceal_all();
        self.form.field_mut(PASSWORD).take()
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, busy: bool) {
        draw_form(frame, area, theme, Self::TITLE, &self.form, busy);
    }
}
