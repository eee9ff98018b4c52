//! Copying every account and event from one store to another (`authtui migrate`), and
//! checking the copy: the same accounts with the same hashes and facts, and the same
//! events, counted again from the target once written.

use std::collections::BTreeSet;

use super::{EventLog, StoreError, UserMap, UserStore};

/// A store and its activity log, as a migration reads or writes them.
pub struct Side<'a> {
    pub store: &'a dyn UserStore,
    pub log: &'a dyn EventLog,
}

/// What a migration copied.
#[derive(Debug, PartialEq, Eq)]
pub struct Copied {
    pub accounts: usize,
    pub events: usize,
}

/// Why a migration did not happen (or did not check out). Nothing is written before the
/// checks that can refuse it.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{target} already holds {accounts} account(s): migrate into an empty store, or pass --allow-nonempty to add to it"
    )]
    NotEmpty { target: String, accounts: usize },
    #[error("{target} already has account(s) named as in the source ({}): nothing was copied", names.join(", "))]
    Conflict { target: String, names: Vec<String> },
    #[error("the copy in {target} does not match the source ({what}): check the target before using it")]
    Mismatch { target: String, what: String },
}

/// How many accounts go in one change of the target: each batch is one transaction (one
/// save of a users.json), so progress can be shown and a huge store is not one giant
/// transaction.
const BATCH: usize = 10_000;

