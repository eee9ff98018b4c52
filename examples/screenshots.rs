//! Draws every screen of the app, with the app's own view code, on ratatui's TestBackend
//! and writes each as an SVG image to `assets/screenshots/`, for the README.
//!
//! ```sh
//! cargo run --example screenshots          # rewrites assets/screenshots/*.svg
//! ```
//!
//! The states are reached as a person would reach them: keys through `update`, and a real
//! `Service` (in memory, cost 4, a fixed clock) answering the logins.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use authtui::auth::{AuthError, Clock, Cost, FakeClock};
use authtui::tui::app::{Model, Outcome, update};
use authtui::tui::testing::{GOOD, answer, context, ctrl, key, signed_in, submit_login, type_text};
use authtui::tui::theme::Theme;
use authtui::tui::view::view;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const SIZE: (u16, u16) = (80, 24);

/// The app as a person runs it: the default data file, the default cost.
fn model() -> Model {
    Model::new(
        context("~/.local/share/authtui/users.json", Cost::DEFAULT),
        Instant::now(),
    )
}

/// alice signed up yesterday, two failed logins since, now logged in through Log in.
fn dashboard() -> Model {
    signed_in(model(), 2)
}

fn screens() -> Vec<(&'static str, Model)> {
    let mut shots = Vec::new();

    shots.push(("login", model()));

    let mut signup = model();
    update(&mut signup, ctrl('n'));
    type_text(&mut signup, "alice");
    update(&mut signup, key(KeyCode::Tab));
    type_text(&mut signup, "violet marmot sings");
    update(&mut signup, key(KeyCode::Tab));
    type_text(&mut signup, "violet marmot sings");
    signup.settle();
    shots.push(("signup", signup));

    let mut weak = model();
    update(&mut weak, ctrl('n'));
    type_text(&mut weak, "alice");
    update(&mut weak, key(KeyCode::Tab));
    type_text(&mut weak, "sunshine1985");
    update(&mut weak, key(KeyCode::Tab));
    type_text(&mut weak, "sunshine198");
    weak.settle();
    shots.push(("signup-weak", weak));

    shots.push(("dashboard", dashboard()));

    let mut locked = model();
    let cmd = submit_login(&mut locked, "wrong password");
    let now = FakeClock::at_epoch().now();
    let until = Some(now + chrono::Duration::seconds(27));
    answer(
        &mut locked,
        cmd,
        Outcome::LoggedIn(Err(AuthError::Locked { until, now })),
    );
    shots.push(("locked", locked));

    let mut change = dashboard();
    type_text(&mut change, "p");
    type_text(&mut change, GOOD);
    update(&mut change, key(KeyCode::Tab));
    type_text(&mut change, "quartz violet marmot");
    update(&mut change, ctrl('r'));
    change.settle();
    shots.push(("change-password", change));

    let mut delete = dashboard();
    type_text(&mut delete, "d");
    type_text(&mut delete, GOOD);
    update(&mut delete, key(KeyCode::Tab));
    shots.push(("delete-account", delete));

    let mut help = dashboard();
    type_text(&mut help, "?");
    shots.push(("help", help));

    shots
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots");
    std::fs::create_dir_all(&dir).expect("create assets/screenshots");
    for (name, model) in screens() {
        let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
        terminal
            .draw(|f| view(&model, f, &Theme { color: true }))
            .unwrap();
        let svg = to_svg(terminal.backend().buffer(), model.screen.title());
        let path = dir.join(format!("{name}.svg"));
        std::fs::write(&path, svg).expect("write the SVG");
        println!("wrote {}", path.display());
    }
}

// --- A terminal buffer as SVG ---

const CELL_W: f32 = 9.0;
const CELL_H: f32 = 18.0;
const PAD: f32 = 14.0;
const BG: &str = "#1b1d23";
const FG: &str = "#d5d8de";

fn hex(color: Color, default: &str) -> String {
    let named = match color {
        Color::Reset => return default.to_owned(),
        Color::Black => "#1b1d23",
        Color::Red => "#d75f5f",
        Color::Green => "#5faf5f",
        Color::Yellow => "#e5c07b",
        Color::Blue => "#5f87d7",
        Color::Magenta => "#c678dd",
        Color::Cyan => "#56b6c2",
        Color::Gray => "#abb2bf",
        Color::DarkGray => "#6b7280",
        Color::LightRed => "#ff7b72",
        Color::LightGreen => "#7ee787",
        Color::LightYellow => "#f2cc60",
        Color::LightBlue => "#79c0ff",
        Color::LightMagenta => "#d2a8ff",
        Color::LightCyan => "#76e3ea",
        Color::White => "#f0f3f6",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(_) => default,
    };
    named.to_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn to_svg(buffer: &Buffer, title: &str) -> String {
    let (w, h) = (buffer.area.width, buffer.area.height);
    let width = f32::from(w) * CELL_W + 2.0 * PAD;
    let height = f32::from(h) * CELL_H + 2.0 * PAD;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="authtui: {title}">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" rx="8" fill="{BG}"/>"#);
    let _ = writeln!(
        svg,
        r#"<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="15.5" xml:space="preserve">"#
    );
    for y in 0..h {
        let top = PAD + f32::from(y) * CELL_H;
        let baseline = top + CELL_H * 0.76;
        for x in 0..w {
            let cell = &buffer[(x, y)];
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let (mut fg, mut bg) = (hex(cell.fg, FG), hex(cell.bg, BG));
            if reversed {
                std::mem::swap(&mut fg, &mut bg);
            }
            let left = PAD + f32::from(x) * CELL_W;
            if bg != BG {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{left}" y="{top}" width="{CELL_W}" height="{CELL_H}" fill="{bg}"/>"#
                );
            }
            let symbol = cell.symbol();
            if symbol.trim().is_empty() {
                if cell.modifier.contains(Modifier::UNDERLINED) {
                    let line_y = top + CELL_H - 3.0;
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{left}" y="{line_y}" width="{CELL_W}" height="1" fill="{fg}"/>"#
                    );
                }
                continue;
            }
            let weight = if cell.modifier.contains(Modifier::BOLD) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let deco = if cell.modifier.contains(Modifier::UNDERLINED) {
                r#" text-decoration="underline""#
            } else {
                ""
            };
            let _ = writeln!(
                svg,
                r#"<text x="{left}" y="{baseline}" fill="{fg}"{weight}{deco}>{}</text>"#,
                escape(symbol)
            );
        }
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}
