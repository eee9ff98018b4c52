//! The worker thread: bcrypt is slow on purpose, so every auth call runs here and comes
//! back as a message, and the screen keeps drawing meanwhile.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::app::{Cmd, Msg, Outcome, Welcome};
use super::screens::dashboard::Dashboard;
use crate::auth::{AuthError, Service, Session};
use crate::store::Event;

pub struct Worker {
    jobs: Option<Sender<Cmd>>,
    finished: Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn spawn(service: Arc<Service>, results: Sender<Msg>) -> Worker {
        let (jobs, inbox) = mpsc::channel::<Cmd>();
        let (done, finished) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("auth-worker".into())
            .spawn(move || {
                NOTICES.with(|n| *n.borrow_mut() = Some(results.clone()));
                for cmd in inbox {
                    let msg = perform(&service, cmd);
                    super::wipe::scrub_stack();
                    if let Some(msg) = msg
                        && results.send(msg).is_err()
                    {
                        break;
                    }
                }
                let _ = done.send(());
            })
            .expect("spawn the auth worker thread");
        Worker {
            jobs: Some(jobs),
            finished,
            handle: Some(handle),
        }
    }

    pub fn send(&self, cmd: Cmd) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(cmd);
        }
    }

    /// Lets queued work (a logout) finish, waiting at most `limit`: a hash still running
    /// at quit is abandoned rather than waited for.
    pub fn finish(mut self, limit: Duration) {
        self.jobs = None;
        if self.finished.recv_timeout(limit).is_ok()
            && let Some(handle) = self.handle.take()
        {
            let _ = handle.join();
        }
    }
}

thread_local! {
    /// Where [`lock_notice`] sends, on the worker thread (the one that waits for locks).
    static NOTICES: std::cell::RefCell<Option<Sender<Msg>>> = const { std::cell::RefCell::new(None) };
}

/// The store's notice of a long wait for its lock (`JsonFile::with_lock_notice`): on the
/// worker thread, it becomes the busy line's text; elsewhere it is dropped.
pub fn lock_notice(lock: &std::path::Path) {
    NOTICES.with(|n| {
        if let Some(tx) = &*n.borrow() {
            let text = format!(
                "Waiting for the lock on {}, held by another process",
                lock.display()
            );
            let _ = tx.send(Msg::LockWait(text));
        }
    });
}

/// Does one command as the worker thread does, and returns the message it sends back
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