/// Copies `from` into `to`. `progress(done, total)` is called as accounts are copied.
pub fn copy(
    from: &Side,
    to: &Side,
    allow_nonempty: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Copied, MigrateError> {
    let target = to.store.location();
    let accounts = from.store.all()?;
    let events = from.log.all()?;
    let existing = to.store.all()?;
    if !existing.is_empty() {
        if !allow_nonempty {
            return Err(MigrateError::NotEmpty {
                target,
                accounts: existing.len(),
            });
        }
        let names: Vec<String> = accounts
            .keys()
            .filter(|n| existing.contains_key(*n))
            .map(|n| crate::printable::name(n))
            .take(10)
            .collect();
        if !names.is_empty() {
            return Err(MigrateError::Conflict { target, names });
        }
    }
    let events_before = to.log.all()?.len();
    let list: Vec<_> = accounts.iter().map(|(n, r)| (n.clone(), r.clone())).collect();
    progress(0, list.len());
    for (i, chunk) in list.chunks(BATCH).enumerate() {
        let added = to.store.insert_new(chunk)?;
        if added.contains(&false) {
            return Err(MigrateError::Mismatch {
                target,
                what: "an account appeared in the target during the copy".to_owned(),
            });
        }
        progress((i * BATCH + chunk.len()).min(list.len()), list.len());
    }
    to.log.append_all(&events)?;
    check(&accounts, &existing, to, events.len() + events_before)?;
    Ok(Copied {
        accounts: accounts.len(),
        events: events.len(),
    })
}

/// Reads the target back: every source account is there, equal in every field (hash,
/// times, counts, lock), nothing else was added, and the events are all there.
fn check(source: &UserMap, existing: &UserMap, to: &Side, events: usize) -> Result<(), MigrateError> {
    let target = to.store.location();
    let mismatch = |what: String| MigrateError::Mismatch {
        target: target.clone(),
        what,
    };
    let now = to.store.all()?;
    let want: BTreeSet<&String> = source.keys().chain(existing.keys()).collect();
    let have: BTreeSet<&String> = now.keys().collect();
    if want != have {
        return Err(mismatch(format!(
            "{} accounts where {} were expected",
            have.len(),
            want.len()
        )));
    }
    if let Some(name) = source
        .iter()
        .find_map(|(n, r)| (now.get(n) != Some(r)).then_some(n))
    {
        return Err(mismatch(format!(
            "account {} differs",
            crate::printable::name(name)
        )));
    }
    let logged = to.log.all()?.len();
    if logged != events {
        return Err(mismatch(format!("{logged} events where {events} were expected")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::store::{Change, Event, EventKind, MemoryLog, MemoryStore, UserRecord};

    fn record(n: i64) -> UserRecord {
        UserRecord {
            password_hash: "$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234".into(),
            created_at: DateTime::from_timestamp(n, 0),
            login_count: n as u64,
            ..UserRecord::default()
        }
    }

    fn source(accounts: usize) -> (MemoryStore, MemoryLog) {
        let store = MemoryStore::new();
        let list: Vec<_> = (0..accounts)
            .map(|i| (format!("user{i:06}"), record(i as i64)))
            .collect();
        store.insert_new(&list).unwrap();
        let log = MemoryLog::new();
        log.append(&Event {
            at: DateTime::from_timestamp(7, 0).unwrap(),
            event: EventKind::Signup,
            username: "user000000".into(),
            from: None,
        })
        .unwrap();
        (store, log)
    }

    /// Copies a source of `accounts` accounts into empty memory: what was copied, and
    /// every progress call it made.
    fn copy_with_progress(accounts: usize) -> (Copied, Vec<(usize, usize)>) {
        let (from, from_log) = source(accounts);
        let (to, to_log) = (MemoryStore::new(), MemoryLog::new());
        let mut told = Vec::new();
        let copied = copy(
            &Side {
                store: &from,
                log: &from_log,
            },
            &Side {
                store: &to,
                log: &to_log,
            },
            false,
            &mut |done, total| told.push((done, total)),
        )
        .unwrap();
        (copied, told)
    }

    /// Progress is told before the first batch and after each one, counting the accounts
    /// copied so far, up to the whole.
    #[test]
    fn progress_counts_the_accounts_copied_batch_by_batch() {
        let total = 2 * BATCH + 5;
        let (copied, told) = copy_with_progress(total);
        assert_eq!(
            copied,
            Copied {
                accounts: total,
                events: 1
            }
        );
        assert_eq!(
            told,
            [(0, total), (BATCH, total), (2 * BATCH, total), (total, total)]
        );
        assert_eq!(copy_with_progress(3).1, [(0, 3), (3, 3)]);
    }

    /// A target that does not keep what it was given: it says every account was added,
    /// then loses, changes or adds some, or drops an event.
    #[derive(Default)]
    struct Unfaithful {
        inner: MemoryStore,
        log: MemoryLog,
        fault: Fault,
    }

    #[derive(Default, Clone, Copy, PartialEq)]
    enum Fault {
        #[default]
        LosesOne,
        ChangesOne,
        AddsOne,
        DropsAnEvent,
    }

    impl UserStore for Unfaithful {
        fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
            self.inner.get(username)
        }

        fn all(&self) -> Result<UserMap, StoreError> {
            self.inner.all()
        }

        fn update_user(
            &self,
            username: &str,
            change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
        ) -> Result<(), StoreError> {
            self.inner.update_user(username, change)
        }

        fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
            let mut kept = accounts.to_vec();
            match self.fault {
                Fault::LosesOne => {
                    kept.pop();
                }
                Fault::ChangesOne => kept[0].1.login_count += 1,
                Fault::AddsOne => kept.push(("mallory".into(), record(99))),
                Fault::DropsAnEvent => {}
            }
            self.inner.insert_new(&kept)?;
            Ok(vec![true; accounts.len()])
        }

        fn rewrite(&self) -> Result<(), StoreError> {
            self.inner.rewrite()
        }

        fn location(&self) -> String {
            "the unfaithful store".into()
        }
    }

    impl EventLog for Unfaithful {
        fn append(&self, event: &Event) -> Result<(), StoreError> {
            match self.fault {
                Fault::DropsAnEvent => Ok(()),
                _ => self.log.append(event),
            }
        }

        fn recent(&self, username: &str, limit: usize) -> Result<Vec<Event>, StoreError> {
            self.log.recent(username, limit)
        }

        fn all(&self) -> Result<Vec<Event>, StoreError> {
            self.log.all()
        }
    }

    #[test]
    fn a_copy_that_does_not_read_back_equal_is_a_mismatch_naming_what_differs() {
        let (from, from_log) = source(3);
        for (fault, what) in [
            (Fault::LosesOne, "2 accounts where 3 were expected"),
            (Fault::ChangesOne, "account user000000 differs"),
            (Fault::AddsOne, "4 accounts where 3 were expected"),
            (Fault::DropsAnEvent, "0 events where 1 were expected"),
        ] {
            let to = Unfaithful {
                fault,
                ..Unfaithful::default()
            };
            let err = copy(
                &Side {
                    store: &from,
                    log: &from_log,
                },
                &Side { store: &to, log: &to },
                false,
                &mut |_, _| {},
            )
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "the copy in the unfaithful store does not match the source ({what}): check the target before using it"
                )
            );
        }
    }
}
