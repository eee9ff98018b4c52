//! The rules for every file authtui opens beside `users.json` (the data file itself, its
//! lock, its temp file, `events.jsonl`), driven through the real binary:
//!
//! - a save keeps the owner and group of the data, and files made by root in another
//!   user's directory are given to that user (row 7 of the security review);
//! - anything but a regular file is a one-line error, never a hang or a memory blow-up
//!   (row 8);
//! - a symbolic link is refused, never followed (row 9);
//! - a lock held elsewhere is waited for with a notice and then a clear error (row 10);
//! - a save is durable: write, fsync the temp file, rename, fsync the directory, in that
//!   order, as strace sees the real binary do it.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Output, PW, PW2, Sandbox, users_file};

/// A child that must finish at once; a hang is the bug.
const QUICK: Duration = Duration::from_secs(10);
/// nobody:nogroup, the other user the ownership tests give files to.
const NOBODY: u32 = 65534;

fn alice() -> Vec<u8> {
    users_file(["alice"])
}

fn beside(sb: &Sandbox, name: &str) -> PathBuf {
    sb.data.with_file_name(name)
}

/// Exit 2, nothing on stdout, and exactly one line on stderr that names `path` and
/// contains `words`.
#[track_caller]
fn assert_one_line_error(out: &Output, path: &Path, words: &str, what: &str) {
    out.expect_no_panic();
    assert_eq!(out.code, Some(2), "{what}: {out:#?}");
    assert_eq!(out.stdout, "", "{what}: {out:#?}");
    let errors = out.errors();
    assert_eq!(errors.len(), 1, "{what}: one line: {out:#?}");
    let line = errors[0];
    assert!(line.starts_with("authtui: "), "{what}: {line}");
    assert!(
        line.contains(&path.display().to_string()),
        "{what}: the message does not name {}: {line}",
        path.display()
    );
    assert!(line.contains(words), "{what}: no \"{words}\" in: {line}");
}

/// A named pipe at `path` (mkfifo(1): the tests use no libc).
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A character device like /dev/zero at `path` (mknod(1); needs root).
fn mknod_zero(path: &Path) {
    require_root("mknod");
    let status = Command::new("mknod")
        .arg(path)
        .args(["c", "1", "5"])
        .status()
        .expect("run mknod");
    assert!(status.success(), "mknod {}", path.display());
}

/// The ownership tests need root (to make files of another user); without it they fail,
/// never pass quietly.
#[track_caller]
fn require_root(what: &str) {
    let uid = fs::metadata("/proc/self").expect("read /proc/self").uid();
    assert_eq!(
        uid, 0,
        "{what}: this test must run as root (it gives files to uid {NOBODY}); it runs as uid {uid}"
    );
}

fn owner(path: &Path) -> (u32, u32) {
    let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.uid(), meta.gid())
}

/// A temp directory of root's holding `top`, a directory given to nobody: what is made
/// inside `top` goes to nobody, and the temp directory must stay root's.
fn nobodys_dir_in_roots() -> (tempfile::TempDir, PathBuf) {
    let outer = tempfile::tempdir().unwrap();
    let top = outer.path().join("top");
    fs::create_dir(&top).unwrap();
    give_to_nobody(&top);
    (outer, top)
}

/// The sandbox's data directory, made and given to nobody (no users.json in it yet).
fn nobodys_data_dir(sb: &Sandbox) {
    let dir = sb.data.parent().unwrap();
    fs::create_dir(dir).unwrap();
    give_to_nobody(dir);
}

fn give_to_nobody(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).unwrap();
}

// --- Row 7: a root write keeps the data's owner ---

