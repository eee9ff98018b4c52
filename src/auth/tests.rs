//! The rules, one behaviour per test, on a memory store and a fake clock at cost 4.

use chrono::Duration;

use super::*;
use crate::store::MemoryStore;

const GOOD: &str = "correct horse battery staple";
const OTHER: &str = "violet marmot sings under quartz";

fn cost4() -> Cost {
    Cost::new(4).unwrap()
}

fn service() -> (Service, FakeClock) {
    let clock = FakeClock::at_epoch();
    (
        Service::new(MemoryStore::new(), cost4()).with_clock(clock.clone()),
        clock,
    )
}

fn with_alice() -> (Service, FakeClock) {
    let (s, c) = service();
    s.create_account("alice", &GOOD.into()).unwrap();
    (s, c)
}

fn record(s: &Service, name: &str) -> UserRecord {
    s.store.get(name).unwrap().unwrap()
}

fn fail(s: &Service, name: &str) -> AuthError {
    s.login(name, &"wrong password entirely".into()).unwrap_err()
}

#[test]
fn signup_creates_an_account_and_logs_in() {
    let (s, clock) = service();
    let session = s.signup("Alice", &GOOD.into()).unwrap();
    assert_eq!(session.username().as_str(), "alice");
    assert_eq!(session.facts().login_count, 1);
    assert_eq!(session.facts().previous_login_at, None);
    let r = record(&s, "alice");
    assert!(r.password_hash.starts_with("$2b$04$"));
    assert_eq!(r.created_at, Some(clock.now()));
    assert_eq!(r.last_login_at, Some(clock.now()));
}

#[test]
fn signup_refuses_a_taken_name_in_any_case() {
    let (s, _) = with_alice();
    assert!(matches!(s.signup("ALICE", &OTHER.into()), Err(AuthError::UsernameTaken(n)) if n == "alice"));
}

#[test]
fn signup_applies_username_and_password_rules() {
    let (s, _) = service();
    assert!(matches!(
        s.signup("1x", &GOOD.into()),
        Err(AuthError::Username(_))
    ));
    assert!(matches!(
        s.signup("bob", &"short".into()),
        Err(AuthError::Policy(PolicyError::TooShort { .. }))
    ));
    assert!(matches!(
        s.signup("bob", &"bob-is-the-best-yes".into()),
        Err(AuthError::Policy(PolicyError::ContainsUsername))
    ));
    assert!(s.list().unwrap().is_empty());
}

#[test]
fn create_account_records_no_login() {
    let (s, _) = with_alice();
    let r = record(&s, "alice");
    assert_eq!(r.login_count, 0);
    assert_eq!(r.last_login_at, None);
}

#[test]
fn login_succeeds_with_the_right_password_and_records_facts() {
    let (s, clock) = with_alice();
    let first = s.login("alice", &GOOD.into()).unwrap();
    assert_eq!(first.facts().previous_login_at, None);
    assert_eq!(first.facts().login_count, 1);
    let t1 = clock.now();
    clock.advance(Duration::hours(2));
    let second = s.login("Alice", &GOOD.into()).unwrap();
    assert_eq!(second.facts().previous_login_at, Some(t1));
    assert_eq!(second.facts().logged_in_at, clock.now());
    assert_eq!(second.facts().login_count, 2);
    let r = record(&s, "alice");
    assert_eq!(r.previous_login_at, Some(t1));
    assert_eq!(r.last_login_at, Some(clock.now()));
}

#[test]
fn unknown_user_and_wrong_password_give_the_same_message() {
    let (s, _) = with_alice();
    let unknown = s.login("nobody", &GOOD.into()).unwrap_err();
    let wrong = fail(&s, "alice");
    assert!(matches!(unknown, AuthError::InvalidCredentials));
    assert!(matches!(wrong, AuthError::InvalidCredentials));
    assert_eq!(unknown.to_string(), "Invalid username or password");
    assert_eq!(unknown.to_string(), wrong.to_string());
}

#[test]
fn unknown_users_leave_nothing_in_the_store() {
    let (s, _) = with_alice();
    for _ in 0..10 {
        fail(&s, "mallory");
    }
    assert_eq!(s.list().unwrap().len(), 1);
}

#[test]
fn failures_since_last_login_are_reported_then_reset() {
    let (s, _) = with_alice();
    fail(&s, "alice");
    fail(&s, "alice");
    let session = s.login("alice", &GOOD.into()).unwrap();
    assert_eq!(session.facts().failed_attempts_since, 2);
    assert_eq!(record(&s, "alice").failed_attempts, 0);
}

