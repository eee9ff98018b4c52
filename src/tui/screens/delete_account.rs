//! Delete account (Dashboard `d`): the password, then the username typed out to confirm.
//! Enter on the last field deletes.

use std::time::Instant;

use crossterm::event::KeyEvent;

use super::super::app::{Banner, Cmd, Outcome, Screen};
use super::super::field::TextField;
use super::super::form::{Form, Hint};
use super::super::present;
use super::dashboard::{BACK, Dashboard};
use super::keys::{KeyHelp, SHOW, enter, form_keys};
use super::login::Login;
use super::{Action, Page, Request, form_action, form_page};

pub const PASSWORD: usize = 0;
pub const CONFIRM_NAME: usize = 1;

pub struct DeleteAccount {
    /// The Dashboard to return to, with its session.
    pub dashboard: Dashboard,
    pub form: Form,
}

impl DeleteAccount {
    pub const TITLE: &'static str = "Delete account";
    pub const KEYS: &'static [KeyHelp] = form_keys!(enter("delete"), SHOW, BACK);

    pub fn new(dashboard: Dashboard) -> DeleteAccount {
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
                present::name(dashboard.session.username().as_str())
            ),
            good: false,
        });
        DeleteAccount { dashboard, form }
    }

    /// Opens over `dashboard` (its `d`).
    pub fn screen(dashboard: Dashboard) -> Screen {
        Screen::DeleteAccount(DeleteAccount::new(dashboard))
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
                .set_error(CONFIRM_NAME, format!("Type {} to confirm", present::name(name)));
        }
        self.form.first_error()
    }
}

impl Page for DeleteAccount {
    form_page!(over_dashboard);

    fn on_key(&mut self, key: KeyEvent) -> Action {
        form_action(self, key, || Action::Open(Screen::Dashboard, None))
    }

    fn submit(&mut self, id: u64) -> Result<Request, Banner> {
        if let Some(first) = self.validate() {
            return Err(Banner::error(first));
        }
        self.form.conceal_all();
        let password = self.form.field_mut(PASSWORD).take();
        Ok(Request {
            label: "Deleting account",
            cmd: Cmd::DeleteAccount {
                id,
                session: self.dashboard.session.clone(),
                password,
            },
        })
    }

    fn on_result(&mut self, outcome: Outcome, now: Instant) -> Action {
        match outcome {
            Outcome::AccountDeleted(Ok(())) => Action::show(
                Screen::Login(Login::default()),
                Some(Banner::success("Account deleted")),
            ),
            Outcome::AccountDeleted(Err(e)) => {
                let banner = Banner::refused(&e, now);
                self.form.set_error(PASSWORD, banner.text_at(now));
                self.form.set_focus(PASSWORD);
                Action::Banner(banner)
            }
            _ => Action::None,
        }
    }
}
