//! The contract every store keeps: each rule of the accounts layer, written once, run
//! against every backend: `users.json`, SQLite, memory, and PostgreSQL (a throwaway server
//! this test binary starts: `tests/pg`). A rule that holds for one store and not another
//! is a bug in that store, not a feature of it.

mod pg;

use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration as StdDuration;

use authtui::auth::throttle::{self, LOCK_AFTER, PERMANENT_AFTER};
use authtui::auth::{
    AuthError, Bcrypt, Clock, Cost, FakeClock, HashError, Hasher, LockState, LogoutReason, Password, Service,
};
use authtui::setup::{self, Settings};
use authtui::store::{EventKind, MemoryLog, MemoryStore, StoreUrl};
use chrono::Duration;

const GOOD: &str = "correct horse battery staple";
const OTHER: &str = "violet marmot sings under quartz";
const WRONG: &str = "not the password at all";

/// A hasher that counts the verifies that reach each stored hash (dummies included), and
/// can be slow, to hold many attempts in flight at once.
#[derive(Clone, Default)]
struct CountingHasher {
    seen: Arc<Mutex<Vec<String>>>,
    delay: StdDuration,
}

impl Hasher for CountingHasher {
    fn hash(&self, password: &str, cost: u32) -> Result<String, HashError> {
        Bcrypt.hash(password, cost)
    }

    fn verify(&self, password: &str, stored: &str) -> Result<bool, HashError> {
        self.seen.lock().unwrap().push(stored.to_owned());
        thread::sleep(self.delay);
        Bcrypt.verify(password, stored)
    }
}

/// One backend, opened in a temporary directory, with a fake clock.
struct Fixture {
    _dir: tempfile::TempDir,
    store: StoreUrl,
    clock: FakeClock,
    hasher: CountingHasher,
    service: Service,
}

#[derive(Clone, Copy)]
enum Kind {
    Json,
    Sqlite,
    Memory,
    Postgres,
}

/// A new database name on the shared test server, one per fixture.
fn postgres_database() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    pg::cluster().database(&format!("contract_{}_{n}", std::process::id()))
}

impl Fixture {
    fn new(kind: Kind) -> Fixture {
        Fixture::with_hasher(kind, CountingHasher::default())
    }

    fn with_hasher(kind: Kind, hasher: CountingHasher) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = match kind {
            Kind::Json | Kind::Memory => StoreUrl::Json(dir.path().join("data/users.json")),
            Kind::Sqlite => StoreUrl::Sqlite(dir.path().join("data/accounts.db")),
            Kind::Postgres => StoreUrl::Postgres(postgres_database()),
        };
        let clock = FakeClock::at_epoch();
        clock.advance(Duration::days(20_000));
        let service = match kind {
            Kind::Memory => Service::new(MemoryStore::new(), cost4()).with_log(MemoryLog::new()),
            _ => Fixture::open(&store),
        };
        let service = service.with_clock(clock.clone()).with_hasher(hasher.clone());
        Fixture {
            _dir: dir,
            store,
            clock,
            hasher,
            service,
        }
    }

    /// Another service on the same store (another process, as far as the store knows).
    fn open(store: &StoreUrl) -> Service {
        let settings = Settings {
            store: store.clone(),
            cost: cost4(),
            lock_timeout: StdDuration::from_secs(30),
        };
        setup::open(&settings, Arc::new(|_: &std::path::Path| {}))
            .unwrap()
            .0
    }

    fn account(&self, name: &str) -> authtui::auth::Account {
        let list = self.service.list().unwrap();
        list.into_iter()
            .find(|a| a.username == name)
            .unwrap_or_else(|| panic!("no account {name}"))
    }

    fn fail(&self, name: &str) -> AuthError {
        self.service.login(name, &WRONG.into()).unwrap_err()
    }

    fn kinds(&self, name: &str) -> Vec<EventKind> {
        self.service
            .events(Some(name))
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect()
    }
}

fn cost4() -> Cost {
    Cost::new(4).unwrap()
}

// --- The rules ---

