//! The Sign up screen: Username, Password (with a live strength meter), Confirm password,
//! "Create account". Problems are shown under the field they concern, and in the banner.

use std::time::Instant;

use crossterm::event::KeyEvent;

use super::super::app::{Banner, Cmd, Outcome, Screen};
use super::super::field::TextField;
use super::super::form::Form;
use super::dashboard::Dashboard;
use super::keys::{KeyHelp, SHOW, enter, form_keys};
use super::login::Login;
use super::new_password::{self, NewPassword};
use super::{Action, Page, Request, form_action, form_page};
use crate::auth::{AuthError, Username};

pub const USERNAME: usize = 0;
pub const PASSWORD: usize = new_password::NEW;
pub const CONFIRM: usize = new_password::CONFIRM;

pub struct Signup {
    pub form: Form,
    password: NewPassword,
}

impl Signup {
    pub const TITLE: &'static str = "Sign up";
    pub const KEYS: &'static [KeyHelp] = form_keys!(
        enter("create"),
        SHOW,
        KeyHelp::new("Esc", "back", "back to Log in", 4),
    );
}

impl Default for Signup {
    /// Empty fields, the username focused, an empty meter.
    fn default() -> Signup {
        let (form, password) =
            NewPassword::form(("Username", TextField::plain()), "Password", "Create account");
        let mut screen = Signup { form, password };
        screen.settle();
        screen
    }
}

impl Signup {
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
        let name_for_policy = name.as_ref().map(|n| n.as_str()).unwrap_or("");
        self.password.check(&mut self.form, name_for_policy);
        self.form.first_error()
    }
}

impl Page for Signup {
    form_page!();

    fn on_key(&mut self, key: KeyEvent) -> Action {
        form_action(self, key, || Action::show(Screen::Login(Login::default()), None))
    }

    fn edited(&mut self) {
        self.password.edited(&mut self.form);
    }

    /// Measures the password if it changed since (the username is a context word).
    fn settle(&mut self) {
        let name = self.username().trim().to_owned();
        self.password.settle(&mut self.form, &name);
    }

    fn submit(&mut self, id: u64) -> Result<Request, Banner> {
        if let Some(first) = self.validate() {
            return Err(Banner::error(first));
        }
        let username = self.username().trim().to_owned();
        let password = self.password.take(&mut self.form);
        Ok(Request {
            label: "Creating account",
            cmd: Cmd::Signup {
                id,
                username,
                password,
            },
        })
    }

    fn on_result(&mut self, outcome: Outcome, _now: Instant) -> Action {
        match outcome {
            Outcome::SignedUp(Ok(w)) => Action::show(
                Screen::Dashboard(Dashboard::new(w.session, w.events)),
                Some(Banner::success("Account created")),
            ),
            Outcome::SignedUp(Err(e)) => {
                let text = e.to_string();
                let field = match e {
                    AuthError::UsernameTaken(_) | AuthError::Username(_) => Some(USERNAME),
                    AuthError::Policy(_) => Some(PASSWORD),
                    _ => None,
                };
                if let Some(field) = field {
                    self.form.set_error(field, text.clone());
                    self.form.set_focus(field);
                }
                Action::Banner(Banner::error(text))
            }
            _ => Action::None,
        }
    }
}
