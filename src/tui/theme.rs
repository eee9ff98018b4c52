//! Styles, with and without colour (`NO_COLOR`). Meaning never rests on colour alone:
//! banners carry a symbol, focus carries a marker.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn error(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    pub fn success(&self) -> Style {
        self.fg(Color::LightGreen).add_modifier(Modifier::BOLD)
    }

    pub fn info(&self) -> Style {
        self.fg(Color::LightCyan)
    }

    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn key(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }

    pub fn label(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }

    /// The input area of a field: a box of colour, or underlined without colour.
    pub fn input(&self, focused: bool) -> Style {
        match (self.color, focused) {
            (true, true) => Style::new().bg(Color::Rgb(58, 58, 78)).fg(Color::White),
            (true, false) => Style::new().bg(Color::Rgb(40, 40, 48)).fg(Color::Gray),
            (false, _) => Style::new().add_modifier(Modifier::UNDERLINED),
        }
    }

    pub fn button(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        }
    }

    /// The colour of a strength score: red, yellow, green.
    pub fn strength(&self, score: u8) -> Style {
        match score {
            0 | 1 => self.fg(Color::LightRed),
            2 => self.fg(Color::Yellow),
            _ => self.fg(Color::LightGreen),
        }
    }

    pub fn border(&self, active: bool) -> Style {
        if active {
            self.fg(Color::LightCyan)
        } else {
            self.dim()
        }
    }
}
