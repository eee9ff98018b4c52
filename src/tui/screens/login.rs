//! The Log in screen: Username, Password, "Log in" and "Create an account".

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::super::field::TextField;
use super::super::form::{Form, FormEvent};
use super::super::theme::Theme;
use super::draw_form;
use crate::auth::Password;

pub const USERNAME: usize = 0;
pub const PASSWORD: usize = 1;
pub const LOG_IN: usize = 0;
pub const CREATE_ACCOUNT: usize = 1;

pub struct LoginScreen {
    pub form: Form,
}

/// What a key on this screen asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginAction {
    None,
    Submit,
    OpenSignup,
    Quit,
}

impl Default for LoginScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl LoginScreen {
    pub const TITLE: &'static str = "Log in";
    pub const KEYS: &'static [(&'static str, &'static str)] = &[
        ("Tab/↓", "next"),
        ("Enter", "log in"),
        ("Ctrl+N", "sign up"),
        ("Esc", "quit"),
        ("F1", "help"),
    ];

    pub fn new() -> LoginScreen {
        LoginScreen {
            form: Form::new(
                vec![
                    ("Username", TextField::plain()),
                    ("Password", TextField::masked()),
                ],
                vec!["Log in", "Create an account"],
            ),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> LoginAction {
        if key.code == KeyCode::Esc {
            return LoginAction::Quit;
        }
        if key.code == KeyCode::Char('n') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return LoginAction::OpenSignup;
        }
        match self.form.handle_key(key) {
            FormEvent::Press(LOG_IN) => LoginAction::Submit,
            FormEvent::Press(CREATE_ACCOUNT) => LoginAction::OpenSignup,
            _ => LoginAction::None,
        }
    }

    pub fn username(&self) -> &str {
        self.form.field(USERNAME).value()
    }

    /// Takes the password out of its field (which is left empty and masked).
    pub fn take_password(&mut self) -> Password {
        self.form.conceal_all();
        self.form.field_mut(PASSWORD).take()
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, busy: bool) {
        draw_form(frame, area, theme, Self::TITLE, &self.form, busy);
    }
}