#[test]
fn fifth_failure_locks_for_30_seconds() {
    let (s, clock) = with_alice();
    for _ in 0..4 {
        assert!(matches!(fail(&s, "alice"), AuthError::InvalidCredentials));
    }
    let err = fail(&s, "alice");
    assert!(matches!(err, AuthError::Locked { until: Some(_), .. }), "{err:?}");
    assert_eq!(err.to_string(), "Too many failed attempts. Try again in 30 s");
    assert_eq!(err.retry_after_secs(clock.now()), Some(30));
}

#[test]
fn a_locked_account_refuses_even_the_right_password_without_counting() {
    let (s, clock) = with_alice();
    for _ in 0..5 {
        fail(&s, "alice");
    }
    clock.advance(Duration::seconds(3));
    let err = s.login("alice", &GOOD.into()).unwrap_err();
    assert_eq!(err.to_string(), "Too many failed attempts. Try again in 27 s");
    assert_eq!(record(&s, "alice").failed_attempts, 5);
}

#[test]
fn a_locked_account_is_refused_without_bcrypt() {
    let (s, _) = with_alice();
    for _ in 0..5 {
        fail(&s, "alice");
    }
    // Corrupt the hash: if bcrypt ran, this would be a BadStoredHash error.
    s.store
        .update(&mut |u| {
            u.get_mut("alice").unwrap().password_hash = "broken".into();
            Change::Save
        })
        .unwrap();
    assert!(matches!(
        s.login("alice", &GOOD.into()),
        Err(AuthError::BadStoredHash { .. })
    ));
    // (The hash check comes first so a tampered cost is caught; the lock check then
    // skips bcrypt: see `throttle_skips_bcrypt_for_locked` below.)
}

#[test]
fn throttle_skips_bcrypt_for_locked() {
    // A cost-20 hash would take over a minute to verify; while locked, it is never run.
    let (s, _) = with_alice();
    for _ in 0..5 {
        fail(&s, "alice");
    }
    s.store
        .update(&mut |u| {
            let r = u.get_mut("alice").unwrap();
            r.password_hash = format!("$2b$20${}", &r.password_hash[7..]);
            Change::Save
        })
        .unwrap();
    assert!(matches!(
        s.login("alice", &GOOD.into()),
        Err(AuthError::Locked { .. })
    ));
}

#[test]
fn lock_doubles_with_each_further_failure_and_expires() {
    let (s, clock) = with_alice();
    for _ in 0..5 {
        fail(&s, "alice");
    }
    clock.advance(Duration::seconds(30));
    let err = fail(&s, "alice");
    assert_eq!(err.to_string(), "Too many failed attempts. Try again in 1 min");
    clock.advance(Duration::seconds(60));
    assert_eq!(
        fail(&s, "alice").to_string(),
        "Too many failed attempts. Try again in 2 min"
    );
    clock.advance(Duration::seconds(120));
    assert!(s.login("alice", &GOOD.into()).is_ok());
    assert_eq!(record(&s, "alice").failed_attempts, 0);
    assert_eq!(record(&s, "alice").locked_until, None);
}

#[test]
fn hundred_failures_lock_until_an_admin_unlocks() {
    let (s, clock) = with_alice();
    for _ in 0..100 {
        fail(&s, "alice");
        clock.advance(Duration::minutes(16));
    }
    let err = s.login("alice", &GOOD.into()).unwrap_err();
    assert!(matches!(err, AuthError::Locked { until: None, .. }));
    assert!(err.to_string().contains("ask an administrator"));
    s.unlock("alice").unwrap();
    assert!(s.login("alice", &GOOD.into()).is_ok());
}

#[test]
fn a_password_over_72_bytes_never_matches_and_says_why() {
    let (s, _) = with_alice();
    let long = format!("{GOOD}{}", "x".repeat(60));
    let err = s.login("alice", &long.as_str().into()).unwrap_err();
    assert!(matches!(err, AuthError::Policy(PolicyError::TooLong { .. })));
    // A 72-byte prefix of a longer password must not match either (no truncation).
    let p72 = "violet marmot sings under quartz bridges at dawn while the kettle hums!!";
    s.set_password("alice", &p72.into()).unwrap();
    assert!(s.login("alice", &format!("{p72}extra").as_str().into()).is_err());
    assert!(s.login("alice", &p72.into()).is_ok());
}

