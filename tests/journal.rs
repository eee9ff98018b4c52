//! `users.json.journal` through the library's store: what a login records is appended there
//! and replayed on read; a crash's torn tail (cut at any byte) reads back cleanly and loses
//! no line written before it; a journal left from before a fold is ignored; account
//! changes and a full journal fold it into users.json; the file rules hold for it.

use authtui::store::Bucket;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use authtui::store::{Change, JsonFile, LockSchedule, StoreError, UserMap, UserRecord, UserStore};
use chrono::{DateTime, TimeZone, Utc};

const SCHEDULE: LockSchedule = LockSchedule {
    lock_after: 5,
    permanent_after: 100,
    first_lock_secs: 30,
    max_lock_secs: 900,
};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

fn record(hash: &str) -> UserRecord {
    UserRecord::new(hash.to_owned(), at(0))
}

fn journal_of(path: &Path) -> PathBuf {
    path.with_file_name("users.json.journal")
}

/// A users.json with alice, bob and carol, and no journal.
fn seeded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    let store = JsonFile::new(&path);
    let accounts: Vec<(String, UserRecord)> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| (n.to_string(), record(&format!("hash-of-{n}"))))
        .collect();
    assert_eq!(store.insert_new(&accounts).unwrap(), [true, true, true]);
    assert!(!journal_of(&path).exists());
    (dir, path)
}

/// A login's success, as `Service::login` records it.
fn log_in(store: &JsonFile, name: &str, now: DateTime<Utc>) {
    store
        .update_user(name, &mut |record| {
            let r = record.as_mut().unwrap();
            r.previous_login_at = r.last_login_at;
            r.last_login_at = Some(now);
            r.login_count += 1;
            r.failed_attempts = 0;
            r.locked_until = None;
            Change::Save
        })
        .unwrap();
}

/// What a fresh store (no cache) reads.
fn read_fresh(path: &Path) -> UserMap {
    JsonFile::new(path).all().unwrap()
}

