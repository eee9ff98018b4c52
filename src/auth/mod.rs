//! The rules: who may sign up with what, how passwords are hashed and checked, how failed
//! logins are throttled, and the [`Session`] a successful login hands out. Storage comes
//! through the [`UserStore`] trait and time through the [`Clock`] trait, so every rule is
//! testable without files or sleeping.

mod clock;
pub mod hashing;
pub mod origin;
mod password;
pub mod policy;
mod session;
pub mod throttle;
mod typed_names;
mod username;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::store::{Bucket, Change, Claim, EventLog, StoreError, UserRecord, UserStore};

/// The activity log's entries, for the layers above (the app, the commands).
pub use crate::store::{Event, EventKind};
pub use clock::{Clock, FakeClock, SystemClock};
pub use hashing::{Bcrypt, Cost, HashError, Hasher};
pub use password::Password;
pub use policy::{PolicyError, Strength};
pub use session::{Account, LoginFacts, Session};
pub use throttle::LockState;
pub use username::{Username, UsernameError};

/// Why an auth operation did not happen. The message is meant for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// One message for an unknown user and a wrong password, so that neither reveals
    /// whether an account exists.
    #[error("Invalid username or password")]
    InvalidCredentials,
    #[error("{}", locked_message(*until, *now))]
    Locked {
        /// `None`: until an administrator unlocks it.
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    },
    #[error(transparent)]
    Username(#[from] UsernameError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("Username {} is already taken", crate::printable::name(.0))]
    UsernameTaken(String),
    #[error("No account named {}", crate::printable::name(.0))]
    NoSuchUser(String),
    #[error("Current password is incorrect")]
    WrongPassword,
    #[error("New password must differ from the current one")]
    SamePassword,
    #[error("This account no longer exists")]
    AccountGone,
    #[error(
        "The stored password hash of {name} is unusable ({source}); set a new one with `authtui user passwd {name}`",
        name = crate::printable::name(username)
    )]
    BadStoredHash { username: String, source: HashError },
    #[error(transparent)]
    Hash(HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// Errors of data or the system, as opposed to a refusal of what was asked.
    pub fn is_data_error(&self) -> bool {
        matches!(
            self,
            AuthError::Store(_) | AuthError::BadStoredHash { .. } | AuthError::Hash(_)
        )
    }

    /// For a lock: seconds until a retry is allowed (rounded up), or `None` if only an
    /// administrator can unlock it.
    pub fn retry_after_secs(&self, now: DateTime<Utc>) -> Option<i64> {
        match self {
            AuthError::Locked {
                until: Some(until), ..
            } => Some(remaining_secs(*until, now)),
            _ => None,
        }
    }
}

fn remaining_secs(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let ms = (until - now).num_milliseconds().max(0);
    (ms + 999) / 1000
}

