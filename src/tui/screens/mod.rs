//! The screens, each in its own file, and the drawing they share.

pub mod dashboard;
pub mod login;
pub mod signup;

use ratatui::Frame;
use ratatui::layout::{Alignment, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::form::Form;
use super::theme::Theme;

/// Width of a card (a form or the dashboard), when the terminal allows.
pub const CARD_WIDTH: u16 = 64;
/// The narrowest a card may be and still show its labels and a usable field.
pub const MIN_CARD_WIDTH: u16 = 48;
/// "› " + the longest label ("Confirm password") + a space.
const LABEL_WIDTH: u16 = 2 + 16 + 2;

/// Card height for a form with `fields` fields: a blank row, two rows a field (the field
/// and its message), a blank row, the buttons, and the borders.
pub fn form_height(fields: u16) -> u16 {
    2 + 1 + 2 * fields + 1 + 1
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
    let left = inner.x + 1;
    let value_x = left + LABEL_WIDTH;
    let value_width = inner.right().saturating_sub(value_x + 1);
    let mut y = inner.y + 1;
    for (i, labeled) in form.fields.iter().enumerate() {
        let focused = form.focus == i;
        let marker = if focused { "› " } else { "  " };
        let label = Line::from(vec![
            Span::styled(marker, theme.key()),
            Span::styled(labeled.label, theme.label(focused)),
        ]);
        frame.render_widget(
            Paragraph::new(label),
            Rect::new(left, y, LABEL_WIDTH, 1).intersection(inner),
        );
        let (text, cursor) = labeled.field.visible(usize::from(value_width));
        let value_area = Rect::new(value_x, y, value_width, 1).intersection(inner);
        frame.render_widget(Paragraph::new(text).style(theme.input(focused)), value_area);
        if focused && !busy && value_area.width > 0 {
            let col = (cursor as u16).min(value_area.width - 1);
            frame.set_cursor_position(Position::new(value_area.x + col, y));
        }
        if let Some(error) = &labeled.error {
            // Under the field, from the label's column: messages are longer than values.
            let message = Paragraph::new(Span::styled(format!("✖ {error}"), theme.error()));
            let width = inner.right().saturating_sub(left + 3);
            frame.render_widget(message, Rect::new(left + 2, y + 1, width, 1).intersection(inner));
        }
        y += 2;
    }
    y += 1;
    let mut spans = Vec::new();
    for (i, label) in form.buttons.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        let focused = form.focused_button() == Some(i);
        spans.push(Span::styled(format!("[ {label} ]"), theme.button(focused)));
    }
    let buttons = Paragraph::new(Line::from(spans)).alignment(Alignment::Center);
    frame.render_widget(buttons, Rect::new(inner.x, y, inner.width, 1).intersection(inner));
}
