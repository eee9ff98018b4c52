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