fn signup_creates_an_account_and_logs_in(f: &Fixture) {
    let session = f.service.signup("Alice", &GOOD.into()).unwrap();
    assert_eq!(session.username().as_str(), "alice");
    assert_eq!(session.facts().login_count, 1);
    let a = f.account("alice");
    assert_eq!(
        a.created_at.map(|t| t.timestamp()),
        Some(f.clock.now().timestamp())
    );
    assert_eq!(a.login_count, 1);
    assert!(matches!(
        f.service.signup("ALICE", &OTHER.into()),
        Err(AuthError::UsernameTaken(_))
    ));
}

fn login_checks_the_password_and_records_the_facts(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    let first = f.service.login("alice", &GOOD.into()).unwrap();
    assert_eq!(first.facts().previous_login_at, None);
    f.clock.advance(Duration::seconds(60));
    f.fail("alice");
    f.fail("alice");
    let second = f.service.login("alice", &GOOD.into()).unwrap();
    assert_eq!(second.facts().failed_attempts_since, 2);
    assert_eq!(second.facts().login_count, 2);
    assert_eq!(
        second.facts().previous_login_at.map(|t| t.timestamp()),
        Some(first.facts().logged_in_at.timestamp())
    );
    let a = f.account("alice");
    assert_eq!((a.failed_attempts, a.login_count), (0, 2));
}

fn one_message_for_an_unknown_name_and_a_wrong_password(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    let wrong = f.fail("alice");
    let unknown = f.fail("nobody");
    assert!(matches!(wrong, AuthError::InvalidCredentials));
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert!(f.service.list().unwrap().iter().all(|a| a.username != "nobody"));
}

fn five_failures_lock_for_30_s_doubling_up_to_15_min(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    for _ in 0..4 {
        assert!(matches!(f.fail("alice"), AuthError::InvalidCredentials));
    }
    let mut want = Vec::new();
    let mut got = Vec::new();
    for failures in LOCK_AFTER..LOCK_AFTER + 8 {
        let err = f.fail("alice");
        assert!(matches!(err, AuthError::Locked { .. }), "{err}");
        want.push(throttle::lock_duration(failures).unwrap().num_seconds());
        got.push(err.retry_after_secs(f.clock.now()).unwrap());
        // Refused while locked, without counting; open again when it ends.
        assert!(matches!(
            f.service.login("alice", &GOOD.into()),
            Err(AuthError::Locked { .. })
        ));
        f.clock.advance(Duration::seconds(got.last().copied().unwrap()));
    }
    assert_eq!(got, want);
    assert_eq!(f.account("alice").failed_attempts, LOCK_AFTER + 7);
    f.service.login("alice", &GOOD.into()).unwrap();
    assert_eq!(f.account("alice").failed_attempts, 0);
}

fn a_hundred_failures_lock_until_an_administrator_unlocks(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    for _ in 0..PERMANENT_AFTER {
        f.fail("alice");
        f.clock.advance(Duration::minutes(16));
    }
    assert_eq!(f.account("alice").lock, LockState::UntilUnlocked);
    f.clock.advance(Duration::days(365));
    let err = f.service.login("alice", &GOOD.into()).unwrap_err();
    assert_eq!(err.retry_after_secs(f.clock.now()), None, "{err}");
    f.service.unlock("alice").unwrap();
    f.service.login("alice", &GOOD.into()).unwrap();
}

fn attempts_refused_by_a_lock_are_not_counted(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    for _ in 0..LOCK_AFTER + 50 {
        f.fail("alice");
    }
    assert_eq!(f.account("alice").failed_attempts, LOCK_AFTER);
}

fn a_locked_account_is_refused_without_bcrypt(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    for _ in 0..LOCK_AFTER {
        f.fail("alice");
    }
    let before: usize = f.hasher.seen.lock().unwrap().len();
    f.service.login("alice", &GOOD.into()).unwrap_err();
    assert_eq!(f.hasher.seen.lock().unwrap().len(), before);
}

