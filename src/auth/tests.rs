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

/// Stores `record` as the account `name`, as it is.
fn put(s: &Service, name: &str, record: UserRecord) {
    s.store
        .update_user(name, &mut |r| {
            *r = Some(record.clone());
            Change::Save
        })
        .unwrap();
}

/// Changes the stored account `name` in place.
fn edit(s: &Service, name: &str, change: impl Fn(&mut UserRecord)) {
    s.store
        .update_user(name, &mut |r| {
            change(r.as_mut().unwrap());
            Change::Save
        })
        .unwrap();
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
    let hasher = WeighingHasher::default();
    let (s, _) = with_alice();
    let s = s.with_hasher(hasher.clone());
    for _ in 0..5 {
        fail(&s, "alice");
    }
    let before = hasher.verifies();
    for password in [GOOD, "wrong password entirely"] {
        assert!(matches!(
            s.login("alice", &password.into()),
            Err(AuthError::Locked { .. })
        ));
    }
    assert_eq!(hasher.verifies() - before, 0, "bcrypt ran for a locked account");
}

#[test]
fn a_tampered_stored_cost_is_reported_even_while_locked() {
    let (s, _) = with_alice();
    for _ in 0..5 {
        fail(&s, "alice");
    }
    // A cost-20 hash would take over a minute to verify: it is refused as unusable, not run.
    edit(&s, "alice", |r| {
        r.password_hash = format!("$2b$31${}", &r.password_hash[7..])
    });
    assert!(matches!(
        s.login("alice", &GOOD.into()),
        Err(AuthError::BadStoredHash { .. })
    ));
    assert_eq!(
        record(&s, "alice").failed_attempts,
        5,
        "an unusable hash counts nothing"
    );
}

#[test]
fn concurrent_wrong_guesses_reach_bcrypt_at_most_the_threshold() {
    // Every verify takes a while, so that all the guesses are in flight at once: checking
    // the lock before bcrypt and counting after would let every one of them through.
    let hasher = WeighingHasher::slow(std::time::Duration::from_millis(20));
    let (s, clock) = with_alice();
    let s = std::sync::Arc::new(s.with_hasher(hasher.clone()));
    let hash = record(&s, "alice").password_hash;
    let guesses = 40;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(guesses));
    let results: Vec<_> = (0..guesses)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                s.login("alice", &format!("wrong guess number {i}").into())
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(hasher.verifies_of(&hash), throttle::LOCK_AFTER as usize);
    let r = record(&s, "alice");
    assert_eq!(r.failed_attempts, throttle::LOCK_AFTER);
    assert_eq!(
        throttle::state(&r, clock.now()),
        LockState::Until(clock.now() + Duration::seconds(30))
    );
    let locked = results
        .iter()
        .filter(|r| matches!(r, Err(AuthError::Locked { .. })))
        .count();
    // The fifth admitted guess locks the account, and every later one finds the lock.
    assert_eq!(locked, guesses - throttle::LOCK_AFTER as usize + 1);
}

#[test]
fn attempts_refused_by_a_lock_never_count_toward_the_permanent_lock() {
    let (s, clock) = with_alice();
    for _ in 0..5 {
        fail(&s, "alice");
    }
    for _ in 0..200 {
        fail(&s, "alice");
    }
    assert_eq!(record(&s, "alice").failed_attempts, 5);
    clock.advance(Duration::seconds(30));
    s.login("alice", &GOOD.into()).unwrap();
}

#[test]
fn a_right_password_after_four_failures_logs_in_and_clears_the_claim() {
    let (s, _) = with_alice();
    for _ in 0..4 {
        fail(&s, "alice");
    }
    let session = s.login("alice", &GOOD.into()).unwrap();
    assert_eq!(session.facts().failed_attempts_since, 4);
    let r = record(&s, "alice");
    assert_eq!((r.failed_attempts, r.locked_until), (0, None));
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
    put(&s, "alice", UserRecord::new(weak.clone(), s.now()));
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
    put(
        &s,
        "alice",
        UserRecord {
            password_hash: legacy.clone(),
            ..UserRecord::default()
        },
    );
    s.login("alice", &decomposed.into()).unwrap();
    let now_hash = record(&s, "alice").password_hash;
    assert_ne!(now_hash, legacy);
    assert_eq!(
        bcrypt::verify("caf\u{e9} au lait sans sucre", &now_hash).ok(),
        Some(true)
    );
}

