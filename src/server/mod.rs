//! `authtui serve`: the app for many people at once, over SSH (russh).
//!
//! - [`handler`]: one connection (SSH access, the pty, the channel's bytes and sizes).
//! - [`session`]: one session task around a byte driver, and its bounded output.
//! - [`throttle`]: per-address accept rate and failed-login back-off.
//! - [`hostkey`]: the Ed25519 host key, created once.
//!
//! One [`Pool`] does the bcrypt work of every session; per-address state lives here,
//! never in a screen. Every limit reached is a line to that client and one on stderr.

pub mod handler;
pub mod hostkey;
pub mod session;
pub mod throttle;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::MethodKind;
use russh::server::Config;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::auth::{AuthError, Cost};
use crate::setup::{self, Settings};
use crate::store::StoreUrl;
use crate::tui::pool::Pool;
use throttle::{Failures, RateLimit};

/// `authtui serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on (a public address is your explicit choice)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:2222")]
    pub listen: SocketAddr,
    /// The Ed25519 host key [default: ssh_host_ed25519_key beside the store]; created if missing
    #[arg(long, value_name = "PATH")]
    pub host_key: Option<PathBuf>,
    /// Sessions open at once, in all
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_sessions: usize,
    /// Sessions open at once from one IP address
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_per_ip: usize,
    /// New connections one IP address may open at once (then --accept-rate per second)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub accept_burst: u32,
    /// New connections per second one IP address may open, past the burst
    #[arg(long, value_name = "PER_SECOND", default_value_t = 2.0)]
    pub accept_rate: f64,
    /// Disconnect a client that takes no output for this long: 30s, 2m
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::cli::parse_duration)]
    pub stall_timeout: Duration,
    /// Threads checking passwords (bcrypt) for all sessions, 1-1024 [default: one per core]
    #[arg(long, value_name = "N", value_parser = parse_auth_threads)]
    pub auth_threads: Option<usize>,
    /// Password checks that may wait beyond the running ones (at least 1); past them a
    /// login says "busy, try again" [default: 4 per auth thread]
    #[arg(long, value_name = "N", value_parser = parse_auth_queue)]
    pub auth_queue: Option<usize>,
}

/// The most `--auth-threads`: far past any core count, short of what a process can spawn.
pub const MAX_AUTH_THREADS: usize = 1024;

/// `--auth-threads`: 1 to [`MAX_AUTH_THREADS`].
fn parse_auth_threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("at least one thread is needed to check passwords".to_owned()),
        Ok(n) if n <= MAX_AUTH_THREADS => Ok(n),
        Ok(_) => Err(format!("at most {MAX_AUTH_THREADS} threads")),
        Err(_) => Err(format!("'{}' is not a whole number of threads", text.trim())),
    }
}

/// `--auth-queue`: at least 1 (the pool counts a request as waiting until a thread takes
/// it, so a queue of 0 would refuse every login).
fn parse_auth_queue(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("at least 1: a request waits here until a thread takes it".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{}' is not a whole number of requests", text.trim())),
    }
}

impl ServeArgs {
    /// The pool's threads and queue: the options, else one thread per core and
    /// [`Pool::QUEUE_PER_THREAD`] requests per thread.
    pub fn pool_size(&self) -> (usize, usize) {
        let threads = self.auth_threads.unwrap_or_else(Pool::default_threads).max(1);
        let queue = self
            .auth_queue
            .unwrap_or_else(|| threads.saturating_mul(Pool::QUEUE_PER_THREAD));
        (threads, queue)
    }
}

/// Pre-auth and refused connections beyond the sessions: how many may be open at once.
const EXTRA_CONNECTIONS: usize = 64;
/// A connection that sends nothing (keepalive replies aside) for this long is closed.
pub const SSH_INACTIVITY: Duration = Duration::from_secs(30 * 60);
pub const KEEPALIVE: Duration = Duration::from_secs(60);
/// How long the shutdown waits for the sessions to say goodbye.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(15);

/// What every session of the server shares.
pub struct Shared {
    /// In a mutex only because `Pool` is not `Sync`; a lock is taken per new session.
    pool: Mutex<Option<Pool>>,
    pub location: String,
    pub cost: Cost,
    pub idle_timeout: Option<Duration>,
    /// A client that takes no output for this long is disconnected.
    pub stall_timeout: Duration,
    pub shutdown: watch::Sender<bool>,
    failures: Mutex<Failures>,
    counts: Mutex<Counts>,
    live: AtomicUsize,
    live_changed: Notify,
}

