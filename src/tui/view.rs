//! Drawing: the whole screen from the model alone. This is the only code that places the
//! cursor.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::app::{BannerKind, Model, Screen};
use super::screens::dashboard::Dashboard;
use super::screens::{CARD_WIDTH, MIN_CARD_WIDTH, form_height};
use super::theme::Theme;

/// Braille spinner frames.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Rows around the card: header, blank, banner, blank / note, footer.
const CHROME_ROWS: u16 = 6;

fn card_height(screen: &Screen) -> u16 {
    match screen.form() {
        Some(form) => form_height(form),
        None => Dashboard::HEIGHT,
    }
}

/// The smallest terminal the screen fits in. The Dashboard's sentences need the full card.
pub fn min_size(screen: &Screen) -> (u16, u16) {
    let width = match screen {
        Screen::Dashboard(_) => CARD_WIDTH,
        _ => MIN_CARD_WIDTH,
    };
    (width + 2, card_height(screen) + CHROME_ROWS)
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
    let height = card_height(screen).min(body.height);
    Some(Rect::new(
        body.x + (body.width - width) / 2,
        body.y + (body.height - height) / 3,
        width,
        height,
    ))
}

/// The keys of a screen, for its footer.
fn keys(screen: &Screen) -> &'static [(&'static str, &'static str)] {
    use super::screens::{
        change_password::ChangePasswordScreen as C, delete_account::DeleteAccountScreen as D,
    };
    use super::screens::{login::LoginScreen as L, signup::SignupScreen as S};
    match screen {
        Screen::Login(_) => L::KEYS,
        Screen::Signup(_) => S::KEYS,
        Screen::Dashboard(_) => Dashboard::KEYS,
        Screen::ChangePassword(_) => C::KEYS,
        Screen::DeleteAccount(_) => D::KEYS,
    }
}

/// Every key of a screen, for the help overlay.
pub fn help_keys(screen: &Screen) -> Vec<(&'static str, &'static str)> {
    let mut keys = Vec::new();
    if screen.form().is_some() {
        keys.extend([
            ("Tab, ↓", "next field or button"),
            ("Shift+Tab, ↑", "previous field or button"),
            ("Enter", "next field; submit on the last one"),
            ("←/→ Home/End", "move in the field"),
            ("Backspace/Delete", "delete a character"),
            ("Ctrl+W", "delete the word before the cursor"),
            ("Ctrl+U", "clear the field"),
            ("Ctrl+R", "show / hide the password"),
            ("Click", "focus a field or press a button"),
        ]);
    }
    keys.extend(match screen {
        Screen::Login(_) => &[("Ctrl+N", "create an account"), ("Esc", "quit")][..],
        Screen::Signup(_) => &[("Esc", "back to Log in")][..],
        Screen::ChangePassword(_) | Screen::DeleteAccount(_) => &[("Esc", "back to the Dashboard")][..],
        Screen::Dashboard(_) => &[
            ("p", "change password"),
            ("d", "delete account"),
            ("l", "log out"),
            ("q", "log out and quit"),
            ("?", "this help"),
        ][..],
    });
    keys.extend([("F1", "this help (Esc closes it)"), ("Ctrl+C", "quit")]);
    keys
}

pub fn view(model: &Model, frame: &mut Frame, theme: &Theme) {
    let area = frame.area();
    let Some(card) = card_area((area.width, area.height), &model.screen) else {
        let (min_w, min_h) = min_size(&model.screen);
        draw_too_small(frame, area, min_w, min_h);
        return;
    };
    let [header, _, banner, _, _, note, footer] = rows(area);
    draw_header(frame, header, model, theme);
    draw_banner(frame, banner, model, theme);
    // While the help is open or a request runs, no field shows a cursor.
    let busy = model.busy.is_some() || model.help;
    match &model.screen {
        Screen::Login(s) => s.draw(frame, card, theme, busy),
        Screen::Signup(s) => s.draw(frame, card, theme, busy),
        Screen::ChangePassword(s) => s.draw(frame, card, theme, busy),
        Screen::DeleteAccount(s) => s.draw(frame, card, theme, busy),
        Screen::Dashboard(d) => d.draw(
            frame,
            card,
            theme,
            &model.context.data_file,
            model.context.time_zone,
        ),
    }
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
            format!("signed in as {} ", session.username()),
            theme.dim(),
        ))
        .alignment(Alignment::Right);
        frame.render_widget(who, area);
    }
}

fn draw_banner(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let line = if let Some(busy) = &model.busy {
        let spin = SPINNER[busy.frame(model.now) % SPINNER.len()];
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
    for (i, (key, what)) in keys(&model.screen).iter().enumerate() {
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
            format!(
                "idle sign-out after {} ",
                crate::auth::format_wait(timeout.as_secs() as i64)
            ),
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
    frame.render_widget(
        Paragraph::new(Line::from(notes)).alignment(Alignment::Right),
        note_area,
    );
}

fn draw_help(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let keys = help_keys(&model.screen);
    let key_width = keys.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<key_width$}  "), theme.key()),
                Span::raw(*what),
            ])
        })
        .collect();
    let width = (lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 3).min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
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

fn draw_too_small(frame: &mut Frame, area: Rect, min_w: u16, min_h: u16) {
    let text = format!("Terminal too small: need {min_w}x{min_h}");
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
