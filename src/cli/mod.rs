//! The admin commands: `authtui user add|list|remove|passwd|unlock`, `authtui verify`,
//! `authtui import-htpasswd`. Each prints one clear line on error and exits 0 (done),
//! 1 (refused) or 2 (usage or data error).

mod htpasswd;
mod list;
mod prompt;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::auth::{AuthError, Cost, ImportOutcome, Service};
use crate::printable;
use crate::setup::{self, Settings};
use crate::store::{EventLog, JsonFile, LockNotice, StoreError, StoreUrl, migrate};

/// Command-line arguments: global options, and a subcommand (none opens the app).
#[derive(Debug, Parser)]
#[command(
    name = "authtui",
    version,
    about = "Local accounts in a terminal: sign up, log in, a protected dashboard",
    after_help = "Exit codes: 0 done, 1 refused (wrong password, locked, policy, name taken), 2 usage or data error."
)]
pub struct Cli {
    /// The accounts file [default: $XDG_DATA_HOME/authtui/users.json]; the same as
    /// --store json:PATH
    #[arg(long, global = true, env = "AUTHTUI_DATA_FILE", value_name = "PATH")]
    pub data_file: Option<PathBuf>,

    /// The store: json:PATH, sqlite:PATH, or postgres://USER@HOST/DATABASE
    #[arg(long, global = true, env = "AUTHTUI_STORE", value_name = "URL")]
    pub store: Option<StoreUrl>,

    /// bcrypt cost for new hashes, 4-20 (below 10 is for tests only)
    #[arg(long, global = true, env = "AUTHTUI_BCRYPT_COST", value_name = "N", default_value_t = Cost::DEFAULT)]
    pub cost: Cost,

    /// Log out of the app after this long without a key: 90s, 15m, 1h; 0 never (the app
    /// only: not an option of the commands)
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Give up on a change after waiting this long for another process's lock: 30s, 2m;
    /// 0 tries once; at most 1h
    #[arg(long, global = true, env = "AUTHTUI_LOCK_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_lock_timeout)]
    pub lock_timeout: Duration,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The longest idle time-out: a week. Anything longer is refused when the options are
/// parsed, so no clock arithmetic downstream can overflow.
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// "90s", "15m", "1h", "2m30s", or plain seconds ("90"); at most `MAX_IDLE_TIMEOUT`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let too_long = || {
        format!(
            "'{}' is too long: the idle time-out is at most 7 days (168h)",
            text.trim()
        )
    };
    let duration = parse_any_duration(text)?;
    if duration > MAX_IDLE_TIMEOUT {
        return Err(too_long());
    }
    Ok(duration)
}

fn parse_any_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Digits too many for a u64 are still a number, just far too large.
        return Ok(text.parse::<u64>().map_or(Duration::MAX, Duration::from_secs));
    }
    let bad = || format!("'{text}' is not a duration like 90s, 15m or 1h");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        if number.is_empty() {
            return Err(bad());
        }
        // Past u64 the value is only "too long", which the caller says.
        let n: u64 = number.parse().unwrap_or(u64::MAX);
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .unwrap_or(u64::MAX);
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// The longest `--lock-timeout`: a wait is bounded, never "forever".
pub const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(3600);

/// A duration as [`parse_duration`] reads it, at most [`MAX_LOCK_TIMEOUT`].
pub fn parse_lock_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_duration(text)?;
    if timeout > MAX_LOCK_TIMEOUT {
        return Err(format!(
            "'{}' is longer than the longest lock wait, 1h",
            text.trim()
        ));
    }
    Ok(timeout)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Check a password like a login (throttling applies): exit 0 if it matches
    Verify {
        username: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Import the bcrypt entries of an Apache htpasswd file; others are reported and skipped
    ImportHtpasswd {
        /// The htpasswd file
        file: PathBuf,
    },
    /// Serve the app over SSH to many people at once (ssh -p 2222 localhost)
    Serve(crate::server::ServeArgs),
    /// Print the activity log (events.jsonl beside users.json, or the store's table)
    Log {
        /// Only this user's events
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// Copy every account and event of the store to another one, and check the copy
    Migrate {
        /// The store to copy into: json:PATH, sqlite:PATH, or postgres://USER@HOST/DATABASE
        #[arg(long, value_name = "URL")]
        to: StoreUrl,
        /// Add to a target that already holds accounts (none of the same names)
        #[arg(long)]
        allow_nonempty: bool,
    },
    /// Upgrade a SQLite or PostgreSQL store made by an older authtui to this one's schema
    UpgradeStore,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (the password policy applies)
    Add {
        username: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// List accounts: created, last login, failed attempts, lock
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Delete an account
    Remove { username: String },
    /// Set a new password (the password policy applies); also clears a lock
    Passwd {
        username: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Clear a lock and the failed-attempt count
    Unlock { username: String },
}

#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PasswordSource {
    /// Read the password as one line from standard input instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
}

/// An error for the person at the shell: a message and an exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    fn refused(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 1,
        }
    }

    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 2,
        }
    }

    fn data(error: StoreError) -> Failure {
        Failure::usage(error.to_string())
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Failure {
        Failure {
            code: if e.is_data_error() { 2 } else { 1 },
            message: e.to_string(),
        }
    }
}

