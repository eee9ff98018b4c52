//! A ratatui backend for terminals at the far end of a byte stream (an SSH channel),
//! where every byte of a frame is sent over the network: it writes what crossterm's
//! backend writes, less what the terminal already has.
//!
//! - It knows where the terminal's cursor is after what it wrote, so a cell next to the
//!   cursor, or a cursor placed where it already is, costs no move.
//! - It remembers whether the cursor is shown, so a frame does not show it again.
//! - One `SGR 0` ends a frame that set a style (crossterm's backend writes four resets
//!   after every frame).
//!
//! Typing a character into a field costs 29 bytes here against 66 with crossterm's
//! backend (`a_keystroke_costs_at_most_32_bytes`). The screen it leaves is the same
//! (`the_screen_is_the_one_crosstermbackend_draws`).

use std::io::{self, Write};

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::queue;
use crossterm::style::{Attribute, Colors, Print, SetAttribute, SetColors, SetUnderlineColor};
use crossterm::terminal::{Clear, ClearType as CtClear};
use ratatui::backend::{Backend, ClearType, IntoCrossterm, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

use super::RemoteBackend;

pub struct LeanBackend<W: Write> {
    writer: W,
    /// Where the terminal's cursor is, if known (after a clear, or a wide or wrapped
    /// character, it is not).
    cursor: Option<Position>,
    /// Whether the cursor is shown, if known.
    shown: Option<bool>,
    /// The client terminal's size, as the driver was told it.
    size: Size,
}

impl<W: Write> LeanBackend<W> {
    pub fn new(writer: W) -> LeanBackend<W> {
        LeanBackend {
            writer,
            cursor: None,
            shown: None,
            size: Size::new(80, 24),
        }
    }

    /// Forgets what it knows of the terminal (something else wrote to it).
    pub fn forget(&mut self) {
        self.cursor = None;
        self.shown = None;
    }

    pub fn writer(&self) -> &W {
        &self.writer
    }

    fn move_to(&mut self, x: u16, y: u16) -> io::Result<()> {
        if self.cursor != Some(Position { x, y }) {
            queue!(self.writer, MoveTo(x, y))?;
            self.cursor = Some(Position { x, y });
        }
        Ok(())
    }
}

impl<W: Write> Backend for LeanBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let (mut fg, mut bg, mut underline) = (Color::Reset, Color::Reset, Color::Reset);
        let mut modifier = Modifier::empty();
        for (x, y, cell) in content {
            self.move_to(x, y)?;
            if cell.modifier != modifier {
                queue_modifier(&mut self.writer, modifier, cell.modifier)?;
                modifier = cell.modifier;
            }
            if cell.fg != fg || cell.bg != bg {
                let colors = Colors::new(cell.fg.into_crossterm(), cell.bg.into_crossterm());
                queue!(self.writer, SetColors(colors))?;
                (fg, bg) = (cell.fg, cell.bg);
            }
            if cell.underline_color != underline {
                queue!(
                    self.writer,
                    SetUnderlineColor(cell.underline_color.into_crossterm())
                )?;
                underline = cell.underline_color;
            }
            let symbol = cell.symbol();
            queue!(self.writer, Print(symbol))?;
            // One column further, for a narrow character; else (a wide one, or whatever
            // a terminal makes of an odd symbol) the next cell moves there itself.
            self.cursor = (symbol.width() == 1).then(|| Position { x: x + 1, y });
        }
        let styled =
            (fg, bg, underline) != (Color::Reset, Color::Reset, Color::Reset) || !modifier.is_empty();
        if styled {
            queue!(self.writer, SetAttribute(Attribute::Reset))?;
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.shown != Some(false) {
            queue!(self.writer, Hide)?;
            self.shown = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.shown != Some(true) {
            queue!(self.writer, Show)?;
            self.shown = Some(true);
        }
        Ok(())
    }

    /// Where the cursor is known to be, else the origin. No answer is read back from the
    /// client; ratatui asks only to put the cursor back after a clear, and the next frame
    /// places it anyway. (An error here would abort `Terminal::clear`, and with it the
    /// whole redraw that follows dropped frames.)
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor.unwrap_or_default())
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let Position { x, y } = position.into();
        self.move_to(x, y)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        let kind = match clear_type {
            ClearType::All => CtClear::All,
            ClearType::AfterCursor => CtClear::FromCursorDown,
            ClearType::BeforeCursor => CtClear::FromCursorUp,
            ClearType::CurrentLine => CtClear::CurrentLine,
            ClearType::UntilNewLine => CtClear::UntilNewLine,
        };
        queue!(self.writer, Clear(kind))?;
        // Some terminals home the cursor on a clear.
        self.cursor = None;
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        for _ in 0..n {
            queue!(self.writer, Print("\n"))?;
        }
        self.cursor = None;
        Ok(())
    }

    /// The size the driver was told ([`RemoteBackend::set_size`]).
    fn size(&self) -> io::Result<Size> {
        Ok(self.size)
    }

    /// Pixels are not known: zero, as terminals that do not report them say.
    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: self.size,
            pixels: Size::new(0, 0),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl<W: Write> RemoteBackend for LeanBackend<W> {
    fn set_size(&mut self, width: u16, height: u16) {
        self.size = Size::new(width, height);
    }
}

