//! Login throttling (docs/security.md rules 12 and 24): after 5 consecutive failures an account is
//! locked for 30 s, doubling with each further failure up to 15 min; after 100 it stays
//! locked until an administrator unlocks it.

use chrono::{DateTime, Duration, Utc};

use crate::store::UserRecord;
pub use crate::store::{Claim, LockSchedule, LockState, reset};

/// Failures before the first lock.
pub const LOCK_AFTER: u32 = 5;
/// Failures after which only an administrator can unlock.
pub const PERMANENT_AFTER: u32 = 100;
pub const FIRST_LOCK_SECS: i64 = 30;
pub const MAX_LOCK_SECS: i64 = 15 * 60;

/// The schedule every store applies.
pub const SCHEDULE: LockSchedule = LockSchedule {
    lock_after: LOCK_AFTER,
    permanent_after: PERMANENT_AFTER,
    first_lock_secs: FIRST_LOCK_SECS,
    max_lock_secs: MAX_LOCK_SECS,
};

/// Whether an account may try to log in now.
pub fn state(record: &UserRecord, now: DateTime<Utc>) -> LockState {
    SCHEDULE.state(record, now)
}

/// How long to lock an account after its `failures`-th consecutive failure.
pub fn lock_duration(failures: u32) -> Option<Duration> {
    SCHEDULE.lock_duration(failures)
}

/// Records one more failure on `record` at `now`, locking it if that crosses a threshold.
pub fn record_failure(record: &mut UserRecord, now: DateTime<Utc>) {
    SCHEDULE.record_failure(record, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_lock_before_the_fifth_failure() {
        for n in 0..LOCK_AFTER {
            assert_eq!(lock_duration(n), None);
        }
    }

    #[test]
    fn lock_doubles_from_30_s_up_to_15_min() {
        let secs: Vec<i64> = (5..=12)
            .map(|n| lock_duration(n).unwrap().num_seconds())
            .collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(lock_duration(99).unwrap().num_seconds(), 900);
        assert_eq!(lock_duration(u32::MAX).unwrap().num_seconds(), 900);
    }

    #[test]
    fn hundred_failures_lock_until_unlocked() {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let mut r = UserRecord::default();
        for _ in 0..99 {
            record_failure(&mut r, now);
        }
        assert!(matches!(state(&r, now + Duration::hours(1)), LockState::Open));
        record_failure(&mut r, now);
        assert_eq!(state(&r, now + Duration::days(365)), LockState::UntilUnlocked);
        reset(&mut r);
        assert_eq!(state(&r, now), LockState::Open);
    }

    #[test]
    fn lock_expires_at_its_time() {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let mut r = UserRecord::default();
        for _ in 0..5 {
            record_failure(&mut r, now);
        }
        assert_eq!(state(&r, now), LockState::Until(now + Duration::seconds(30)));
        assert_eq!(
            state(&r, now + Duration::seconds(29)),
            LockState::Until(now + Duration::seconds(30))
        );
        assert_eq!(state(&r, now + Duration::seconds(30)), LockState::Open);
    }
}
