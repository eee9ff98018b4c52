//! Change password (Dashboard `p`): current, new (with the strength meter), confirm.

use std::time::Instant;

use crossterm::event::KeyEvent;

use super::super::app::{Banner, Cmd, Outcome, Screen};
use super::super::field::TextField;
use super::super::form::Form;
use super::dashboard::{BACK, Dashboard};
use super::keys::{KeyHelp, SHOW, enter, form_keys};
use super::new_password::{self, NewPassword};
use super::{Action, Page, Request, form_action, form_page};
use crate::auth::AuthError;

pub const CURRENT: usize = 0;
pub const NEW: usize = new_password::NEW;
pub const CONFIRM: usize = new_password::CONFIRM;

pub struct ChangePassword {
    /// The Dashboard to return to, with its session.
    pub dashboard: Dashboard,
    pub form: Form,
    password: NewPassword,
}

impl ChangePassword {
    pub const TITLE: &'static str = "Change password";
    pub const KEYS: &'static [KeyHelp] = form_keys!(enter("change"), SHOW, BACK);

    pub fn new(dashboard: Dashboard) -> ChangePassword {
        let current = ("Current password", TextField::masked());
        let (form, password) = NewPassword::form(current, "New password", "Change password");
        let mut screen = ChangePassword {
            dashboard,
            form,
            password,
        };
        screen.settle();
        screen
    }

    /// Opens over `dashboard` (its `p`).
    pub fn screen(dashboard: Dashboard) -> Screen {
        Screen::ChangePassword(ChangePassword::new(dashboard))
    }

    fn username(&self) -> String {
        self.dashboard.session.username().to_string()
    }

    /// Marks each problem under its field; returns the first, for the banner.
    pub fn validate(&mut self) -> Option<String> {
        self.form.clear_errors();
        if self.form.field(CURRENT).is_empty() {
            self.form.set_error(CURRENT, "Enter your current password");
        }
        let name = self.username();
        let accepted = self.password.check(&mut self.form, &name);
        if accepted && self.form.field(NEW).value() == self.form.field(CURRENT).value() {
            self.form
                .set_error(NEW, "New password must differ from the current one");
        }
        self.form.first_error()
    }
}

impl Page for ChangePassword {
    form_page!(over_dashboard);

    fn on_key(&mut self, key: KeyEvent) -> Action {
        form_action(self, key, || Action::Open(Screen::Dashboard, None))
    }

    fn edited(&mut self) {
        self.password.edited(&mut self.form);
    }

    fn settle(&mut self) {
        let name = self.username();
        self.password.settle(&mut self.form, &name);
    }

    fn submit(&mut self, id: u64) -> Result<Request, Banner> {
        if let Some(first) = self.validate() {
            return Err(Banner::error(first));
        }
        let new = self.password.take(&mut self.form);
        let current = self.form.field_mut(CURRENT).take();
        Ok(Request {
            label: "Changing password",
            cmd: Cmd::ChangePassword {
                id,
                session: self.dashboard.session.clone(),
                current,
                new,
            },
        })
    }

    fn on_result(&mut self, outcome: Outcome, now: Instant) -> Action {
        match outcome {
            Outcome::PasswordChanged(Ok(events)) => {
                self.dashboard.events = events;
                Action::Open(Screen::Dashboard, Some(Banner::success("Password changed")))
            }
            Outcome::PasswordChanged(Err(e)) => {
                let banner = Banner::refused(&e, now);
                let field = match e {
                    AuthError::WrongPassword | AuthError::Locked { .. } => CURRENT,
                    _ => NEW,
                };
                self.form.set_error(field, banner.text_at(now));
                self.form.set_focus(field);
                Action::Banner(banner)
            }
            _ => Action::None,
        }
    }
}
