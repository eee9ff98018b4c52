//! No copy of a password is left in the app's memory once it has been used.
//!
//! The real `authtui` binary runs in a pseudo-terminal (the harness in `pty/mod.rs`). A
//! distinctive password is entered (typed one key at a time, pasted with bracketed paste,
//! or sent in one burst), submitted, the Dashboard shows, the user logs out; then the
//! child is stopped and every writable mapping in /proc/PID/maps is read through
//! /proc/PID/mem. Neither the password nor any 12-byte piece of it may be there.
//!
//! Reading another process's memory needs ptrace rights (the tests run as root). If the
//! memory cannot be read the test fails and says why: it never passes without looking.
#![cfg(target_os = "linux")]

mod pty;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::Command;

use pty::{App, CTRL_C, ENTER, Setup, TAB};

/// The password the tests use: long, unusual, and found nowhere else in the program.
const PW: &str = "Quokka-Marzipan-Vortex-8813-Fjord";
/// A second one, for Change password.
const NEW_PW: &str = "Tangerine/Obelisk;Wombat=2947";
const USER: &str = "memtester";
/// The shortest piece of a password that may not be left anywhere.
const WINDOW: usize = 12;

/// How a password reaches the app.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// One key per write, each seen on screen before the next.
    Typed,
    /// Bracketed paste: `ESC [200~ … ESC [201~`.
    Pasted,
    /// The whole password in one write, as a fast typist or a password manager sends it.
    Burst,
}

/// Enters a password into the focused, empty field labelled `label`.
fn enter(app: &mut App, label: &str, password: &str, how: Entry) {
    match how {
        Entry::Typed => {
            for (i, c) in password.chars().enumerate() {
                app.send(&c.to_string());
                app.wait_until(&format!("{} bullets in {label:?}", i + 1), |app| {
                    app.bullets_in(label) == Some(i + 1)
                });
            }
        }
        Entry::Pasted => {
            app.send(&format!("\x1b[200~{password}\x1b[201~"));
            wait_bullets(app, label, password);
        }
        Entry::Burst => {
            app.send(password);
            wait_bullets(app, label, password);
        }
    }
}

fn wait_bullets(app: &App, label: &str, password: &str) {
    let want = password.chars().count();
    app.wait_until(&format!("{want} bullets in {label:?}"), |app| {
        app.bullets_in(label) == Some(want)
    });
}

/// Logs in as USER with `password`, entered `how`, and waits for the Dashboard.
fn log_in(app: &mut App, password: &str, how: Entry) {
    app.type_into("Username", USER);
    app.send(TAB);
    enter(app, "Password", password, how);
    app.send(ENTER);
    app.wait_for("Welcome, memtester");
}

fn log_out(app: &mut App) {
    app.send("l");
    app.wait_for("Logged out");
    app.wait_for("Create an account");
}

/// One writable mapping of the child: where it is and what it is.
struct Region {
    start: u64,
    end: u64,
    name: String,
}

fn writable_regions(pid: u32) -> Vec<Region> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/maps: {e}"));
    let mut regions = Vec::new();
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
            panic!("unexpected line in /proc/{pid}/maps: {line:?}");
        };
        if !perms.starts_with("rw") {
            continue;
        }
        let name = parts.nth(3).unwrap_or("[anonymous]").to_owned();
        let (start, end) = range.split_once('-').expect("a range");
        regions.push(Region {
            start: u64::from_str_radix(start, 16).expect("hex"),
            end: u64::from_str_radix(end, 16).expect("hex"),
            name,
        });
    }
    assert!(!regions.is_empty(), "no writable mappings in /proc/{pid}/maps");
    regions
}

/// Where a password (or a piece of it of at least WINDOW bytes) was found.
#[derive(Debug)]
struct Hit {
    region: String,
    address: u64,
    /// The longest run of the password's bytes there.
    text: String,
    /// The bytes around it, for finding out what holds it.
    context: Vec<u8>,
}