#[derive(Default)]
struct Counts {
    total: usize,
    refused: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl Shared {
    pub fn new(
        pool: Pool,
        location: String,
        cost: Cost,
        idle_timeout: Option<Duration>,
        stall_timeout: Duration,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            pool: Mutex::new(Some(pool)),
            location,
            cost,
            idle_timeout,
            stall_timeout: stall_timeout.max(Duration::from_secs(1)),
            shutdown: watch::channel(false).0,
            failures: Mutex::new(Failures::new()),
            counts: Mutex::new(Counts::default()),
            live: AtomicUsize::new(0),
            live_changed: Notify::new(),
        })
    }

    /// A new session's handle on the shared pool; `None` once the server is stopping.
    pub fn client(&self, reply: crate::tui::worker::Reply) -> Option<crate::tui::pool::Client> {
        let pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        pool.as_ref().map(|pool| pool.client(reply))
    }

    /// Lets the pool's queued work (the logouts of the sessions just ended) finish.
    pub fn finish_pool(&self, limit: Duration) {
        let pool = self.pool.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(pool) = pool {
            pool.finish(limit);
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a failed login from `ip`: how long to hold its answer.
    pub fn failed_login(&self, ip: IpAddr, now: Instant) -> Duration {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed(ip, now)
    }

    /// Marks a session task as running until the guard drops.
    pub fn live_session(self: &Arc<Self>) -> LiveGuard {
        self.live.fetch_add(1, Ordering::SeqCst);
        LiveGuard(Arc::clone(self))
    }

    /// Session tasks running.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// A slot for a new connection from `ip`, or why there is none. `Err(None)`: not even
    /// room to say why (too many refused connections open).
    fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        max_sessions: usize,
        max_per_ip: usize,
    ) -> Result<Slot, (Option<Slot>, String)> {
        let mut c = self.counts();
        let mine = c.per_ip.get(&ip).copied().unwrap_or(0);
        let why = if c.total >= max_sessions {
            format!("the server is full ({max_sessions} sessions); try again later")
        } else if mine >= max_per_ip {
            format!("too many sessions from your address ({max_per_ip}); close one first")
        } else {
            c.total += 1;
            *c.per_ip.entry(ip).or_insert(0) += 1;
            return Ok(Slot {
                shared: Arc::clone(self),
                ip: Some(ip),
            });
        };
        if c.refused >= EXTRA_CONNECTIONS {
            return Err((None, why));
        }
        c.refused += 1;
        Err((
            Some(Slot {
                shared: Arc::clone(self),
                ip: None,
            }),
            why,
        ))
    }
}

/// A connection's place in the counts, given back when it drops.
pub struct Slot {
    shared: Arc<Shared>,
    /// `None`: a refused connection (counted apart).
    ip: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.shared.counts();
        match self.ip {
            Some(ip) => {
                c.total = c.total.saturating_sub(1);
                if let Some(n) = c.per_ip.get_mut(&ip) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        c.per_ip.remove(&ip);
                    }
                }
            }
            None => c.refused = c.refused.saturating_sub(1),
        }
    }
}

pub struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
        self.0.live_changed.notify_waiters();
    }
}

/// The host key's path: `--host-key`, else beside the store's file.
fn host_key_path(args: &ServeArgs, store: &StoreUrl) -> Option<PathBuf> {
    if let Some(path) = &args.host_key {
        return Some(path.clone());
    }
    let beside = match store {
        StoreUrl::Json(path) | StoreUrl::Sqlite(path) => path.clone(),
        StoreUrl::Postgres(_) => crate::store::default_path()?,
    };
    Some(beside.with_file_name("ssh_host_ed25519_key"))
}

fn fail(message: impl AsRef<str>) -> ExitCode {
    eprintln!("authtui serve: {}", crate::printable::escape(message.as_ref()));
    ExitCode::from(2)
}

