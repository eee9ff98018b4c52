//! The screens, each in its own file, and the drawing they share.

pub mod change_password;
pub mod dashboard;
pub mod delete_account;
pub mod login;
pub mod signup;

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

use super::form::{Form, Hint};
use super::theme::Theme;
use crate::auth::{Password, policy};

/// Width of a card (a form or the dashboard), when the terminal allows.
pub const CARD_WIDTH: u16 = 64;
/// The narrowest a card may be and still show its labels and a usable field.
pub const MIN_CARD_WIDTH: u16 = 48;
/// "› " + the longest label ("Current password") + a space.
const LABEL_WIDTH: u16 = 2 + 16 + 2;

/// Rows of a field: its own, a message row, and for a new password a meter row and a
/// second message row (zxcvbn's advice can be long).
fn field_rows(form: &Form, index: usize) -> u16 {
    if form.fields[index].meter.is_some() { 4 } else { 2 }
}

/// Card height for a form: a blank row, each field (its row, a meter row for new
/// passwords, a message row), a blank row, the buttons, and the borders.
pub fn form_height(form: &Form) -> u16 {
    let fields: u16 = (0..form.fields.len()).map(|i| field_rows(form, i)).sum();
    2 + 1 + fields + 1 + 1
}

/// Where a form's parts are on screen: the drawing and the mouse agree through this.
pub struct FormRects {
    /// Each field's row, label included.
    pub fields: Vec<Rect>,
    pub buttons: Vec<Rect>,
}

pub fn form_rects(card: Rect, form: &Form) -> FormRects {
    let inner = card_block("", &Theme { color: false }).inner(card);
    let mut y = inner.y + 1;
    let mut fields = Vec::new();
    for i in 0..form.fields.len() {
        fields.push(Rect::new(inner.x + 1, y, inner.width.saturating_sub(2), 1).intersection(inner));
        y += field_rows(form, i);
    }
    y += 1;
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
        x += w + 2;
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
        let mut y = row.y + 1;
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
            y += 1;
        }
        // Under the field, from the label's column: messages are longer than values.
        let message = match (&labeled.error, &labeled.hint) {
            (Some(error), _) => Some(Span::styled(format!("✖ {error}"), theme.error())),
            (None, Some(Hint { text, good: true })) => {
                Some(Span::styled(format!("✔ {text}"), theme.success()))
            }
            (None, Some(Hint { text, good: false })) => {
                Some(Span::styled(format!("⚠ {text}"), theme.warning()))
            }
            (None, None) => None,
        };
        if let Some(message) = message {
            let width = row.width.saturating_sub(2);
            let lines = if labeled.meter.is_some() { 2 } else { 1 };
            let paragraph = Paragraph::new(message).wrap(Wrap { trim: true });
            frame.render_widget(
                paragraph,
                Rect::new(row.x + 2, y, width, lines).intersection(inner),
            );
        }
    }
    for (i, (label, rect)) in form.buttons.iter().zip(&rects.buttons).enumerate() {
        let focused = form.focused_button() == Some(i);
        let button = Paragraph::new(Span::styled(format!("[ {label} ]"), theme.button(focused)));
        frame.render_widget(button, *rect);
    }
}

/// The strength meter and the note under a new password. zxcvbn takes up to ~5 ms on a
/// 72-byte password, too slow for every key press: screens mark the meter stale as keys
/// arrive and the app measures once input pauses (`Model::settle`).
pub fn measure_new_password(form: &mut Form, new: usize, username: &str) {
    let password = Password::from(form.field(new).value()).normalized();
    let strength = policy::strength(&password, username);
    form.fields[new].hint = match (&strength.problem, password.is_empty()) {
        (_, true) => None,
        (Some(problem), false) => Some(Hint {
            text: problem.to_string(),
            good: false,
        }),
        (None, false) => Some(Hint {
            text: "Meets every rule".into(),
            good: true,
        }),
    };
    form.fields[new].meter = Some(strength);
}

/// The mark under a confirmation field: cheap, so it follows every key.
pub fn mark_match(form: &mut Form, new: usize, confirm: usize) {
    let (a, b) = (form.field(new).value(), form.field(confirm).value());
    form.fields[confirm].hint = match (b.is_empty(), a == b) {
        (true, _) => None,
        (false, true) => Some(Hint {
            text: "Passwords match".into(),
            good: true,
        }),
        (false, false) => Some(Hint {
            text: "Passwords do not match".into(),
            good: false,
        }),
    };
}
