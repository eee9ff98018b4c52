//! The shared, bounded pool of auth threads: bcrypt is slow on purpose, so every auth
//! call of every session runs here and comes back to its session as a message, by
//! request id, while the screens keep drawing.
//!
//! - One pool serves every session of a process: by default one thread per core.
//! - Its queue is bounded: a request that finds it full is refused ([`Busy`]) and the
//!   session shows "busy, try again" rather than waiting without bound. A logout is never
//!   refused (it does no hashing, and a session must not stay open).
//! - A session's requests run one at a time and in order (a logout after a password
//!   change is written after it), as with the single worker of old.
//! - Each thread routes the store's lock-wait notice ([`super::worker::lock_notice`]) to
//!   the session whose request it runs.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::app::{Cmd, Msg};
use super::worker::{self, Reply};
use crate::auth::{Service, origin};

/// The queue was full: the request was dropped (its passwords wiped with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

struct Job {
    session: u64,
    peer: Option<SocketAddr>,
    cmd: Cmd,
    reply: Reply,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Sessions with a request running: their next one waits.
    running: HashSet<u64>,
    closed: bool,
}

struct Shared {
    service: Arc<Service>,
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
    next_session: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while the lock was held (none is expected: auth calls run outside it)
        // leaves a queue that is still consistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Pool {
    shared: Arc<Shared>,
    threads: usize,
    exited: Receiver<()>,
}

impl Pool {
    /// One thread per core.
    pub fn default_threads() -> usize {
        thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Room for this many requests per thread waiting.
    pub const QUEUE_PER_THREAD: usize = 4;

    /// A pool of `threads` threads (at least one) with room for `capacity` requests waiting.
    pub fn new(service: Arc<Service>, threads: usize, capacity: usize) -> Pool {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            service,
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            capacity,
            next_session: AtomicU64::new(1),
        });
        let (exit, exited) = mpsc::channel();
        for n in 0..threads {
            let shared = Arc::clone(&shared);
            let exit = exit.clone();
            thread::Builder::new()
                .name(format!("auth-{n}"))
                .spawn(move || {
                    run(&shared);
                    let _ = exit.send(());
                })
                .expect("spawn an auth thread");
        }
        Pool {
            shared,
            threads,
            exited,
        }
    }

    /// One thread per core, a queue of four requests per thread.
    pub fn with_defaults(service: Arc<Service>) -> Pool {
        let threads = Pool::default_threads();
        Pool::new(service, threads, threads * Pool::QUEUE_PER_THREAD)
    }

    /// A new session's handle: its results (and lock notices) go to `reply`.
    pub fn client(&self, reply: Reply) -> Client {
        Client {
            shared: Arc::clone(&self.shared),
            session: self.shared.next_session.fetch_add(1, Ordering::Relaxed),
            peer: None,
            reply,
        }
    }

    /// A handle whose results go to a new channel, and that channel.
    pub fn channel(&self) -> (Client, Receiver<Msg>) {
        let (tx, rx) = mpsc::channel();
        (self.client(reply_to(tx)), rx)
    }

    /// Requests waiting, not yet running.
    pub fn queued(&self) -> usize {
        self.shared.lock().jobs.len()
    }

    /// Lets queued work (a logout) finish, waiting at most `limit`: a hash still running
    /// then is abandoned rather than waited for.
    pub fn finish(self, limit: Duration) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
        let deadline = Instant::now() + limit;
        for _ in 0..self.threads {
            if self
                .exited
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .is_err()
            {
                return;
            }
        }
    }
}

impl Drop for Pool {
    /// A pool dropped unfinished still ends its threads once the queue is empty.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

/// A reply sink that sends on a channel.
pub fn reply_to(tx: Sender<Msg>) -> Reply {
    Arc::new(move |msg| {
        let _ = tx.send(msg);
    })
}

/// One session's handle on the pool.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    session: u64,
    /// The client address of a served session: its requests run with it as their origin
    /// (the activity log's `"from"`, docs/security.md rule 36).
    peer: Option<SocketAddr>,
    reply: Reply,
}

