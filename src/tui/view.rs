//! Drawing: the whole screen from the model alone. This is the only code that places the
//! cursor.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{BannerKind, Model, Screen};
use super::screens::dashboard::Dashboard;
use super::screens::login::LoginScreen;
use super::screens::signup::SignupScreen;
use super::screens::{CARD_WIDTH, MIN_CARD_WIDTH};
use super::theme::Theme;

/// Braille spinner frames.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Rows around the card: header, blank, banner, blank / blank, footer.
const CHROME_ROWS: u16 = 6;

fn card_height(screen: &Screen) -> u16 {
    match screen {
        Screen::Login(_) => LoginScreen::height(),
        Screen::Signup(_) => SignupScreen::height(),
        Screen::Dashboard(_) => Dashboard::HEIGHT,
    }
}

/// The smallest terminal the screen fits in.
pub fn min_size(screen: &Screen) -> (u16, u16) {
    (MIN_CARD_WIDTH + 2, card_height(screen) + CHROME_ROWS)
}

fn keys(screen: &Screen) -> &'static [(&'static str, &'static str)] {
    match screen {
        Screen::Login(_) => LoginScreen::KEYS,
        Screen::Signup(_) => SignupScreen::KEYS,
        Screen::Dashboard(_) => Dashboard::KEYS,
    }
}

pub fn view(model: &Model, frame: &mut Frame, theme: &Theme) {
    let area = frame.area();
    let (min_w, min_h) = min_size(&model.screen);
    if area.width < min_w || area.height < min_h {
        draw_too_small(frame, area, min_w, min_h);
        return;
    }
    let [header, _, banner, _, body, note, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);

    draw_header(frame, header, model, theme);
    draw_banner(frame, banner, model, theme);
    let width = CARD_WIDTH.min(area.width - 2);
    let height = card_height(&model.screen).min(body.height);
    let card = Rect::new(
        body.x + (body.width - width) / 2,
        body.y + (body.height - height) / 3,
        width,
        height,
    );
    let busy = model.busy.is_some();
    match &model.screen {
        Screen::Login(s) => s.draw(frame, card, theme, busy),
        Screen::Signup(s) => s.draw(frame, card, theme, busy),
        Screen::Dashboard(d) => d.draw(
            frame,
            card,
            theme,
            &model.context.data_file,
            model.context.time_zone,
        ),
    }
    draw_footer(frame, note, footer, model, theme);
}

fn draw_header(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let left = Paragraph::new(Line::from(vec![
        Span::styled(" authtui", theme.title()),
        Span::styled(format!(" · {}", model.screen.title()), theme.dim()),
    ]));
    frame.render_widget(left, area);
    if let Screen::Dashboard(d) = &model.screen {
        let who = Paragraph::new(Span::styled(
            format!("signed in as {} ", d.session.username()),
            theme.dim(),
        ))
        .alignment(Alignment::Right);
        frame.render_widget(who, area);
    }
}

fn draw_banner(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let line = if let Some(busy) = &model.busy {
        let spin = SPINNER[busy.frame % SPINNER.len()];
        Line::from(Span::styled(format!(" {spin} {}…", busy.label), theme.info()))
    } else if let Some(banner) = &model.banner {
        let (symbol, style) = match banner.kind {
            BannerKind::Error => ("✖", theme.error()),
            BannerKind::Success => ("✔", theme.success()),
            BannerKind::Info => ("ℹ", theme.info()),
        };
        Line::from(Span::styled(format!(" {symbol} {}", banner.text), style))
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
    if model.context.cost.is_for_tests_only() {
        let note = format!("bcrypt cost {}: tests only ", model.context.cost);
        let note = Paragraph::new(Span::styled(note, theme.warning())).alignment(Alignment::Right);
        frame.render_widget(note, note_area);
    }
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
