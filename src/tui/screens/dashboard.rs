//! The Dashboard: reachable only with the `Session` a login or signup hands out.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::change_password::ChangePassword;
use super::delete_account::DeleteAccount;
use super::keys::{HELP, KeyHelp, QUIT};
use super::{Action, CARD_WIDTH, DrawContext, Page, card_block};
use crate::auth::{Event, Session};
pub use crate::tui::present::TimeZone;
use crate::tui::present::{self, ago, shorten_left};

pub struct Dashboard {
    /// Shared with the worker thread while a request about this account runs.
    pub session: Arc<Session>,
    /// The account's newest events, newest first (at most five).
    pub events: Vec<Event>,
}

/// Esc on a screen over the Dashboard.
pub const BACK: KeyHelp = KeyHelp::new("Esc", "cancel", "back to the Dashboard", 4);

impl Dashboard {
    pub const TITLE: &'static str = "Dashboard";
    pub const KEYS: &'static [KeyHelp] = &[
        KeyHelp::new("p", "change password", "change password", 2),
        KeyHelp::new("d", "delete account", "delete account", 1),
        KeyHelp::new("l", "log out", "log out", 4),
        KeyHelp::new("q", "log out and quit", "log out and quit", 3),
        HELP,
        QUIT,
    ];
    /// How many events the Dashboard shows.
    pub const EVENTS: usize = 5;
    /// Card height: borders, blank, welcome, blank, six facts, blank, heading, events.
    pub const HEIGHT: u16 = 2 + 1 + 1 + 1 + 6 + 1 + 1 + Self::EVENTS as u16;

    pub fn new(session: Session, events: Vec<Event>) -> Dashboard {
        Dashboard {
            session: Arc::new(session),
            events,
        }
    }
}

impl Page for Dashboard {
    fn title(&self) -> &'static str {
        Self::TITLE
    }

    fn keys(&self) -> &'static [KeyHelp] {
        Self::KEYS
    }

    fn dashboard(&self) -> Option<&Dashboard> {
        Some(self)
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return Action::None;
        }
        match key.code {
            KeyCode::Char('l') => Action::LogOut,
            KeyCode::Char('q') => Action::Quit,
            KeyCode::Char('p') => Action::Open(ChangePassword::screen, None),
            KeyCode::Char('d') => Action::Open(DeleteAccount::screen, None),
            _ => Action::None,
        }
    }

    /// Its sentences need the full card.
    fn min_width(&self) -> u16 {
        CARD_WIDTH
    }

    fn height(&self, _width: u16) -> u16 {
        Self::HEIGHT
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let (theme, tz) = (cx.theme, cx.time_zone);
        let block = card_block(Self::TITLE, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let facts = self.session.facts();
        let name = present::name(self.session.username().as_str());
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
        // Where the previous login came from, when it came over the network (a row
        // only then).
        let previous_from = facts
            .previous_login_from
            .as_deref()
            .map(|from| Line::from(vec![label("Previous from"), Span::raw(present::address(from))]));
        let member_since = facts
            .created_at
            .map_or_else(|| "unknown".to_owned(), |t| tz.format(t));
        let width = usize::from(inner.width.saturating_sub(20));
        // A served session is not told where the server keeps its accounts.
        let whereabouts = match cx.peer {
            Some(peer) => Line::from(vec![label("Signed in from"), Span::raw(present::address(peer))]),
            None => Line::from(vec![
                label("Data file"),
                Span::raw(shorten_left(&crate::printable::escape(cx.data_file), width)),
            ]),
        };
        let mut lines = vec![
            Line::raw(""),
            Line::from(vec![Span::raw("  Welcome, "), Span::styled(name, theme.title())]),
            Line::raw(""),
            previous,
        ];
        lines.extend(previous_from);
        lines.extend([
            failed,
            Line::from(vec![label("Member since"), Span::raw(member_since)]),
            Line::from(vec![
                label("Login count"),
                Span::raw(facts.login_count.to_string()),
            ]),
            whereabouts,
            Line::raw(""),
            Line::styled("  Recent activity", theme.label(true)),
        ]);
        if self.events.is_empty() {
            lines.push(Line::styled("  (none recorded)", theme.dim()));
        }
        for event in self.events.iter().take(Self::EVENTS) {
            let mut line = vec![
                Span::styled(format!("  {:<17}", tz.format_short(event.at)), theme.dim()),
                Span::raw(event.event.describe()),
            ];
            if let Some(from) = &event.from {
                line.push(Span::styled(
                    format!(" · {}", present::address(from)),
                    theme.dim(),
                ));
            }
            lines.push(Line::from(line));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