/// A legacy account whose hash was made from `password`'s raw bytes (the prototype did
/// not normalise).
fn with_legacy_hash(s: &Service, name: &str, password: &str) -> String {
    let legacy = bcrypt::hash(password, 4).unwrap();
    put(
        s,
        name,
        UserRecord {
            password_hash: legacy.clone(),
            ..UserRecord::default()
        },
    );
    legacy
}

// U+0958 is a composition exclusion: NFC turns its 3 bytes into 6 (U+0915 U+093C).
const GROWS_UNDER_NFC: char = '\u{958}';

#[test]
fn a_prototype_password_that_nfc_grows_past_72_bytes_still_logs_in() {
    let (s, _) = service();
    let typed: String = std::iter::repeat_n(GROWS_UNDER_NFC, 24).collect();
    assert_eq!(typed.len(), 72);
    let legacy = with_legacy_hash(&s, "alice", &typed);
    s.login("alice", &typed.as_str().into()).unwrap();
    // Its NFC form cannot be hashed whole, so the raw form is kept (cost 4 is not below
    // the configured 4, so there is nothing to upgrade either).
    assert_eq!(record(&s, "alice").password_hash, legacy);
    assert!(matches!(
        s.login("alice", &typed[..69].into()),
        Err(AuthError::InvalidCredentials)
    ));
}

#[test]
fn a_too_long_password_is_refused_counting_the_bytes_as_typed() {
    let (s, _) = with_alice();
    let typed: String = std::iter::repeat_n(GROWS_UNDER_NFC, 25).collect();
    let err = s.login("alice", &typed.as_str().into()).unwrap_err();
    assert!(err.to_string().contains("(it has 75)"), "{err}");
    assert_eq!(record(&s, "alice").failed_attempts, 0, "refused before any claim");
}

#[test]
fn legacy_mixed_case_names_still_log_in() {
    let (s, _) = service();
    let hash = bcrypt::hash(GOOD, 4).unwrap();
    put(
        &s,
        "Bob",
        UserRecord {
            password_hash: hash.clone(),
            ..UserRecord::default()
        },
    );
    assert_eq!(s.login("Bob", &GOOD.into()).unwrap().username().as_str(), "Bob");
}

