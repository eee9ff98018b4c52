//! The screens, each in its own file, and what they share: the [`Page`] trait the app
//! routes through, the [`Action`]s a screen answers with, the key tables, and the drawing
//! of a form.
//!
//! A screen owns its form: it knows its fields, turns a submit into a [`Request`] (or a
//! banner saying what is missing), and handles the result of that request. The app only
//! routes: keys and results in, actions out.

pub mod change_password;
pub mod dashboard;
pub mod delete_account;
pub mod keys;
pub mod login;
pub mod new_password;
pub mod signup;

use std::time::Instant;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use self::dashboard::Dashboard;
pub use self::keys::KeyHelp;
use super::app::{Banner, Cmd, Outcome, Screen};
use super::form::{Form, FormEvent, Hint};
use super::present::{TimeZone, wrap};
use super::theme::Theme;

/// Width of a card (a form or the dashboard), when the terminal allows.
pub const CARD_WIDTH: u16 = 64;
/// The narrowest a card may be and still show its labels and a usable field.
pub const MIN_CARD_WIDTH: u16 = 48;
/// "› " + the longest label ("Current password") + a space.
const LABEL_WIDTH: u16 = 2 + 16 + 2;

/// What a key or a result asks the app to do.
pub enum Action {
    /// Nothing more (the screen has handled it).
    None,
    /// Submit the form: the app asks the screen for its [`Request`].
    Submit,
    /// Stay, showing this banner.
    Banner(Banner),
    /// Show another screen (which carries no session of this one).
    Show(Box<Screen>, Option<Banner>),
    /// Show a screen made from this one's Dashboard (and so its session).
    Open(fn(Dashboard) -> Screen, Option<Banner>),
    /// End the session and show Log in.
    LogOut,
    /// Quit the app, ending the session first.
    Quit,
}

impl Action {
    /// Show `screen`.
    pub fn show(screen: Screen, banner: Option<Banner>) -> Action {
        Action::Show(Box::new(screen), banner)
    }
}

/// Slow work a submit asks for: the busy line's label and the command.
pub struct Request {
    pub label: &'static str,
    pub cmd: Cmd,
}

/// What a screen draws with, besides itself.
pub struct DrawContext<'a> {
    pub theme: &'a Theme,
    /// No cursor: a request runs or the help is open.
    pub busy: bool,
    pub data_file: &'a str,
    pub time_zone: TimeZone,
    /// Where the session's user is (a served session's client address); `None`: the
    /// local terminal.
    pub peer: Option<&'a str>,
}

/// One screen, as the app sees it.
pub trait Page {
    fn title(&self) -> &'static str;

    /// Every key of the screen: its footer and its help overlay are drawn from this.
    fn keys(&self) -> &'static [KeyHelp];

    fn form(&self) -> Option<&Form> {
        None
    }

    fn form_mut(&mut self) -> Option<&mut Form> {
        None
    }

    /// The signed-in Dashboard this screen is (or returns to), with its session.
    fn dashboard(&self) -> Option<&Dashboard> {
        None
    }

    fn on_key(&mut self, key: KeyEvent) -> Action;

    /// A field's text changed (a key or a paste).
    fn edited(&mut self) {}

    /// Pasted text goes to the focused field.
    fn paste(&mut self, text: &str) {
        if self.form_mut().is_some_and(|form| form.paste(text)) {
            self.edited();
        }
    }

    /// Does the work put off while keys arrive (the strength meter).
    fn settle(&mut self) {}

    /// The request for the form's values, its request id `id`; or a banner saying what is
    /// wrong (each problem marked under its field).
    fn submit(&mut self, _id: u64) -> Result<Request, Banner> {
        Err(Banner::error("Nothing to submit"))
    }

    /// The result of this screen's request (but a refusal for want of room, or a bug,
    /// which the app handles alike for every screen).
    fn on_result(&mut self, _outcome: Outcome, _now: Instant) -> Action {
        Action::None
    }

    /// The narrowest the card may be.
    fn min_width(&self) -> u16 {
        MIN_CARD_WIDTH
    }