#[test]
fn a_save_by_root_keeps_the_owner_and_group_of_every_file() {
    require_root("ownership");
    let sb = Sandbox::with_file(&alice());
    let dir = sb.data.parent().unwrap().to_path_buf();
    give_to_nobody(&dir);
    give_to_nobody(&sb.data);
    // Each kind of save: a change, a rewrite by a login, a new account, a removal.
    for (what, out) in [
        ("unlock", sb.run(&["user", "unlock", "alice"])),
        ("verify", sb.verify("alice", PW)),
        ("add", sb.add("bob", PW2)),
        ("remove", sb.run(&["user", "remove", "bob"])),
    ] {
        out.expect_no_panic().expect_code(0);
        assert_eq!(owner(&sb.data), (NOBODY, NOBODY), "users.json after {what}");
        assert_eq!(common::mode(&sb.data), 0o600, "users.json after {what}");
        for name in ["users.json.lock", "events.jsonl"] {
            let path = beside(&sb, name);
            assert_eq!(owner(&path), (NOBODY, NOBODY), "{name} after {what}");
            assert_eq!(common::mode(&path), 0o600, "{name} after {what}");
        }
        assert_eq!(owner(&dir), (NOBODY, NOBODY), "the directory after {what}");
    }
    assert_eq!(sb.usernames(), ["alice"]);
}

#[test]
fn files_root_creates_in_another_users_directory_belong_to_that_user() {
    require_root("ownership");
    // No users.json yet: the directory's owner is the data's owner.
    let sb = Sandbox::new();
    nobodys_data_dir(&sb);
    sb.add("alice", PW).expect_no_panic().expect_code(0);
    for name in ["users.json", "users.json.lock", "events.jsonl"] {
        assert_eq!(owner(&beside(&sb, name)), (NOBODY, NOBODY), "{name}");
    }

    // No directory either: what authtui creates goes to the owner of the nearest
    // directory that exists.
    let (outer, top) = nobodys_dir_in_roots();
    let data = top.join("a/b/users.json");
    let mut cmd = sb.bare_command(&["--data-file", data.to_str().unwrap(), "--cost", "4"]);
    cmd.args(["user", "add", "alice", "--password-stdin"]);
    common::run(cmd, Some(format!("{PW}\n").as_bytes()))
        .expect_no_panic()
        .expect_code(0);
    for path in [
        top.join("a"),
        top.join("a/b"),
        data.clone(),
        data.with_file_name("users.json.lock"),
        data.with_file_name("events.jsonl"),
    ] {
        assert_eq!(owner(&path), (NOBODY, NOBODY), "{}", path.display());
    }
    assert_eq!(common::mode(&top.join("a")), 0o700);
    // Only what it created: the directories above the nearest one keep their owner.
    assert_eq!(
        owner(outer.path()),
        (0, 0),
        "a directory that was there was given away"
    );
}

#[test]
fn directories_root_creates_for_a_sqlite_store_belong_to_the_nearest_ones_owner() {
    require_root("ownership");
    let sb = Sandbox::new();
    let (outer, top) = nobodys_dir_in_roots();
    let db = top.join("a/b/users.db");
    let store = format!("sqlite:{}", db.display());
    let mut cmd = sb.bare_command(&["--store", &store, "--cost", "4"]);
    cmd.args(["user", "add", "alice", "--password-stdin"]);
    common::run(cmd, Some(format!("{PW}\n").as_bytes()))
        .expect_no_panic()
        .expect_code(0);
    for path in [top.join("a"), top.join("a/b"), db.clone()] {
        assert_eq!(owner(&path), (NOBODY, NOBODY), "{}", path.display());
    }
    assert_eq!(
        owner(outer.path()),
        (0, 0),
        "a directory that was there was given away"
    );
}

#[test]
fn files_that_were_there_keep_their_owner_when_root_writes_beside_them() {
    require_root("ownership");
    // Only what this run creates is given to the directory's owner: a lock file and a log
    // that root made before stay root's.
    let sb = Sandbox::new();
    nobodys_data_dir(&sb);
    for name in ["users.json.lock", "events.jsonl"] {
        fs::write(beside(&sb, name), "").unwrap();
    }
    sb.add("alice", PW).expect_no_panic().expect_code(0);
    assert_eq!(owner(&sb.data), (NOBODY, NOBODY), "made by this run");
    for name in ["users.json.lock", "events.jsonl"] {
        assert_eq!(owner(&beside(&sb, name)), (0, 0), "{name}");
    }
}

#[test]
fn a_save_keeps_a_group_other_than_the_owners() {
    require_root("ownership");
    let sb = Sandbox::with_file(&alice());
    // Owned by root, group nogroup: the group is kept as it is.
    std::os::unix::fs::lchown(&sb.data, None, Some(NOBODY)).unwrap();
    sb.run(&["user", "unlock", "alice"])
        .expect_no_panic()
        .expect_code(0);
    assert_eq!(owner(&sb.data), (0, NOBODY));
}