#[test]
fn a_tampered_cost_is_an_error_not_a_hang() {
    let (s, _) = with_alice();
    edit(&s, "alice", |r| {
        r.password_hash = format!("$2b$31${}", &r.password_hash[7..])
    });
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

/// A name locked while it was no account has its own account's count once it is one
/// (signed up, added or imported), and the old lock is forgotten: after the account is
/// removed, the name is not found locked.
#[test]
fn a_name_locked_before_it_became_an_account_starts_afresh() {
    let (s, _) = with_alice();
    let lock = |name: &str| {
        for _ in 0..throttle::LOCK_AFTER {
            let _ = s.login(name, &"not the password".into());
        }
        assert!(matches!(
            s.login(name, &OTHER.into()),
            Err(AuthError::Locked { .. })
        ));
    };
    let open = |name: &str| matches!(s.login(name, &OTHER.into()), Err(AuthError::InvalidCredentials));
    lock("dave");
    s.import_hashes(&[("dave".to_owned(), bcrypt::hash(OTHER, 4).unwrap())])
        .unwrap();
    assert!(s.login("dave", &OTHER.into()).is_ok());
    s.remove("dave").unwrap();
    assert!(open("dave"), "imported");
    lock("erin");
    s.create_account("erin", &OTHER.into()).unwrap();
    s.remove("erin").unwrap();
    assert!(open("erin"), "added");
    lock("fay");
    s.signup("fay", &OTHER.into()).unwrap();
    s.remove("fay").unwrap();
    assert!(open("fay"), "signed up");
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
    fn failures_are_logged_under_the_accounts_own_name() {
        let (s, _) = logged();
        s.create_account("alice", &GOOD.into()).unwrap();
        fail(&s, "ALICE");
        fail(&s, " Alice ");
        let failures: Vec<_> = s
            .events(None)
            .unwrap()
            .into_iter()
            .filter(|e| e.event == EventKind::LoginFailure)
            .map(|e| e.username)
            .collect();
        assert_eq!(failures, ["alice", "alice"]);
        assert_eq!(s.recent_events("alice", 5).unwrap().len(), 3);
    }

    #[test]
    fn a_typed_name_that_is_no_account_is_not_logged_as_typed() {
        let (s, _) = logged();
        s.create_account("alice", &GOOD.into()).unwrap();
        // A password typed into the Username field, for instance.
        s.login("Tr0ub4dor&3-horse", &GOOD.into()).unwrap_err();
        let events = s.events(None).unwrap();
        let failure = events.last().unwrap();
        assert_eq!(failure.event, EventKind::LoginFailure);
        assert_eq!(failure.username, UNKNOWN_NAME);
        assert!(!format!("{events:?}").contains("Tr0ub4dor"), "{events:?}");
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

    /// A server's pool threads share one service: each request's report is its own.
    #[test]
    fn a_log_failure_is_reported_to_the_thread_whose_call_failed() {
        let s = Service::new(MemoryStore::new(), cost4()).with_log(BrokenLog);
        s.signup("alice", &GOOD.into()).unwrap();
        std::thread::scope(|scope| {
            let other = scope.spawn(|| s.take_log_failures());
            assert_eq!(
                other.join().unwrap(),
                Vec::<String>::new(),
                "not another thread's"
            );
        });
        assert_eq!(s.take_log_failures().len(), 1);
    }
}

/// A hasher that runs bcrypt and remembers what it was asked: each verify's stored hash,
/// so that tests can count the verifies that reached an account's hash and weigh the work
/// (2^cost) of every path. Optionally slow, to hold many attempts in flight at once.
#[derive(Clone, Default)]
pub(crate) struct WeighingHasher {
    seen: std::sync::Arc<Mutex<Vec<String>>>,
    delay: std::time::Duration,
    /// Runs during every verify (to change the store while a password is checked).
    hook: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
}

impl WeighingHasher {
    pub(crate) fn slow(delay: std::time::Duration) -> Self {
        WeighingHasher {
            delay,
            ..Self::default()
        }
    }

    pub(crate) fn on_verify(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.hook = Some(std::sync::Arc::new(hook));
        self
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn verifies(&self) -> usize {
        self.seen().len()
    }

    pub(crate) fn verifies_of(&self, stored: &str) -> usize {
        self.seen().iter().filter(|h| *h == stored).count()
    }

    /// The bcrypt work of every verify so far, in units of one round at cost 0.
    pub(crate) fn work(&self) -> u64 {
        self.seen()
            .iter()
            .map(|h| 1u64 << hashing::stored_cost(h).unwrap())
            .sum()
    }
}

impl Hasher for WeighingHasher {
    fn hash(&self, password: &str, cost: u32) -> Result<String, HashError> {
        Bcrypt.hash(password, cost)
    }

    fn verify(&self, password: &str, stored: &str) -> Result<bool, HashError> {
        self.seen.lock().unwrap().push(stored.to_owned());
        std::thread::sleep(self.delay);
        if let Some(hook) = &self.hook {
            hook();
        }
        Bcrypt.verify(password, stored)
    }
}

mod timing {
    use super::*;
    use crate::store::UserMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that counts its reads and saves, to compare the work of two paths.
    #[derive(Default)]
    struct CountingStore {
        inner: MemoryStore,
        reads: AtomicUsize,
        saves: AtomicUsize,
    }

    impl UserStore for CountingStore {
        fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.get(username)
        }
        fn all(&self) -> Result<UserMap, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.all()
        }
        fn find(&self, names: &[&str]) -> Result<Option<(String, UserRecord)>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.find(names)
        }
        fn update_user(
            &self,
            username: &str,
            change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
        ) -> Result<(), StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.update_user(username, &mut |record| {
                let result = change(record);
                if result == Change::Save {
                    self.saves.fetch_add(1, Ordering::SeqCst);
                }
                result
            })
        }
        /// As the file does it: a read, and a save of the accounts unchanged unless there
        /// are none.
        fn rewrite(&self) -> Result<(), StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if !self.inner.all()?.is_empty() {
                self.saves.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }
        fn location(&self) -> String {
            "counting".into()
        }
    }

    impl CountingStore {
        fn counts(&self) -> (usize, usize) {
            (
                self.reads.load(Ordering::SeqCst),
                self.saves.load(Ordering::SeqCst),
            )
        }
    }

    /// The store reads and saves, and the bcrypt work, of one failed login.
    fn cost_of(
        s: &Service,
        store: &CountingStore,
        hasher: &WeighingHasher,
        name: &str,
        password: &str,
    ) -> (usize, usize, u64) {
        let ((r0, s0), w0) = (store.counts(), hasher.work());
        s.login(name, &password.into()).unwrap_err();
        let ((r1, s1), w1) = (store.counts(), hasher.work());
        (r1 - r0, s1 - s0, w1 - w0)
    }

    fn counted(cost: u32) -> (Service, std::sync::Arc<CountingStore>, WeighingHasher) {
        let store = std::sync::Arc::new(CountingStore::default());
        let hasher = WeighingHasher::default();
        let s = Service::new(store.clone(), Cost::new(cost).unwrap()).with_hasher(hasher.clone());
        (s, store, hasher)
    }

    #[test]
    fn an_unknown_name_costs_the_same_reads_saves_and_bcrypt_work_as_a_wrong_password() {
        let (s, store, hasher) = counted(4);
        s.create_account("alice", &GOOD.into()).unwrap();
        let wrong = cost_of(&s, &store, &hasher, "alice", "wrong password here");
        let unknown = cost_of(&s, &store, &hasher, "nobody", "wrong password here");
        assert_eq!(wrong, unknown);
        assert_eq!(wrong.1, 1, "one save each");
    }

    #[test]
    fn a_name_typed_with_capitals_costs_an_unknown_name_no_extra_read() {
        let (s, store, hasher) = counted(4);
        s.create_account("alice", &GOOD.into()).unwrap();
        let known = cost_of(&s, &store, &hasher, "Alice", "wrong password here");
        let unknown = cost_of(&s, &store, &hasher, "Nobody", "wrong password here");
        let lower = cost_of(&s, &store, &hasher, "nobody", "wrong password here");
        assert_eq!(known, unknown);
        assert_eq!(unknown, lower);
    }

    #[test]
    fn a_wrong_password_costs_the_configured_work_whatever_the_stored_cost() {
        // Accounts imported at costs below and at the configured one (as `htpasswd -B`
        // makes them at cost 5 while authtui runs at 12).
        let configured = 7;
        let (s, store, hasher) = counted(configured);
        let entries: Vec<(String, String)> = (4..=configured)
            .map(|c| {
                let hash = hashing::hash(&GOOD.into(), Cost::new(c).unwrap()).unwrap();
                (format!("user{c}"), hash)
            })
            .collect();
        s.import_hashes(&entries).unwrap();
        let unknown = cost_of(&s, &store, &hasher, "nobody", "wrong password here");
        assert_eq!(unknown.2, 1 << configured);
        for (name, _) in &entries {
            let wrong = cost_of(&s, &store, &hasher, name, "wrong password here");
            assert_eq!(wrong, unknown, "{name}");
        }
        // And a password whose NFC form differs tries two forms, known name or not.
        let decomposed = "wrong pa\u{301}ssword here";
        let unknown = cost_of(&s, &store, &hasher, "nobody", decomposed);
        assert_eq!(unknown.2, 2 << configured);
        for (name, _) in &entries {
            assert_eq!(cost_of(&s, &store, &hasher, name, decomposed), unknown, "{name}");
        }
    }

    #[test]
    fn an_empty_store_is_not_written_by_a_failed_login() {
        let (s, store, _) = counted(4);
        s.login("nobody", &GOOD.into()).unwrap_err();
        assert_eq!(store.counts().1, 0);
    }
}