#[test]
fn login_upgrades_a_cheaper_hash() {
    let (s, _) = service();
    let weak = bcrypt::hash(GOOD, 4).unwrap();
    s.store
        .update(&mut |u| {
            u.insert("alice".into(), UserRecord::new(weak.clone(), s.now()));
            Change::Save
        })
        .unwrap();
    let s5 = Service {
        cost: Cost::new(5).unwrap(),
        ..s
    };
    s5.login("alice", &GOOD.into()).unwrap();
    let upgraded = record(&s5, "alice").password_hash;
    assert!(upgraded.starts_with("$2b$05$"), "{upgraded}");
    assert!(s5.login("alice", &GOOD.into()).is_ok());
}

#[test]
fn passwords_are_compared_in_nfc() {
    let (s, _) = service();
    let composed = "caf\u{e9} au lait sans sucre";
    let decomposed = "cafe\u{301} au lait sans sucre";
    s.create_account("alice", &composed.into()).unwrap();
    assert!(s.login("alice", &decomposed.into()).is_ok());
}

#[test]
fn a_legacy_hash_of_unnormalized_bytes_verifies_and_is_upgraded() {
    let (s, _) = service();
    let decomposed = "cafe\u{301} au lait sans sucre";
    let legacy = bcrypt::hash(decomposed, 4).unwrap();
    s.store
        .update(&mut |u| {
            u.insert(
                "alice".into(),
                UserRecord {
                    password_hash: legacy.clone(),
                    ..UserRecord::default()
                },
            );
            Change::Save
        })
        .unwrap();
    s.login("alice", &decomposed.into()).unwrap();
    let now_hash = record(&s, "alice").password_hash;
    assert_ne!(now_hash, legacy);
    assert_eq!(
        bcrypt::verify("caf\u{e9} au lait sans sucre", &now_hash).ok(),
        Some(true)
    );
}

#[test]
fn legacy_mixed_case_names_still_log_in() {
    let (s, _) = service();
    let hash = bcrypt::hash(GOOD, 4).unwrap();
    s.store
        .update(&mut |u| {
            u.insert(
                "Bob".into(),
                UserRecord {
                    password_hash: hash.clone(),
                    ..UserRecord::default()
                },
            );
            Change::Save
        })
        .unwrap();
    assert_eq!(s.login("Bob", &GOOD.into()).unwrap().username().as_str(), "Bob");
}

#[test]
fn a_tampered_cost_is_an_error_not_a_hang() {
    let (s, _) = with_alice();
    s.store
        .update(&mut |u| {
            let r = u.get_mut("alice").unwrap();
            r.password_hash = format!("$2b$31${}", &r.password_hash[7..]);
            Change::Save
        })
        .unwrap();
    let err = s.login("alice", &GOOD.into()).unwrap_err();
    assert!(matches!(
        err,
        AuthError::BadStoredHash {
            source: HashError::CostTooHigh(31),
            ..
        }
    ));
    assert!(err.to_string().contains("authtui user passwd alice"));
}

#[test]
fn change_password_needs_the_current_one_and_keeps_the_session() {
    let (s, _) = with_alice();
    let session = s.login("alice", &GOOD.into()).unwrap();
    assert!(matches!(
        s.change_password(&session, &"not the password".into(), &OTHER.into()),
        Err(AuthError::WrongPassword)
    ));
    assert_eq!(record(&s, "alice").failed_attempts, 1);
    s.change_password(&session, &GOOD.into(), &OTHER.into()).unwrap();
    assert!(s.login("alice", &GOOD.into()).is_err());
    assert!(s.login("alice", &OTHER.into()).is_ok());
    assert_eq!(session.username().as_str(), "alice");
}

#[test]
fn change_password_applies_the_policy_and_refuses_the_same_password() {
    let (s, _) = with_alice();
    let session = s.login("alice", &GOOD.into()).unwrap();
    assert!(matches!(
        s.change_password(&session, &GOOD.into(), &"short".into()),
        Err(AuthError::Policy(PolicyError::TooShort { .. }))
    ));
    assert!(matches!(
        s.change_password(&session, &GOOD.into(), &GOOD.into()),
        Err(AuthError::SamePassword)
    ));
}

#[test]
fn delete_account_needs_the_password() {
    let (s, _) = with_alice();
    let session = s.login("alice", &GOOD.into()).unwrap();
    let session2 = s.login("alice", &GOOD.into()).unwrap();
    assert!(matches!(
        s.delete_account(&session, &OTHER.into()),
        Err(AuthError::WrongPassword)
    ));
    s.delete_account(&session2, &GOOD.into()).unwrap();
    assert!(s.list().unwrap().is_empty());
    assert!(matches!(
        s.login("alice", &GOOD.into()),
        Err(AuthError::InvalidCredentials)
    ));
}

