//! The Dashboard: reachable only with the `Session` a login or signup hands out.

use std::sync::Arc;

use chrono::{DateTime, Local, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::theme::Theme;
use super::card_block;
use crate::auth::Session;
use crate::store::Event;

pub struct Dashboard {
    /// Shared with the worker thread while a request about this account runs.
    pub session: Arc<Session>,
    /// The account's newest events, newest first (at most five).
    pub events: Vec<Event>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DashboardAction {
    None,
    LogOut,
    LogOutAndQuit,
    ChangePassword,
    DeleteAccount,
}

/// How times are shown: the user's local time, or UTC (for tests that must not depend on
/// the machine's zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeZone {
    Local,
    Utc,
}

impl TimeZone {
    pub fn format(self, t: DateTime<Utc>) -> String {
        const FMT: &str = "%Y-%m-%d %H:%M";
        match self {
            TimeZone::Local => t.with_timezone(&Local).format(FMT).to_string(),
            TimeZone::Utc => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    /// Month, day and time, for lists.
    pub fn format_short(self, t: DateTime<Utc>) -> String {
        const FMT: &str = "%b %d %H:%M:%S";
        match self {
            TimeZone::Local => t.with_timezone(&Local).format(FMT).to_string(),
            TimeZone::Utc => t.format(FMT).to_string(),
        }
    }
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ if secs < 2 * 86_400 => "1 day ago".to_owned(),
        _ => format!("{} days ago", secs / 86_400),
    }
}

impl Dashboard {
    pub const TITLE: &'static str = "Dashboard";
    pub const KEYS: &'static [(&'static str, &'static str)] = &[
        ("p", "change password"),
        ("d", "delete account"),
        ("l", "log out"),
        ("q", "quit"),
        ("?", "help"),
    ];
    /// How many events the Dashboard shows.
    pub const EVENTS: usize = 5;
    /// Card height: borders, blank, welcome, blank, five facts, blank, heading, events.
    pub const HEIGHT: u16 = 2 + 1 + 1 + 1 + 5 + 1 + 1 + Self::EVENTS as u16;

    pub fn new(session: Session, events: Vec<Event>) -> Dashboard {
        Dashboard {
            session: Arc::new(session),
            events,
        }
    }

    pub fn on_key(&self, key: KeyEvent) -> DashboardAction {
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return DashboardAction::None;
        }
        match key.code {
            KeyCode::Char('l') => DashboardAction::LogOut,
            KeyCode::Char('q') => DashboardAction::LogOutAndQuit,
            KeyCode::Char('p') => DashboardAction::ChangePassword,
            KeyCode::Char('d') => DashboardAction::DeleteAccount,
            _ => DashboardAction::None,
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, data_file: &str, tz: TimeZone) {
        let block = card_block(Self::TITLE, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let facts = self.session.facts();
        let name = self.session.username().as_str();
        let label = |text: &'static str| Span::styled(format!("  {text:<17}"), theme.dim());
        // pam_lastlog's lines: the previous login, and failures since it.
        let previous = match facts.previous_login_at {
            Some(t) => Line::from(vec![
                label("Previous login"),
                Span::raw(format!("{} ({})", tz.format(t), ago(t, facts.logged_in_at))),
            ]),
            None => Line::from(vec![label("Previous login"), Span::raw("First login")]),
        };
        let failed = match facts.failed_attempts_since {
            0 => Line::raw(""),
            1 => Line::styled(
                "  There was 1 failed login attempt since your last login.",
                theme.warning(),
            ),
            n => Line::styled(
                format!("  There were {n} failed login attempts since your last login."),
                theme.warning(),
            ),
        };
        let member_since = facts
            .created_at
            .map_or_else(|| "unknown".to_owned(), |t| tz.format(t));
        let width = usize::from(inner.width.saturating_sub(20));
        let mut lines = vec![
            Line::raw(""),
            Line::from(vec![Span::raw("  Welcome, "), Span::styled(name, theme.title())]),
            Line::raw(""),
            previous,
            failed,
            Line::from(vec![label("Member since"), Span::raw(member_since)]),
            Line::from(vec![
                label("Login count"),
                Span::raw(facts.login_count.to_string()),
            ]),
            Line::from(vec![
                label("Data file"),
                Span::raw(shorten_left(data_file, width)),
            ]),
            Line::raw(""),
            Line::styled("  Recent activity", theme.label(true)),
        ];
        if self.events.is_empty() {
            lines.push(Line::styled("  (none recorded)", theme.dim()));
        }
        for event in self.events.iter().take(Self::EVENTS) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<17}", tz.format_short(event.at)), theme.dim()),
                Span::raw(event.event.describe()),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// Keeps the end of a long path, which says the most: "…/share/authtui/users.json".
pub fn shorten_left(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let tail: String = text.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_reads_naturally() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let at = |s: i64| DateTime::from_timestamp(1_000_000 - s, 0).unwrap();
        assert_eq!(ago(at(5), now), "just now");
        assert_eq!(ago(at(300), now), "5 min ago");
        assert_eq!(ago(at(3 * 3600), now), "3 h ago");
        assert_eq!(ago(at(86_400 + 5), now), "1 day ago");
        assert_eq!(ago(at(5 * 86_400), now), "5 days ago");
    }

    #[test]
    fn shorten_keeps_the_end() {
        assert_eq!(shorten_left("/a/b/users.json", 40), "/a/b/users.json");
        assert_eq!(
            shorten_left("/home/someone/.local/share/authtui/users.json", 20),
            "…/authtui/users.json"
        );
        assert_eq!(shorten_left("abc", 0), "");
    }
}