fn ino(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

/// Journal-able changes, each acknowledged: returns, for each, the journal's length after
/// it and the accounts then (the first entry: no journal, the accounts as seeded).
fn journaled_history(path: &Path) -> Vec<(u64, UserMap)> {
    let store = JsonFile::new(path);
    let mut history = vec![(0, store.all().unwrap())];
    let mut step = |f: &dyn Fn(&JsonFile)| {
        f(&store);
        history.push((fs::metadata(journal_of(path)).unwrap().len(), read_fresh(path)));
    };
    step(&|s| {
        s.claim_attempt("alice", at(10), &SCHEDULE, Bucket::Anyone)
            .unwrap();
    });
    step(&|s| log_in(s, "alice", at(11)));
    step(&|s| {
        s.claim_attempt("bob", at(12), &SCHEDULE, Bucket::Anyone).unwrap();
    });
    step(&|s| s.rewrite().unwrap());
    step(&|s| {
        s.claim_attempt("alice", at(13), &SCHEDULE, Bucket::Anyone)
            .unwrap();
    });
    step(&|s| log_in(s, "alice", at(14)));
    history
}

#[test]
fn logins_append_to_the_journal_and_leave_users_json_untouched() {
    let (_dir, path) = seeded();
    let before = fs::read(&path).unwrap();
    let inode = ino(&path);
    let history = journaled_history(&path);
    assert_eq!(fs::read(&path).unwrap(), before, "a login rewrote users.json");
    assert_eq!(ino(&path), inode);
    let last = &history.last().unwrap().1;
    assert_eq!(last["alice"].login_count, 2);
    assert_eq!(last["alice"].last_login_at, Some(at(14)));
    assert_eq!(last["alice"].previous_login_at, Some(at(11)));
    assert_eq!(last["alice"].failed_attempts, 0);
    assert_eq!(last["bob"].failed_attempts, 1);
    assert_eq!(last["carol"], history[0].1["carol"]);
    // Each line is its own: header, then one per change (the rewrite's changes nothing).
    let journal = fs::read_to_string(journal_of(&path)).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    assert_eq!(lines.len(), 7, "{journal}");
    assert!(lines[0].contains(r#""journal":1"#), "{journal}");
    assert_eq!(lines[4], "a3a6bf43 {}");
    assert!(journal.ends_with('\n'));
}

#[test]
fn a_journal_cut_at_every_byte_reads_back_every_line_before_the_cut() {
    let (_dir, path) = seeded();
    let users_json = fs::read(&path).unwrap();
    let history = journaled_history(&path);
    let journal = fs::read(journal_of(&path)).unwrap();
    assert_eq!(journal.len() as u64, history.last().unwrap().0);
    // The state a cut at `cut` must read: every line complete before it.
    let expected = |cut: usize| {
        history
            .iter()
            .rev()
            .find(|(len, _)| *len as usize <= cut)
            .map(|(len, state)| (*len as usize, state))
            .unwrap()
    };
    for cut in 0..=journal.len() {
        fs::write(journal_of(&path), &journal[..cut]).unwrap();
        let (good, state) = expected(cut);
        assert_eq!(&read_fresh(&path), state, "cut at {cut}");

        // The next append cuts the torn tail and goes after the last good line (or, with
        // no good line, starts the journal anew), and reads back with it.
        let store = JsonFile::new(&path);
        store
            .update_user("carol", &mut |r| {
                r.as_mut().unwrap().login_count = 42;
                Change::Save
            })
            .unwrap();
        let mut want = state.clone();
        want.get_mut("carol").unwrap().login_count = 42;
        assert_eq!(read_fresh(&path), want, "cut at {cut}, then an append");
        let after = fs::read(journal_of(&path)).unwrap();
        if good > 0 {
            assert_eq!(
                &after[..good],
                &journal[..good],
                "cut at {cut}: good lines changed"
            );
        }
        assert_eq!(after.iter().filter(|&&b| b == b'\n').count(), {
            let lines = journal[..good].iter().filter(|&&b| b == b'\n').count();
            if good == 0 { 2 } else { lines + 1 }
        });
        assert_eq!(
            fs::read(&path).unwrap(),
            users_json,
            "cut at {cut}: users.json changed"
        );
    }
}

#[test]
fn a_damaged_line_ends_the_journal_there() {
    let (_dir, path) = seeded();
    let history = journaled_history(&path);
    let journal = fs::read(journal_of(&path)).unwrap();
    let ends: Vec<usize> = history.iter().map(|(len, _)| *len as usize).collect();
    // A byte changed inside the change line k (k >= 2: line 1 goes with the header):
    // lines before it count, it and those after do not.
    for k in 2..ends.len() {
        let mut bad = journal.clone();
        let middle = (ends[k - 1] + ends[k]) / 2;
        bad[middle] ^= 0x20;
        fs::write(journal_of(&path), &bad).unwrap();
        assert_eq!(read_fresh(&path), history[k - 1].1, "line {k} damaged");
    }
    // A damaged header: nothing counts.
    let mut bad = journal.clone();
    bad[3] ^= 0x01;
    fs::write(journal_of(&path), &bad).unwrap();
    assert_eq!(read_fresh(&path), history[0].1);
}

#[test]
fn a_journal_left_from_before_a_fold_is_ignored_and_replaced() {
    // What a crash between a fold's rename and its removal of the journal leaves: a new
    // users.json that already holds the journal's effect, and the journal, which names the
    // old file. Replaying it again over what came after would undo later changes.
    let (_dir, path) = seeded();
    let store = JsonFile::new(&path);
    log_in(&store, "alice", at(20));
    store
        .claim_attempt("bob", at(21), &SCHEDULE, Bucket::Anyone)
        .unwrap();
    let stale = fs::read(journal_of(&path)).unwrap();

    // A fold (an account added) writes the journal in, and removes it.
    let added = store
        .insert_new(&[("dave".to_owned(), record("hash-of-dave"))])
        .unwrap();
    assert_eq!(added, [true]);
    assert!(!journal_of(&path).exists());
    let folded = read_fresh(&path);
    assert_eq!(folded["alice"].login_count, 1);
    assert_eq!(folded["bob"].failed_attempts, 1);

    // An administrator's change after it (a full rewrite): alice's count cleared.
    store
        .update(&mut |users| {
            users.get_mut("alice").unwrap().login_count = 0;
            Change::Save
        })
        .unwrap();
    // The old journal comes back, as a crash would have left it.
    fs::write(journal_of(&path), &stale).unwrap();
    let now = read_fresh(&path);
    assert_eq!(now["alice"].login_count, 0, "the stale journal was replayed");
    assert_eq!(now["bob"].failed_attempts, 1);
    assert!(now.contains_key("dave"));
    // The store that cached the file sees the same.
    assert_eq!(store.get("alice").unwrap().unwrap().login_count, 0);

    // The next append starts the journal anew: it names the file as it is now.
    store
        .claim_attempt("bob", at(22), &SCHEDULE, Bucket::Anyone)
        .unwrap();
    let fresh = fs::read_to_string(journal_of(&path)).unwrap();
    let stale = String::from_utf8(stale).unwrap();
    assert_ne!(fresh.lines().next(), stale.lines().next());
    assert_eq!(fresh.lines().count(), 2, "{fresh}");
    let now = read_fresh(&path);
    assert_eq!(now["alice"].login_count, 0);
    assert_eq!(now["bob"].failed_attempts, 2);
}

#[test]
fn account_changes_rewrite_users_json_and_fold_the_journal_in() {
    let (_dir, path) = seeded();
    let store = JsonFile::new(&path);
    log_in(&store, "alice", at(30));
    let journaled = read_fresh(&path);
    type Case = (&'static str, fn(&JsonFile));
    let cases: [Case; 3] = [
        ("password change", |s| {
            s.update_user("bob", &mut |r| {
                r.as_mut().unwrap().password_hash = "new-hash".into();
                Change::Save
            })
            .unwrap()
        }),
        ("new account", |s| {
            s.insert_new(&[("erin".into(), record("hash-of-erin"))]).unwrap();
        }),
        ("deletion", |s| {
            s.update_user("carol", &mut |r| {
                *r = None;
                Change::Save
            })
            .unwrap()
        }),
    ];
    for (what, change) in cases {
        log_in(&store, "alice", at(31));
        assert!(journal_of(&path).exists());
        let inode = ino(&path);
        let count = read_fresh(&path)["alice"].login_count;
        change(&store);
        assert_ne!(ino(&path), inode, "{what}: users.json not rewritten");
        assert!(!journal_of(&path).exists(), "{what}: the journal is left");
        // In users.json itself, for any reader of the file.
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["users"]["alice"]["login_count"], count, "{what}");
    }
    let now = read_fresh(&path);
    assert_eq!(now["alice"].login_count, journaled["alice"].login_count + 3);
    assert_eq!(now["bob"].password_hash, "new-hash");
    assert!(now.contains_key("erin") && !now.contains_key("carol"));
}

#[test]
fn past_its_bound_the_journal_is_folded() {
    let (_dir, path) = seeded();
    let limit = 1500;
    let store = JsonFile::new(&path).with_journal_limit(limit);
    let mut folds = 0;
    let mut inode = ino(&path);
    for i in 0..60 {
        log_in(&store, "alice", at(100 + i));
        let len = fs::metadata(journal_of(&path)).map_or(0, |m| m.len());
        assert!(len <= limit, "journal of {len} bytes");
        if ino(&path) != inode {
            folds += 1;
            inode = ino(&path);
        }
    }
    assert!(folds >= 3, "{folds} folds");
    assert_eq!(read_fresh(&path)["alice"].login_count, 60);
}

#[test]
fn rewrite_appends_a_line_that_changes_nothing_and_leaves_an_empty_store_unwritten() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none").join("users.json");
    JsonFile::new(&missing).rewrite().unwrap();
    assert!(!missing.parent().unwrap().exists());

    let empty = dir.path().join("users.json");
    fs::write(&empty, "{\"version\":1,\"users\":{}}\n").unwrap();
    JsonFile::new(&empty).rewrite().unwrap();
    assert!(!journal_of(&empty).exists());
    assert_eq!(
        fs::read_to_string(&empty).unwrap(),
        "{\"version\":1,\"users\":{}}\n"
    );

    let (_dir, path) = seeded();
    let before = fs::read(&path).unwrap();
    let accounts = read_fresh(&path);
    let store = JsonFile::new(&path);
    store.rewrite().unwrap();
    store.rewrite().unwrap();
    let journal = fs::read_to_string(journal_of(&path)).unwrap();
    assert_eq!(journal.lines().skip(1).collect::<Vec<_>>(), ["a3a6bf43 {}"; 2]);
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(read_fresh(&path), accounts);
}

#[test]
fn a_cached_store_sees_what_another_writer_appends_and_folds() {
    let (_dir, path) = seeded();
    let mine = JsonFile::new(&path);
    let theirs = JsonFile::new(&path);
    // Past the 50 ms in which a file's stamp is not trusted: from here `mine` reuses its
    // parse of users.json on the stamp alone.
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(mine.get("alice").unwrap().unwrap().login_count, 0);
    assert_eq!(mine.get("alice").unwrap().unwrap().login_count, 0);
    for round in 1..=3u64 {
        log_in(&theirs, "alice", at(200 + round as i64));
        assert_eq!(
            mine.get("alice").unwrap().unwrap().login_count,
            round,
            "append {round}"
        );
    }
    theirs
        .insert_new(&[("frank".into(), record("hash-of-frank"))])
        .unwrap();
    assert!(mine.get("frank").unwrap().is_some(), "the fold was not seen");
    log_in(&theirs, "alice", at(300));
    assert_eq!(mine.get("alice").unwrap().unwrap().login_count, 4);
    // And `mine`'s own change, under the lock, starts from all of that.
    log_in(&mine, "alice", at(301));
    assert_eq!(theirs.get("alice").unwrap().unwrap().login_count, 5);
}

#[test]
fn the_journal_is_0600_and_never_a_link_or_a_fifo() {
    let (dir, path) = seeded();
    let store = JsonFile::new(&path);
    store
        .claim_attempt("alice", at(1), &SCHEDULE, Bucket::Anyone)
        .unwrap();
    let mode = fs::metadata(journal_of(&path)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    fs::remove_file(journal_of(&path)).unwrap();

    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, journal_of(&path)).unwrap();
    for result in [
        JsonFile::new(&path).get("alice").map(|_| ()),
        JsonFile::new(&path)
            .claim_attempt("alice", at(2), &SCHEDULE, Bucket::Anyone)
            .map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::Symlink { .. }), "{err}");
        assert!(err.to_string().contains("users.json.journal"), "{err}");
    }
    assert!(!target.exists());
    fs::remove_file(journal_of(&path)).unwrap();

    let made = std::process::Command::new("mkfifo")
        .arg(journal_of(&path))
        .status()
        .unwrap();
    assert!(made.success());
    let err = JsonFile::new(&path).get("alice").unwrap_err();
    assert!(matches!(err, StoreError::NotRegular { .. }), "{err}");
    assert!(err.to_string().contains("users.json.journal"), "{err}");
}