impl Client {
    /// This handle, for a session whose user is at `peer`.
    pub fn with_peer(mut self, peer: SocketAddr) -> Client {
        self.peer = Some(peer);
        self
    }

    /// Queues `cmd`; its result comes back through this client's reply sink. Refused when
    /// the queue is full, except a logout.
    pub fn submit(&self, cmd: Cmd) -> Result<(), Busy> {
        let mut queue = self.shared.lock();
        if queue.closed {
            return Err(Busy);
        }
        let logout = matches!(cmd, Cmd::Logout { .. });
        if !logout && queue.jobs.len() >= self.shared.capacity {
            return Err(Busy);
        }
        queue.jobs.push_back(Job {
            session: self.session,
            peer: self.peer,
            cmd,
            reply: Arc::clone(&self.reply),
        });
        drop(queue);
        self.shared.ready.notify_one();
        Ok(())
    }

    pub fn session(&self) -> u64 {
        self.session
    }
}

/// One pool thread: takes the first job whose session has nothing running, does it, and
/// sends the result to the session. Ends when the pool is closed and nothing is queued.
fn run(shared: &Shared) {
    loop {
        let job = {
            let mut queue = shared.lock();
            loop {
                let free = queue
                    .jobs
                    .iter()
                    .position(|job| !queue.running.contains(&job.session));
                if let Some(i) = free
                    && let Some(job) = queue.jobs.remove(i)
                {
                    queue.running.insert(job.session);
                    break job;
                }
                if queue.closed && queue.jobs.is_empty() {
                    return;
                }
                queue = shared.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Job {
            session,
            peer,
            cmd,
            reply,
        } = job;
        worker::route_notices(Some(Arc::clone(&reply)));
        let msg = {
            let _from = origin::scope(peer);
            worker::perform(&shared.service, cmd)
        };
        worker::route_notices(None);
        super::wipe::scrub_stack();
        if let Some(msg) = msg {
            reply(msg);
        }
        shared.lock().running.remove(&session);
        // The session's next request (if queued) may run now.
        shared.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Cost, FakeClock, LogoutReason};
    use crate::store::MemoryStore;
    use crate::tui::app::Outcome;

    const PW: &str = "correct horse battery staple";
    const WAIT: Duration = Duration::from_secs(10);

    fn service() -> Arc<Service> {
        Arc::new(Service::new(MemoryStore::new(), Cost::new(4).unwrap()).with_clock(FakeClock::at_epoch()))
    }

    fn signup(id: u64, name: &str) -> Cmd {
        Cmd::Signup {
            id,
            username: name.into(),
            password: PW.into(),
        }
    }

    fn login(id: u64, name: &str) -> Cmd {
        Cmd::Login {
            id,
            username: name.into(),
            password: PW.into(),
        }
    }

    fn result(rx: &Receiver<Msg>) -> (u64, Outcome) {
        match rx.recv_timeout(WAIT).expect("a result") {
            Msg::Done { id, outcome, .. } => (id, outcome),
            _ => panic!("not a result"),
        }
    }

    #[test]
    fn a_sessions_requests_run_in_order_and_results_come_back_by_id() {
        let pool = Pool::new(service(), 4, 16);
        let (client, rx) = pool.channel();
        let (other, other_rx) = pool.channel();
        assert_ne!(client.session(), other.session());
        for round in 0..5 {
            let name = format!("user{round}");
            // With four threads, a login could overtake the signup it needs: it must not.
            client.submit(signup(2 * round, &name)).unwrap();
            client.submit(login(2 * round + 1, &name)).unwrap();
            other.submit(login(100 + round, "nobody")).unwrap();
        }
        for round in 0..5 {
            let (id, outcome) = result(&rx);
            assert_eq!(id, 2 * round);
            assert!(matches!(outcome, Outcome::SignedUp(Ok(_))));
            let (id, outcome) = result(&rx);
            assert_eq!(id, 2 * round + 1);
            assert!(matches!(outcome, Outcome::LoggedIn(Ok(_))), "round {round}");
        }
        for round in 0..5 {
            let (id, outcome) = result(&other_rx);
            assert_eq!(id, 100 + round);
            assert!(matches!(outcome, Outcome::LoggedIn(Err(_))));
        }
        pool.finish(WAIT);
    }

    #[test]
    fn a_full_queue_refuses_hashing_but_never_a_logout() {
        let service = service();
        let session = Arc::new(service.signup("alice", &PW.into()).unwrap());
        let pool = Pool::new(Arc::clone(&service), 1, 0);
        let (client, rx) = pool.channel();
        assert_eq!(client.submit(login(1, "alice")), Err(Busy));
        let logout = Cmd::Logout {
            session,
            reason: LogoutReason::User,
        };
        assert_eq!(client.submit(logout), Ok(()));
        pool.finish(WAIT);
        assert!(rx.try_recv().is_err(), "a logout sends nothing back");
    }

    #[test]
    fn a_finished_pool_refuses_everything_and_its_threads_end() {
        let pool = Pool::new(service(), 2, 8);
        let (client, _rx) = pool.channel();
        let started = Instant::now();
        pool.finish(WAIT);
        assert!(started.elapsed() < WAIT, "the threads ended");
        assert_eq!(client.submit(login(1, "alice")), Err(Busy));
    }

    /// A store that reports a lock wait on every read, naming the user read.
    struct Noticing(MemoryStore);

    impl crate::store::UserStore for Noticing {
        fn get(&self, name: &str) -> Result<Option<crate::store::UserRecord>, crate::store::StoreError> {
            worker::lock_notice(std::path::Path::new(name));
            self.0.get(name)
        }
        fn all(&self) -> Result<crate::store::UserMap, crate::store::StoreError> {
            self.0.all()
        }
        fn update_user(
            &self,
            name: &str,
            change: &mut dyn FnMut(&mut Option<crate::store::UserRecord>) -> crate::store::Change,
        ) -> Result<(), crate::store::StoreError> {
            self.0.update_user(name, change)
        }
        fn rewrite(&self) -> Result<(), crate::store::StoreError> {
            self.0.rewrite()
        }
        fn location(&self) -> String {
            self.0.location()
        }
    }

    /// The notices before the next result, and the result's id.
    fn notices_then_result(rx: &Receiver<Msg>) -> (Vec<String>, u64) {
        let mut notices = Vec::new();
        loop {
            match rx.recv_timeout(WAIT).expect("a message") {
                Msg::LockWait(text) => notices.push(text),
                Msg::Done { id, .. } => return (notices, id),
                _ => panic!("neither a notice nor a result"),
            }
        }
    }

    #[test]
    fn a_lock_notice_goes_to_the_session_whose_request_waits() {
        let service = Service::new(Noticing(MemoryStore::new()), Cost::new(4).unwrap())
            .with_clock(FakeClock::at_epoch());
        let pool = Pool::new(Arc::new(service), 2, 8);
        let (alpha, alpha_rx) = pool.channel();
        let (beta, beta_rx) = pool.channel();
        for round in 0..4 {
            alpha.submit(login(round, "alphauser")).unwrap();
            beta.submit(login(10 + round, "betauser")).unwrap();
        }
        for round in 0..4 {
            let (notices, id) = notices_then_result(&alpha_rx);
            assert_eq!(id, round);
            assert!(!notices.is_empty());
            assert!(notices.iter().all(|n| n.contains("alphauser")), "{notices:?}");
            let (notices, id) = notices_then_result(&beta_rx);
            assert_eq!(id, 10 + round);
            assert!(!notices.is_empty());
            assert!(notices.iter().all(|n| n.contains("betauser")), "{notices:?}");
        }
        pool.finish(WAIT);
        assert!(alpha_rx.try_recv().is_err() && beta_rx.try_recv().is_err());
    }

    #[test]
    fn the_default_is_one_thread_per_core() {
        assert_eq!(
            Pool::default_threads(),
            thread::available_parallelism().unwrap().get()
        );
    }
}
