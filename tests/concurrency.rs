//! Many `authtui` processes on one `users.json` at once, and processes killed with SIGKILL
//! in the middle of a save: no account is lost, and the file always parses.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{PW2, Sandbox};

#[test]
fn eight_processes_adding_25_accounts_each_at_once_lose_none() {
    let sb = Arc::new(Sandbox::new());
    let workers: Vec<_> = (0..8)
        .map(|p| {
            let sb = Arc::clone(&sb);
            thread::spawn(move || {
                for i in 0..25 {
                    let name = format!("u{p}x{i}");
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
    let names: BTreeSet<String> = sb.usernames().into_iter().collect();
    let want: BTreeSet<String> = (0..8)
        .flat_map(|p| (0..25).map(move |i| format!("u{p}x{i}")))
        .collect();
    assert_eq!(names.len(), 200);
    assert_eq!(names, want);
    assert_eq!(
        sb.dir_entries(),
        ["events.jsonl", "users.json", "users.json.lock"]
    );
    // Each account kept its own password hash.
    sb.verify("u7x24", PW2).expect_code(0);
}

/// A small deterministic generator for the kill delays (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..=max`.
    fn below(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros() as u64;
        Duration::from_micros(self.next() % (micros + 1))
    }
}

/// Starts `user add NAME`, with a thread reading its stdout that records NAME in `acked`
/// once the child has said "Created account NAME".
fn spawn_add(
    sb: &Sandbox,
    name: &str,
    acked: &Arc<Mutex<BTreeSet<String>>>,
) -> (std::process::Child, thread::JoinHandle<()>) {
    let mut cmd = sb.command(&["user", "add", name, "--password-stdin"]);
    cmd.stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(format!("{PW2}\n").as_bytes());
    drop(stdin);
    let stdout = child.stdout.take().unwrap();
    let acked = Arc::clone(acked);
    let expected = format!("Created account {name}");
    let name = name.to_owned();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) if line == expected => {
                    acked.lock().unwrap().insert(name.clone());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    (child, reader)
}

#[test]
fn accounts_acknowledged_before_a_sigkill_survive_and_the_file_always_parses() {
    const WORKERS: usize = 2;
    const KILLS_PER_WORKER: usize = 150;

    // A file of some size, so that a save takes long enough to be interrupted.
    let (_, hash, _) = &common::fixture_vectors("python-bcrypt.json")[1];
    let seeded: BTreeSet<String> = (0..500).map(|i| format!("seed{i:04}")).collect();
    let users: serde_json::Map<String, serde_json::Value> = seeded
        .iter()
        .map(|n| (n.clone(), serde_json::json!({ "password_hash": hash })))
        .collect();
    let sb = Arc::new(Sandbox::with_file(
        serde_json::json!({ "version": 1, "users": users })
            .to_string()
            .as_bytes(),
    ));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let seeded = Arc::new(seeded);

    // How long one add takes here (the median of a few, after a first run that warms the
    // caches), to spread the kills over a child's life.
    let mut lives: Vec<Duration> = (0..6)
        .map(|i| {
            let start = Instant::now();
            let (mut child, reader) = spawn_add(&sb, &format!("calibrate{i}"), &acked);
            assert!(child.wait().unwrap().success());
            reader.join().unwrap();
            start.elapsed()
        })
        .skip(1)
        .collect();
    lives.sort();
    let life = lives[lives.len() / 2];
    let temp = sb.data.with_file_name("users.json.tmp");

    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (sb, acked, seeded, temp) = (
                Arc::clone(&sb),
                Arc::clone(&acked),
                Arc::clone(&seeded),
                temp.clone(),
            );
            thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1));
                let (mut killed, mut mid_save) = (0, 0);
                for i in 0..KILLS_PER_WORKER {
                    let name = format!("k{w}x{i}");
                    let (mut child, reader) = spawn_add(&sb, &name, &acked);
                    if i % 2 == 0 {
                        // At any moment of its life.
                        thread::sleep(rng.below(life.mul_f64(1.2)));
                    } else {
                        // Mid-save: once a temp file exists (this child's or another's), a
                        // little later. The polling only picks the moment; nothing waits on it.
                        let deadline = Instant::now() + life * 3;
                        while !temp.exists()
                            && Instant::now() < deadline
                            && child.try_wait().unwrap().is_none()
                        {
                            thread::sleep(Duration::from_micros(100));
                        }
                        thread::sleep(rng.below(Duration::from_millis(3)));
                    }
                    // SIGKILL on unix; an error only means it had already exited.
                    let _ = child.kill();
                    let status = child.wait().unwrap();
                    reader.join().unwrap();
                    if status.code().is_none() {
                        killed += 1;
                        if temp.exists() {
                            mid_save += 1;
                        }
                    }

                    // Everything acknowledged so far must be in a file that parses.
                    let must_have = acked.lock().unwrap().clone();
                    let present: BTreeSet<String> = sb.usernames().into_iter().collect();
                    let missing: Vec<&String> = must_have.difference(&present).collect();
                    assert!(
                        missing.is_empty(),
                        "after kill {i} of worker {w}: lost {missing:?}"
                    );
                    assert!(
                        seeded.is_subset(&present),
                        "after kill {i} of worker {w}: lost seeded accounts"
                    );
                }
                (killed, mid_save)
            })
        })
        .collect();
    let (mut killed, mut mid_save) = (0, 0);
    for w in workers {
        let (k, m) = w.join().unwrap();
        killed += k;
        mid_save += m;
    }
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "{} children: {killed} killed by the signal ({mid_save} with users.json.tmp present: mid-save), \
         {} acknowledged; typical life {life:?}; {:?}",
        WORKERS * KILLS_PER_WORKER,
        acked.len(),
        started.elapsed()
    );
    assert!(killed > 0, "no child was killed: the test tested nothing");
    // A kill that leaves users.json.tmp behind came between the temp file's creation and
    // the rename: the case this test is for. Without one it proved only the easy cases.
    assert!(
        mid_save > 0,
        "no child was killed in the middle of a save ({killed} killed): the timing missed"
    );

    // Nothing but attempted names, and a write after the crashes cleans up after them.
    sb.add("final", PW2).expect_code(0);
    let present: BTreeSet<String> = sb.usernames().into_iter().collect();
    for name in &present {
        assert!(
            seeded.contains(name)
                || name.starts_with("calibrate")
                || name == "final"
                || name.starts_with('k'),
            "{name} appeared from nowhere"
        );
    }
    assert!(acked.is_subset(&present));
    assert_eq!(
        sb.dir_entries(),
        ["events.jsonl", "users.json", "users.json.lock"]
    );
    sb.verify("final", PW2).expect_code(0);
}

