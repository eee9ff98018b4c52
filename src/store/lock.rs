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

/// Which of an account's two failure counts an attempt is claimed on: the owner's known
/// addresses are throttled apart from everyone else, so that others' failures cannot
/// lock the owner out (docs/security.md rule 36).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// Anyone: the local terminal, the commands, an address the account does not know.
    Anyone,
    /// An address the owner logged in from before.
    Known,
}

impl Bucket {
    /// The bucket of an attempt from `from` on `record`.
    pub fn of(record: &UserRecord, from: Option<std::net::IpAddr>) -> Bucket {
        match from {
            Some(ip) if record.knows(ip) => Bucket::Known,
            _ => Bucket::Anyone,
        }
    }

    /// The bucket's failure count and lock in `record`.
    pub fn counts(self, record: &UserRecord) -> (u32, Option<DateTime<Utc>>) {
        match self {
            Bucket::Anyone => (record.failed_attempts, record.locked_until),
            Bucket::Known => (record.known_failed_attempts, record.known_locked_until),
        }
    }

    fn counts_mut(self, record: &mut UserRecord) -> (&mut u32, &mut Option<DateTime<Utc>>) {
        match self {
            Bucket::Anyone => (&mut record.failed_attempts, &mut record.locked_until),
            Bucket::Known => (&mut record.known_failed_attempts, &mut record.known_locked_until),
        }
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

    /// Whether `record` may try to log in at `now` (from anyone: the lock others see).
    pub fn state(&self, record: &UserRecord, now: DateTime<Utc>) -> LockState {
        self.state_of(record, Bucket::Anyone, now)
    }

    /// Whether an attempt of `bucket` on `record` may be made at `now`.
    pub fn state_of(&self, record: &UserRecord, bucket: Bucket, now: DateTime<Utc>) -> LockState {
        let (failures, until) = bucket.counts(record);
        self.state_at(failures, until, now)
    }

    /// The lock of a failure count and lock time.
    pub fn state_at(&self, failures: u32, until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> LockState {
        if failures >= self.permanent_after {
            LockState::UntilUnlocked
        } else {
            match until {
                Some(until) if until > now => LockState::Until(until),
                _ => LockState::Open,
            }
        }
    }

    /// Records one more failure at `now`, locking the account if that crosses a threshold.
    pub fn record_failure(&self, record: &mut UserRecord, now: DateTime<Utc>) {
        self.record_failure_in(record, Bucket::Anyone, now);
    }

    /// [`LockSchedule::record_failure`] on one bucket.
    pub fn record_failure_in(&self, record: &mut UserRecord, bucket: Bucket, now: DateTime<Utc>) {
        let (failures, until) = bucket.counts_mut(record);
        self.count_failure(failures, until, now);
    }

    /// One more failure on a count and its lock.
    fn count_failure(&self, failures: &mut u32, until: &mut Option<DateTime<Utc>>, now: DateTime<Utc>) {
        *failures = failures.saturating_add(1);
        if let Some(d) = self.lock_duration(*failures) {
            *until = Some(now + d);
        }
    }

    /// The claim of one login attempt of `bucket` on `record` (`None`: no account), as
    /// every store makes it: refused if locked, else counted as a failure now. Returns
    /// whether the record changed.
    pub fn claim(
        &self,
        record: Option<&mut UserRecord>,
        bucket: Bucket,
        now: DateTime<Utc>,
    ) -> (Claim, bool) {
        let Some(record) = record else {
            return (Claim::Missing, false);
        };
        let lock = self.state_of(record, bucket, now);
        if lock.is_locked() {
            return (Claim::Locked(lock), false);
        }
        let before = record.clone();
        self.record_failure_in(record, bucket, now);
        let lock = self.state_of(record, bucket, now);
        (Claim::Admitted { before, lock }, true)
    }
}

/// Clears failures and locks of both buckets (a success, or an administrator's unlock).
pub fn reset(record: &mut UserRecord) {
    record.failed_attempts = 0;
    record.locked_until = None;
    record.known_failed_attempts = 0;
    record.known_locked_until = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: LockSchedule = LockSchedule {
        lock_after: 2,
        permanent_after: 4,
        first_lock_secs: 30,
        max_lock_secs: 60,
    };

    #[test]
    fn an_attempt_from_a_known_address_is_counted_on_its_own() {
        let home: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let elsewhere: std::net::IpAddr = "2001:db8::9".parse().unwrap();
        let mut record = UserRecord::default();
        record.remember(home);
        assert_eq!(Bucket::of(&record, Some(home)), Bucket::Known);
        assert_eq!(Bucket::of(&record, Some(elsewhere)), Bucket::Anyone);
        assert_eq!(Bucket::of(&record, None), Bucket::Anyone, "the local terminal");
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for _ in 0..2 {
            SCHEDULE.claim(Some(&mut record), Bucket::Anyone, now);
        }
        assert_eq!(
            SCHEDULE.state(&record, now),
            LockState::Until(now + Duration::seconds(30))
        );
        assert_eq!(SCHEDULE.state_of(&record, Bucket::Known, now), LockState::Open);
        let (claim, changed) = SCHEDULE.claim(Some(&mut record), Bucket::Known, now);
        assert!(
            changed
                && matches!(
                    claim,
                    Claim::Admitted {
                        lock: LockState::Open,
                        ..
                    }
                )
        );
        assert_eq!((record.failed_attempts, record.known_failed_attempts), (2, 1));
        reset(&mut record);
        assert_eq!(Bucket::Known.counts(&record), (0, None));
        assert_eq!(Bucket::Anyone.counts(&record), (0, None));
    }

    #[test]
    fn known_addresses_are_the_newest_few_without_repeats() {
        let mut record = UserRecord::default();
        for n in 0..20u8 {
            record.remember(std::net::IpAddr::from([192, 0, 2, n % 12]));
        }
        assert_eq!(record.known_addresses.len(), super::super::KNOWN_ADDRESSES);
        assert_eq!(record.known_addresses[0], "192.0.2.7");
        assert!(
            !record.knows("192.0.2.11".parse().unwrap()),
            "pushed out by newer ones"
        );
    }
}