#[test]
fn data_errors_are_told_apart_from_refusals() {
    let store = AuthError::Store(StoreError::Symlink {
        path: "users.json".into(),
    });
    let bad_hash = AuthError::BadStoredHash {
        username: "alice".into(),
        source: HashError::Malformed,
    };
    for data in [store, bad_hash, AuthError::Hash(HashError::Malformed)] {
        assert!(data.is_data_error(), "{data}");
    }
    let now = FakeClock::at_epoch().now();
    for refusal in [
        AuthError::InvalidCredentials,
        AuthError::Locked { until: None, now },
        AuthError::WrongPassword,
        AuthError::UsernameTaken("alice".into()),
        AuthError::NoSuchUser("bob".into()),
    ] {
        assert!(!refusal.is_data_error(), "{refusal}");
    }
}

#[test]
fn a_password_longer_than_72_bytes_as_typed_but_not_in_nfc_logs_in() {
    // 25 × (e + combining acute): 75 bytes typed, 50 in NFC, which is what was hashed.
    let (s, _) = service();
    let typed = "e\u{301}".repeat(25);
    assert_eq!(typed.len(), 75);
    put(
        &s,
        "alice",
        UserRecord::new(bcrypt::hash("\u{e9}".repeat(25), 4).unwrap(), s.now()),
    );
    s.login("alice", &typed.as_str().into()).unwrap();
}