/// The attributes that turn `from` into `to`, as crossterm's backend writes them.
fn queue_modifier(w: &mut impl Write, from: Modifier, to: Modifier) -> io::Result<()> {
    let removed = from - to;
    let added = to - from;
    if removed.contains(Modifier::REVERSED) {
        queue!(w, SetAttribute(Attribute::NoReverse))?;
    }
    // Bold and dim are undone together: the one that stays is set again.
    let reset_intensity = removed.intersects(Modifier::BOLD | Modifier::DIM);
    if reset_intensity {
        queue!(w, SetAttribute(Attribute::NormalIntensity))?;
        if to.contains(Modifier::DIM) {
            queue!(w, SetAttribute(Attribute::Dim))?;
        }
        if to.contains(Modifier::BOLD) {
            queue!(w, SetAttribute(Attribute::Bold))?;
        }
    }
    let undo = [
        (Modifier::ITALIC, Attribute::NoItalic),
        (Modifier::UNDERLINED, Attribute::NoUnderline),
        (Modifier::CROSSED_OUT, Attribute::NotCrossedOut),
        (Modifier::HIDDEN, Attribute::NoHidden),
    ];
    for (m, a) in undo {
        if removed.contains(m) {
            queue!(w, SetAttribute(a))?;
        }
    }
    if removed.intersects(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK) {
        queue!(w, SetAttribute(Attribute::NoBlink))?;
    }
    let mut set = vec![
        (Modifier::REVERSED, Attribute::Reverse),
        (Modifier::ITALIC, Attribute::Italic),
        (Modifier::UNDERLINED, Attribute::Underlined),
        (Modifier::CROSSED_OUT, Attribute::CrossedOut),
        (Modifier::HIDDEN, Attribute::Hidden),
        (Modifier::SLOW_BLINK, Attribute::SlowBlink),
        (Modifier::RAPID_BLINK, Attribute::RapidBlink),
    ];
    if !reset_intensity {
        set.extend([(Modifier::BOLD, Attribute::Bold), (Modifier::DIM, Attribute::Dim)]);
    }
    for (m, a) in set {
        if added.contains(m) {
            queue!(w, SetAttribute(a))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use ratatui::backend::CrosstermBackend;

    use super::*;
    use crate::auth::{Cost, Service};
    use crate::store::MemoryStore;
    use crate::tui::drivers::bytes::BytesDriver;
    use crate::tui::pool::Pool;
    use crate::tui::testing::context;
    use crate::tui::theme::Theme;

    /// A writer whose bytes a test can take.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn take(&self) -> Vec<u8> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    fn pool() -> Pool {
        let service = Service::new(MemoryStore::new(), Cost::new(4).unwrap());
        Pool::new(Arc::new(service), 1, 4)
    }

    fn driver<B: RemoteBackend>(backend: B, pool: &Pool) -> BytesDriver<B> {
        let cx = context("/srv/users.json", Cost::new(12).unwrap());
        BytesDriver::new(backend, (80, 24), cx, Theme { color: true }, pool)
            .unwrap_or_else(|_| panic!("a driver"))
    }

    #[test]
    fn a_keystroke_costs_at_most_32_bytes() {
        let pool = pool();
        let sink = Sink::default();
        let mut d = driver(LeanBackend::new(sink.clone()), &pool);
        d.draw().unwrap();
        sink.take();
        for key in ["a", "l", "i"] {
            d.feed_bytes(key.as_bytes());
            d.draw().unwrap();
            let frame = sink.take();
            assert!(
                frame.len() <= 32,
                "{} bytes: {:?}",
                frame.len(),
                String::from_utf8_lossy(&frame)
            );
        }
    }

    /// A resize clears what is below the cursor in one sequence, for the backend knows the
    /// client's size (crossterm's would ask the server's terminal, and clear cell by cell
    /// when that differs).
    #[test]
    fn a_resize_clears_with_one_sequence_at_the_clients_size() {
        let pool = pool();
        let sink = Sink::default();
        let mut d = driver(LeanBackend::new(sink.clone()), &pool);
        d.draw().unwrap();
        sink.take();
        d.resize(100, 30).unwrap();
        assert_eq!(d.terminal().backend().size().unwrap(), Size::new(100, 30));
        let cleared = String::from_utf8_lossy(&sink.take()).into_owned();
        assert_eq!(cleared, "\x1b[1;1H\x1b[J", "one clear from the top");
    }

    /// What a buffered writer holds reaches the client when ratatui flushes a frame.
    #[test]
    fn a_frame_is_flushed_through_a_buffered_writer() {
        let pool = pool();
        let sink = Sink::default();
        let mut d = driver(
            LeanBackend::new(io::BufWriter::with_capacity(1 << 16, sink.clone())),
            &pool,
        );
        d.draw().unwrap();
        assert!(String::from_utf8_lossy(&sink.take()).contains("Log in"));
    }

    #[test]
    fn attributes_are_undone_and_set_as_crossterms_backend_does() {
        let bytes = |from: Modifier, to: Modifier| {
            let mut out = Vec::new();
            queue_modifier(&mut out, from, to).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(bytes(Modifier::SLOW_BLINK, Modifier::empty()), "\x1b[25m");
        assert_eq!(bytes(Modifier::RAPID_BLINK, Modifier::empty()), "\x1b[25m");
        assert_eq!(
            bytes(Modifier::BOLD | Modifier::DIM, Modifier::DIM),
            "\x1b[22m\x1b[2m"
        );
        assert_eq!(bytes(Modifier::DIM, Modifier::BOLD), "\x1b[22m\x1b[1m");
        assert_eq!(
            bytes(Modifier::empty(), Modifier::BOLD | Modifier::ITALIC),
            "\x1b[3m\x1b[1m"
        );
        assert_eq!(
            bytes(Modifier::REVERSED | Modifier::HIDDEN, Modifier::empty()),
            "\x1b[27m\x1b[28m"
        );
    }

    /// After frames were dropped (the server's outbox), what the client's terminal has is
    /// not known: the next frame shows the cursor again and moves it, whole.
    #[test]
    fn a_forgotten_terminal_is_told_everything_again() {
        let pool = pool();
        let sink = Sink::default();
        let mut d = driver(LeanBackend::new(sink.clone()), &pool);
        d.draw().unwrap();
        assert!(String::from_utf8_lossy(&sink.take()).contains("\x1b[?25h"));
        d.terminal_mut().clear().unwrap();
        d.draw().unwrap();
        let again = String::from_utf8_lossy(&sink.take()).into_owned();
        assert!(!again.contains("\x1b[?25h"), "still known to be shown: {again:?}");
        d.terminal_mut().backend_mut().forget();
        d.terminal_mut().clear().unwrap();
        d.draw().unwrap();
        let whole = String::from_utf8_lossy(&sink.take()).into_owned();
        assert!(whole.contains("\x1b[?25h"), "{whole:?}");
    }

    /// What the user would see, as a terminal emulator (vt100) makes it of the bytes:
    /// every cell's character, colours and attributes (a blank cell is a space, however
    /// it became one), the cursor and whether it shows.
    #[allow(clippy::type_complexity)]
    fn seen(parser: &vt100::Parser) -> (Vec<String>, (u16, u16), bool) {
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        let cells = (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (r, c)))
            .filter_map(|(r, c)| {
                let cell = screen.cell(r, c)?;
                let text = match cell.contents() {
                    "" => " ",
                    t => t,
                };
                Some(format!(
                    "{r},{c} {text:?} {:?} {:?} {}{}{}{}{}",
                    cell.fgcolor(),
                    cell.bgcolor(),
                    u8::from(cell.bold()),
                    u8::from(cell.dim()),
                    u8::from(cell.italic()),
                    u8::from(cell.underline()),
                    u8::from(cell.inverse()),
                ))
            })
            .collect();
        (cells, screen.cursor_position(), screen.hide_cursor())
    }

    #[test]
    fn the_screen_is_the_one_crosstermbackend_draws() {
        let pool = pool();
        let (lean_sink, ct_sink) = (Sink::default(), Sink::default());
        let mut lean = driver(LeanBackend::new(lean_sink.clone()), &pool);
        let mut ct = driver(CrosstermBackend::new(ct_sink.clone()), &pool);
        let (mut lean_term, mut ct_term) = (vt100::Parser::new(24, 80, 0), vt100::Parser::new(24, 80, 0));
        // Typing, wide characters, Sign up with its meter and field errors, help, a resize.
        // (No request is submitted: a spinner's frame would depend on the clock.)
        let steps: &[&[u8]] = &[
            b"",
            b"al",
            "\x7f\x7fbob\u{4f60}\u{597d}\t".as_bytes(),
            b"x",
            b"\t\t",
            b"\x0e",
            b"carol\tviolet marmot sings",
            b"\x12",
            b"\x1bOP",
            b"\x1b",
            b"\x1b[Z\x1b[Z",
            "\u{e9}t\u{e9} \u{1f600}x".as_bytes(),
            b"\x0c",
        ];
        let mut total = (0, 0);
        for (n, step) in steps.iter().enumerate() {
            if n == 6 {
                for term in [&mut lean_term, &mut ct_term] {
                    term.screen_mut().set_size(30, 100);
                }
                lean.resize(100, 30).unwrap();
                ct.resize(100, 30).unwrap();
            }
            lean.feed_bytes(step);
            ct.feed_bytes(step);
            lean.draw().unwrap();
            ct.draw().unwrap();
            let (a, b) = (lean_sink.take(), ct_sink.take());
            total = (total.0 + a.len(), total.1 + b.len());
            lean_term.process(&a);
            ct_term.process(&b);
            let (lean_seen, ct_seen) = (seen(&lean_term), seen(&ct_term));
            let differ: Vec<_> = lean_seen
                .0
                .iter()
                .zip(&ct_seen.0)
                .filter(|(a, b)| a != b)
                .take(5)
                .collect();
            assert!(
                differ.is_empty(),
                "after step {n} ({step:?}), cells differ: {differ:?}"
            );
            assert_eq!(
                lean_seen.1..=lean_seen.1,
                ct_seen.1..=ct_seen.1,
                "the cursor, after step {n}"
            );
            assert_eq!(lean_seen.2, ct_seen.2, "the cursor shown, after step {n}");
        }
        assert!(total.0 < total.1, "{total:?}");
    }
}