#[test]
fn guesses_from_many_processes_at_once_reach_bcrypt_at_most_the_threshold() {
    // A cost-10 hash takes long enough that every guess is in flight at once: a lock
    // checked before bcrypt but counted after would let all of them through (and lock the
    // account until an administrator unlocks it).
    let hash =
        authtui::auth::hashing::hash(&common::PW.into(), authtui::auth::Cost::new(10).unwrap()).unwrap();
    let file = String::from_utf8(common::users_file(["alice"]))
        .unwrap()
        .replace(&common::pw_hash(), &hash);
    let sb = Sandbox::with_file(file.as_bytes());
    let guesses = 30;
    // Each child waits for its password on stdin: they are released all together.
    let commands = (0..guesses)
        .map(|_| sb.command(&["verify", "alice", "--password-stdin"]))
        .collect();
    let outputs = common::run_released(
        commands,
        b"a wrong guess at the password\n",
        Duration::from_secs(120),
    );
    let locked = outputs
        .iter()
        .filter(|o| o.stderr.contains("Too many failed attempts"))
        .count();
    for o in &outputs {
        o.expect_code(1);
    }
    // Read through the store: the counts a login records are in users.json.journal.
    let record = sb
        .list_json()
        .into_iter()
        .find(|a| a["username"] == "alice")
        .unwrap();
    assert_eq!(record["failed_attempts"], 5, "{record}");
    assert_eq!(
        locked,
        guesses - 4,
        "the fifth guess locks it; later ones find the lock"
    );
}