#[test]
fn a_session_outlived_by_its_account_cannot_change_it() {
    let (s, _) = with_alice();
    let session = s.login("alice", &GOOD.into()).unwrap();
    s.remove("alice").unwrap();
    assert!(matches!(
        s.change_password(&session, &GOOD.into(), &OTHER.into()),
        Err(AuthError::AccountGone)
    ));
}

#[test]
fn admin_set_password_applies_policy_and_clears_the_lock() {
    let (s, _) = with_alice();
    for _ in 0..6 {
        fail(&s, "alice");
    }
    assert!(matches!(
        s.set_password("alice", &"short".into()),
        Err(AuthError::Policy(_))
    ));
    s.set_password("alice", &OTHER.into()).unwrap();
    assert!(s.login("alice", &OTHER.into()).is_ok());
}

#[test]
fn admin_commands_on_unknown_users_say_so() {
    let (s, _) = service();
    assert!(matches!(s.unlock("ghost"), Err(AuthError::NoSuchUser(n)) if n == "ghost"));
    assert!(matches!(s.remove("ghost"), Err(AuthError::NoSuchUser(_))));
    assert!(matches!(
        s.set_password("ghost", &OTHER.into()),
        Err(AuthError::NoSuchUser(_))
    ));
}

#[test]
fn list_shows_lock_state() {
    let (s, clock) = with_alice();
    for _ in 0..5 {
        fail(&s, "alice");
    }
    let list = s.list().unwrap();
    assert_eq!(list[0].failed_attempts, 5);
    assert_eq!(
        list[0].lock,
        LockState::Until(clock.now() + Duration::seconds(30))
    );
}

#[test]
fn import_takes_bcrypt_and_skips_the_rest() {
    let (s, _) = with_alice();
    let h = bcrypt::hash(OTHER, 4).unwrap().replace("$2b$", "$2y$");
    let entries = vec![
        ("bob".to_owned(), h.clone()),
        ("alice".to_owned(), h.clone()),
        ("carol".to_owned(), "$apr1$abc$def".to_owned()),
        ("no way".to_owned(), h.clone()),
    ];
    let out = s.import_hashes(&entries).unwrap();
    assert!(matches!(&out[0], ImportOutcome::Imported(u) if u.as_str() == "bob"));
    assert!(matches!(&out[1], ImportOutcome::Skipped { reason, .. } if reason.contains("already exists")));
    assert!(matches!(&out[2], ImportOutcome::Skipped { reason, .. } if reason.contains("not a bcrypt hash")));
    assert!(matches!(&out[3], ImportOutcome::Skipped { .. }));
    assert!(s.login("bob", &OTHER.into()).is_ok());
}

#[test]
fn format_wait_reads_naturally() {
    assert_eq!(format_wait(27), "27 s");
    assert_eq!(format_wait(60), "1 min");
    assert_eq!(format_wait(125), "2 min 5 s");
    assert_eq!(format_wait(900), "15 min");
}

#[test]
fn lock_message_counts_down_with_the_clock() {
    let now = FakeClock::at_epoch().now();
    let until = Some(now + Duration::seconds(27));
    assert_eq!(
        locked_message(until, now),
        "Too many failed attempts. Try again in 27 s"
    );
    assert_eq!(
        locked_message(until, now + Duration::milliseconds(1500)),
        "Too many failed attempts. Try again in 26 s"
    );
}

mod events {
    use super::*;
    use crate::store::{EventKind, MemoryLog};

    fn logged() -> (Service, FakeClock) {
        let clock = FakeClock::at_epoch();
        let s = Service::new(MemoryStore::new(), cost4())
            .with_clock(clock.clone())
            .with_log(MemoryLog::new());
        (s, clock)
    }

    fn kinds(s: &Service, user: &str) -> Vec<EventKind> {
        s.events(Some(user))
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect()
    }

    #[test]
    fn the_account_life_is_logged_in_order() {
        let (s, _) = logged();
        let session = s.signup("alice", &GOOD.into()).unwrap();
        s.logout(&session, LogoutReason::User);
        fail(&s, "alice");
        let session = s.login("alice", &GOOD.into()).unwrap();
        s.change_password(&session, &GOOD.into(), &OTHER.into()).unwrap();
        s.logout(&session, LogoutReason::Idle);
        let session = s.login("alice", &OTHER.into()).unwrap();
        s.delete_account(&session, &OTHER.into()).unwrap();
        use EventKind::*;
        assert_eq!(
            kinds(&s, "alice"),
            [
                Signup,
                Logout,
                LoginFailure,
                LoginSuccess,
                PasswordChanged,
                IdleTimeout,
                LoginSuccess,
                AccountDeleted
            ]
        );
    }