#[test]
fn an_ordinary_users_files_in_a_shared_directory_stay_theirs() {
    require_root("ownership");
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // A directory of root's that group nogroup may write in, and nobody (of that group)
    // making the data there: only root gives files away, so what nobody makes is nobody's,
    // and making it must not fail for want of root's right to give it to the directory's
    // owner.
    let outer = tempfile::tempdir().unwrap();
    fs::set_permissions(outer.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let shared = outer.path().join("shared");
    fs::create_dir(&shared).unwrap();
    std::os::unix::fs::lchown(&shared, Some(0), Some(NOBODY)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o770)).unwrap();
    let data = shared.join("users.json");
    let sb = Sandbox::new();
    for (name, what) in [("alice", "the first save"), ("bob", "a save over nobody's file")] {
        let mut cmd = sb.bare_command(&["--data-file", data.to_str().unwrap(), "--cost", "4"]);
        cmd.args(["user", "add", name, "--password-stdin"])
            .uid(NOBODY)
            .gid(NOBODY);
        common::run(cmd, Some(format!("{PW}\n").as_bytes()))
            .expect_no_panic()
            .expect_code(0);
        for file in ["users.json", "users.json.lock", "events.jsonl"] {
            let path = shared.join(file);
            assert_eq!(owner(&path), (NOBODY, NOBODY), "{file} after {what}");
            assert_eq!(common::mode(&path), 0o600, "{file} after {what}");
        }
    }
    assert_eq!(owner(&shared), (0, NOBODY), "the directory keeps its owner");
}

// --- Row 8: only regular files ---

/// `user list`, `verify` and `user add` against the sandbox, each within [`QUICK`] and
/// under a memory limit, so that a hang or a file read without end fails the test instead
/// of stalling or swapping the machine.
fn three_commands(sb: &Sandbox) -> Vec<(&'static str, Output)> {
    let limited = |args: &[&str], input: Option<&[u8]>| {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "ulimit -v 1048576 && exec \"$0\" \"$@\"", common::bin()])
            .arg("--data-file")
            .arg(&sb.data)
            .args(["--cost", "4"])
            .args(args);
        cmd.env_remove("AUTHTUI_DATA_FILE")
            .env_remove("AUTHTUI_BCRYPT_COST")
            .env_remove("AUTHTUI_LOCK_TIMEOUT")
            .env_remove("AUTHTUI_TEST_CRASH_AT")
            .env("XDG_DATA_HOME", sb.xdg())
            .env("HOME", sb.dir.path().join("home"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        common::run_with_timeout(cmd, input, QUICK)
    };
    let line = format!("{PW2}\n");
    vec![
        ("user list", limited(&["user", "list"], None)),
        (
            "verify",
            limited(&["verify", "alice", "--password-stdin"], Some(line.as_bytes())),
        ),
        (
            "user add",
            limited(
                &["user", "add", "carol", "--password-stdin"],
                Some(line.as_bytes()),
            ),
        ),
    ]
}

#[test]
fn a_fifo_or_a_device_at_the_data_path_is_a_one_line_error() {
    for kind in ["fifo", "device"] {
        let sb = Sandbox::new();
        fs::create_dir(sb.data.parent().unwrap()).unwrap();
        match kind {
            "fifo" => mkfifo(&sb.data),
            _ => mknod_zero(&sb.data),
        }
        for (command, out) in three_commands(&sb) {
            assert_one_line_error(
                &out,
                &sb.data,
                "not a regular file",
                &format!("{kind}: {command}"),
            );
        }
    }
}

#[test]
fn dev_zero_as_the_data_file_is_refused_at_once() {
    let sb = Sandbox::new();
    // Only the commands that read first: a change would take /dev/zero.lock in /dev.
    for args in [&["user", "list"][..], &["verify", "alice", "--password-stdin"]] {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "ulimit -v 1048576 && exec \"$0\" \"$@\"", common::bin()])
            .args(["--data-file", "/dev/zero", "--cost", "4"])
            .args(args)
            .env("XDG_DATA_HOME", sb.xdg())
            .env_remove("AUTHTUI_DATA_FILE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let out = common::run_with_timeout(cmd, Some(b"x\n"), QUICK);
        assert_one_line_error(
            &out,
            Path::new("/dev/zero"),
            "not a regular file",
            &format!("{args:?}"),
        );
    }
}

