//! Locks on typed names that are no account (docs/security.md rule 35): the same
//! schedule as an account's, so that after five failures "alice" and "nosuchuser" both
//! answer "Too many failed attempts", and the lock message tells nothing about which
//! names exist.
//!
//! Kept in the process (a server's), bounded: past [`MAX_NAMES`] the names failed longest
//! ago are forgotten first. Two processes on one store do not share them; see the rule
//! for why that is enough and what it leaves.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::store::{Bucket, Claim, LockSchedule, UserRecord};

/// The most typed names remembered.
pub const MAX_NAMES: usize = 10_000;

#[derive(Default)]
pub struct TypedNames {
    names: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    until: Option<DateTime<Utc>>,
    last: DateTime<Utc>,
}

impl TypedNames {
    /// Claims an attempt on a typed name that is no account, as a store claims one on an
    /// account: refused while locked, else counted (and locked past the threshold).
    pub fn claim(&self, typed: &str, now: DateTime<Utc>, schedule: &LockSchedule) -> Claim {
        let key = key(typed);
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.len() >= MAX_NAMES && !names.contains_key(&key) {
            forget_oldest(&mut names);
        }
        let entry = names.entry(key).or_insert(Entry {
            failures: 0,
            until: None,
            last: now,
        });
        // The claim every store makes, on a record holding only the name's count.
        let mut record = UserRecord {
            failed_attempts: entry.failures,
            locked_until: entry.until,
            ..UserRecord::default()
        };
        let (claim, counted) = schedule.claim(Some(&mut record), Bucket::Anyone, now);
        if counted {
            (entry.failures, entry.until, entry.last) = (record.failed_attempts, record.locked_until, now);
        }
        claim
    }

    /// Forgets a name that became an account (its owner starts afresh).
    pub fn forget(&self, name: &str) {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key(name));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.names.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Typed names are compared as logins look them up: trimmed, lower-cased.
fn key(typed: &str) -> String {
    typed.trim().to_ascii_lowercase()
}

/// Drops the tenth of the names failed longest ago.
fn forget_oldest(names: &mut HashMap<String, Entry>) {
    let mut ages: Vec<DateTime<Utc>> = names.values().map(|e| e.last).collect();
    let cut = ages.len() / 10;
    let (_, &mut oldest_kept, _) = ages.select_nth_unstable(cut);
    names.retain(|_, e| e.last > oldest_kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::throttle::{LOCK_AFTER, SCHEDULE};
    use crate::store::LockState;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_typed_name_locks_after_the_threshold_like_an_account() {
        let names = TypedNames::default();
        for n in 1..LOCK_AFTER {
            assert!(
                matches!(
                    names.claim("Ghost", at(0), &SCHEDULE),
                    Claim::Admitted {
                        lock: LockState::Open,
                        ..
                    }
                ),
                "failure {n}"
            );
        }
        let Claim::Admitted { lock, before } = names.claim(" ghost ", at(0), &SCHEDULE) else {
            panic!("the fifth attempt is admitted");
        };
        assert_eq!(
            (before.failed_attempts, before.locked_until),
            (LOCK_AFTER - 1, None)
        );
        assert_eq!(
            lock,
            LockState::Until(at(30)),
            "the same spelling rules as a login"
        );
        assert_eq!(
            names.claim("GHOST", at(29), &SCHEDULE),
            Claim::Locked(LockState::Until(at(30)))
        );
        assert!(matches!(
            names.claim("ghost", at(30), &SCHEDULE),
            Claim::Admitted { .. }
        ));
        assert!(matches!(
            names.claim("other", at(30), &SCHEDULE),
            Claim::Admitted {
                lock: LockState::Open,
                ..
            }
        ));
        names.forget("Ghost");
        assert!(matches!(
            names.claim("ghost", at(31), &SCHEDULE),
            Claim::Admitted {
                lock: LockState::Open,
                ..
            }
        ));
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_oldest_first() {
        let names = TypedNames::default();
        for n in 0..MAX_NAMES as i64 {
            names.claim(&format!("name{n}"), at(n), &SCHEDULE);
        }
        assert_eq!(names.len(), MAX_NAMES);
        names.claim("newest", at(MAX_NAMES as i64), &SCHEDULE);
        // The tenth failed longest ago went, to make room for more than one new name.
        assert_eq!(names.len(), MAX_NAMES - MAX_NAMES / 10);
        let kept = names.names.lock().unwrap();
        assert!(kept.contains_key("newest"));
        assert!(kept.contains_key(&format!("name{}", MAX_NAMES - 1)));
        assert!(!kept.contains_key("name0"), "the oldest went first");
    }
}