/// Every place in `memory` that holds WINDOW or more consecutive bytes of `secret`.
///
/// Any run of 12 bytes covers a whole 6-byte block aligned to 6 in memory, so looking up
/// only those blocks among the secret's 6-byte pieces finds every run, then each find is
/// extended both ways to its full length.
fn find_pieces(memory: &[u8], secret: &[u8]) -> Vec<(usize, usize)> {
    const BLOCK: usize = WINDOW / 2;
    let mut grams: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for k in 0..=secret.len() - BLOCK {
        grams.entry(&secret[k..k + BLOCK]).or_default().push(k);
    }
    let mut first = [false; 256];
    for k in 0..=secret.len() - BLOCK {
        first[usize::from(secret[k])] = true;
    }
    let mut found: Vec<(usize, usize)> = Vec::new();
    let mut m = 0;
    while m + BLOCK <= memory.len() {
        if first[usize::from(memory[m])]
            && let Some(offsets) = grams.get(&memory[m..m + BLOCK])
        {
            for &k in offsets {
                // Extend left and right while memory and secret agree.
                let back = (1..=k.min(m))
                    .take_while(|&d| memory[m - d] == secret[k - d])
                    .last()
                    .unwrap_or(0);
                let ahead = (0..)
                    .take_while(|&d| {
                        k + BLOCK + d < secret.len()
                            && m + BLOCK + d < memory.len()
                            && memory[m + BLOCK + d] == secret[k + BLOCK + d]
                    })
                    .count();
                let len = back + BLOCK + ahead;
                let at = m - back;
                if len >= WINDOW && !found.iter().any(|&(a, l)| a <= at && at + len <= a + l) {
                    found.push((at, len));
                }
            }
        }
        m += BLOCK;
    }
    found
}

/// Stops the child, reads all its writable memory, resumes it, and returns every place a
/// piece of one of `secrets` was found. Panics (failing the test) if memory can't be read.
fn scan(pid: u32, secrets: &[&str]) -> Vec<Hit> {
    signal(pid, "STOP");
    let result = read_and_search(pid, secrets);
    signal(pid, "CONT");
    result.unwrap_or_else(|why| panic!("cannot read the app's memory: {why}"))
}

fn read_and_search(pid: u32, secrets: &[&str]) -> Result<Vec<Hit>, String> {
    let mut mem = File::open(format!("/proc/{pid}/mem")).map_err(|e| format!("open /proc/{pid}/mem: {e}"))?;
    let mut hits = Vec::new();
    let mut total = 0u64;
    for region in writable_regions(pid) {
        let len = usize::try_from(region.end - region.start).map_err(|e| e.to_string())?;
        let mut bytes = vec![0u8; len];
        mem.seek(SeekFrom::Start(region.start))
            .and_then(|_| mem.read_exact(&mut bytes))
            .map_err(|e| {
                format!(
                    "read {len} bytes at {:#x} ({}) of /proc/{pid}/mem: {e}",
                    region.start, region.name
                )
            })?;
        total += len as u64;
        for secret in secrets {
            for (at, n) in find_pieces(&bytes, secret.as_bytes()) {
                hits.push(Hit {
                    region: region.name.clone(),
                    address: region.start + at as u64,
                    text: String::from_utf8_lossy(&bytes[at..at + n]).into_owned(),
                    context: bytes[at.saturating_sub(64)..(at + n + 64).min(bytes.len())].to_vec(),
                });
            }
        }
    }
    if total < 1 << 20 {
        return Err(format!(
            "only {total} bytes of writable memory: the scan saw too little"
        ));
    }
    Ok(hits)
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap_or_else(|e| panic!("run kill -{name}: {e}"));
    assert!(status.success(), "kill -{name} {pid} failed: {status}");
}

