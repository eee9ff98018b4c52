use chrono::{DateTime, Utc};

use super::Username;
use super::throttle::LockState;

/// Proof of a successful login or signup, and the only way to act as a logged-in user.
/// It can be made only by [`super::Service`], is not `Clone`, and lives only in memory.
#[derive(Debug)]
pub struct Session {
    username: Username,
    facts: LoginFacts,
}

/// What a login tells the user about their account (pam_lastlog style).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFacts {
    /// When the account was created (unknown for accounts from the legacy format).
    pub created_at: Option<DateTime<Utc>>,
    /// This login.
    pub logged_in_at: DateTime<Utc>,
    /// The login before this one, if any.
    pub previous_login_at: Option<DateTime<Utc>>,
    /// Where the login before this one came from, when it came over the network.
    pub previous_login_from: Option<String>,
    /// Failed attempts between the previous login and this one.
    pub failed_attempts_since: u32,
    /// Successful logins, this one included.
    pub login_count: u64,
}

impl Session {
    pub(super) fn new(username: Username, facts: LoginFacts) -> Session {
        Session { username, facts }
    }

    pub fn username(&self) -> &Username {
        &self.username
    }

    pub fn facts(&self) -> &LoginFacts {
        &self.facts
    }
}

/// One account as an administrator sees it (`authtui user list`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub created_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub previous_login_at: Option<DateTime<Utc>>,
    pub login_count: u64,
    /// Consecutive failed attempts since the last success.
    pub failed_attempts: u32,
    pub lock: LockState,
}
