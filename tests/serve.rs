//! End to end, `authtui serve` through the real OpenSSH client (`ssh -tt`) in a
//! pseudo-terminal: sign up, log out, log in, the Dashboard, a resize, quit, the
//! client's terminal restored; two clients at once on one store; the SSH user name
//! pre-filled; a command or a missing pty refused in one line; the host key created once
//! and its fingerprint printed; SIGTERM says goodbye to each session; the password pool
//! sized by `--auth-threads` / `--auth-queue`, and "busy, try again" when it is full; the
//! client's address in the activity log and on the Dashboard.
#![cfg(unix)]

mod sshpty;

use std::time::Duration;

use sshpty::{ENTER, ESC, Server, log_in, log_out, sign_up, wait_dashboard, wait_within};

const PW: &str = "correct horse battery staple";
const PW2: &str = "tangerine submarine 42 vortex";

/// A bcrypt cost at which one verify takes a second or more even on a fast machine
/// (about 1.7 s on the 2.6 GHz Xeon of README.md's figures), so a login stays in the pool
/// while other clients submit theirs.
const SLOW_COST: u32 = 15;
/// How long a wait on slow logins may take: several verifies at [`SLOW_COST`] on a loaded
/// machine.
const SLOW: Duration = Duration::from_secs(180);
/// The banner of a login the pool had no room for (`tui::app::BUSY`).
const BUSY: &str = "The server is busy: try again in a moment";
const INVALID: &str = "Invalid username or password";
/// The banner row while a login runs (or waits in the pool).
const SPINNING: &str = "Logging in";

#[test]
fn sign_up_log_out_log_in_resize_and_quit_over_ssh() {
    let server = Server::start(&[]);
    // "no user!" is no username: nothing is pre-filled.
    let mut c = server.connect("no user!", 80, 24);
    c.wait_for("Create an account");
    sign_up(&mut c, "alice", PW);
    c.wait_for("Account created");
    log_out(&mut c);
    log_in(&mut c, "alice", PW);
    c.wait_until("a login count of 2", |c| {
        c.find_row("Login count").is_some_and(|r| r.contains('2'))
    });

    // A resize: the next frame is drawn at the new size (the box is centred anew).
    let col = |c: &sshpty::Client| {
        c.find_row("Welcome, alice")
            .and_then(|r| r.chars().position(|ch| ch == '│' || ch == '╭'))
    };
    let before = col(&c);
    c.resize(120, 40);
    c.wait_until("the Dashboard redrawn at 120x40", |c| {
        c.screen().contains("Welcome, alice") && col(c) != before && c.rows().len() == 40
    });

    log_out(&mut c);
    c.send(ESC);
    assert_eq!(c.wait_exit(), 0, "ssh's exit status");
    c.assert_terminal_restored();
    let raw = String::from_utf8_lossy(&c.raw()).into_owned();
    assert!(!raw.contains(PW), "the password reached the terminal");
    let log = server.log();
    assert!(!log.contains(PW), "the password is in the server's log:\n{log}");
    assert!(server.data_file().exists());
}