#[test]
fn a_fifo_or_a_device_at_the_lock_file_is_a_one_line_error() {
    for kind in ["fifo", "device"] {
        let sb = Sandbox::with_file(&alice());
        let lock = beside(&sb, "users.json.lock");
        match kind {
            "fifo" => mkfifo(&lock),
            _ => mknod_zero(&lock),
        }
        for (command, out) in three_commands(&sb) {
            if command == "user list" {
                // Reads take no lock.
                out.expect_code(0);
                continue;
            }
            assert_one_line_error(&out, &lock, "not a regular file", &format!("{kind}: {command}"));
        }
        assert_eq!(fs::read(&sb.data).unwrap(), alice());
    }
}

#[test]
fn a_fifo_or_a_device_at_the_activity_log_is_refused_and_never_blocks() {
    for kind in ["fifo", "device"] {
        let sb = Sandbox::with_file(&alice());
        let log = beside(&sb, "events.jsonl");
        match kind {
            "fifo" => mkfifo(&log),
            _ => mknod_zero(&log),
        }
        // Reading the log is the command's whole work: a data error.
        let out = common::run_with_timeout(sb.command(&["log"]), None, QUICK);
        assert_one_line_error(&out, &log, "not a regular file", &format!("{kind}: log"));
        // Writing it is a side effect: the change stands, and a warning names the file.
        let out = common::run_with_timeout(
            sb.command(&["verify", "alice", "--password-stdin"]),
            Some(format!("{PW}\n").as_bytes()),
            QUICK,
        );
        out.expect_no_panic().expect_code(0);
        let warning = out.errors().join("\n");
        assert!(warning.contains(&log.display().to_string()), "{kind}: {out:#?}");
        assert!(warning.contains("not a regular file"), "{kind}: {out:#?}");
    }
}

// --- Row 9: no symbolic link is followed ---

#[test]
fn a_symlinked_lock_file_is_refused_and_its_target_untouched() {
    for dangling in [true, false] {
        let sb = Sandbox::with_file(&alice());
        let victim = sb.dir.path().join("victim");
        if !dangling {
            fs::write(&victim, "precious").unwrap();
        }
        let lock = beside(&sb, "users.json.lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        for (what, out) in [
            (
                "add",
                common::run_with_timeout(
                    sb.command(&["user", "add", "carol", "--password-stdin"]),
                    Some(format!("{PW2}\n").as_bytes()),
                    QUICK,
                ),
            ),
            (
                "unlock",
                common::run_with_timeout(sb.command(&["user", "unlock", "alice"]), None, QUICK),
            ),
        ] {
            assert_one_line_error(
                &out,
                &lock,
                "symbolic link",
                &format!("dangling {dangling}: {what}"),
            );
        }
        if dangling {
            assert!(!victim.exists(), "the lock's target was created");
        } else {
            assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
            assert_eq!(owner(&victim), owner(sb.dir.path()));
        }
        assert_eq!(fs::read(&sb.data).unwrap(), alice());
    }
}

#[test]
fn a_symlinked_activity_log_is_never_followed() {
    for dangling in [true, false] {
        let sb = Sandbox::with_file(&alice());
        let victim = sb.dir.path().join("victim");
        if !dangling {
            fs::write(&victim, "precious\n").unwrap();
        }
        let log = beside(&sb, "events.jsonl");
        std::os::unix::fs::symlink(&victim, &log).unwrap();
        let out = sb.verify("alice", PW);
        out.expect_no_panic().expect_code(0);
        let warning = out.errors().join("\n");
        assert!(warning.contains(&log.display().to_string()), "{out:#?}");
        assert!(warning.contains("symbolic link"), "{out:#?}");
        if dangling {
            assert!(!victim.exists(), "the log's target was created");
        } else {
            assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
            let out = sb.run(&["log"]);
            assert_one_line_error(&out, &log, "symbolic link", "log");
        }
        assert!(log.is_symlink());
    }
}

// --- Row 10: a lock held elsewhere ---

