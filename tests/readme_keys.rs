//! The README's key table ("### Keys") says what each screen's key table says: every key
//! a screen has of its own is in the README under that screen, with the help's words,
//! and the README lists no key of a screen that the screen does not have.

use authtui::tui::app::{Model, update};
use authtui::tui::screens::keys::SHARED;
use authtui::tui::testing::{ctrl, key, model, signed_in};
use crossterm::event::KeyCode;

/// Where the README puts the keys every form or screen shares.
const SHARED_PLACES: [&str; 4] = ["any form", "any field", "password field", "anywhere"];

/// The rows of the README's "### Keys" table: (where, key, does).
fn readme_rows() -> Vec<(String, String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("### Keys").nth(1).expect("a ### Keys section");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect();
            assert_eq!(cells.len(), 3, "a row of three cells: {l}");
            (cells[0].clone(), cells[1].replace('`', ""), cells[2].clone())
        })
        .collect()
}

/// Every screen, reached as a person reaches it.
fn screens() -> Vec<Model> {
    let login = model();
    let mut signup = model();
    update(&mut signup, ctrl('n'));
    let dashboard = signed_in(model(), 0);
    let mut change = signed_in(model(), 0);
    update(&mut change, key(KeyCode::Char('p')));
    let mut delete = signed_in(model(), 0);
    update(&mut delete, key(KeyCode::Char('d')));
    vec![login, signup, dashboard, change, delete]
}

fn is_shared(key: &str) -> bool {
    key == "Enter" || SHARED.iter().any(|k| k.key == key)
}

#[test]
fn the_readme_key_table_matches_the_screens_tables() {
    let rows = readme_rows();
    assert!(!rows.is_empty());
    let screens = screens();
    let titles: Vec<&str> = screens.iter().map(|m| m.screen.title()).collect();
    for (place, key, does) in &rows {
        for name in place.split(", ") {
            if SHARED_PLACES.contains(&name) {
                continue;
            }
            let i = titles
                .iter()
                .position(|t| *t == name)
                .unwrap_or_else(|| panic!("README: {name:?} is no screen (one of {titles:?})"));
            let table = screens[i].screen.page().keys();
            let entry = table
                .iter()
                .find(|k| k.key == key)
                .unwrap_or_else(|| panic!("README: {name} has no key {key:?} in its table"));
            assert_eq!(entry.help, does, "README and the help differ on {name} {key}");
        }
    }
    for m in &screens {
        let title = m.screen.title();
        for entry in m.screen.page().keys().iter().filter(|k| !is_shared(k.key)) {
            assert!(
                rows.iter()
                    .any(|(place, key, _)| key == entry.key && place.split(", ").any(|p| p == title)),
                "{title}'s key {:?} is not in the README's key table",
                entry.key
            );
        }
    }
}
