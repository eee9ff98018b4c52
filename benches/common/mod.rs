//! Helpers the store benchmarks share: the users.json they measure, sizes from the
//! command line, the machine, medians and Markdown tables.
#![allow(dead_code)]

pub mod plot;
pub mod stores;

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

pub fn username(i: usize) -> String {
    format!("user{i:07}")
}

pub fn initial_login_count(i: usize) -> u64 {
    (i as u64 * 7919) % 400 + 1
}

/// A time in 2025-2026 drawn from `i`, in the form the store writes (RFC 3339, UTC, `Z`).
pub fn timestamp(i: usize, salt: usize) -> String {
    let x = i
        .wrapping_mul(2_654_435_761)
        .wrapping_add(salt.wrapping_mul(40_503));
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        2025 + salt % 2,
        1 + x % 12,
        1 + (x / 12) % 28,
        (x / 336) % 24,
        (x / 8064) % 60,
        (x / 483_840) % 60
    )
}

/// Writes N accounts directly as compact JSON (the store's on-disk form), every one with
/// the same cost-12 hash and realistic facts: created, last and previous login, a login
/// count, and for one in 50 a failed attempt since.
pub fn write_users_file(path: &Path, n: usize, hash: &str) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create users.json"));
    out.write_all(br#"{"version":1,"users":{"#).unwrap();
    let mut entry = String::with_capacity(512);
    for i in 0..n {
        entry.clear();
        if i > 0 {
            entry.push(',');
        }
        let _ = write!(
            entry,
            r#""{}":{{"password_hash":"{hash}","created_at":"{}","last_login_at":"{}","previous_login_at":"{}","login_count":{}"#,
            username(i),
            timestamp(i, 0),
            timestamp(i, 3),
            timestamp(i, 1),
            initial_login_count(i),
        );
        if i % 50 == 49 {
            entry.push_str(r#","failed_attempts":1"#);
        }
        entry.push('}');
        out.write_all(entry.as_bytes()).unwrap();
    }
    out.write_all(b"}}\n").unwrap();
    out.into_inner()
        .expect("flush users.json")
        .sync_all()
        .expect("fsync users.json");
}

pub fn sizes_asked() -> Option<Vec<usize>> {
    let from_args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| parse_size(&a))
        .collect();
    if !from_args.is_empty() {
        return Some(from_args);
    }
    match std::env::var("AUTHTUI_BENCH_N") {
        Ok(list) if !list.trim().is_empty() => Some(list.split(',').map(parse_size).collect()),
        _ => None,
    }
}

pub fn parse_size(s: &str) -> usize {
    let clean: String = s.trim().chars().filter(|c| *c != '_').collect();
    let (digits, factor) = match clean.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000),
        None => match clean.strip_suffix(['m', 'M']) {
            Some(d) => (d, 1_000_000),
            None => (clean.as_str(), 1),
        },
    };
    match digits.parse::<usize>() {
        Ok(n) if n > 0 => n * factor,
        _ => panic!("not a number of users: {s:?} (e.g. 1000, 10k, 1M)"),
    }
}

pub fn env_usize(name: &str) -> Option<usize> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")),
    )
}

pub fn machine() -> String {
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{model}, {cpus} CPUs (nproc), {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The 1, 5 and 15 minute load averages, as `uptime` shows them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn median(xs: &[Duration]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().map(ms).collect();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

pub fn min(xs: &[Duration]) -> f64 {
    xs.iter().copied().map(ms).fold(f64::INFINITY, f64::min)
}

/// Milliseconds to 0.1, or to 0.01 below 10.
pub fn fmt_ms(x: f64) -> String {
    if x.abs() < 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}")
    }
}

/// "median / min".
pub fn med_min(xs: &[Duration]) -> String {
    format!("{} / {}", fmt_ms(median(xs)), fmt_ms(min(xs)))
}

pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:>w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| format!("{}:", "-".repeat(w + 1)))
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in rows {
        line(r.clone());
    }
}
