//! The worker thread: bcrypt is slow on purpose, so every auth call runs here and comes
//! back as a message, and the screen keeps drawing meanwhile.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::app::{Cmd, Msg, Outcome};
use crate::auth::Service;

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
                for cmd in inbox {
                    if let Some(msg) = run(&service, cmd)
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

fn run(service: &Service, cmd: Cmd) -> Option<Msg> {
    let (id, outcome) = match cmd {
        Cmd::Login {
            id,
            username,
            password,
        } => (
            id,
            guarded(|| Outcome::LoggedIn(service.login(&username, &password))),
        ),
        Cmd::Signup {
            id,
            username,
            password,
        } => (
            id,
            guarded(|| Outcome::SignedUp(service.signup(&username, &password))),
        ),
        Cmd::Logout(session) => {
            service.logout(session);
            return None;
        }
    };
    Some(Msg::Done(id, outcome))
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
