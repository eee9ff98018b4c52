//! What an auth thread of the pool ([`super::pool`]) does with one request: bcrypt is
//! slow on purpose, so every auth call runs there and comes back as a message, and the
//! screen keeps drawing meanwhile.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::app::{Cmd, Msg, Outcome, Welcome};
use super::screens::dashboard::Dashboard;
use crate::auth::{AuthError, Event, Service, Session};

/// Where a session's results go: a channel's sender, or whatever wakes its driver.
pub type Reply = Arc<dyn Fn(Msg) + Send + Sync>;

thread_local! {
    /// Where [`lock_notice`] sends, on an auth thread (the ones that wait for locks): the
    /// session whose request the thread runs.
    static NOTICES: std::cell::RefCell<Option<Reply>> = const { std::cell::RefCell::new(None) };
}

/// Sends this thread's lock notices to `reply` (none: drops them), for the request it
/// is about to run.
pub fn route_notices(reply: Option<Reply>) {
    NOTICES.with(|n| *n.borrow_mut() = reply);
}

/// The store's notice of a long wait for its lock (`JsonFile::with_lock_notice`): on the
/// pool thread, it becomes the busy line's text of the session it works for; elsewhere
/// it is dropped.
pub fn lock_notice(lock: &std::path::Path) {
    NOTICES.with(|n| {
        if let Some(reply) = &*n.borrow() {
            let text = format!(
                "Waiting for the lock on {}, held by another process",
                lock.display()
            );
            reply(Msg::LockWait(text));
        }
    });
}

/// Does one command as a pool thread does, and returns the message it sends back
/// (none for a logout). Public so that tests can run the app without threads.
pub fn perform(service: &Service, cmd: Cmd) -> Option<Msg> {
    let (id, outcome) = match cmd {
        Cmd::Login {
            id,
            username,
            password,
        } => (
            id,
            guarded(|| Outcome::LoggedIn(welcome(service, service.login(&username, &password)))),
        ),
        Cmd::Signup {
            id,
            username,
            password,
        } => (
            id,
            guarded(|| Outcome::SignedUp(welcome(service, service.signup(&username, &password)))),
        ),
        Cmd::ChangePassword {
            id,
            session,
            current,
            new,
        } => (
            id,
            guarded(|| {
                let result = service.change_password(&session, &current, &new);
                Outcome::PasswordChanged(result.map(|()| recent(service, &session)))
            }),
        ),
        Cmd::DeleteAccount {
            id,
            session,
            password,
        } => (
            id,
            guarded(|| Outcome::AccountDeleted(service.delete_account(&session, &password))),
        ),
        Cmd::Logout { session, reason } => {
            service.logout(&session, reason);
            // No one to tell: the session is over (and the next request on this thread
            // must not be told instead).
            let _ = service.take_log_failures();
            return None;
        }
    };
    let log_failures = service.take_log_failures();
    Some(Msg::Done {
        id,
        outcome,
        log_failures,
    })
}

/// The newest events of the account, for the Dashboard; a log that cannot be read shows
/// none (the Dashboard is not worth an error).
fn recent(service: &Service, session: &Session) -> Vec<Event> {
    service
        .recent_events(session.username().as_str(), Dashboard::EVENTS)
        .unwrap_or_default()
}

fn welcome(service: &Service, result: Result<Session, AuthError>) -> Result<Welcome, AuthError> {
    result.map(|session| Welcome {
        events: recent(service, &session),
        session,
    })
}

/// A bug in an auth call becomes an error on screen rather than a frozen spinner.
fn guarded(call: impl FnOnce() -> Outcome) -> Outcome {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the auth worker failed".to_owned());
        Outcome::Failed(why)
    })
}
