//! Many processes on one users.json at once: 8 x 100 signups lose none, and a mix of
//! logins, password changes, removals, signups and reads loses no update and never shows
//! a reader a half-written or older-than-before file.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use common::{PW, PW2, Sandbox, users_file};
use serde_json::Value;

#[test]
fn eight_processes_adding_100_accounts_each_at_once_lose_none() {
    const PROCESSES: usize = 8;
    const ADDS: usize = 100;
    let started = Instant::now();
    let sb = Arc::new(Sandbox::new());
    let workers: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let sb = Arc::clone(&sb);
            thread::spawn(move || {
                for i in 0..ADDS {
                    let name = format!("p{p}n{i:03}");
                    let out = sb.add(&name, PW2);
                    out.expect_code(0);
                    assert_eq!(out.stdout, format!("Created account {name}\n"));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let names: Vec<String> = sb.usernames();
    let want: Vec<String> = (0..PROCESSES)
        .flat_map(|p| (0..ADDS).map(move |i| format!("p{p}n{i:03}")))
        .collect();
    assert_eq!(names.len(), PROCESSES * ADDS);
    assert_eq!(names, want);
    assert_eq!(
        sb.dir_entries(),
        ["events.jsonl", "users.json", "users.json.lock"]
    );
    // Each account kept its own hash; a few from each process log in.
    for p in 0..PROCESSES {
        sb.verify(&format!("p{p}n{:03}", p * 12), PW2).expect_code(0);
    }
    eprintln!(
        "{} accounts added by {PROCESSES} processes in {:?}",
        PROCESSES * ADDS,
        started.elapsed()
    );
}

/// `user list --json` as a map of username to account; panics unless it exits 0 with JSON.
fn read_accounts(sb: &Sandbox) -> BTreeMap<String, Value> {
    sb.list_json()
        .into_iter()
        .map(|a| (a["username"].as_str().unwrap().to_owned(), a))
        .collect()
}

fn login_count(account: &Value) -> u64 {
    account["login_count"].as_u64().unwrap()
}

#[test]
fn mixed_readers_and_writers_at_once_lose_no_update() {
    const ROUNDS: usize = 30;
    const WRITERS: usize = 4;
    const SHARED_LOGINS: usize = 2;
    const READERS: usize = 2;
    let started = Instant::now();

    let own: Vec<String> = (0..WRITERS).map(|w| format!("writer{w}")).collect();
    let readers_own: Vec<String> = (0..READERS).map(|r| format!("reader{r}")).collect();
    let doomed: Vec<String> = (0..20).map(|i| format!("doomed{i:02}")).collect();
    let filler: Vec<String> = (0..200).map(|i| format!("filler{i:03}")).collect();
    let added: Vec<String> = (0..8).map(|i| format!("added{i}")).collect();
    let shared = "shared".to_owned();
    let seeded: Vec<&String> = own
        .iter()
        .chain(&readers_own)
        .chain(&doomed)
        .chain(&filler)
        .chain([&shared])
        .collect();
    let sb = Arc::new(Sandbox::with_file(&users_file(&seeded)));

    let mut threads: Vec<thread::JoinHandle<Vec<(String, u64)>>> = Vec::new();
    // Writers: each logs in to its own account, fails a login now and then, and changes
    // its password; the count of successful logins is what the file must say at the end.
    for name in own.clone() {
        let sb = Arc::clone(&sb);
        threads.push(thread::spawn(move || {
            let (mut password, mut other) = (PW, PW2);
            let mut logins = 0;
            for i in 0..ROUNDS {
                if i % 10 == 9 {
                    sb.run_stdin(
                        &["user", "passwd", &name, "--password-stdin"],
                        format!("{other}\n").as_bytes(),
                    )
                    .expect_code(0);
                    std::mem::swap(&mut password, &mut other);
                } else if i % 7 == 3 {
                    sb.verify(&name, "not the password at all").expect_code(1);
                } else {
                    let out = sb.verify(&name, password);
                    out.expect_code(0);
                    logins += 1;
                }
            }
            vec![(name, logins)]
        }));
    }
    // Logins to one shared account from several processes at once: increments that race.
    for _ in 0..SHARED_LOGINS {
        let (sb, shared) = (Arc::clone(&sb), shared.clone());
        threads.push(thread::spawn(move || {
            for _ in 0..ROUNDS {
                sb.verify(&shared, PW).expect_code(0);
            }
            vec![(shared, ROUNDS as u64)]
        }));
    }
    // Readers: every list parses; what they see only moves forward (a later read never
    // shows fewer logins or more of the removed accounts than an earlier one); and each
    // logs in to an account of its own between reads.
    for name in readers_own.clone() {
        let sb = Arc::clone(&sb);
        threads.push(thread::spawn(move || {
            let mut seen: BTreeMap<String, u64> = BTreeMap::new();
            let mut doomed_left = usize::MAX;
            let mut logins = 0;
            for i in 0..ROUNDS {
                let accounts = read_accounts(&sb);
                for (user, account) in &accounts {
                    let count = login_count(account);
                    let before = seen.insert(user.clone(), count).unwrap_or(0);
                    assert!(
                        count >= before,
                        "read {i}: {user} went from {before} to {count} logins"
                    );
                }
                let left = accounts.keys().filter(|n| n.starts_with("doomed")).count();
                assert!(left <= doomed_left, "read {i}: removed accounts came back");
                doomed_left = left;
                assert!(accounts.keys().filter(|n| n.starts_with("filler")).count() == 200);
                if i % 2 == 0 {
                    sb.verify(&name, PW).expect_code(0);
                    logins += 1;
                }
            }
            vec![(name, logins)]
        }));
    }
    // A remover and an adder.
    {
        let (remover_sb, doomed) = (Arc::clone(&sb), doomed.clone());
        threads.push(thread::spawn(move || {
            for name in doomed {
                remover_sb.run(&["user", "remove", &name]).expect_code(0);
            }
            Vec::new()
        }));
        let (sb, added) = (Arc::clone(&sb), added.clone());
        threads.push(thread::spawn(move || {
            for name in added {
                sb.add(&name, PW2).expect_code(0);
            }
            Vec::new()
        }));
    }
    let logins: BTreeMap<String, u64> =
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .fold(BTreeMap::new(), |mut m, (name, n)| {
                *m.entry(name).or_default() += n;
                m
            });

    let accounts = read_accounts(&sb);
    for (name, n) in &logins {
        assert_eq!(
            login_count(&accounts[name]),
            *n,
            "{name}: logins lost or invented"
        );
    }
    assert_eq!(logins["shared"], (SHARED_LOGINS * ROUNDS) as u64);
    let names: BTreeSet<&String> = accounts.keys().collect();
    let want: BTreeSet<&String> = own
        .iter()
        .chain(&readers_own)
        .chain(&filler)
        .chain(&added)
        .chain([&shared])
        .collect();
    assert_eq!(names, want);
    for name in filler.iter().chain(&added) {
        assert_eq!(login_count(&accounts[name]), 0, "{name}");
    }
    // The last password each writer set is the one that works.
    for (w, name) in own.iter().enumerate() {
        let changes = ROUNDS / 10;
        let password = if changes.is_multiple_of(2) { PW } else { PW2 };
        sb.verify(name, password).expect_code(0);
        assert_eq!(accounts[name]["failed_attempts"], 0, "writer {w}");
    }
    let mut entries = sb.dir_entries();
    // Logins since the last account change are in the journal, if there were any.
    entries.retain(|e| e != "users.json.journal");
    assert_eq!(entries, ["events.jsonl", "users.json", "users.json.lock"]);
    eprintln!("mixed load finished in {:?}", started.elapsed());
}