/// Runs the server until SIGTERM or SIGINT.
pub fn run(settings: &Settings, args: ServeArgs, idle_timeout: Option<Duration>) -> ExitCode {
    let Some(key_path) = host_key_path(&args, &settings.store) else {
        return fail("cannot find a place for the host key: pass --host-key PATH");
    };
    let (key, created) = match hostkey::load_or_create(&key_path) {
        Ok(key) => key,
        Err(e) => return fail(e),
    };
    for warning in setup::warnings(&settings.store) {
        eprintln!("authtui serve: warning: {}", crate::printable::escape(&warning));
    }
    let notice = Arc::new(crate::tui::worker::lock_notice);
    let service = match setup::open(settings, notice) {
        Ok((service, _)) => service,
        Err(e) => return fail(AuthError::from(e).to_string()),
    };
    eprintln!(
        "authtui serve: host key {} ({}): {}",
        key_path.display(),
        if created { "created" } else { "loaded" },
        hostkey::fingerprint(&key)
    );
    let (location, cost) = (service.location(), service.cost());
    let (threads, queue) = args.pool_size();
    eprintln!(
        "authtui serve: checking passwords on {threads} thread{}, with room for {queue} more waiting",
        if threads == 1 { "" } else { "s" }
    );
    let pool = Pool::new(Arc::new(service), threads, queue);
    let shared = Shared::new(pool, location, cost, idle_timeout, args.stall_timeout);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let served = runtime.block_on(serve(Arc::clone(&shared), args, key));
    // The sessions' logouts are queued on the pool: written before the process ends.
    shared.finish_pool(Duration::from_secs(5));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// The SSH configuration: anyone may connect (none, or keyboard-interactive with no
/// prompts); the app's Log in is the account check.
pub fn config(key: russh::keys::PrivateKey) -> Config {
    Config {
        methods: russh::MethodSet::from(&[MethodKind::None, MethodKind::KeyboardInteractive][..]),
        auth_rejection_time: Duration::from_secs(1),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 3,
        keys: vec![key],
        inactivity_timeout: Some(SSH_INACTIVITY),
        keepalive_interval: Some(KEEPALIVE),
        keepalive_max: 3,
        nodelay: true,
        ..Config::default()
    }
}

async fn serve(shared: Arc<Shared>, args: ServeArgs, key: russh::keys::PrivateKey) -> Result<(), String> {
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "authtui serve: listening on {local} (connect: ssh -p {} {})",
        local.port(),
        local.ip()
    );
    let config = Arc::new(config(key));
    let mut rate = RateLimit::new(args.accept_burst, args.accept_rate);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                eprintln!("authtui serve: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !rate.allow(peer.ip(), Instant::now()) {
            eprintln!(
                "authtui serve: {peer}: connections too fast from {}: refused",
                peer.ip()
            );
            let _ =
                stream.try_write(b"authtui: too many connections from your address; wait a few seconds\r\n");
            continue;
        }
        let (slot, refused) = match shared.admit(peer.ip(), args.max_sessions, args.max_per_ip) {
            Ok(slot) => (slot, None),
            Err((Some(slot), why)) => {
                eprintln!("authtui serve: {peer}: refused: {why}");
                (slot, Some(why))
            }
            Err((None, why)) => {
                eprintln!("authtui serve: {peer}: refused: {why}");
                let _ = stream.try_write(format!("authtui: {why}\r\n").as_bytes());
                continue;
            }
        };
        tokio::spawn(connection(
            Arc::clone(&shared),
            Arc::clone(&config),
            stream,
            peer,
            slot,
            refused,
        ));
    }
    drop(listener);
    let open = shared.live();
    eprintln!("authtui serve: shutting down; saying goodbye to {open} sessions");
    let _ = shared.shutdown.send(true);
    let deadline = tokio::time::Instant::now() + SHUTDOWN_LIMIT;
    while shared.live() > 0 {
        let changed = shared.live_changed.notified();
        if shared.live() == 0 || tokio::time::timeout_at(deadline, changed).await.is_err() {
            break;
        }
    }
    eprintln!(
        "authtui serve: stopped ({} sessions still open were cut)",
        shared.live()
    );
    Ok(())
}

async fn connection(
    shared: Arc<Shared>,
    config: Arc<Config>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    refused: Option<String>,
) {
    // A second handle on the socket: shutting it down ends a connection whose client
    // stopped reading.
    let (stream, kill) = match stream.into_std() {
        Ok(std) => {
            let kill = std.try_clone().ok();
            match TcpStream::from_std(std) {
                Ok(stream) => (stream, kill),
                Err(_) => return,
            }
        }
        Err(_) => return,
    };
    let handler = handler::Conn::new(shared, peer, Some(slot), refused, kill);
    match russh::server::run_stream(config, stream, handler).await {
        Ok(running) => {
            if let Err(e) = running.await {
                eprintln!("authtui serve: {peer}: connection ended: {e}");
            }
        }
        Err(e) => eprintln!("authtui serve: {peer}: handshake failed: {e}"),
    }
}
