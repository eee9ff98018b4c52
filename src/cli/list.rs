//! `authtui user list`: a table for people, JSON for scripts.

use std::io::{self, Write};

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use crate::auth::Event;
use crate::auth::{Account, LockState};
use crate::printable;

fn local(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn lock_text(lock: LockState) -> String {
    match lock {
        LockState::Open => "-".to_owned(),
        LockState::Until(t) => local(Some(t)),
        LockState::UntilUnlocked => "until unlocked".to_owned(),
    }
}

pub fn write_table(out: &mut impl Write, accounts: &[Account], location: &str) -> io::Result<()> {
    if accounts.is_empty() {
        return writeln!(out, "No accounts in {}", printable::escape(location));
    }
    let header = ["USERNAME", "CREATED", "LAST LOGIN", "FAILED", "LOCKED UNTIL"];
    let rows: Vec<[String; 5]> = accounts
        .iter()
        .map(|a| {
            [
                // Names from a file may be anything: printable, and at most a column wide.
                printable::printable(&a.username, 32),
                local(a.created_at),
                local(a.last_login_at),
                a.failed_attempts.to_string(),
                lock_text(a.lock),
            ]
        })
        .collect();
    // Columns are measured in display columns: a CJK name is twice as wide as its length.
    let mut widths = header.map(printable::width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(printable::width(cell));
        }
    }
    let mut line = |cells: [&str; 5]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| printable::pad(c, w))
            .collect();
        writeln!(out, "{}", text.join("  ").trim_end())
    };
    line(header)?;
    for row in &rows {
        line(row.each_ref().map(String::as_str))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonAccount<'a> {
    username: &'a str,
    created_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
    previous_login_at: Option<DateTime<Utc>>,
    login_count: u64,
    failed_attempts: u32,
    locked_until: Option<DateTime<Utc>>,
    /// Locked until an administrator runs `authtui user unlock` (after 100 failures).
    needs_unlock: bool,
}

pub fn write_json(out: &mut impl Write, accounts: &[Account]) -> io::Result<()> {
    let list: Vec<JsonAccount> = accounts
        .iter()
        .map(|a| JsonAccount {
            username: &a.username,
            created_at: a.created_at,
            last_login_at: a.last_login_at,
            previous_login_at: a.previous_login_at,
            login_count: a.login_count,
            failed_attempts: a.failed_attempts,
            locked_until: match a.lock {
                LockState::Until(t) => Some(t),
                _ => None,
            },
            needs_unlock: a.lock == LockState::UntilUnlocked,
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &list)?;
    writeln!(out)
}

/// `authtui log`: one event a line, oldest first, in local time. The name column is at
/// least 16 display columns, wider if a name (cut to 32) needs it.
pub fn write_events(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    let names: Vec<String> = events
        .iter()
        .map(|e| match e.username.as_str() {
            crate::auth::UNKNOWN_NAME => "(unknown name)".to_owned(),
            name => printable::printable(name, 32),
        })
        .collect();
    let column = names.iter().map(|n| printable::width(n)).fold(16, usize::max);
    for (e, name) in events.iter().zip(&names) {
        let at = e.at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S");
        let name = printable::pad(name, column);
        match &e.from {
            Some(from) => writeln!(
                out,
                "{at}  {name}  {} (from {})",
                e.event.describe(),
                printable::printable(from, 48)
            )?,
            None => writeln!(out, "{at}  {name}  {}", e.event.describe())?,
        }
    }
    Ok(())
}
