//! The Log in screen: Username, Password, "Log in" and "Create an account".

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::super::app::{Banner, Cmd, Outcome, Screen};
use super::super::field::TextField;
use super::super::form::{Form, FormEvent};
use super::dashboard::Dashboard;
use super::keys::{KeyHelp, SHOW, enter, form_keys};
use super::signup::Signup;
use super::{Action, Page, Request, form_page};
use crate::auth::Password;

pub const USERNAME: usize = 0;
pub const PASSWORD: usize = 1;
pub const LOG_IN: usize = 0;
pub const CREATE_ACCOUNT: usize = 1;

pub struct Login {
    pub form: Form,
}

impl Login {
    pub const TITLE: &'static str = "Log in";
    pub const KEYS: &'static [KeyHelp] = form_keys!(
        enter("log in"),
        SHOW.not_in_footer(),
        KeyHelp::new("Ctrl+N", "sign up", "open Sign up", 3),
        KeyHelp::new("Esc", "quit", "quit", 4),
    );
}

impl Default for Login {
    /// Empty fields, the username focused.
    fn default() -> Login {
        Login {
            form: Form::new(
                vec![
                    ("Username", TextField::plain()),
                    ("Password", TextField::masked()),
                ],
                vec!["Log in", "Create an account"],
            ),
        }
    }
}

impl Login {
    pub fn username(&self) -> &str {
        self.form.field(USERNAME).value()
    }

    /// Takes the password out of its field (which is left empty and masked).
    pub fn take_password(&mut self) -> Password {
        self.form.conceal_all();
        self.form.field_mut(PASSWORD).take()
    }
}

fn sign_up() -> Action {
    Action::show(Screen::Signup(Signup::default()), None)
}

impl Page for Login {
    form_page!();

    fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.code == KeyCode::Esc {
            return Action::Quit;
        }
        if key.code == KeyCode::Char('n') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return sign_up();
        }
        match self.form.handle_key(key) {
            FormEvent::Press(LOG_IN) => Action::Submit,
            FormEvent::Press(CREATE_ACCOUNT) => sign_up(),
            _ => Action::None,
        }
    }

    fn submit(&mut self, id: u64) -> Result<Request, Banner> {
        let problem = if self.username().trim().is_empty() {
            Some(("Enter your username", USERNAME))
        } else if self.form.field(PASSWORD).is_empty() {
            Some(("Enter your password", PASSWORD))
        } else {
            None
        };
        if let Some((text, field)) = problem {
            self.form.set_focus(field);
            return Err(Banner::error(text));
        }
        let username = self.username().trim().to_owned();
        let password = self.take_password();
        Ok(Request {
            label: "Logging in",
            cmd: Cmd::Login {
                id,
                username,
                password,
            },
        })
    }

    fn on_result(&mut self, outcome: Outcome, now: Instant) -> Action {
        match outcome {
            Outcome::LoggedIn(Ok(w)) => {
                Action::show(Screen::Dashboard(Dashboard::new(w.session, w.events)), None)
            }
            Outcome::LoggedIn(Err(e)) => {
                // The name stays; the password is typed again.
                drop(self.take_password());
                self.form.set_focus(PASSWORD);
                Action::Banner(Banner::refused(&e, now))
            }
            _ => Action::None,
        }
    }
}