/// "27 s", "2 min 5 s", "15 min".
pub fn format_wait(secs: i64) -> String {
    let (m, s) = (secs / 60, secs % 60);
    match (m, s) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// The lock message, counted from `now` (so a screen can count it down).
pub fn locked_message(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match until {
        Some(until) => format!(
            "Too many failed attempts. Try again in {}",
            format_wait(remaining_secs(until, now).max(1))
        ),
        None => "Account locked: ask an administrator to unlock it".to_owned(),
    }
}

/// What became of one entry of an import.
#[derive(Debug)]
pub enum ImportOutcome {
    Imported(Username),
    Skipped { username: String, reason: String },
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutReason {
    /// The user logged out (or quit).
    User,
    /// No key was pressed for the idle time-out.
    Idle,
}

/// The auth service: every account operation, over any [`UserStore`], recording what
/// happens in an optional [`EventLog`].
pub struct Service {
    store: Box<dyn UserStore>,
    log: Option<Box<dyn EventLog>>,
    /// Log writes that failed since the last `take_log_failures`, by the thread whose
    /// call failed (a server's pool threads share the service): the account change
    /// stands, and the caller reports these.
    log_failures: Mutex<Vec<(std::thread::ThreadId, String)>>,
    clock: Arc<dyn Clock>,
    hasher: Arc<dyn Hasher>,
    cost: Cost,
    /// Locks on typed names that are no account (docs/security.md rule 35).
    typed_names: typed_names::TypedNames,
}

/// Why a password check refused, before it is turned into the caller's error. Refusals
/// of an account carry its stored name, under which the activity log records them.
enum Refusal {
    Missing,
    Wrong(String),
    Locked(String, LockState),
    Error(AuthError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Error(e.into())
    }
}

/// A password that matched, and what to save because of it.
struct Verified {
    key: String,
    /// The account as it was before this attempt was claimed.
    record: UserRecord,
    /// A new hash when the stored one should be upgraded (lower cost, or made from the
    /// password before NFC).
    rehash: Option<String>,
}

impl Service {
    pub fn new(store: impl UserStore + 'static, cost: Cost) -> Service {
        Service {
            store: Box::new(store),
            log: None,
            log_failures: Mutex::new(Vec::new()),
            clock: Arc::new(SystemClock),
            hasher: Arc::new(Bcrypt),
            cost,
            typed_names: typed_names::TypedNames::default(),
        }
    }

    /// Hashes and verifies with `hasher` instead of bcrypt itself (tests count and weigh
    /// what reaches it).
    pub fn with_hasher(mut self, hasher: impl Hasher + 'static) -> Service {
        self.hasher = Arc::new(hasher);
        self
    }

    fn hash(&self, password: &Password) -> Result<String, AuthError> {
        debug_assert!(password.expose().len() <= hashing::MAX_PASSWORD_BYTES);
        self.hasher
            .hash(password.expose(), self.cost.get())
            .map_err(AuthError::Hash)
    }

    /// Records events (signups, logins, failures, locks, logouts, changes) in `log`.
    pub fn with_log(mut self, log: impl EventLog + 'static) -> Service {
        self.log = Some(Box::new(log));
        self
    }

    fn record(&self, event: EventKind, username: &str) {
        let Some(log) = &self.log else { return };
        // A typed name may be anything: keep it printable and short.
        let username: String = username.chars().filter(|c| !c.is_control()).take(64).collect();
        let event = Event {
            at: self.clock.now(),
            event,
            username,
            from: origin::current().map(|a| a.to_string()),
        };
        if let Err(e) = log.append(&event) {
            let mut failures = self.log_failures.lock().unwrap_or_else(|p| p.into_inner());
            // Bounded: a caller that never takes them costs no more than this.
            if failures.len() >= 64 {
                failures.remove(0);
            }
            failures.push((
                std::thread::current().id(),
                format!("the activity log was not written: {e}"),
            ));
        }
    }

    /// Log writes of this thread's calls that failed since its last call (the account
    /// changes they describe were made all the same).
    pub fn take_log_failures(&self) -> Vec<String> {
        let me = std::thread::current().id();
        let mut all = self.log_failures.lock().unwrap_or_else(|p| p.into_inner());
        let (mine, others): (Vec<_>, Vec<_>) =
            std::mem::take(&mut *all).into_iter().partition(|(t, _)| *t == me);
        *all = others;
        mine.into_iter().map(|(_, failure)| failure).collect()
    }

    /// The newest `limit` events of a user, newest first (empty without a log).
    pub fn recent_events(&self, username: &str, limit: usize) -> Result<Vec<Event>, AuthError> {
        match &self.log {
            Some(log) => Ok(log.recent(username, limit)?),
            None => Ok(Vec::new()),
        }
    }

    /// Every logged event, oldest first, optionally of one user.
    pub fn events(&self, username: Option<&str>) -> Result<Vec<Event>, AuthError> {
        let Some(log) = &self.log else {
            return Ok(Vec::new());
        };
        let mut events = log.all()?;
        if let Some(name) = username {
            let name = name.trim().to_ascii_lowercase();
            events.retain(|e| e.username.to_ascii_lowercase() == name);
        }
        Ok(events)
    }

    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Service {
        self.clock = Arc::new(clock);
        self
    }

    pub fn cost(&self) -> Cost {
        self.cost
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Where accounts are kept, for people to read.
    pub fn location(&self) -> String {
        self.store.location()
    }

    /// Creates an account and logs it in.
    pub fn signup(&self, username: &str, password: &Password) -> Result<Session, AuthError> {
        let now = self.clock.now();
        let (name, hash) = self.prepare_account(username, password)?;
        let mut record = UserRecord::new(hash, now);
        record.last_login_at = Some(now);
        record.login_count = 1;
        if let Some(from) = origin::current() {
            record.last_login_from = Some(from.to_string());
            record.remember(from.ip());
        }
        self.insert(&name, record)?;
        self.record(EventKind::Signup, name.as_str());
        Ok(Session::new(
            name,
            LoginFacts {
                created_at: Some(now),
                logged_in_at: now,
                previous_login_at: None,
                previous_login_from: None,
                failed_attempts_since: 0,
                login_count: 1,
            },
        ))
    }

    /// Creates an account without logging it in (an administrator's `user add`).
    pub fn create_account(&self, username: &str, password: &Password) -> Result<Username, AuthError> {
        let (name, hash) = self.prepare_account(username, password)?;
        self.insert(&name, UserRecord::new(hash, self.clock.now()))?;
        self.record(EventKind::AccountCreated, name.as_str());
        Ok(name)
    }

    fn prepare_account(&self, username: &str, password: &Password) -> Result<(Username, String), AuthError> {
        let name = Username::parse(username.trim())?;
        let password = password.normalized();
        policy::check(&password, &name)?;
        // Cheap early answer before the slow hash; `insert` checks again under the lock.
        if self.store.get(name.as_str())?.is_some() {
            return Err(AuthError::UsernameTaken(name.to_string()));
        }
        let hash = self.hash(&password)?;
        Ok((name, hash))
    }

    fn insert(&self, name: &Username, record: UserRecord) -> Result<(), AuthError> {
        let added = self.store.insert_new(&[(name.to_string(), record)])?;
        if added != [true] {
            return Err(AuthError::UsernameTaken(name.to_string()));
        }
        self.typed_names.forget(name.as_str());
        Ok(())
    }

    /// Logs in. Unknown user and wrong password give the same error after the same bcrypt
    /// work; a locked account is refused without running bcrypt.
    ///
    /// Failures are recorded in the activity log under the account's own name; a typed
    /// name that is no account is recorded as an unknown name (an empty `username`), never
    /// as typed: it may be a password typed into the wrong field.
    pub fn login(&self, username: &str, password: &Password) -> Result<Session, AuthError> {
        let now = self.clock.now();
        let verified = match self.verify_password(username, password, now) {
            Ok(v) => v,
            Err(refusal) => return Err(self.refused_login(refusal, now)),
        };
        let mut outcome: Result<LoginFacts, Refusal> = Err(Refusal::Missing);
        self.store.update_user(&verified.key, &mut |record| {
            let Some(record) = record else {
                outcome = Err(Refusal::Missing);
                return Change::Keep;
            };
            // Changed since we read it: the password we checked may no longer be the one.
            // (The attempt stays counted as a failure, as it was claimed.)
            if record.password_hash != verified.record.password_hash {
                outcome = Err(Refusal::Wrong(verified.key.clone()));
                return Change::Keep;
            }
            // No lock check here: this attempt was admitted before any lock that racing
            // attempts (or its own claim) put on the account, and it proved right.
            let facts = LoginFacts {
                created_at: record.created_at,
                logged_in_at: now,
                previous_login_at: record.last_login_at,
                previous_login_from: record.last_login_from.clone(),
                failed_attempts_since: verified
                    .record
                    .failed_attempts
                    .saturating_add(verified.record.known_failed_attempts),
                login_count: record.login_count.saturating_add(1),
            };
            record.previous_login_at = record.last_login_at;
            record.last_login_at = Some(now);
            record.login_count = facts.login_count;
            let from = origin::current();
            record.last_login_from = from.map(|a| a.to_string());
            if let Some(from) = from {
                record.remember(from.ip());
            }
            throttle::reset(record);
            if let Some(hash) = &verified.rehash {
                record.password_hash.clone_from(hash);
            }
            outcome = Ok(facts);
            Change::Save
        })?;
        match outcome {
            Ok(facts) => {
                self.record(EventKind::LoginSuccess, &verified.key);
                Ok(Session::new(Username::from_stored(verified.key), facts))
            }
            Err(refusal) => Err(self.refused_login(refusal, now)),
        }
    }

    /// A refused login as the person is told, recorded in the activity log.
    fn refused_login(&self, refusal: Refusal, now: DateTime<Utc>) -> AuthError {
        match refusal {
            Refusal::Missing => {
                self.record(EventKind::LoginFailure, UNKNOWN_NAME);
                AuthError::InvalidCredentials
            }
            Refusal::Wrong(key) => {
                self.record(EventKind::LoginFailure, &key);
                AuthError::InvalidCredentials
            }
            Refusal::Locked(key, lock) => {
                self.record(EventKind::LoginFailure, &key);
                lock_error(lock, now)
            }
            Refusal::Error(e) => e,
        }
    }

    /// Ends a session: the log records its end, and the caller drops it. (By reference, so
    /// that an app may share the session with a worker thread until then.)
    pub fn logout(&self, session: &Session, reason: LogoutReason) {
        let kind = match reason {
            LogoutReason::User => EventKind::Logout,
            LogoutReason::Idle => EventKind::IdleTimeout,
        };
        self.record(kind, session.username().as_str());
    }

    /// Changes the signed-in user's password; asks for the current one (a wrong one counts
    /// as a failed attempt, like a login).
    pub fn change_password(
        &self,
        session: &Session,
        current: &Password,
        new: &Password,
    ) -> Result<(), AuthError> {
        let name = session.username();
        let new = new.normalized();
        policy::check(&new, name)?;
        if new.expose() == current.normalized().expose() {
            return Err(AuthError::SamePassword);
        }
        let now = self.clock.now();
        let verified = self.verify_session_password(session, current, now)?;
        let hash = self.hash(&new)?;
        self.update_verified(&verified, |record| {
            if let Some(record) = record {
                record.password_hash.clone_from(&hash);
                throttle::reset(record);
            }
        })?;
        self.record(EventKind::PasswordChanged, name.as_str());
        Ok(())
    }

    /// Deletes the signed-in user's account; asks for the password. The session is then
    /// worth nothing: drop it.
    pub fn delete_account(&self, session: &Session, password: &Password) -> Result<(), AuthError> {
        let now = self.clock.now();
        let verified = self.verify_session_password(session, password, now)?;
        let outcome = self.update_verified(&verified, |record| *record = None);
        if outcome.is_ok() {
            self.record(EventKind::AccountDeleted, session.username().as_str());
        }
        outcome
    }

    fn verify_session_password(
        &self,
        session: &Session,
        password: &Password,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        let name = session.username().as_str();
        self.verify_password(name, password, now)
            .map_err(|refusal| match refusal {
                Refusal::Missing => AuthError::AccountGone,
                Refusal::Wrong(key) => {
                    self.record(EventKind::LoginFailure, &key);
                    AuthError::WrongPassword
                }
                Refusal::Locked(key, lock) => {
                    self.record(EventKind::LoginFailure, &key);
                    lock_error(lock, now)
                }
                Refusal::Error(e) => e,
            })
    }

    /// Saves a change to a verified account, provided its hash is still the one verified
    /// (else the password checked is no longer the account's).
    fn update_verified(
        &self,
        verified: &Verified,
        apply: impl Fn(&mut Option<UserRecord>),
    ) -> Result<(), AuthError> {
        let mut outcome = Err(AuthError::AccountGone);
        self.store
            .update_user(&verified.key, &mut |record| match record {
                Some(r) if r.password_hash == verified.record.password_hash => {
                    apply(record);
                    outcome = Ok(());
                    Change::Save
                }
                Some(_) => {
                    outcome = Err(AuthError::WrongPassword);
                    Change::Keep
                }
                None => {
                    outcome = Err(AuthError::AccountGone);
                    Change::Keep
                }
            })?;
        outcome
    }

    /// Checks a password for an account, with throttling.
    ///
    /// The attempt is claimed under the store's lock *before* bcrypt runs: a locked account
    /// is refused there (without bcrypt, and without counting), and an open one has its
    /// failure count raised at once, locking it if that crosses a threshold. However many
    /// attempts arrive at once, from threads or processes, only as many as the threshold
    /// allows get past the claim; the rest find the lock. A claimed attempt that proves
    /// right is then recorded as a success, which clears the count (docs/security.md
    /// rule 24).
    ///
    /// An unknown name costs the same: one read, one save (of the accounts unchanged) and
    /// the same bcrypt work as a wrong password on any account, whatever its stored cost.
    fn verify_password(
        &self,
        username: &str,
        password: &Password,
        now: DateTime<Utc>,
    ) -> Result<Verified, Refusal> {
        let candidates = Candidates::of(password).map_err(|e| Refusal::Error(e.into()))?;
        let Some((key, snapshot)) = self.find_record(username)? else {
            return Err(self.refuse_unknown(username, &candidates, now));
        };
        let bad_hash = |source| {
            Refusal::Error(AuthError::BadStoredHash {
                username: key.clone(),
                source,
            })
        };
        // An unusable hash is reported before anything is counted.
        hashing::stored_cost(&snapshot.password_hash).map_err(bad_hash)?;
        let bucket = Bucket::of(&snapshot, origin::current().map(|a| a.ip()));
        let (record, lock) = match self.store.claim_attempt(&key, now, &throttle::SCHEDULE, bucket)? {
            Claim::Missing => return Err(self.refuse_unknown(username, &candidates, now)),
            Claim::Locked(lock) => return Err(Refusal::Locked(key, lock)),
            Claim::Admitted { before, lock } => (before, lock),
        };
        let Some(matched) = candidates
            .check(&*self.hasher, &record.password_hash, self.cost)
            .map_err(bad_hash)?
        else {
            if lock.is_locked() {
                self.record(EventKind::Locked, &key);
                return Err(Refusal::Locked(key, lock));
            }
            return Err(Refusal::Wrong(key));
        };
        let stored_cost = hashing::stored_cost(&record.password_hash).map_err(bad_hash)?;
        // Upgrade to NFC when the raw form matched (unless NFC grows past what bcrypt reads:
        // then only the cost is upgraded), and to the configured cost.
        let upgrade = match (matched, candidates.raw) {
            (Form::Raw, Some(raw)) if fitting(&candidates.normalized).is_none() => {
                (stored_cost < self.cost.get()).then_some(raw)
            }
            (Form::Raw, _) => Some(&candidates.normalized),
            (Form::Normalized, _) => (stored_cost < self.cost.get()).then_some(&candidates.normalized),
        };
        let rehash = match upgrade {
            Some(password) => Some(self.hash(password).map_err(Refusal::Error)?),
            None => None,
        };
        Ok(Verified { key, record, rehash })
    }

    /// An attempt on a typed name that is no account: claimed on the name's own lock,
    /// as an attempt on an account is (docs/security.md rule 35), and costing what one
    /// does: a save (of the accounts unchanged) and the same bcrypt work, unless locked.
    fn refuse_unknown(&self, typed: &str, candidates: &Candidates, now: DateTime<Utc>) -> Refusal {
        match self.typed_names.claim(typed, now, &throttle::SCHEDULE) {
            // As a locked account: refused before any write or bcrypt.
            Claim::Locked(lock) => Refusal::Locked(UNKNOWN_NAME.to_owned(), lock),
            Claim::Admitted { lock, .. } => {
                if let Err(e) = self.store.rewrite() {
                    return e.into();
                }
                candidates.spend_dummy(&*self.hasher, self.cost);
                if lock.is_locked() {
                    self.record(EventKind::Locked, UNKNOWN_NAME);
                    return Refusal::Locked(UNKNOWN_NAME.to_owned(), lock);
                }
                Refusal::Missing
            }
            Claim::Missing => Refusal::Missing,
        }
    }

    /// The stored account for a typed username: lower-cased first (usernames are), then
    /// exactly as typed, for names from the legacy file that predate the rules.
    /// Both forms are looked up in one read, so a name typed with a capital letter costs
    /// an unknown name no more than a known one.
    fn find(&self, typed: &str) -> Result<Option<String>, StoreError> {
        Ok(self.find_record(typed)?.map(|(key, _)| key))
    }

    /// [`Service::find`], with the account as read.
    fn find_record(&self, typed: &str) -> Result<Option<(String, UserRecord)>, StoreError> {
        let typed = typed.trim();
        let lower = typed.to_ascii_lowercase();
        let names: &[&str] = if lower == typed {
            &[typed]
        } else {
            &[&lower, typed]
        };
        self.store.find(names)
    }

    // --- Administration: trusted callers (whoever may write users.json) ---

    /// Every account, sorted by username.
    pub fn list(&self) -> Result<Vec<Account>, AuthError> {
        let now = self.clock.now();
        Ok(self
            .store
            .all()?
            .into_iter()
            .map(|(username, r)| Account {
                lock: throttle::state(&r, now),
                username,
                created_at: r.created_at,
                last_login_at: r.last_login_at,
                previous_login_at: r.previous_login_at,
                login_count: r.login_count,
                failed_attempts: r.failed_attempts,
            })
            .collect())
    }

    /// Whether an account answers to this name (as `login` would look it up).
    pub fn account_exists(&self, username: &str) -> Result<bool, AuthError> {
        Ok(self.find(username)?.is_some())
    }

    /// Clears a lock and the failure count.
    pub fn unlock(&self, username: &str) -> Result<(), AuthError> {
        let key = self.modify_existing(username, |r| {
            throttle::reset(r);
        })?;
        self.record(EventKind::Unlocked, &key);
        Ok(())
    }

    /// Sets a new password (policy applies) and clears any lock.
    pub fn set_password(&self, username: &str, password: &Password) -> Result<(), AuthError> {
        let key = self.existing_key(username)?;
        let password = password.normalized();
        policy::check(&password, &Username::from_stored(key.clone()))?;
        let hash = self.hash(&password)?;
        self.modify_existing(&key, |r| {
            r.password_hash = hash.clone();
            throttle::reset(r);
        })?;
        self.record(EventKind::PasswordSet, &key);
        Ok(())
    }

    /// Deletes an account.
    pub fn remove(&self, username: &str) -> Result<(), AuthError> {
        let key = self.existing_key(username)?;
        let mut found = false;
        self.store.update_user(&key, &mut |record| {
            found = record.take().is_some();
            if found { Change::Save } else { Change::Keep }
        })?;
        if !found {
            return Err(AuthError::NoSuchUser(key));
        }
        self.record(EventKind::AccountRemoved, &key);
        Ok(())
    }

    /// Adds accounts with existing bcrypt hashes (from another tool), in one save.
    /// Entries with an invalid name, an unusable hash or a taken name are skipped.
    pub fn import_hashes(&self, entries: &[(String, String)]) -> Result<Vec<ImportOutcome>, AuthError> {
        let now = self.clock.now();
        let mut outcomes: Vec<Result<Username, ImportOutcome>> = entries
            .iter()
            .map(|(name, hash)| {
                let skip = |reason: String| ImportOutcome::Skipped {
                    username: name.clone(),
                    reason,
                };
                match (Username::parse(name), hashing::stored_cost(hash)) {
                    (Err(e), _) => Err(skip(e.to_string())),
                    (_, Err(e)) => Err(skip(e.to_string())),
                    (Ok(u), Ok(_)) => Ok(u),
                }
            })
            .collect();
        let accounts: Vec<(String, UserRecord)> = outcomes
            .iter()
            .zip(entries)
            .filter_map(|(o, (_, hash))| {
                Some((o.as_ref().ok()?.to_string(), UserRecord::new(hash.clone(), now)))
            })
            .collect();
        let mut added = self.store.insert_new(&accounts)?.into_iter();
        for outcome in &mut outcomes {
            if let Ok(u) = outcome
                && added.next() != Some(true)
            {
                *outcome = Err(ImportOutcome::Skipped {
                    username: u.to_string(),
                    reason: format!("username {u} already exists"),
                });
            }
        }
        let outcomes: Vec<ImportOutcome> = outcomes
            .into_iter()
            .map(|o| o.map_or_else(|skipped| skipped, ImportOutcome::Imported))
            .collect();
        for outcome in &outcomes {
            if let ImportOutcome::Imported(name) = outcome {
                self.typed_names.forget(name.as_str());
                self.record(EventKind::Imported, name.as_str());
            }
        }
        Ok(outcomes)
    }

    fn existing_key(&self, username: &str) -> Result<String, AuthError> {
        self.find(username)?
            .ok_or_else(|| AuthError::NoSuchUser(username.trim().to_owned()))
    }

    /// Applies a change to an existing account; returns its stored name.
    fn modify_existing(&self, username: &str, apply: impl Fn(&mut UserRecord)) -> Result<String, AuthError> {
        let key = self.existing_key(username)?;
        let mut found = false;
        self.store.update_user(&key, &mut |record| {
            found = record.is_some();
            match record {
                Some(r) => {
                    apply(r);
                    Change::Save
                }
                None => Change::Keep,
            }
        })?;
        if found {
            Ok(key)
        } else {
            Err(AuthError::NoSuchUser(key))
        }
    }
}

/// The `username` of an activity-log event about a typed name that is no account.
pub const UNKNOWN_NAME: &str = "";

/// Which form of a typed password matched a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Normalized,
    /// The bytes as typed, for a hash made before NFC (the prototype hashed raw bytes).
    Raw,
}

/// The forms of a typed password that a login tries: its NFC form and, when that differs,
/// the bytes as typed. Each is a bcrypt "slot": a form too long for bcrypt still costs its
/// slot's work (as a dummy), so that the work depends only on the password typed, never on
/// whether the name exists.
struct Candidates<'a> {
    normalized: Password,
    raw: Option<&'a Password>,
}

/// The password, if bcrypt reads all of it.
fn fitting(password: &Password) -> Option<&str> {
    (password.expose().len() <= hashing::MAX_PASSWORD_BYTES).then(|| password.expose())
}

impl<'a> Candidates<'a> {
    /// Refuses a password that no form of could have been set: longer than bcrypt reads
    /// even as typed. The message counts the bytes as typed.
    fn of(typed: &'a Password) -> Result<Candidates<'a>, PolicyError> {
        let normalized = typed.normalized();
        let raw = (normalized.expose() != typed.expose()).then_some(typed);
        if fitting(&normalized).is_none() && raw.and_then(fitting).is_none() {
            policy::check_length(typed)?;
        }
        Ok(Candidates { normalized, raw })
    }

    fn slots(&self) -> impl Iterator<Item = (Form, Option<&str>)> {
        std::iter::once((Form::Normalized, fitting(&self.normalized)))
            .chain(self.raw.map(|raw| (Form::Raw, fitting(raw))))
    }

    /// Which form matches `stored`, if any; each form that does not costs `cost`'s work.
    fn check(&self, hasher: &dyn Hasher, stored: &str, cost: Cost) -> Result<Option<Form>, HashError> {
        for (form, password) in self.slots() {
            match password {
                Some(p) => {
                    if hashing::verify_padded(hasher, p, stored, cost)? {
                        return Ok(Some(form));
                    }
                }
                None => hashing::verify_dummy(hasher, self.normalized.expose(), cost),
            }
        }
        Ok(None)
    }

    /// The work of a wrong password, with no account to check against.
    fn spend_dummy(&self, hasher: &dyn Hasher, cost: Cost) {
        for (_, password) in self.slots() {
            hashing::verify_dummy(hasher, password.unwrap_or(self.normalized.expose()), cost);
        }
    }
}

fn lock_error(lock: LockState, now: DateTime<Utc>) -> AuthError {
    AuthError::Locked {
        until: match lock {
            LockState::Until(t) => Some(t),
            _ => None,
        },
        now,
    }
}

#[cfg(test)]
mod tests;
