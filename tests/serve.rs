//! End to end, `authtui serve` through the real OpenSSH client (`ssh -tt`) in a
//! pseudo-terminal: sign up, log out, log in, the Dashboard, a resize, quit, the
//! client's terminal restored; two clients at once on one store; the SSH user name
//! pre-filled; a command or a missing pty refused in one line; the host key created once
//! and its fingerprint printed; SIGTERM says goodbye to each session.
#![cfg(unix)]

mod sshpty;

use sshpty::{ESC, Server, log_in, log_out, sign_up, wait_dashboard};

const PW: &str = "correct horse battery staple";
const PW2: &str = "tangerine submarine 42 vortex";

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