fn concurrent_guesses_reach_bcrypt_at_most_the_threshold(kind: Kind) {
    let hasher = CountingHasher {
        delay: StdDuration::from_millis(20),
        ..CountingHasher::default()
    };
    let f = Fixture::with_hasher(kind, hasher.clone());
    f.service.create_account("alice", &GOOD.into()).unwrap();
    let hash = match kind {
        // The memory store is not reachable from a second service: guess on the first.
        Kind::Memory => None,
        _ => Some(f.store.clone()),
    };
    let guesses = 24;
    let barrier = Arc::new(Barrier::new(guesses));
    let service = Arc::new(f.service);
    let workers: Vec<_> = (0..guesses)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let (store, hasher, clock, shared) = (
                hash.clone(),
                hasher.clone(),
                f.clock.clone(),
                Arc::clone(&service),
            );
            thread::spawn(move || {
                // Each guess through its own service where the store allows it, as from
                // separate processes.
                let own = store.map(|s| Fixture::open(&s).with_clock(clock).with_hasher(hasher));
                let service = own.as_ref().unwrap_or(&shared);
                barrier.wait();
                service
                    .login("alice", &Password::from(format!("wrong guess {i}")))
                    .unwrap_err()
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let stored = service.list().unwrap()[0].clone();
    assert_eq!(stored.failed_attempts, LOCK_AFTER);
    let hashes: Vec<String> = hasher.seen.lock().unwrap().clone();
    let real: usize = hashes
        .iter()
        .filter(|h| !h.contains("CCCCCCCCCCCCCCCCCCCCC"))
        .count();
    assert_eq!(
        real, LOCK_AFTER as usize,
        "guesses that reached the account's hash"
    );
}

fn change_password_asks_for_the_current_one(f: &Fixture) {
    let session = f.service.signup("alice", &GOOD.into()).unwrap();
    assert!(matches!(
        f.service.change_password(&session, &WRONG.into(), &OTHER.into()),
        Err(AuthError::WrongPassword)
    ));
    assert_eq!(f.account("alice").failed_attempts, 1);
    f.service
        .change_password(&session, &GOOD.into(), &OTHER.into())
        .unwrap();
    assert_eq!(f.account("alice").failed_attempts, 0);
    assert!(f.service.login("alice", &GOOD.into()).is_err());
    f.service.login("alice", &OTHER.into()).unwrap();
}

fn delete_account_asks_for_the_password_and_removes_it(f: &Fixture) {
    let session = f.service.signup("alice", &GOOD.into()).unwrap();
    assert!(f.service.delete_account(&session, &WRONG.into()).is_err());
    f.service.delete_account(&session, &GOOD.into()).unwrap();
    assert!(f.service.list().unwrap().is_empty());
    assert!(matches!(
        f.service.delete_account(&session, &GOOD.into()),
        Err(AuthError::AccountGone)
    ));
}

fn administrators_add_remove_unlock_and_set_passwords(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    f.service.create_account("bob", &GOOD.into()).unwrap();
    for _ in 0..LOCK_AFTER {
        f.fail("alice");
    }
    f.service.unlock("alice").unwrap();
    assert_eq!(f.account("alice").lock, LockState::Open);
    f.service.set_password("alice", &OTHER.into()).unwrap();
    f.service.login("alice", &OTHER.into()).unwrap();
    f.service.remove("bob").unwrap();
    assert!(matches!(f.service.remove("bob"), Err(AuthError::NoSuchUser(_))));
    let names: Vec<String> = f
        .service
        .list()
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(names, ["alice"]);
}

fn imports_add_only_free_names(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    let hash = bcrypt::hash(OTHER, 4).unwrap();
    let entries: Vec<(String, String)> = ["alice", "carol", "carol", "dave"]
        .iter()
        .map(|n| ((*n).to_owned(), hash.clone()))
        .collect();
    let outcomes = f.service.import_hashes(&entries).unwrap();
    let imported: Vec<bool> = outcomes
        .iter()
        .map(|o| matches!(o, authtui::auth::ImportOutcome::Imported(_)))
        .collect();
    assert_eq!(imported, [false, true, false, true]);
    f.service.login("carol", &OTHER.into()).unwrap();
    f.service.login("alice", &GOOD.into()).unwrap();
}

fn the_activity_log_is_kept_in_the_store(f: &Fixture) {
    let session = f.service.signup("alice", &GOOD.into()).unwrap();
    f.service.logout(&session, LogoutReason::User);
    f.fail("ALICE");
    f.fail("nobody");
    let session = f.service.login("alice", &GOOD.into()).unwrap();
    f.service.logout(&session, LogoutReason::Idle);
    use EventKind::*;
    assert_eq!(
        f.kinds("alice"),
        [Signup, Logout, LoginFailure, LoginSuccess, IdleTimeout]
    );
    let recent = f.service.recent_events("alice", 2).unwrap();
    assert_eq!(
        recent.iter().map(|e| e.event).collect::<Vec<_>>(),
        [IdleTimeout, LoginSuccess]
    );
    let unknown: Vec<_> = f
        .service
        .events(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.username.is_empty())
        .collect();
    assert_eq!(unknown.len(), 1, "the unknown name is recorded, not as typed");
}

/// docs/security.md rule 36: where a served session's user is.
const HOME: &str = "203.0.113.7:50122";
const ELSEWHERE: &str = "198.51.100.9:40000";

fn from(addr: &str) -> authtui::auth::origin::Scope {
    authtui::auth::origin::scope(Some(addr.parse().unwrap()))
}

fn served_sessions_record_where_they_came_from(f: &Fixture) {
    {
        let _home = from(HOME);
        let session = f.service.signup("alice", &GOOD.into()).unwrap();
        f.service.logout(&session, LogoutReason::User);
    }
    {
        let _elsewhere = from(ELSEWHERE);
        f.fail("alice");
        let session = f.service.login("alice", &GOOD.into()).unwrap();
        assert_eq!(session.facts().previous_login_from.as_deref(), Some(HOME));
    }
    // At the local terminal: no address, and the previous one is told.
    let session = f.service.login("alice", &GOOD.into()).unwrap();
    assert_eq!(session.facts().previous_login_from.as_deref(), Some(ELSEWHERE));
    let again = f.service.login("alice", &GOOD.into()).unwrap();
    assert_eq!(again.facts().previous_login_from, None);
    let froms: Vec<(EventKind, Option<String>)> = f
        .service
        .events(Some("alice"))
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.from))
        .collect();
    use EventKind::*;
    let at = |a: &str| Some(a.to_owned());
    assert_eq!(
        froms,
        [
            (Signup, at(HOME)),
            (Logout, at(HOME)),
            (LoginFailure, at(ELSEWHERE)),
            (LoginSuccess, at(ELSEWHERE)),
            (LoginSuccess, None),
            (LoginSuccess, None),
        ]
    );
}

