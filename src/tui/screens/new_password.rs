//! A new password and its confirmation, as Sign up and Change password both ask for one:
//! the strength meter under it (measured once input pauses), the note under the
//! confirmation ("✔ Passwords match"), the checks at submit, and taking it out.

use super::super::field::TextField;
use super::super::form::{Form, Hint};
use crate::auth::{Password, policy};

/// Where [`NewPassword::form`] puts the new password and its confirmation.
pub const NEW: usize = 1;
pub const CONFIRM: usize = 2;

/// The two fields of a form that hold a new password and its confirmation.
pub struct NewPassword {
    pub new: usize,
    pub confirm: usize,
    /// The meter no longer matches the password (see [`Self::settle`]).
    stale: bool,
}

impl NewPassword {
    /// A form of `first`, then the new password (labelled `label`) and its confirmation,
    /// and its one `button`; the meter is measured at the first settle.
    pub fn form(
        first: (&'static str, TextField),
        label: &'static str,
        button: &'static str,
    ) -> (Form, NewPassword) {
        let fields = vec![
            first,
            (label, TextField::masked()),
            ("Confirm password", TextField::masked()),
        ];
        let password = NewPassword {
            new: NEW,
            confirm: CONFIRM,
            stale: true,
        };
        (Form::new(fields, vec![button]), password)
    }

    /// After an edit: the match mark now (cheap), the meter when the app settles.
    pub fn edited(&mut self, form: &mut Form) {
        let (a, b) = (form.field(self.new).value(), form.field(self.confirm).value());
        form.fields[self.confirm].hint = match (b.is_empty(), a == b) {
            (true, _) => None,
            (false, true) => Some(Hint {
                text: "Passwords match".into(),
                good: true,
            }),
            (false, false) => Some(Hint {
                text: "Passwords do not match".into(),
                good: false,
            }),
        };
        self.stale = true;
    }

    /// Measures the password if it changed since. zxcvbn takes up to ~5 ms on a 72-byte
    /// password, too slow for every key press: the app calls this once input pauses.
    pub fn settle(&mut self, form: &mut Form, username: &str) {
        if !std::mem::take(&mut self.stale) {
            return;
        }
        let password = Password::from(form.field(self.new).value()).normalized();
        let strength = policy::strength(&password, username);
        form.fields[self.new].hint = match (&strength.problem, password.is_empty()) {
            (_, true) => None,
            (Some(problem), false) => Some(Hint {
                text: problem.to_string(),
                good: false,
            }),
            (None, false) => Some(Hint {
                text: "Meets every rule".into(),
                good: true,
            }),
        };
        form.fields[self.new].meter = Some(strength);
    }

    /// Marks a password the policy refuses, and a confirmation that differs. Returns
    /// whether the policy accepts the password.
    pub fn check(&self, form: &mut Form, username: &str) -> bool {
        let password = Password::from(form.field(self.new).value()).normalized();
        let problem = policy::strength(&password, username).problem;
        drop(password);
        let accepted = problem.is_none();
        if let Some(problem) = problem {
            form.set_error(self.new, problem.to_string());
        }
        if form.field(self.confirm).value() != form.field(self.new).value() {
            form.set_error(self.confirm, "Passwords do not match");
        }
        accepted
    }

    /// Takes the new password out, wiping the confirmation too.
    pub fn take(&mut self, form: &mut Form) -> Password {
        form.conceal_all();
        form.field_mut(self.confirm).clear();
        let password = form.field_mut(self.new).take();
        self.edited(form);
        password
    }
}