impl Cli {
    /// How to open the store, from the options; a usage error if they contradict.
    pub fn settings(&self) -> Result<Settings, Failure> {
        Ok(Settings {
            store: setup::store_url(self.store.as_ref(), self.data_file.as_deref())
                .map_err(Failure::usage)?,
            cost: self.cost,
            lock_timeout: self.lock_timeout,
        })
    }
}

/// Runs an admin command and reports its outcome.
pub fn run(settings: &Settings, command: Command) -> ExitCode {
    match execute(settings, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

/// Prints a failure as one line on stderr and gives its exit code. The message is
/// escaped as a whole too, so that nothing in it can act on the terminal or break the line.
pub fn report(failure: Failure) -> ExitCode {
    eprintln!("authtui: {}", printable::escape(&failure.message));
    ExitCode::from(failure.code)
}

/// The service over `users.json` at `path` and `events.jsonl` beside it, with the default
/// lock wait and its notice on stderr (for benchmarks and tests).
pub fn open_service(path: &Path, cost: Cost) -> Service {
    setup::open_json(path, cost, JsonFile::DEFAULT_LOCK_TIMEOUT, stderr_lock_notice()).0
}

/// The CLI's word on a long wait for the lock: one line on stderr, once.
pub fn stderr_lock_notice() -> LockNotice {
    let told = std::sync::atomic::AtomicBool::new(false);
    std::sync::Arc::new(move |lock: &Path| {
        if !told.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!("authtui: {}", lock_wait_message(lock));
        }
    })
}

/// What a long wait for the lock is, in words.
pub fn lock_wait_message(lock: &Path) -> String {
    format!(
        "waiting for the lock on {}, held by another process…",
        lock.display()
    )
}

fn execute(settings: &Settings, command: Command) -> Result<(), Failure> {
    for warning in setup::warnings(&settings.store) {
        eprintln!("authtui: warning: {}", printable::escape(&warning));
    }
    // Before the store is opened: opening refuses an older schema.
    if let Command::UpgradeStore = command {
        return upgrade_store(settings);
    }
    let (service, log) = setup::open(settings, stderr_lock_notice()).map_err(Failure::data)?;
    let result = execute_on(&service, settings, command);
    // Lines of events.jsonl a read skipped (torn, glued, foreign): named, never fatal.
    for skipped in log.take_warnings() {
        eprintln!("authtui: warning: {}", printable::escape(&skipped));
    }
    for failure in service.take_log_failures() {
        eprintln!("authtui: warning: {}", printable::escape(&failure));
    }
    result
}

fn execute_on(service: &Service, settings: &Settings, command: Command) -> Result<(), Failure> {
    let cost = settings.cost;
    let mut out = std::io::stdout().lock();
    let hashes = matches!(
        command,
        Command::Verify { .. } | Command::User(UserCommand::Add { .. } | UserCommand::Passwd { .. })
    );
    if hashes && cost.is_for_tests_only() {
        eprintln!(
            "authtui: warning: bcrypt cost {cost} is for tests only; use {} or more",
            Cost::RECOMMENDED_MIN
        );
    }
    match command {
        Command::User(UserCommand::Add { username, password }) => {
            let password = prompt::new_password(password.password_stdin)?;
            let name = service.create_account(&username, &password)?;
            say(writeln!(
                out,
                "Created account {}",
                printable::name(name.as_str())
            ))
        }
        Command::User(UserCommand::List { json }) => {
            let accounts = service.list()?;
            say(if json {
                list::write_json(&mut out, &accounts)
            } else {
                list::write_table(&mut out, &accounts, &service.location())
            })
        }
        Command::User(UserCommand::Remove { username }) => {
            service.remove(&username)?;
            say(writeln!(
                out,
                "Removed account {}",
                printable::name(username.trim())
            ))
        }
        Command::User(UserCommand::Passwd { username, password }) => {
            // Fail fast on a typo, before asking for a password twice.
            if !service.account_exists(&username)? {
                return Err(AuthError::NoSuchUser(username.trim().to_owned()).into());
            }
            let password = prompt::new_password(password.password_stdin)?;
            service.set_password(&username, &password)?;
            say(writeln!(
                out,
                "Password set for {}",
                printable::name(username.trim())
            ))
        }
        Command::User(UserCommand::Unlock { username }) => {
            service.unlock(&username)?;
            say(writeln!(out, "Unlocked {}", printable::name(username.trim())))
        }
        Command::Verify { username, password } => {
            let password = prompt::password("Password: ", password.password_stdin)?;
            let session = service.login(&username, &password)?;
            let name = printable::name(session.username().as_str());
            say(writeln!(out, "Password for {name} is correct"))
        }
        Command::ImportHtpasswd { file } => import(service, &file, &mut out),
        Command::Migrate { to, allow_nonempty } => migrate(settings, &to, allow_nonempty),
        Command::Serve(_) => Err(Failure::usage("authtui serve is not an admin command")),
        Command::UpgradeStore => upgrade_store(settings),
        Command::Log { user } => {
            let events = service.events(user.as_deref())?;
            say(list::write_events(&mut out, &events))
        }
    }
}

/// `authtui upgrade-store`: the schema of an older authtui brought to this one's, in one
/// transaction (the store's data is kept; an older authtui cannot open it afterwards).
fn upgrade_store(settings: &Settings) -> Result<(), Failure> {
    let store = printable::escape(&settings.store.to_string());
    match setup::upgrade_store(&settings.store, settings.lock_timeout).map_err(Failure::data)? {
        Some((from, to)) => println!("Upgraded {store} from schema version {from} to {to}"),
        None => println!("{store} is already at this authtui's schema; nothing was changed"),
    }
    Ok(())
}

/// `authtui migrate --to URL`: the records copied as they are (no rule is applied again,
/// no hash recomputed), then read back and compared.
fn migrate(settings: &Settings, to: &StoreUrl, allow_nonempty: bool) -> Result<(), Failure> {
    if *to == settings.store {
        return Err(Failure::usage(format!(
            "{to} is the store being copied: name another one with --to"
        )));
    }
    for warning in setup::warnings(to) {
        eprintln!("authtui: warning: {}", printable::escape(&warning));
    }
    let (from_store, from_log) =
        setup::open_store(&settings.store, settings.lock_timeout, stderr_lock_notice())
            .map_err(Failure::data)?;
    let (to_store, to_log) =
        setup::open_store(to, settings.lock_timeout, stderr_lock_notice()).map_err(Failure::data)?;
    let from = migrate::Side {
        store: &*from_store,
        log: &*from_log,
    };
    let target = migrate::Side {
        store: &*to_store,
        log: &*to_log,
    };
    // A progress line for people watching (a terminal), nothing for scripts.
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut progress = |done: usize, total: usize| {
        if tty && total > 0 {
            eprint!("\rauthtui: copying accounts: {done} of {total}");
            if done == total {
                eprintln!();
            }
        }
    };
    let copied = migrate::copy(&from, &target, allow_nonempty, &mut progress).map_err(|e| match e {
        migrate::MigrateError::Store(e) => Failure::data(e),
        other => Failure::usage(other.to_string()),
    })?;
    for skipped in from_log.take_warnings() {
        eprintln!("authtui: warning: {}", printable::escape(&skipped));
    }
    println!(
        "Copied {} account(s) and {} event(s) from {} to {}; the copy was read back and matches",
        copied.accounts,
        copied.events,
        printable::escape(&settings.store.to_string()),
        printable::escape(&to.to_string())
    );
    Ok(())
}

fn say(written: std::io::Result<()>) -> Result<(), Failure> {
    written.map_err(|e| Failure::usage(format!("cannot write output: {e}")))
}

fn import(service: &Service, file: &Path, out: &mut impl Write) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", printable::path(file))))?;
    let parsed = htpasswd::parse(&text);
    let outcomes = service.import_hashes(&parsed.bcrypt)?;
    let mut skipped = parsed.skipped.len();
    for skip in &parsed.skipped {
        let (what, reason) = (printable::name(&skip.what), printable::escape(&skip.reason));
        say(writeln!(out, "skipped {what}: {reason}"))?;
    }
    let mut imported = 0;
    for (outcome, (original, _)) in outcomes.iter().zip(&parsed.bcrypt) {
        // Names from the file may be anything: every one is shown through `printable`.
        let original_shown = printable::name(original);
        say(match outcome {
            ImportOutcome::Imported(name) if name.as_str() == original => {
                writeln!(out, "imported {original_shown}")
            }
            ImportOutcome::Imported(name) => {
                let name = printable::name(name.as_str());
                writeln!(out, "imported {original_shown} as {name}")
            }
            ImportOutcome::Skipped { username, reason } => {
                let (username, reason) = (printable::name(username), printable::escape(reason));
                writeln!(out, "skipped {username}: {reason}")
            }
        })?;
        match outcome {
            ImportOutcome::Imported(_) => imported += 1,
            ImportOutcome::Skipped { .. } => skipped += 1,
        }
    }
    say(writeln!(out, "Imported {imported}, skipped {skipped}"))
}