    #[test]
    fn a_lock_is_logged() {
        let (s, _) = logged();
        s.create_account("alice", &GOOD.into()).unwrap();
        for _ in 0..5 {
            fail(&s, "alice");
        }
        let k = kinds(&s, "alice");
        assert_eq!(k.iter().filter(|k| **k == EventKind::LoginFailure).count(), 5);
        assert!(k.contains(&EventKind::Locked));
    }

    #[test]
    fn no_password_is_ever_logged() {
        let (s, _) = logged();
        let session = s.signup("alice", &GOOD.into()).unwrap();
        s.login("alice", &"a wrong guess here".into()).unwrap_err();
        s.login("nobody", &"another guess".into()).unwrap_err();
        s.change_password(&session, &GOOD.into(), &OTHER.into()).unwrap();
        let text = format!("{:?}", s.events(None).unwrap());
        for secret in [GOOD, OTHER, "wrong guess", "another guess"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn recent_events_are_newest_first() {
        let (s, clock) = logged();
        s.signup("alice", &GOOD.into()).unwrap();
        clock.advance(Duration::seconds(5));
        s.login("alice", &GOOD.into()).unwrap();
        let recent = s.recent_events("alice", 5).unwrap();
        assert_eq!(recent[0].event, EventKind::LoginSuccess);
        assert_eq!(recent[1].event, EventKind::Signup);
    }

    struct BrokenLog;

    impl EventLog for BrokenLog {
        fn append(&self, _: &Event) -> Result<(), StoreError> {
            Err(StoreError::Io {
                action: "write",
                path: "events.jsonl".into(),
                source: std::io::Error::other("disk full"),
            })
        }
        fn recent(&self, _: &str, _: usize) -> Result<Vec<Event>, StoreError> {
            Ok(Vec::new())
        }
        fn all(&self) -> Result<Vec<Event>, StoreError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_log_failure_is_reported_and_the_change_stands() {
        let s = Service::new(MemoryStore::new(), cost4()).with_log(BrokenLog);
        s.signup("alice", &GOOD.into()).unwrap();
        let failures = s.take_log_failures();
        assert_eq!(failures.len(), 1);
        assert!(failures[0].contains("disk full"), "{failures:?}");
        assert!(s.login("alice", &GOOD.into()).is_ok(), "the account exists");
        assert!(s.take_log_failures().len() == 1 && s.take_log_failures().is_empty());
    }
}

mod timing {
    use super::*;
    use crate::store::{UserMap, Users};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that counts saves, to compare the work of two paths.
    #[derive(Default)]
    struct CountingStore {
        inner: MemoryStore,
        saves: AtomicUsize,
    }

    impl UserStore for CountingStore {
        fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
            self.inner.get(username)
        }
        fn all(&self) -> Result<UserMap, StoreError> {
            self.inner.all()
        }
        fn update(&self, change: &mut dyn FnMut(&mut Users) -> Change) -> Result<(), StoreError> {
            self.inner.update(&mut |users| {
                let result = change(users);
                if result == Change::Save {
                    self.saves.fetch_add(1, Ordering::SeqCst);
                }
                result
            })
        }
        fn location(&self) -> String {
            "counting".into()
        }
    }

    #[test]
    fn an_unknown_name_costs_the_same_save_as_a_wrong_password() {
        let store = std::sync::Arc::new(CountingStore::default());
        let s = Service::new(store.clone(), cost4());
        s.create_account("alice", &GOOD.into()).unwrap();
        let saves = || store.saves.load(Ordering::SeqCst);
        let before = saves();
        s.login("alice", &"wrong password here".into()).unwrap_err();
        let wrong = saves() - before;
        let before = saves();
        s.login("nobody", &"wrong password here".into()).unwrap_err();
        let unknown = saves() - before;
        assert_eq!((wrong, unknown), (1, 1));
    }

    #[test]
    fn an_empty_store_is_not_written_by_a_failed_login() {
        let (s, _) = service();
        s.login("nobody", &GOOD.into()).unwrap_err();
        assert!(s.list().unwrap().is_empty());
    }
}