/// Holds `users.json.lock` as another process would, until dropped.
/// The CPU time this thread has used, from `/proc/thread-self/stat` (ticks of 10 ms).
fn thread_cpu() -> Duration {
    let stat = fs::read_to_string("/proc/thread-self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command's name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[test]
fn a_wait_for_the_lock_sleeps_instead_of_spinning() {
    // Rule 27: the wait costs no CPU to speak of (a wait that spun would use all of it).
    let sb = Sandbox::with_file(&alice());
    let _held = hold_lock(&sb);
    let store = authtui::store::JsonFile::new(&sb.data).with_lock_timeout(Duration::from_millis(1500));
    let before = thread_cpu();
    let started = Instant::now();
    let err = authtui::store::UserStore::update_user(&store, "alice", &mut |_| authtui::store::Change::Save)
        .unwrap_err();
    let (used, waited) = (thread_cpu() - before, started.elapsed());
    assert!(
        matches!(err, authtui::store::StoreError::LockTimeout { .. }),
        "{err}"
    );
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    assert!(
        used < Duration::from_millis(500),
        "{used:?} of CPU in a {waited:?} wait"
    );
}

fn hold_lock(sb: &Sandbox) -> File {
    let lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(beside(sb, "users.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    lock
}

#[test]
fn a_held_lock_is_announced_then_times_out_with_a_clear_error() {
    let sb = Sandbox::with_file(&alice());
    let _held = hold_lock(&sb);
    let lock = beside(&sb, "users.json.lock");
    let started = Instant::now();
    let out = common::run_with_timeout(
        sb.command(&["--lock-timeout", "3s", "user", "unlock", "alice"]),
        None,
        QUICK,
    );
    let took = started.elapsed();
    out.expect_no_panic().expect_code(2);
    assert!(took >= Duration::from_secs(3), "gave up after {took:?}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let errors = out.errors();
    assert_eq!(errors.len(), 2, "a notice and an error: {out:#?}");
    assert_eq!(
        errors[0],
        format!(
            "authtui: waiting for the lock on {}, held by another process…",
            lock.display()
        )
    );
    assert!(errors[1].contains(&lock.display().to_string()), "{out:#?}");
    assert!(errors[1].contains("3 s"), "{out:#?}");
    assert!(errors[1].contains("--lock-timeout"), "{out:#?}");
    assert_eq!(fs::read(&sb.data).unwrap(), alice());
}

#[test]
fn the_lock_timeout_comes_from_the_environment_too() {
    let sb = Sandbox::with_file(&alice());
    let _held = hold_lock(&sb);
    let mut cmd = sb.command(&["user", "unlock", "alice"]);
    cmd.env("AUTHTUI_LOCK_TIMEOUT", "1");
    let started = Instant::now();
    let out = common::run_with_timeout(cmd, None, QUICK);
    out.expect_no_panic().expect_code(2);
    assert!(started.elapsed() < Duration::from_secs(5), "{out:#?}");
    // Under the notice's 2 s: the error comes alone.
    assert_eq!(out.errors().len(), 1, "{out:#?}");
    assert!(out.errors()[0].contains("users.json.lock"), "{out:#?}");
}

#[test]
fn a_lock_released_in_time_is_waited_for_and_the_change_made() {
    let sb = Sandbox::with_file(&alice());
    let held = hold_lock(&sb);
    let child = sb
        .command(&["--lock-timeout", "20s", "user", "remove", "alice"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2600));
    drop(held);
    let out = common::wait_with_timeout(child, QUICK + QUICK);
    out.expect_no_panic().expect_code(0);
    assert_eq!(out.stdout, "Removed account alice\n");
    assert_eq!(out.errors().len(), 1, "the notice, once: {out:#?}");
    assert!(out.errors()[0].contains("waiting for the lock"), "{out:#?}");
    assert_eq!(sb.usernames(), Vec::<String>::new());
}

#[test]
fn a_lock_timeout_out_of_bounds_is_a_usage_error() {
    let sb = Sandbox::with_file(&alice());
    for bad in ["2h", "-1", "soon", "3601"] {
        let out = sb.run(&[&format!("--lock-timeout={bad}"), "user", "list"]);
        out.expect_no_panic().expect_code(2);
        assert!(out.stderr.contains("--lock-timeout"), "{bad}: {out:#?}");
    }
    let mut cmd = sb.command(&["user", "list"]);
    cmd.env("AUTHTUI_LOCK_TIMEOUT", "100000");
    let out = common::run(cmd, None);
    out.expect_code(2);
    for good in ["0", "90s", "1h"] {
        sb.run(&["--lock-timeout", good, "user", "list"]).expect_code(0);
    }
}

// --- Durability: the fsyncs are there, in order ---

/// One system call strace printed: its name and the text between its parentheses.
struct Call {
    name: String,
    args: String,
    result: String,
}

fn parse_strace(text: &str) -> Vec<Call> {
    text.lines()
        .filter_map(|line| {
            // "123 openat(AT_FDCWD, \"…\", …) = 3": -f -o prefixes each call with its pid.
            let line = line.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
            let open = line.find('(')?;
            let name = &line[..open];
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
                return None;
            }
            // strace pads before " = RESULT".
            let (args, result) = line[open + 1..].rsplit_once(" = ")?;
            let args = args.trim_end().strip_suffix(')')?;
            Some(Call {
                name: name.to_owned(),
                args: args.to_owned(),
                result: result.split_whitespace().next().unwrap_or("").to_owned(),
            })
        })
        .collect()
}

#[test]
fn a_save_writes_syncs_renames_and_syncs_the_directory_in_that_order() {
    let strace = Path::new("/usr/bin/strace");
    assert!(
        strace.exists(),
        "this test traces the binary with strace: apt-get install strace"
    );
    let sb = Sandbox::with_file(&alice());
    let trace = sb.dir.path().join("trace");
    let mut cmd = Command::new(strace);
    cmd.arg("-f")
        .arg("-o")
        .arg(&trace)
        .args([
            "-e",
            "trace=openat,open,write,pwrite64,writev,fsync,fdatasync,sync_file_range,rename,renameat,renameat2,close",
        ])
        .arg(common::bin())
        .arg("--data-file")
        .arg(&sb.data)
        // A change of accounts (a login only appends to the journal): a full save.
        .args(["--cost", "4", "user", "remove", "alice"])
        .env("XDG_DATA_HOME", sb.xdg())
        .env_remove("AUTHTUI_DATA_FILE")
        .env_remove("AUTHTUI_TEST_CRASH_AT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = common::run(cmd, None);
    out.expect_code(0);
    let text = fs::read_to_string(&trace).unwrap();
    let calls = parse_strace(&text);
    let temp = beside(&sb, "users.json.tmp").display().to_string();
    let data = sb.data_str();
    let dir = sb.data.parent().unwrap().display().to_string();
    let quoted = |s: &str| format!("\"{s}\"");

    let fd_is = |c: &Call, fd: &str| c.args.split(',').next().is_some_and(|a| a.trim() == fd);
    let is_sync = |c: &Call, fd: &str| (c.name == "fsync" || c.name == "fdatasync") && fd_is(c, fd);
    let is_write = |c: &Call, fd: &str| c.name.contains("write") && fd_is(c, fd);
    let is_close = |c: &Call, fd: &str| c.name == "close" && fd_is(c, fd);
    let after = |from: usize, what: &str, pred: &dyn Fn(&Call) -> bool| -> usize {
        match calls[from..].iter().position(pred) {
            Some(i) => from + i,
            None => panic!("no {what} after call {from} in the trace:\n{text}"),
        }
    };

    // The temp file: opened, written, synced after its last write, closed.
    let open_temp = after(0, "open of the temp file", &|c| {
        c.name.starts_with("open") && c.args.contains(&quoted(&temp))
    });
    let temp_fd = calls[open_temp].result.clone();
    let close_temp = after(open_temp, "close of the temp file", &|c| is_close(c, &temp_fd));
    let temp_life = &calls[open_temp..close_temp];
    let last_write = temp_life
        .iter()
        .rposition(|c| is_write(c, &temp_fd))
        .unwrap_or_else(|| panic!("nothing written to the temp file:\n{text}"));
    assert!(
        temp_life[last_write..].iter().any(|c| is_sync(c, &temp_fd)),
        "the temp file is not fsynced after its last write (sync_all before the rename):\n{text}"
    );
    let synced = open_temp + last_write;
    // Then the rename, then the directory: opened, fsynced, closed.
    let rename = after(synced, "rename of the temp file over users.json", &|c| {
        c.name.starts_with("rename") && c.args.contains(&quoted(&temp)) && c.args.contains(&quoted(&data))
    });
    assert!(
        calls[synced..rename].iter().any(|c| is_sync(c, &temp_fd)),
        "the temp file is not fsynced before the rename:\n{text}"
    );
    let open_dir = after(rename, "open of the directory after the rename", &|c| {
        c.name.starts_with("open") && c.args.contains(&quoted(&dir)) && c.result.parse::<u32>().is_ok()
    });
    let dir_fd = calls[open_dir].result.clone();
    let close_dir = after(open_dir, "close of the directory", &|c| is_close(c, &dir_fd));
    assert!(
        calls[open_dir..close_dir].iter().any(|c| is_sync(c, &dir_fd)),
        "the directory is not fsynced after the rename:\n{text}"
    );
}

// --- Row 10 in the app: the busy line says what it waits for ---

#[test]
fn the_app_busy_line_shows_the_lock_wait_then_the_error() {
    use authtui::auth::{Cost, Service};
    use authtui::store::{EventFile, JsonFile};
    use authtui::tui::app::{Context, Model, Msg, update};
    use authtui::tui::pool::Pool;
    use authtui::tui::screens::dashboard::TimeZone;
    use authtui::tui::worker;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen_text(model: &Model) -> String {
        let mut terminal = Terminal::new(TestBackend::new(220, 24)).unwrap();
        let theme = authtui::tui::theme::Theme { color: false };
        terminal
            .draw(|f| authtui::tui::view::view(model, f, &theme))
            .unwrap();
        authtui::tui::testing::text(terminal.backend().buffer())
    }
    let key = |code| Msg::Key(KeyEvent::new(code, KeyModifiers::NONE));

    let sb = Sandbox::with_file(&alice());
    let _held = hold_lock(&sb);
    let lock = beside(&sb, "users.json.lock");
    // As main.rs builds the app's service.
    let store = JsonFile::new(&sb.data)
        .with_lock_timeout(Duration::from_secs(3))
        .with_lock_notice(std::sync::Arc::new(worker::lock_notice));
    let service = Service::new(store, Cost::new(4).unwrap()).with_log(EventFile::beside(&sb.data));
    let pool = Pool::new(std::sync::Arc::new(service), 1, 4);
    let (client, rx) = pool.channel();

    let mut model = Model::new(
        Context {
            data_file: sb.data_str(),
            cost: Cost::new(4).unwrap(),
            time_zone: TimeZone::Utc,
            idle_timeout: None,
            peer: None,
            clock: Instant::now,
        },
        Instant::now(),
    );
    model.size = (220, 24);
    let mut cmd = None;
    for msg in "alice"
        .chars()
        .map(|c| key(KeyCode::Char(c)))
        .chain([key(KeyCode::Enter)])
        .chain(PW.chars().map(|c| key(KeyCode::Char(c))))
        .chain([key(KeyCode::Enter)])
    {
        cmd = update(&mut model, msg).or(cmd);
    }
    client
        .submit(cmd.expect("Enter on the password logs in"))
        .expect("room in the queue");
    assert!(screen_text(&model).contains("Logging in…"));

    let started = Instant::now();
    let notice = rx.recv_timeout(QUICK).expect("a notice");
    let waited = started.elapsed();
    assert!(
        matches!(notice, Msg::LockWait(_)),
        "the first message is the notice"
    );
    assert!(waited >= Duration::from_millis(1500), "noticed after {waited:?}");
    update(&mut model, notice);
    let shown = screen_text(&model);
    let line = format!(
        "Waiting for the lock on {}, held by another process…",
        lock.display()
    );
    assert!(shown.contains(&line), "{shown}");
    assert!(model.busy.is_some());

    let done = rx.recv_timeout(QUICK).expect("the answer");
    assert!(matches!(done, Msg::Done { .. }));
    update(&mut model, done);
    assert!(model.busy.is_none());
    let shown = screen_text(&model);
    assert!(shown.contains(&lock.display().to_string()), "{shown}");
    assert!(shown.contains("not released within 3 s"), "{shown}");
    pool.finish(Duration::from_secs(1));
}