#[test]
fn a_hash_at_the_configured_cost_is_not_rehashed() {
    let (s, _) = with_alice();
    let hash = record(&s, "alice").password_hash;
    s.login("alice", &GOOD.into()).unwrap();
    assert_eq!(record(&s, "alice").password_hash, hash);
}

#[test]
fn a_prototype_hash_that_nfc_cannot_take_is_still_upgraded_in_cost() {
    let (s, _) = service();
    let typed: String = std::iter::repeat_n(GROWS_UNDER_NFC, 24).collect();
    with_legacy_hash(&s, "alice", &typed);
    let s5 = Service {
        cost: Cost::new(5).unwrap(),
        ..s
    };
    s5.login("alice", &typed.as_str().into()).unwrap();
    let upgraded = record(&s5, "alice").password_hash;
    assert!(upgraded.starts_with("$2b$05$"), "{upgraded}");
    assert_eq!(
        bcrypt::verify(&typed, &upgraded).ok(),
        Some(true),
        "still the raw form"
    );
}

#[test]
fn a_change_is_refused_if_the_hash_changed_while_the_password_was_checked() {
    // An administrator sets a new password while the current one is being checked: the
    // check was against a hash that is no longer the account's.
    let store = std::sync::Arc::new(MemoryStore::new());
    let hook_store = store.clone();
    let hasher = WeighingHasher::default().on_verify(move || {
        let _ = hook_store.update_user("alice", &mut |r| {
            if let Some(r) = r {
                r.password_hash = bcrypt::hash(OTHER, 4).unwrap();
            }
            Change::Save
        });
    });
    let setup = Service::new(store.clone(), cost4());
    let session = setup.signup("alice", &GOOD.into()).unwrap();
    let s = Service::new(store.clone(), cost4()).with_hasher(hasher);
    let third = "a third password, long enough";
    assert!(matches!(
        s.change_password(&session, &GOOD.into(), &third.into()),
        Err(AuthError::WrongPassword)
    ));
    assert!(
        setup.login("alice", &OTHER.into()).is_ok(),
        "the administrator's password stands"
    );
}

#[test]
fn the_service_says_its_cost_location_and_which_names_exist() {
    let (s, _) = with_alice();
    assert_eq!(s.cost(), cost4());
    assert_eq!(s.location(), "memory");
    assert!(s.account_exists("Alice").unwrap());
    assert!(!s.account_exists("bob").unwrap());
}

#[test]
fn a_fake_clock_can_be_set() {
    let clock = FakeClock::at_epoch();
    let later = clock.now() + Duration::days(3);
    clock.set(later);
    assert_eq!(clock.now(), later);
}

#[test]
fn costs_print_parse_and_know_when_they_are_for_tests() {
    assert_eq!(Cost::new(12).unwrap().to_string(), "12");
    assert_eq!(" 11 ".parse::<Cost>(), Ok(Cost::new(11).unwrap()));
    assert!("x".parse::<Cost>().is_err());
    assert!("21".parse::<Cost>().is_err());
    assert!(Cost::new(9).unwrap().is_for_tests_only());
    assert!(!Cost::new(10).unwrap().is_for_tests_only());
}

#[test]
fn a_password_buffer_is_written_in_place_and_knows_when_it_is_empty() {
    let mut p = Password::new(String::with_capacity(32));
    assert!(p.is_empty());
    p.buffer_mut().push_str("typed");
    assert!(!p.is_empty());
    assert_eq!(p.expose(), "typed");
}

#[test]
fn every_score_has_its_label() {
    let labels: Vec<&str> = (0..=4).map(policy::score_label).collect();
    assert_eq!(labels, ["very weak", "weak", "fair", "good", "strong"]);
}

#[test]
fn a_username_reads_as_its_text() {
    let name = Username::parse("alice").unwrap();
    let text: &str = name.as_ref();
    assert_eq!(text, "alice");
    assert_eq!(name.to_string(), "alice");
}

#[test]
fn a_password_of_exactly_the_minimum_score_is_accepted() {
    // zxcvbn scores this one 3, the minimum: on the line, and allowed.
    let at_min = "summer2024summer";
    assert_eq!(policy::strength(&at_min.into(), "alice").score, policy::MIN_SCORE);
    let name = Username::parse("alice").unwrap();
    assert!(policy::check(&at_min.into(), &name).is_ok());
}