/// Asserts that no piece of the secrets is in the app's memory, then quits the app.
fn assert_memory_clean(mut app: App, secrets: &[&str]) {
    let hits = scan(app.pid(), secrets);
    app.send(CTRL_C);
    let status = app.wait_exit();
    assert!(
        hits.is_empty(),
        "{} copies of a password left in the app's memory:\n{}",
        hits.len(),
        hits.iter()
            .map(|h| {
                let mut line = format!("  {:#x} in {}: {:?}", h.address, h.region, h.text);
                if std::env::var_os("MEMORY_DUMP").is_some() {
                    line.push_str(&format!("\n    {:?}", String::from_utf8_lossy(&h.context)));
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(status.success(), "{status:?}");
}

fn login_leaves_no_copy(how: Entry) {
    let mut app = Setup::new().add_user(USER, PW).start();
    log_in(&mut app, PW, how);
    log_out(&mut app);
    assert_memory_clean(app, &[PW]);
}

#[test]
fn the_scan_finds_a_password_that_is_there() {
    // The username is in memory (the Log in field still holds it after a failed login):
    // the same scan that must find no password finds it.
    let mut app = Setup::new().add_user(USER, PW).start();
    app.type_into("Username", "memtester-Zanzibar-Quill");
    let hits = scan(app.pid(), &["memtester-Zanzibar-Quill"]);
    assert!(!hits.is_empty(), "the scan did not find text the app holds");
    assert!(
        hits.iter().any(|h| h.text == "memtester-Zanzibar-Quill"),
        "{:?}",
        hits.iter().map(|h| &h.text).collect::<Vec<_>>()
    );
}

#[test]
fn a_typed_password_leaves_no_copy_after_login() {
    login_leaves_no_copy(Entry::Typed);
}

#[test]
fn a_pasted_password_leaves_no_copy_after_login() {
    login_leaves_no_copy(Entry::Pasted);
}

#[test]
fn a_burst_password_leaves_no_copy_after_login() {
    login_leaves_no_copy(Entry::Burst);
}

fn signup_leaves_no_copy(how: Entry) {
    let mut app = Setup::new().start();
    app.send(pty::CTRL_N);
    app.wait_for("Confirm password");
    app.type_into("Username", USER);
    app.send(TAB);
    enter(&mut app, "Password", PW, how);
    app.send(TAB);
    enter(&mut app, "Confirm password", PW, how);
    app.wait_for("Passwords match");
    app.send(ENTER);
    app.wait_for("Account created");
    log_out(&mut app);
    assert_memory_clean(app, &[PW]);
}

#[test]
fn sign_up_with_a_typed_password_leaves_no_copy() {
    signup_leaves_no_copy(Entry::Typed);
}

#[test]
fn sign_up_with_a_pasted_password_leaves_no_copy() {
    signup_leaves_no_copy(Entry::Pasted);
}

#[test]
fn sign_up_with_a_burst_password_leaves_no_copy() {
    signup_leaves_no_copy(Entry::Burst);
}

#[test]
fn change_password_leaves_no_copy_of_either_password() {
    let mut app = Setup::new().add_user(USER, PW).start();
    log_in(&mut app, PW, Entry::Burst);
    app.send("p");
    app.wait_for("Current password");
    enter(&mut app, "Current password", PW, Entry::Pasted);
    app.send(TAB);
    enter(&mut app, "New password", NEW_PW, Entry::Typed);
    app.send(TAB);
    enter(&mut app, "Confirm password", NEW_PW, Entry::Burst);
    app.wait_for("Passwords match");
    app.send(ENTER);
    app.wait_for("Password changed");
    log_out(&mut app);
    assert_memory_clean(app, &[PW, NEW_PW]);
}

#[test]
fn a_failed_login_leaves_no_copy_of_the_wrong_password() {
    let mut app = Setup::new().add_user(USER, PW).start();
    app.type_into("Username", USER);
    app.send(TAB);
    enter(&mut app, "Password", NEW_PW, Entry::Pasted);
    app.send(ENTER);
    app.wait_for("Invalid username or password");
    log_in_again(&mut app);
    assert_memory_clean(app, &[PW, NEW_PW]);
}

/// After a failed login the username is kept and the password field is focused.
fn log_in_again(app: &mut App) {
    enter(app, "Password", PW, Entry::Burst);
    app.send(ENTER);
    app.wait_for("Welcome, memtester");
    log_out(app);
}