fn others_failures_do_not_lock_the_owners_known_address(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    {
        let _home = from(HOME);
        f.service.login("alice", &GOOD.into()).unwrap();
    }
    {
        // Someone elsewhere locks the account, for everyone but its owner's address…
        let _elsewhere = from(ELSEWHERE);
        for _ in 0..LOCK_AFTER + 3 {
            f.fail("alice");
        }
        assert!(matches!(
            f.service.login("alice", &GOOD.into()),
            Err(AuthError::Locked { .. })
        ));
    }
    assert!(matches!(
        f.service.login("alice", &GOOD.into()),
        Err(AuthError::Locked { .. })
    ));
    assert_eq!(f.account("alice").failed_attempts, LOCK_AFTER);
    let _home = from(HOME);
    // …and at that address failures are counted on their own, to the same threshold.
    for _ in 0..LOCK_AFTER - 1 {
        assert!(matches!(f.fail("alice"), AuthError::InvalidCredentials));
    }
    let session = f.service.login("alice", &GOOD.into()).unwrap();
    assert_eq!(session.facts().failed_attempts_since, LOCK_AFTER + LOCK_AFTER - 1);
    assert_eq!(
        f.account("alice").failed_attempts,
        0,
        "a success clears both counts"
    );
    for _ in 0..LOCK_AFTER {
        f.fail("alice");
    }
    assert!(matches!(
        f.service.login("alice", &GOOD.into()),
        Err(AuthError::Locked { .. })
    ));
    drop(_home);
    let _elsewhere = from(ELSEWHERE);
    f.service.login("alice", &GOOD.into()).unwrap();
}

