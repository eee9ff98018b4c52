//! Drawing: the whole screen from the model alone. This is the only code that places the
//! cursor.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::app::{BannerKind, Model, Screen};
use super::present;
use super::screens::{CARD_WIDTH, DrawContext, KeyHelp, keys};
use super::theme::Theme;

/// Braille spinner frames.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Rows around the card: header, blank, banner, blank / note, footer.
const CHROME_ROWS: u16 = 6;

/// The smallest terminal the screen fits in.
pub fn min_size(screen: &Screen) -> (u16, u16) {
    let page = screen.page();
    let width = page.min_width();
    (width + 2, page.height(width).saturating_add(CHROME_ROWS))
}

/// The smallest terminal the model's screen fits in, its help overlay included if open.
pub fn min_size_of(model: &Model) -> (u16, u16) {
    let (w, h) = min_size(&model.screen);
    if !model.help {
        return (w, h);
    }
    let (help_w, help_h) = help_size(model.screen.page().keys());
    (w.max(help_w), h.max(help_h))
}

fn rows(area: Rect) -> [Rect; 7] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the screen's card goes in a terminal of `size`; `None` if it does not fit.
pub fn card_area((w, h): (u16, u16), screen: &Screen) -> Option<Rect> {
    let area = Rect::new(0, 0, w, h);
    let (min_w, min_h) = min_size(screen);
    if w < min_w || h < min_h {
        return None;
    }
    let body = rows(area)[4];
    let width = CARD_WIDTH.min(area.width - 2);
    let height = screen.page().height(width).min(body.height);
    Some(Rect::new(
        body.x + (body.width - width) / 2,
        body.y + (body.height - height) / 3,
        width,
        height,
    ))
}

pub fn view(model: &Model, frame: &mut Frame, theme: &Theme) {
    let area = frame.area();
    let (min_w, min_h) = min_size_of(model);
    let card = card_area((area.width, area.height), &model.screen);
    let Some(card) = card.filter(|_| area.width >= min_w && area.height >= min_h) else {
        let (screen_w, screen_h) = min_size(&model.screen);
        let for_help = model.help && area.width >= screen_w && area.height >= screen_h;
        draw_too_small(frame, area, min_w, min_h, for_help);
        return;
    };
    let [header, _, banner, _, _, note, footer] = rows(area);
    draw_header(frame, header, model, theme);
    draw_banner(frame, banner, model, theme);
    // While the help is open or a request runs, no field shows a cursor.
    let cx = DrawContext {
        theme,
        busy: model.busy.is_some() || model.help,
        data_file: &model.context.data_file,
        time_zone: model.context.time_zone,
        peer: model.context.peer.as_deref(),
    };
    model.screen.page().draw(frame, card, &cx);
    draw_footer(frame, note, footer, model, theme);
    if model.help {
        draw_help(frame, area, model, theme);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let left = Paragraph::new(Line::from(vec![
        Span::styled(" authtui", theme.title()),
        Span::styled(format!(" · {}", model.screen.title()), theme.dim()),
    ]));
    frame.render_widget(left, area);
    if let Some(session) = model.screen.session() {
        let who = Paragraph::new(Span::styled(
            format!("signed in as {} ", present::name(session.username().as_str())),
            theme.dim(),
        ))
        .alignment(Alignment::Right);
        frame.render_widget(who, area);
    }
}

fn draw_banner(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let line = if let Some(busy) = &model.busy {
        let spin = SPINNER[busy.frame(model.now, model.context.spinner_frame()) % SPINNER.len()];
        let text = busy.notice.as_deref().unwrap_or(busy.label);
        Line::from(Span::styled(format!(" {spin} {text}…"), theme.info()))
    } else if let Some(banner) = &model.banner {
        let (symbol, style) = match banner.kind {
            BannerKind::Error => ("✖", theme.error()),
            BannerKind::Success => ("✔", theme.success()),
            BannerKind::Info => ("ℹ", theme.info()),
        };
        Line::from(Span::styled(
            format!(" {symbol} {}", banner.text_at(model.now)),
            style,
        ))
    } else {
        return;
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_footer(frame: &mut Frame, note_area: Rect, area: Rect, model: &Model, theme: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    let shown = keys::footer(model.screen.page().keys(), usize::from(area.width));
    for (i, (key, what)) in shown.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let mut notes = Vec::new();
    if let Some(timeout) = model.context.idle_timeout
        && model.screen.session().is_some()
    {
        notes.push(Span::styled(
            format!("idle log-out after {} ", present::wait(timeout)),
            theme.dim(),
        ));
    }
    if model.context.cost.is_for_tests_only() {
        if !notes.is_empty() {
            notes.push(Span::styled("· ", theme.dim()));
        }
        notes.push(Span::styled(
            format!("bcrypt cost {}: tests only ", model.context.cost),
            theme.warning(),
        ));
    }
    let mut line = Line::from(notes);
    if line.width() > usize::from(note_area.width) && line.spans.len() > 1 {
        // Too narrow for both: the cost warning matters more.
        line.spans.drain(..2);
    }
    frame.render_widget(Paragraph::new(line).alignment(Alignment::Right), note_area);
}

/// The help overlay's lines: each key of the table, and what it does.
fn help_lines<'a>(keys: &'a [KeyHelp], theme: &Theme) -> Vec<Line<'a>> {
    let key_width = keys.iter().map(|k| k.key.chars().count()).max().unwrap_or(0);
    keys.iter()
        .map(|k| {
            Line::from(vec![
                Span::styled(format!(" {:<key_width$}  ", k.key), theme.key()),
                Span::raw(k.help),
            ])
        })
        .collect()
}

/// The size of the help overlay of `keys`.
fn help_size(keys: &[KeyHelp]) -> (u16, u16) {
    let lines = help_lines(keys, &Theme { color: false });
    let width = lines.iter().map(Line::width).max().unwrap_or(0) + 3;
    let height = lines.len() + 2;
    (
        u16::try_from(width).unwrap_or(u16::MAX),
        u16::try_from(height).unwrap_or(u16::MAX),
    )
}

fn draw_help(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let keys = model.screen.page().keys();
    let lines = help_lines(keys, theme);
    let (width, height) = help_size(keys);
    let (width, height) = (width.min(area.width), height.min(area.height));
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let title = format!(" Keys: {} ", model.screen.title());
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border(true))
        .title(Span::styled(title, theme.title()))
        .title_bottom(Line::from(Span::styled(" Esc closes ", theme.dim())).alignment(Alignment::Right));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

fn draw_too_small(frame: &mut Frame, area: Rect, min_w: u16, min_h: u16, for_help: bool) {
    let text = match for_help {
        true => format!("Terminal too small for the help: need {min_w}x{min_h} (Esc closes it)"),
        false => format!("Terminal too small: need {min_w}x{min_h}"),
    };
    let lines = text.chars().count().div_ceil(usize::from(area.width.max(1))) as u16;
    let y = area.y + area.height.saturating_sub(lines) / 2;
    let message = Paragraph::new(text)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
    frame.render_widget(
        message,
        Rect::new(area.x, y, area.width, area.height - (y - area.y)),
    );
}