    /// The card's height at `width` (messages wrap, so a narrower card may be taller).
    fn height(&self, width: u16) -> u16 {
        self.form().map_or(0, |form| form_height(form, width))
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        if let Some(form) = self.form() {
            draw_form(frame, area, cx.theme, self.title(), form, cx.busy);
        }
    }
}

/// The [`Page`] methods of a form screen with `TITLE`, `KEYS` and a `form`; with
/// `over_dashboard`, of one opened over its `dashboard` too.
macro_rules! form_page {
    () => {
        fn title(&self) -> &'static str {
            Self::TITLE
        }

        fn keys(&self) -> &'static [$crate::tui::screens::KeyHelp] {
            Self::KEYS
        }

        fn form(&self) -> Option<&$crate::tui::form::Form> {
            Some(&self.form)
        }

        fn form_mut(&mut self) -> Option<&mut $crate::tui::form::Form> {
            Some(&mut self.form)
        }
    };
    (over_dashboard) => {
        $crate::tui::screens::form_page!();

        fn dashboard(&self) -> Option<&$crate::tui::screens::dashboard::Dashboard> {
            Some(&self.dashboard)
        }
    };
}
pub(crate) use form_page;

/// What a key means on a form screen whose only button submits: Esc does `esc`; Enter on
/// the last field or the button submits; an edit tells the screen.
pub fn form_action(page: &mut dyn Page, key: KeyEvent, esc: impl FnOnce() -> Action) -> Action {
    if key.code == crossterm::event::KeyCode::Esc {
        return esc();
    }
    let Some(form) = page.form_mut() else {
        return Action::None;
    };
    match form.handle_key(key) {
        FormEvent::Press(_) => Action::Submit,
        FormEvent::Edited => {
            page.edited();
            Action::None
        }
        FormEvent::Handled | FormEvent::Unhandled => Action::None,
    }
}

/// The message under a field, with its symbol: an error wins over a hint.
fn message(field: &super::form::Labeled) -> Option<(String, bool, bool)> {
    match (&field.error, &field.hint) {
        (Some(error), _) => Some((format!("✖ {error}"), true, false)),
        (None, Some(Hint { text, good: true })) => Some((format!("✔ {text}"), false, true)),
        (None, Some(Hint { text, good: false })) => Some((format!("⚠ {text}"), false, false)),
        (None, None) => None,
    }
}

/// Columns a field's message has in a card `card_width` wide: inside the borders, the
/// row's margin and the label's indent.
fn message_width(card_width: u16) -> usize {
    usize::from(card_width.saturating_sub(2 + 2 + 2))
}

/// Rows of a field: its own, a meter row for a new password, and its message: one row
/// (two for a new password: zxcvbn's advice is long), more if it wraps further.
fn field_rows(form: &Form, index: usize, card_width: u16) -> u16 {
    let field = &form.fields[index];
    let meter = u16::from(field.meter.is_some());
    let reserved = 1 + meter;
    let wrapped = message(field).map_or(0, |(text, ..)| wrap(&text, message_width(card_width)).len());
    (1 + meter).saturating_add(reserved.max(u16::try_from(wrapped).unwrap_or(u16::MAX)))
}

/// Card height for a form `card_width` wide: a blank row, each field (see `field_rows`),
/// a blank row, the buttons, and the borders.
pub fn form_height(form: &Form, card_width: u16) -> u16 {
    let fields: u16 = (0..form.fields.len())
        .map(|i| field_rows(form, i, card_width))
        .fold(0, u16::saturating_add);
    fields.saturating_add(2 + 1 + 1 + 1)
}

/// Where a form's parts are on screen: the drawing and the mouse agree through this.
pub struct FormRects {
    /// Each field's row, label included.
    pub fields: Vec<Rect>,
    pub buttons: Vec<Rect>,
}

