//! The strength meter follows typing on Sign up and Change password. zxcvbn itself takes
//! milliseconds on long passwords, so a key press only marks the meter stale and the app
//! measures once input pauses (`Model::settle`).
//!
//! `cargo bench --bench strength_meter` prints (1) what one measurement costs
//! (`policy::strength`) for a set of passwords, and (2) what a key press costs: `update`
//! for one character typed into a 71-character password on Sign up, without the meter.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use authtui::auth::{Cost, Password, policy};
use authtui::tui::app::{Model, update};
use authtui::tui::testing::{context, ctrl, key};
use common::median;
use crossterm::event::KeyCode;

const CASES: &[(&str, &str)] = &[
    (
        "72 bytes, words",
        "violet marmot sings under quartz bridges at dawn while the kettle hums!!",
    ),
    (
        "72 bytes, one char",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ),
    (
        "72 bytes, sequence",
        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    (
        "72 bytes, keyboard",
        "qwertyuiopasdfghjklzxcvbnm1234567890qwertyuiopasdfghjklzxcvbnm123456789",
    ),
    (
        "72 bytes, mixed",
        "Tr0ub4dor&3-correct-horse-battery-staple-2026-11-24-alice-authtui-!!xyz",
    ),
    ("36 x é (72 bytes)", "éééééééééééééééééééééééééééééééééééé"),
    ("12 chars", "correct hors"),
];

fn main() {
    // `cargo test --benches` runs this without --bench: a quick smoke run then.
    let runs = if std::env::args().any(|a| a == "--bench") {
        200
    } else {
        3
    };
    println!("policy::strength (zxcvbn + rules), {runs} runs each\n");
    println!("| password | bytes | median | worst | worst keystroke while typing it |");
    println!("|---|--:|--:|--:|--:|");
    let mut overall = 0.0_f64;
    for (name, text) in CASES {
        let password = Password::from(*text);
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            black_box(policy::strength(black_box(&password), "alice"));
            times.push(t.elapsed());
        }
        let worst = *times.iter().max().unwrap();
        let mut typing = Duration::ZERO;
        let mut prefix = String::new();
        for c in text.chars() {
            prefix.push(c);
            let p = Password::from(prefix.as_str());
            let t = Instant::now();
            black_box(policy::strength(&p, "alice"));
            typing = typing.max(t.elapsed());
        }
        overall = overall.max(median(&times));
        println!(
            "| {name} | {} | {:.3} ms | {:.3} ms | {:.3} ms |",
            text.len(),
            median(&times),
            worst.as_secs_f64() * 1e3,
            typing.as_secs_f64() * 1e3
        );
    }
    println!("\nslowest measurement (median): {overall:.3} ms");

    // (2) A key press: update() for one character, with a 71-character password already
    // in the field, as the app handles it before settling.
    let context = authtui::tui::app::Context {
        idle_timeout: None,
        ..context("users.json", Cost::new(4).unwrap())
    };
    let mut times = Vec::new();
    for _ in 0..runs {
        let mut model = Model::new(context.clone(), Instant::now());
        update(&mut model, ctrl('n'));
        update(&mut model, key(KeyCode::Tab));
        for c in CASES[0].1.chars().take(71) {
            update(&mut model, key(KeyCode::Char(c)));
        }
        let t = Instant::now();
        update(&mut model, black_box(key(KeyCode::Char('!'))));
        times.push(t.elapsed());
    }
    let worst = *times.iter().max().unwrap();
    println!(
        "\na key press (update, meter deferred): median {:.1} µs, worst {:.1} µs (target: under 1 ms)",
        median(&times) * 1e3,
        worst.as_secs_f64() * 1e6
    );
}
