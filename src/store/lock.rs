//! The throttling state an account carries (its failure count and lock), and the schedule
//! that turns failures into locks, as plain data: the rules' numbers come from the auth
//! layer (`auth::throttle::SCHEDULE`); a store applies them, so that a database can claim
//! a login attempt in one statement (docs/security.md rules 12 and 24).

use chrono::{DateTime, Duration, Utc};

use super::UserRecord;

/// When failures lock an account, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockSchedule {
    /// Failures before the first lock.
    pub lock_after: u32,
    /// Failures after which only an administrator can unlock.
    pub permanent_after: u32,
    /// The first lock, in seconds; each further failure doubles it…
    pub first_lock_secs: i64,
    /// …up to this.
    pub max_lock_secs: i64,
}

/// Whether an account may try to log in now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockState {
    Open,
    /// Refused until then.
    Until(DateTime<Utc>),
    /// Refused until an administrator runs `authtui user unlock`.
    UntilUnlocked,
}

impl LockState {
    pub fn is_locked(self) -> bool {
        self != LockState::Open
    }
}

/// What claiming a login attempt found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No such account.
    Missing,
    /// Refused without counting.
    Locked(LockState),
    /// Counted as a failure until it proves right. `before` is the account as it was before
    /// the claim; `lock` is the lock the claim put on it, if it crossed a threshold.
    Admitted { before: UserRecord, lock: LockState },
}

impl LockSchedule {
    /// The lock after the `failures`-th consecutive failure, if any.
    pub fn lock_duration(&self, failures: u32) -> Option<Duration> {
        if failures < self.lock_after {
            return None;
        }
        let doublings = (failures - self.lock_after).min(16);
        let secs = (self.first_lock_secs << doublings).min(self.max_lock_secs);
        Some(Duration::seconds(secs))
    }

    /// Whether `record` may try to log in at `now`.
    pub fn state(&self, record: &UserRecord, now: DateTime<Utc>) -> LockState {
        if record.failed_attempts >= self.permanent_after {
            LockState::UntilUnlocked
        } else {
            match record.locked_until {
                Some(until) if until > now => LockState::Until(until),
                _ => LockState::Open,
            }
        }
    }

    /// Records one more failure at `now`, locking the account if that crosses a threshold.
    pub fn record_failure(&self, record: &mut UserRecord, now: DateTime<Utc>) {
        record.failed_attempts = record.failed_attempts.saturating_add(1);
        if let Some(d) = self.lock_duration(record.failed_attempts) {
            record.locked_until = Some(now + d);
        }
    }

    /// The claim of one login attempt on `record` (`None`: no account), as every store
    /// makes it: refused if locked, else counted as a failure now. Returns whether the
    /// record changed.
    pub fn claim(&self, record: Option<&mut UserRecord>, now: DateTime<Utc>) -> (Claim, bool) {
        let Some(record) = record else {
            return (Claim::Missing, false);
        };
        let lock = self.state(record, now);
        if lock.is_locked() {
            return (Claim::Locked(lock), false);
        }
        let before = record.clone();
        self.record_failure(record, now);
        let lock = self.state(record, now);
        (Claim::Admitted { before, lock }, true)
    }
}

/// Clears failures and locks (a success, or an administrator's unlock).
pub fn reset(record: &mut UserRecord) {
    record.failed_attempts = 0;
    record.locked_until = None;
}