pub fn form_rects(card: Rect, form: &Form) -> FormRects {
    let inner = card_block("", &Theme { color: false }).inner(card);
    let mut y = inner.y.saturating_add(1);
    let mut fields = Vec::new();
    for i in 0..form.fields.len() {
        fields.push(Rect::new(inner.x + 1, y, inner.width.saturating_sub(2), 1).intersection(inner));
        y = y.saturating_add(field_rows(form, i, card.width));
    }
    y = y.saturating_add(1);
    let widths: Vec<u16> = form
        .buttons
        .iter()
        .map(|b| b.chars().count() as u16 + 4)
        .collect();
    let total: u16 = widths.iter().sum::<u16>() + 2 * (widths.len() as u16).saturating_sub(1);
    let mut x = inner.x + inner.width.saturating_sub(total) / 2;
    let mut buttons = Vec::new();
    for w in widths {
        buttons.push(Rect::new(x, y, w, 1).intersection(inner));
        x = x.saturating_add(w + 2);
    }
    FormRects { fields, buttons }
}

pub fn card_block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border(true))
        .title(Span::styled(format!(" {title} "), theme.title()))
}

/// Draws a form in a card; places the cursor in the focused field unless busy.
pub fn draw_form(frame: &mut Frame, area: Rect, theme: &Theme, title: &str, form: &Form, busy: bool) {
    let block = card_block(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rects = form_rects(area, form);
    for (i, (labeled, row)) in form.fields.iter().zip(&rects.fields).enumerate() {
        let focused = form.focus == i;
        let marker = if focused { "› " } else { "  " };
        let label = Line::from(vec![
            Span::styled(marker, theme.key()),
            Span::styled(labeled.label, theme.label(focused)),
        ]);
        frame.render_widget(
            Paragraph::new(label),
            Rect {
                width: LABEL_WIDTH.min(row.width),
                ..*row
            },
        );
        let value_x = row.x + LABEL_WIDTH;
        let value_width = row.right().saturating_sub(value_x);
        let (text, cursor) = labeled.field.visible(usize::from(value_width));
        let value_area = Rect::new(value_x, row.y, value_width, 1).intersection(inner);
        frame.render_widget(Paragraph::new(text).style(theme.input(focused)), value_area);
        if focused && !busy && value_area.width > 0 {
            let col = (cursor as u16).min(value_area.width - 1);
            frame.set_cursor_position(Position::new(value_area.x + col, row.y));
        }
        let mut y = row.y.saturating_add(1);
        if let Some(strength) = &labeled.meter {
            // Empty: an empty bar. Otherwise one to five segments for scores 0 to 4.
            let (filled, word) = match labeled.field.is_empty() {
                true => (0, ""),
                false => (usize::from(strength.score) + 1, strength.label()),
            };
            let bar = format!("{}{}", "▰".repeat(filled), "▱".repeat(5 - filled));
            let meter = Line::from(vec![
                Span::styled(bar, theme.strength(strength.score)),
                Span::raw(" "),
                Span::styled(word, theme.strength(strength.score)),
            ]);
            frame.render_widget(
                Paragraph::new(meter),
                Rect::new(value_x, y, value_width, 1).intersection(inner),
            );
            y = y.saturating_add(1);
        }
        // Under the field, from the label's column: messages are longer than values, and
        // wrap (the card is as tall as they need).
        if let Some((text, error, good)) = message(labeled) {
            let style = match (error, good) {
                (true, _) => theme.error(),
                (false, true) => theme.success(),
                (false, false) => theme.warning(),
            };
            let lines: Vec<Line> = wrap(&text, message_width(area.width))
                .into_iter()
                .map(|l| Line::styled(l, style))
                .collect();
            let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
            let width = row.width.saturating_sub(2);
            frame.render_widget(
                Paragraph::new(lines),
                Rect::new(row.x + 2, y, width, height).intersection(inner),
            );
        }
    }
    for (i, (label, rect)) in form.buttons.iter().zip(&rects.buttons).enumerate() {
        let focused = form.focused_button() == Some(i);
        let button = Paragraph::new(Span::styled(format!("[ {label} ]"), theme.button(focused)));
        frame.render_widget(button, *rect);
    }
}