/// docs/security.md rule 36, end to end: the client's address in the activity log and on
/// the Dashboard, and no path of the server's on it.
#[test]
fn the_log_and_the_dashboard_say_where_a_served_login_came_from() {
    let server = Server::start(&[]);
    let mut c = server.connect("x", 80, 24);
    c.wait_for("Create an account");
    sign_up(&mut c, "alice", PW);
    c.wait_until("Signed in from 127.0.0.1", |c| {
        c.find_row("Signed in from")
            .is_some_and(|r| r.contains("127.0.0.1"))
    });
    let screen = c.screen();
    assert!(
        !screen.contains("Data file") && !screen.contains("users.json"),
        "{screen}"
    );
    log_out(&mut c);
    log_in(&mut c, "alice", PW);
    c.wait_until("Previous from 127.0.0.1", |c| {
        c.find_row("Previous from")
            .is_some_and(|r| r.contains("127.0.0.1"))
    });
    let events = server.events();
    let froms: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or(""),
                e["from"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(froms.len(), 3, "{events:?}");
    for (kind, from) in &froms {
        assert!(from.starts_with("127.0.0.1:"), "{kind} from {from:?}: {events:?}");
    }
    assert_eq!(
        froms.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["signup", "logout", "login_success"]
    );
}

#[test]
fn two_clients_at_once_see_each_others_accounts() {
    let server = Server::start(&[]);
    let mut a = server.connect("x", 80, 24);
    let mut b = server.connect("x", 80, 24);
    a.wait_for("Create an account");
    b.wait_for("Create an account");
    sign_up(&mut a, "alice", PW);
    sign_up(&mut b, "bob", PW2);
    log_out(&mut a);
    log_out(&mut b);
    // Each logs in to the account the other made, both sessions still open.
    log_in(&mut a, "bob", PW2);
    log_in(&mut b, "alice", PW);
    wait_dashboard(&a, "bob");
    for c in [&mut a, &mut b] {
        log_out(c);
        c.send(ESC);
        assert_eq!(c.wait_exit(), 0);
        c.assert_terminal_restored();
    }
}

#[test]
fn the_ssh_user_name_is_pre_filled_when_it_is_a_username() {
    let server = Server::start(&[]);
    let c = server.connect("carol", 80, 24);
    c.wait_until("carol in the Username field", |c| {
        c.value_of("Username").is_some_and(|v| v.contains("carol"))
    });
}

#[test]
fn a_command_or_a_session_without_a_pty_is_refused_in_one_line() {
    let server = Server::start(&[]);
    let (code, out) = server.ssh_plain(&["127.0.0.1", "ls", "/"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("runs the app only"), "{out}");
    let (code, out) = server.ssh_plain(&["-T", "127.0.0.1"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("needs a terminal"), "{out}");
    server.wait_log("refused");
}

#[test]
fn the_host_key_is_made_once_printed_and_never_replaced() {
    let mut server = Server::start(&[]);
    let key = server.dir.path().join("ssh_host_ed25519_key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let log = server.log();
    let keygen = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&key)
        .output();
    if let Ok(out) = keygen {
        let printed = String::from_utf8_lossy(&out.stdout);
        let sha = printed.split_whitespace().nth(1).expect("a fingerprint");
        assert!(log.contains(sha), "{log}\nvs ssh-keygen: {printed}");
    }
    assert!(log.contains("(created)"), "{log}");
    server.terminate();

    // Started again: the same key, loaded.
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);
    let before = std::fs::read(&key).unwrap();
    let again = Server::start_in(dir, &[]);
    assert!(again.log().contains("(loaded)"), "{}", again.log());
    assert_eq!(std::fs::read(&key).unwrap(), before);
    let dir = {
        let mut again = again;
        again.terminate();
        std::mem::replace(&mut again.dir, tempfile::tempdir().unwrap())
    };

    // A corrupt key is an error (exit 2), and is left as it is.
    std::fs::write(&key, "garbage").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authtui"))
        .arg("--data-file")
        .arg(dir.path().join("users.json"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be parsed"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "garbage");
}

#[test]
fn sigterm_says_goodbye_to_each_session_and_logs_it_out() {
    let mut server = Server::start(&[]);
    let mut a = server.connect("x", 80, 24);
    let b = server.connect("x", 80, 24);
    a.wait_for("Create an account");
    b.wait_for("Create an account");
    sign_up(&mut a, "alice", PW);
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.log());
    for mut c in [a, b] {
        c.wait_exit();
        c.assert_terminal_restored();
        assert!(
            String::from_utf8_lossy(&c.raw()).contains("shutting down. Goodbye."),
            "{}",
            c.dump()
        );
    }
    let log = server.log();
    assert!(log.contains("saying goodbye to 2 sessions"), "{log}");
    let logouts = server
        .events()
        .iter()
        .filter(|e| e["username"] == "alice" && e["event"].as_str().is_some_and(|k| k.contains("logout")))
        .count();
    assert_eq!(logouts, 1, "{:?}", server.events());
}

#[test]
fn the_auth_pool_is_one_thread_per_core_unless_sized_and_its_sizes_are_checked() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let server = Server::start(&[]);
    let s = if cores == 1 { "" } else { "s" };
    server.wait_log(&format!(
        "checking passwords on {cores} thread{s}, with room for {} more waiting",
        cores * 4
    ));
    let server = Server::start(&["--auth-threads", "3"]);
    server.wait_log("checking passwords on 3 threads, with room for 12 more waiting");
    let server = Server::start(&["--auth-threads", "1", "--auth-queue", "50"]);
    server.wait_log("checking passwords on 1 thread, with room for 50 more waiting");

    let refused = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_authtui"))
            .args([
                "--data-file",
                "/nonexistent/users.json",
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(&["--auth-threads", "0"]);
    assert!(
        err.contains("--auth-threads") && err.contains("at least one thread"),
        "{err}"
    );
    let err = refused(&["--auth-threads", "1025"]);
    assert!(err.contains("at most 1024 threads"), "{err}");
    let err = refused(&["--auth-threads", "two"]);
    assert!(err.contains("not a whole number"), "{err}");
    let err = refused(&["--auth-queue", "0"]);
    assert!(
        err.contains("--auth-queue") && err.contains("at least 1"),
        "{err}"
    );
}

/// One auth thread and one place in its queue, and bcrypt slow: while one login runs and
/// a second waits, a third is refused at once with the busy banner; once the first two are
/// answered, the third submits again and gets the usual answer.
#[test]
fn a_full_auth_pool_says_busy_over_ssh_and_a_later_try_is_answered() {
    let server = Server::start_at_cost(
        tempfile::tempdir().unwrap(),
        SLOW_COST,
        &["--auth-threads", "1", "--auth-queue", "1"],
    );
    server.wait_log("checking passwords on 1 thread, with room for 1 more waiting");
    let mut clients: Vec<_> = (0..3).map(|_| server.connect("x", 80, 24)).collect();
    // Each fills in an unknown name (a full dummy verify) and a password, not yet sent.
    for (i, c) in clients.iter_mut().enumerate() {
        c.wait_for("Create an account");
        c.type_into("Username", &format!("nobody{i}"));
        c.send(ENTER);
        c.type_password_into("Password", PW);
    }
    let [first, second, third] = &mut clients[..] else {
        unreachable!()
    };
    let idle = server.thread_ticks("auth-0").expect("the server's auth thread");

    first.send(ENTER);
    first.wait_for(SPINNING);
    // The thread has taken it (it uses CPU), so the queue is empty again.
    wait_within(
        SLOW,
        "the auth thread to run the first login",
        || server.thread_ticks("auth-0").is_some_and(|t| t > idle),
        || server.log(),
    );
    second.send(ENTER);
    second.wait_for(SPINNING);
    third.send(ENTER);
    third.wait_until("the busy banner, or the third login accepted", |c| {
        c.screen().contains(BUSY) || c.screen().contains(SPINNING)
    });
    if !third.screen().contains(BUSY) {
        let (a, b) = (first.dump(), second.dump());
        let hint = if a.contains(INVALID) || b.contains(INVALID) {
            format!("a login was answered before the third was sent: cost {SLOW_COST} is too fast here\n")
        } else {
            String::new()
        };
        panic!(
            "the third login was not refused\n{hint}third:\n{}\nfirst:\n{a}\nsecond:\n{b}",
            third.dump()
        );
    }
    assert!(!third.screen().contains(SPINNING), "{}", third.dump());

    // Both earlier logins are answered as usual (the pool refused only the third).
    first.wait_for_within(SLOW, INVALID);
    second.wait_for_within(SLOW, INVALID);
    // The refused password went with its request: typed again, it is checked.
    third.type_password_into("Password", PW);
    third.send(ENTER);
    third.wait_for(SPINNING);
    third.wait_for_within(SLOW, INVALID);
    assert!(!third.screen().contains(BUSY), "{}", third.dump());
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}