fn a_typed_name_that_is_no_account_locks_as_an_account_does(f: &Fixture) {
    f.service.create_account("alice", &GOOD.into()).unwrap();
    for n in 1..=LOCK_AFTER + 2 {
        let (real, ghost) = (f.fail("alice"), f.fail("Ghost"));
        assert_eq!(real.to_string(), ghost.to_string(), "attempt {n}");
        assert_eq!(
            matches!(real, AuthError::Locked { .. }),
            n >= LOCK_AFTER,
            "attempt {n}: {real}"
        );
    }
    let before = f.hasher.seen.lock().unwrap().len();
    f.fail("ghost");
    assert_eq!(
        f.hasher.seen.lock().unwrap().len(),
        before,
        "refused without bcrypt"
    );
    assert!(f.service.list().unwrap().iter().all(|a| a.username != "ghost"));
    // The name becomes an account: its owner starts afresh.
    f.service.signup("ghost", &GOOD.into()).unwrap();
    f.service.login("ghost", &GOOD.into()).unwrap();
}

fn a_new_service_sees_what_another_wrote(f: &Fixture) {
    f.service.signup("alice", &GOOD.into()).unwrap();
    let other = Fixture::open(&f.store);
    other.login("alice", &GOOD.into()).unwrap();
    assert_eq!(f.account("alice").login_count, 2);
    assert_eq!(other.events(Some("alice")).unwrap().len(), 2);
}

fn an_empty_store_is_not_created_by_reads_or_failed_logins(f: &Fixture) {
    let path = match &f.store {
        StoreUrl::Json(p) | StoreUrl::Sqlite(p) => p.clone(),
        StoreUrl::Postgres(_) => return,
    };
    assert!(f.service.list().unwrap().is_empty());
    f.fail("nobody");
    assert!(f.service.events(None).unwrap().is_empty());
    assert!(!path.parent().unwrap().exists(), "{} was created", path.display());
}

macro_rules! contract {
    ($kind:ident: $($rule:ident),* $(,)?) => {
        $(
            #[test]
            fn $rule() {
                super::$rule(&super::Fixture::new(super::Kind::$kind));
            }
        )*
        #[test]
        fn concurrent_guesses_reach_bcrypt_at_most_the_threshold() {
            super::concurrent_guesses_reach_bcrypt_at_most_the_threshold(super::Kind::$kind);
        }
    };
}

macro_rules! every_rule {
    ($kind:ident) => {
        contract!($kind:
            signup_creates_an_account_and_logs_in,
            login_checks_the_password_and_records_the_facts,
            one_message_for_an_unknown_name_and_a_wrong_password,
            five_failures_lock_for_30_s_doubling_up_to_15_min,
            a_hundred_failures_lock_until_an_administrator_unlocks,
            attempts_refused_by_a_lock_are_not_counted,
            a_locked_account_is_refused_without_bcrypt,
            change_password_asks_for_the_current_one,
            delete_account_asks_for_the_password_and_removes_it,
            administrators_add_remove_unlock_and_set_passwords,
            imports_add_only_free_names,
            the_activity_log_is_kept_in_the_store,
            served_sessions_record_where_they_came_from,
            others_failures_do_not_lock_the_owners_known_address,
            a_typed_name_that_is_no_account_locks_as_an_account_does,
        );
    };
}

mod json {
    every_rule!(Json);

    #[test]
    fn a_new_service_sees_what_another_wrote() {
        super::a_new_service_sees_what_another_wrote(&super::Fixture::new(super::Kind::Json));
    }

    #[test]
    fn an_empty_store_is_not_created_by_reads_or_failed_logins() {
        super::an_empty_store_is_not_created_by_reads_or_failed_logins(&super::Fixture::new(
            super::Kind::Json,
        ));
    }
}

mod sqlite {
    every_rule!(Sqlite);

    #[test]
    fn a_new_service_sees_what_another_wrote() {
        super::a_new_service_sees_what_another_wrote(&super::Fixture::new(super::Kind::Sqlite));
    }

    #[test]
    fn an_empty_store_is_not_created_by_reads_or_failed_logins() {
        super::an_empty_store_is_not_created_by_reads_or_failed_logins(&super::Fixture::new(
            super::Kind::Sqlite,
        ));
    }
}

mod memory {
    every_rule!(Memory);
}

mod postgres {
    every_rule!(Postgres);

    #[test]
    fn a_new_service_sees_what_another_wrote() {
        super::a_new_service_sees_what_another_wrote(&super::Fixture::new(super::Kind::Postgres));
    }
}