#[test]
fn a_journal_this_build_cannot_read_is_refused_and_left_as_it_is() {
    let (_dir, path) = seeded();
    let store = JsonFile::new(&path);
    store
        .claim_attempt("alice", at(1), &SCHEDULE, Bucket::Anyone)
        .unwrap();
    let journal = fs::read_to_string(journal_of(&path)).unwrap();
    let header = journal.lines().next().unwrap();
    // A newer version's header, checksummed as it would write it.
    let newer = header[9..].replace(r#""journal":1"#, r#""journal":2"#);
    let sum = crc32(newer.as_bytes());
    let bytes = format!("{sum:08x} {newer}\n");
    fs::write(journal_of(&path), &bytes).unwrap();
    let err = JsonFile::new(&path).get("alice").unwrap_err();
    assert!(
        matches!(err, StoreError::UnsupportedVersion { found: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("users.json.journal"), "{err}");
    let err = JsonFile::new(&path)
        .claim_attempt("alice", at(2), &SCHEDULE, Bucket::Anyone)
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedVersion { .. }), "{err}");
    assert_eq!(fs::read_to_string(journal_of(&path)).unwrap(), bytes);
}

/// CRC-32 (IEEE), bit by bit: the journal's line checksum, written independently.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn concurrent_claims_through_the_journal_admit_exactly_the_threshold() {
    // docs/security.md rule 24 with the claims as journal lines: 24 threads, each with its
    // own store (its own cache), claim at once; 5 get past, the rest find the lock, and
    // the count read back is 5.
    let (_dir, path) = seeded();
    let now = at(500);
    let threads: Vec<_> = (0..24)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = JsonFile::new(&path);
                store.get("alice").unwrap();
                store
                    .claim_attempt("alice", now, &SCHEDULE, Bucket::Anyone)
                    .unwrap()
            })
        })
        .collect();
    let claims: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let admitted = claims
        .iter()
        .filter(|c| matches!(c, authtui::store::Claim::Admitted { .. }))
        .count();
    assert_eq!(admitted, 5, "{claims:?}");
    assert_eq!(read_fresh(&path)["alice"].failed_attempts, 5);
    assert!(read_fresh(&path)["alice"].locked_until.is_some());
}

/// xxHash64 (seed 0), written independently of the store's: what a journal header names
/// `users.json` by.
fn xxh64(bytes: &[u8]) -> u64 {
    const P1: u64 = 11_400_714_785_074_694_791;
    const P2: u64 = 14_029_467_366_897_019_727;
    const P3: u64 = 1_609_587_929_392_839_161;
    const P4: u64 = 9_650_029_242_287_828_579;
    const P5: u64 = 2_870_177_450_012_600_261;
    let round = |acc: u64, lane: u64| {
        acc.wrapping_add(lane.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    };
    let u64_at = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap());
    let mut rest = bytes;
    let mut h = if bytes.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, u64_at(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = (h ^ round(0, lane)).wrapping_mul(P1).wrapping_add(P4);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(bytes.len() as u64);
    while rest.len() >= 8 {
        h = (h ^ round(0, u64_at(rest)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        let word = u32::from_le_bytes(rest[..4].try_into().unwrap()) as u64;
        h = (h ^ word.wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h = (h ^ (b as u64).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// The journal's header line, naming `users.json` as it is now (checksummed as the store
/// writes it), and the lines after it as they were.
fn journal_naming_the_file_as_it_is(path: &Path) {
    let journal = fs::read_to_string(journal_of(path)).unwrap();
    let (header, lines) = journal.split_once('\n').unwrap();
    let mut fields: serde_json::Value = serde_json::from_str(&header[9..]).unwrap();
    let bytes = fs::read(path).unwrap();
    fields["base_len"] = bytes.len().into();
    fields["base_xxh64"] = format!("{:016x}", xxh64(&bytes)).into();
    let json = fields.to_string();
    fs::write(
        journal_of(path),
        format!("{:08x} {json}\n{lines}", crc32(json.as_bytes())),
    )
    .unwrap();
}

/// The same length, and a record no longer valid (a number where a hash must be).
fn spoil_bob(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let spoiled = text.replace(r#""hash-of-bob""#, "1234567890123");
    assert_eq!((spoiled.len(), spoiled != text), (text.len(), true));
    fs::write(path, spoiled).unwrap();
}

#[test]
fn the_hash_helper_agrees_with_the_journal() {
    let (_dir, path) = seeded();
    log_in(&JsonFile::new(&path), "alice", at(1));
    let journal = fs::read_to_string(journal_of(&path)).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert!(
        journal.contains(&format!(r#""base_xxh64":"{:016x}""#, xxh64(&bytes))),
        "{journal}"
    );
    // The reference implementation's values for short inputs (the file above is longer
    // than a 32-byte stripe; these take the other branches).
    assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
    assert_eq!(xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
    assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
}

#[test]
fn a_file_the_journal_names_is_searched_for_one_account_not_parsed_whole() {
    // docs/security.md rule 38: bytes an earlier read checked whole (the journal names
    // them) are searched for the account asked; a record that is not asked for is not
    // parsed. Shown with a journal that names a file it was not started for: alice is
    // read, the spoilt record of bob is found when asked for or when all are needed.
    let (_dir, path) = seeded();
    log_in(&JsonFile::new(&path), "alice", at(1));
    spoil_bob(&path);
    journal_naming_the_file_as_it_is(&path);
    let store = JsonFile::new(&path);
    let alice = store.get("alice").unwrap().unwrap();
    assert_eq!(
        (alice.password_hash.as_str(), alice.login_count),
        ("hash-of-alice", 1)
    );
    assert_eq!(store.get("dave").unwrap(), None);
    assert_eq!(store.find(&["Carol", "carol"]).unwrap().unwrap().0, "carol");
    for err in [
        JsonFile::new(&path).get("bob").unwrap_err(),
        JsonFile::new(&path).all().unwrap_err(),
        store.get("bob").unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("users.json"), "{err}");
    }
    // A change that needs every account parses them all, and refuses the file unchanged.
    let before = fs::read(&path).unwrap();
    let err = store.insert_new(&[("dave".into(), record("h"))]).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_file_changed_after_its_journal_began_is_checked_whole_again() {
    // The same spoilt record, but the journal still names the file as it was: the bytes
    // are no longer the ones checked, so they are parsed whole and refused, whichever
    // account is asked for.
    let (_dir, path) = seeded();
    log_in(&JsonFile::new(&path), "alice", at(1));
    spoil_bob(&path);
    for name in ["alice", "carol", "dave"] {
        let err = JsonFile::new(&path).get(name).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{name}: {err}");
    }
    let err = JsonFile::new(&path)
        .claim_attempt("alice", at(2), &SCHEDULE, Bucket::Anyone)
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_searched_file_answers_every_operation_as_a_parsed_one() {
    // Accounts whose names a search must not confuse: one called "users" (the top-level
    // key's bytes), prefixes of each other, one from the legacy rules with a capital.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    let names = ["users", "al", "alice", "alicia", "Dave", "version"];
    let accounts: Vec<(String, UserRecord)> = names
        .iter()
        .map(|n| (n.to_string(), record(&format!("hash-of-{n}"))))
        .collect();
    JsonFile::new(&path).insert_new(&accounts).unwrap();
    log_in(&JsonFile::new(&path), "alice", at(1));
    let parsed = read_fresh(&path);
    assert_eq!(parsed.len(), names.len());
    for name in names
        .iter()
        .copied()
        .chain(["Alice", "user", "dave", "ali", "zed"])
    {
        let fresh = JsonFile::new(&path);
        assert_eq!(fresh.get(name).unwrap(), parsed.get(name).cloned(), "{name}");
        let found = JsonFile::new(&path).find(&[name]).unwrap();
        assert_eq!(
            found.map(|(n, _)| n),
            parsed.get(name).map(|_| name.to_owned()),
            "{name}"
        );
    }
    // More names than one read answers by search: the rest from the parsed index.
    let store = JsonFile::new(&path);
    for i in 0..40 {
        assert_eq!(store.get(&format!("nobody{i}")).unwrap(), None);
    }
    assert_eq!(store.get("alicia").unwrap(), parsed.get("alicia").cloned());
    // Claims and logins on a searched file are journal lines; an account change folds.
    let store = JsonFile::new(&path);
    store
        .claim_attempt("users", at(2), &SCHEDULE, Bucket::Anyone)
        .unwrap();
    log_in(&store, "alicia", at(3));
    assert_eq!(
        JsonFile::new(&path)
            .get("users")
            .unwrap()
            .unwrap()
            .failed_attempts,
        1
    );
    assert_eq!(
        JsonFile::new(&path).get("alicia").unwrap().unwrap().login_count,
        1
    );
    let store = JsonFile::new(&path);
    assert_eq!(store.get("al").unwrap().unwrap().password_hash, "hash-of-al");
    store.rewrite().unwrap();
    assert_eq!(store.insert_new(&[("zed".into(), record("h"))]).unwrap(), [true]);
    assert!(!journal_of(&path).exists(), "folded");
    let after = read_fresh(&path);
    assert_eq!(after.len(), names.len() + 1);
    assert_eq!(after["users"].failed_attempts, 1);
    assert_eq!(after["alicia"].login_count, 1);
    assert_eq!(after["alice"].login_count, 1);
}

#[test]
fn a_cached_store_sees_a_journal_begun_anew_in_the_same_file() {
    // users.json replaced with the journal left (a crash between a save's rename and the
    // journal's removal, or an administrator's copy): the next claim starts the journal
    // anew in the same file. A store that had read the old journal must read the new one
    // whole, not only what lies past where the old one ended.
    let (_dir, path) = seeded();
    let mine = JsonFile::new(&path);
    log_in(&mine, "alice", at(1));
    assert_eq!(mine.get("alice").unwrap().unwrap().login_count, 1);
    let old_len = fs::metadata(journal_of(&path)).unwrap().len();
    let journal_ino = ino(&journal_of(&path));
    let mut replaced = fs::read(&path).unwrap();
    replaced.insert(0, b' ');
    fs::write(&path, &replaced).unwrap();
    let theirs = JsonFile::new(&path);
    for i in 0..3 {
        theirs
            .claim_attempt("bob", at(10 + i), &SCHEDULE, Bucket::Anyone)
            .unwrap();
    }
    assert_eq!(
        ino(&journal_of(&path)),
        journal_ino,
        "begun anew in the same file"
    );
    assert!(fs::metadata(journal_of(&path)).unwrap().len() >= old_len);
    assert_eq!(mine.get("bob").unwrap().unwrap().failed_attempts, 3);
    assert_eq!(
        mine.get("alice").unwrap().unwrap().login_count,
        0,
        "the old journal extended another file"
    );
}

#[test]
fn a_cached_store_reads_a_journal_in_another_file_whole() {
    // The journal replaced by another file with the same header (a copy restored, its
    // lines in another order): read whole, not taken for the file read before.
    let (_dir, path) = seeded();
    let mine = JsonFile::new(&path);
    log_in(&mine, "alice", at(1));
    log_in(&mine, "alice", at(2));
    assert_eq!(mine.get("alice").unwrap().unwrap().login_count, 2);
    let text = fs::read_to_string(journal_of(&path)).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 3, "a header and two logins");
    let reordered = [lines[0], lines[2], lines[1]].concat();
    let other = journal_of(&path).with_extension("other");
    fs::write(&other, &reordered).unwrap();
    fs::rename(&other, journal_of(&path)).unwrap();
    assert_eq!(
        mine.get("alice").unwrap().unwrap().login_count,
        1,
        "its last line now"
    );
}

#[test]
fn a_cached_store_reads_a_journal_cut_short_whole() {
    // Cut back past what was read (by hand: the store itself never cuts a good line).
    let (_dir, path) = seeded();
    let mine = JsonFile::new(&path);
    log_in(&mine, "alice", at(1));
    assert_eq!(mine.get("alice").unwrap().unwrap().login_count, 1);
    let text = fs::read_to_string(journal_of(&path)).unwrap();
    let header_len = text.find('\n').unwrap() as u64 + 1;
    fs::OpenOptions::new()
        .write(true)
        .open(journal_of(&path))
        .unwrap()
        .set_len(header_len)
        .unwrap();
    assert_eq!(mine.get("alice").unwrap().unwrap().login_count, 0);
}

#[test]
fn a_journal_does_not_apply_to_a_file_changed_to_the_same_length() {
    // Another valid users.json of the very same length (a hash replaced by another): the
    // journal extended the file as it was, and no longer applies.
    let (_dir, path) = seeded();
    log_in(&JsonFile::new(&path), "alice", at(1));
    assert_eq!(read_fresh(&path)["alice"].login_count, 1);
    let text = fs::read_to_string(&path).unwrap();
    let changed = text.replace("hash-of-alice", "hash-of-ALICE");
    assert_eq!(changed.len(), text.len());
    fs::write(&path, changed).unwrap();
    let alice = read_fresh(&path).remove("alice").unwrap();
    assert_eq!(
        (alice.password_hash.as_str(), alice.login_count),
        ("hash-of-ALICE", 0)
    );
    assert_eq!(JsonFile::new(&path).get("alice").unwrap().unwrap().login_count, 0);
}

#[test]
fn a_journal_may_reach_its_bound_exactly() {
    // The first login's journal (a header and one line), measured, is the bound: the
    // second login then folds, the first does not.
    let (_dir, path) = seeded();
    log_in(&JsonFile::new(&path), "alice", at(1));
    let one_login = fs::metadata(journal_of(&path)).unwrap().len();
    let (_dir, path) = seeded();
    let inode = ino(&path);
    let store = JsonFile::new(&path).with_journal_limit(one_login);
    log_in(&store, "alice", at(1));
    assert_eq!(fs::metadata(journal_of(&path)).unwrap().len(), one_login);
    assert_eq!(ino(&path), inode, "at the bound: appended, not folded");
    log_in(&store, "alice", at(2));
    assert_ne!(ino(&path), inode, "past it: folded");
    assert_eq!(read_fresh(&path)["alice"].login_count, 2);
}

#[test]
fn a_stale_temp_file_that_cannot_be_removed_is_an_error_naming_it() {
    let (_dir, path) = seeded();
    let temp = path.with_file_name("users.json.tmp");
    fs::create_dir(&temp).unwrap();
    fs::write(temp.join("x"), "x").unwrap();
    let before = fs::read(&path).unwrap();
    let err = JsonFile::new(&path)
        .insert_new(&[("dave".into(), record("h"))])
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("remove the stale temp file") && text.contains("users.json.tmp"),
        "{text}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_store_says_where_it_is_in_debug_output() {
    let (_dir, path) = seeded();
    let shown = format!("{:?}", JsonFile::new(&path));
    assert!(shown.starts_with("JsonFile"), "{shown}");
    assert!(shown.contains(&format!("{:?}", path)), "{shown}");
}

#[test]
fn a_data_file_named_without_a_directory_is_in_the_working_one() {
    // `--data-file users.json`: its directory is "", which is the working directory (the
    // journal's first line syncs it). The only test here that moves the working directory,
    // which every other one names absolute paths beside.
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let store = JsonFile::new("users.json");
    store.insert_new(&[("alice".into(), record("h"))]).unwrap();
    log_in(&store, "alice", at(1));
    assert!(dir.path().join("users.json.journal").exists());
    assert_eq!(
        JsonFile::new(dir.path().join("users.json"))
            .get("alice")
            .unwrap()
            .unwrap()
            .login_count,
        1
    );
}
