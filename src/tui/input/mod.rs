//! The app's own terminal input reader and byte parser, in place of
//! `crossterm::event::read`.
//!
//! crossterm keeps the bytes it reads in two buffers it never clears: the last 1 KiB read
//! from the terminal (a password typed in one burst or pasted stays there whole until a
//! longer read overwrites it) and the last escape sequence (a whole bracketed paste). So
//! the app reads the terminal itself, into buffers it wipes as soon as their bytes are
//! parsed. Parsing is `terminput`'s (crossterm's parser, maintained as its own crate):
//! its `Event::parse_from` is a pure function of a slice the app owns, so the only buffer
//! is [`Parser`]'s, which is wiped after every event. The events are converted to
//! crossterm's types, so the rest of the app is unchanged.
//!
//! The same [`Parser`] serves every driver: the local terminal's reader below and the
//! byte-input driver (`drivers::bytes`) that a remote session feeds.
//!
//! What the parser adds to `terminput`'s: a CSI sequence ends at its final byte
//! (0x40-0x7E) whether or not it is known (crossterm and `terminput` wait for more after
//! an unknown `CSI ? ...` report, and so swallow all later input: crossterm #1104); a
//! control byte inside a sequence ends it and is parsed afresh; a sequence longer than
//! [`MAX_SEQUENCE`] is dropped; and the buffer never grows past [`MAX_PENDING`]: a paste
//! longer than that is dropped whole (up to its end marker), never typed as keys.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;

use crossterm::event::Event;
use zeroize::Zeroize;

/// As crossterm: a terminal read returns at most about 1 KiB.
const READ_SIZE: usize = 1024;
/// The most bytes the parser holds: the longest paste it passes on, markers included.
pub const MAX_PENDING: usize = 4096;
/// The longest escape sequence other than a paste.
pub const MAX_SEQUENCE: usize = 64;

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// Turns terminal bytes into events. Every byte it holds is wiped once it is parsed; it
/// holds at most [`MAX_PENDING`] bytes, allocated once.
pub struct Parser {
    /// The bytes of the sequence being parsed (all of a paste, until its end marker).
    pending: Vec<u8>,
    /// Dropping an over-long paste: the last bytes seen, to find its end marker.
    discarding: Option<[u8; 6]>,
    /// Dropping the rest of an over-long CSI sequence.
    skipping_csi: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    pub fn new() -> Parser {
        Parser {
            pending: Vec::with_capacity(MAX_PENDING),
            discarding: None,
            skipping_csi: false,
        }
    }

    /// Parses `bytes` (one read), calling `emit` for each complete event. `more` says the
    /// read filled its buffer, so a lone Esc at its end may start a sequence.
    pub fn advance(&mut self, bytes: &[u8], more: bool, mut emit: impl FnMut(Event)) {
        for (i, &byte) in bytes.iter().enumerate() {
            let more = i + 1 < bytes.len() || more;
            self.byte(byte, more, &mut emit);
        }
    }

    fn byte(&mut self, byte: u8, more: bool, emit: &mut impl FnMut(Event)) {
        if let Some(tail) = &mut self.discarding {
            tail.rotate_left(1);
            tail[5] = byte;
            if tail[..] == *PASTE_END {
                tail.zeroize();
                self.discarding = None;
            }
            return;
        }
        if self.skipping_csi {
            match byte {
                0x20..=0x3f => return,
                0x40..=0x7e => {
                    self.skipping_csi = false;
                    return;
                }
                // Not in a CSI sequence: it ended there, and this byte is input.
                _ => self.skipping_csi = false,
            }
        }
        if self.pending.len() == MAX_PENDING {
            // Only a paste gets this long: drop it whole, up to its end marker.
            let paste = self.pending.starts_with(PASTE_START);
            let mut tail = [0u8; 6];
            tail.copy_from_slice(&self.pending[MAX_PENDING - 6..]);
            self.wipe();
            if paste {
                self.discarding = Some(tail);
            }
            tail.zeroize();
            return self.byte(byte, more, emit);
        }
        self.pending.push(byte);
        if self.pending == [0x1b] && more {
            // Esc, or the start of a sequence: the next byte tells.
            return;
        }
        match csi(&self.pending) {
            Csi::Partial => return,
            Csi::Broken => {
                // This byte cannot be inside the sequence: it starts the next input.
                self.wipe();
                return self.byte(byte, more, emit);
            }
            Csi::TooLong => {
                // Dropped, with the rest of it up to its final byte.
                self.wipe();
                self.skipping_csi = true;
                return;
            }
            Csi::Complete | Csi::Other => {}
        }
        match terminput::Event::parse_from(&self.pending) {
            Ok(Some(event)) => {
                self.wipe();
                if let Ok(event) = terminput_crossterm::to_crossterm(event) {
                    emit(event);
                }
            }
            // Replies to queries the app never makes, and malformed sequences.
            Err(_) => self.wipe(),
            // A complete CSI sequence that terminput does not know, or anything too long.
            Ok(None) if self.pending.len() > MAX_SEQUENCE && !self.pending.starts_with(PASTE_START) => {
                self.wipe()
            }
            Ok(None) if csi(&self.pending) == Csi::Complete => self.wipe(),
            Ok(None) => {}
        }
    }

    fn wipe(&mut self) {
        self.pending.as_mut_slice().zeroize();
        self.pending.clear();
    }
}

#[derive(PartialEq, Eq)]
enum Csi {
    /// Not a CSI sequence, or one that `terminput` frames itself (a paste, X10 mouse,
    /// the Linux console's F1-F5).
    Other,
    /// Parameter and intermediate bytes so far: wait for the final byte.
    Partial,
    /// Ended by its final byte (0x40-0x7E).
    Complete,
    /// Its last byte can be in no CSI sequence.
    Broken,
    /// Longer than any the app knows, and not ended yet.
    TooLong,
}

/// Frames a CSI sequence (ECMA-48: parameter bytes 0x30-0x3F, intermediate bytes
/// 0x20-0x2F, one final byte 0x40-0x7E), known or not.
fn csi(pending: &[u8]) -> Csi {
    if pending.starts_with(PASTE_START) {
        return Csi::Other;
    }
    let Some(body) = pending.strip_prefix(b"\x1b[") else {
        return Csi::Other;
    };
    match body {
        [] => Csi::Partial,
        [b'M', ..] | [b'[', ..] => Csi::Other,
        [.., 0x20..=0x3f] if body.len() <= MAX_SEQUENCE => Csi::Partial,
        [.., 0x20..=0x3f] => Csi::TooLong,
        [.., 0x40..=0x7e] => Csi::Complete,
        _ => Csi::Broken,
    }
}

impl Drop for Parser {
    fn drop(&mut self) {
        self.pending.zeroize();
        if let Some(tail) = &mut self.discarding {
            tail.zeroize();
        }
    }
}

/// Reads the terminal (standard input) until it closes or `emit` returns false. The read
/// buffer is wiped after each read is parsed.
pub fn read_events(mut emit: impl FnMut(Event) -> bool) -> io::Result<()> {
    // A duplicate of fd 0, read without std's buffered `Stdin` (whose 8 KiB buffer would
    // be another copy of everything typed).
    let mut tty = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let mut buf = [0u8; READ_SIZE];
    let mut parser = Parser::new();
    let mut open = true;
    while open {
        let n = match tty.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.zeroize();
                return Err(e);
            }
        };
        parser.advance(&buf[..n], n == READ_SIZE, |event| {
            open = open && emit(event);
        });
        buf[..n].zeroize();
        super::wipe::scrub_stack();
    }
    buf.zeroize();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn parse(chunks: &[&[u8]]) -> (Vec<Event>, Parser) {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        for chunk in chunks {
            parser.advance(chunk, false, |e| events.push(e));
        }
        (events, parser)
    }

    #[test]
    fn keys_escape_sequences_and_pastes_parse_as_crossterm_does() {
        let (events, _) = parse(&[b"a\t\x1b[Z\r\x7f\x1b[3~", b"\x1b", b"\x1b[200~x y\x1b[201~\x03"]);
        assert_eq!(
            events,
            vec![
                Event::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE)),
                Event::Key(KeyCode::Tab.into()),
                Event::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
                Event::Key(KeyCode::Enter.into()),
                Event::Key(KeyCode::Backspace.into()),
                Event::Key(KeyCode::Delete.into()),
                Event::Key(KeyCode::Esc.into()),
                Event::Paste("x y".into()),
                Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            ]
        );
    }

    #[test]
    fn a_paste_split_across_reads_is_one_event() {
        let (events, _) = parse(&[b"\x1b[200~correct ", b"horse", b"\x1b[201~"]);
        assert_eq!(events, vec![Event::Paste("correct horse".into())]);
    }

    #[test]
    fn a_paste_longer_than_the_old_buffer_is_whole_and_the_buffer_does_not_grow() {
        let long = "p".repeat(3 * 256);
        let input = format!("\x1b[200~{long}\x1b[201~");
        let (events, parser) = parse(&[input.as_bytes()]);
        assert_eq!(events, vec![Event::Paste(long)]);
        assert!(parser.pending.is_empty());
        assert_eq!(parser.pending.capacity(), MAX_PENDING);
    }

    fn char(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn a_paste_longer_than_the_bound_is_dropped_whole_and_later_keys_arrive() {
        let long = "p\r".repeat(MAX_PENDING);
        let input = format!("\x1b[200~{long}\x1b[201~ab");
        let (events, parser) = parse(&[input.as_bytes()]);
        assert_eq!(events, vec![char('a'), char('b')]);
        assert!(parser.discarding.is_none());
        assert_eq!(parser.pending.capacity(), MAX_PENDING);
    }

    #[test]
    fn unknown_reports_end_at_their_final_byte() {
        // Device attributes, a DECRPM mode report, a cursor report with '?', an unknown
        // final: crossterm's parser waits for more after all but the first (#1104).
        for report in [
            &b"\x1b[?1;2c"[..],
            b"\x1b[?2026;2$y",
            b"\x1b[?12;5R",
            b"\x1b[?1;2x",
            b"\x1b[>0;276;0c",
            b"\x1b[=1;2q",
            b"\x1b[1;2;3;4;5;6w",
        ] {
            let (events, parser) = parse(&[report, b"ab"]);
            assert_eq!(events, vec![char('a'), char('b')], "{report:?}");
            assert!(parser.pending.is_empty());
            // And in one read with what follows.
            let (events, _) = parse(&[&[report, &b"ab"[..]].concat()]);
            assert_eq!(events, vec![char('a'), char('b')], "{report:?}");
        }
    }

    #[test]
    fn garbage_never_swallows_the_keys_after_it() {
        let garbage: &[&[u8]] = &[
            b"\xff\xfe\x80",
            b"\x1b[1;\x1b[A",
            b"\x1b[?\x03",
            b"\x1b[<0;1",
            b"\x1b[<0;1;2x",
            b"\x1bO\x01",
            b"\xe2\x82",
            &[b'\x1b', b'[']
                .iter()
                .chain([b'1'; 100].iter())
                .copied()
                .collect::<Vec<u8>>(),
        ];
        for bytes in garbage {
            let (events, parser) = parse(&[bytes, b"\x1b[B", b"ab"]);
            assert!(!events.contains(&char('1')), "{bytes:?} gave {events:?}");
            let keys: Vec<_> = events
                .iter()
                .filter(|e| **e == char('a') || **e == char('b'))
                .cloned()
                .collect();
            assert_eq!(keys, vec![char('a'), char('b')], "{bytes:?} gave {events:?}");
            assert!(parser.pending.is_empty(), "{bytes:?}");
        }
        // A control byte inside a sequence is itself: Ctrl+C still quits.
        let (events, _) = parse(&[b"\x1b[?\x03"]);
        assert_eq!(
            events,
            vec![Event::Key(KeyEvent::new(
                KeyCode::Char('c'),
                KeyModifiers::CONTROL
            ))]
        );
        // Esc inside a sequence starts the next one.
        let (events, _) = parse(&[b"\x1b[1;\x1b[A"]);
        assert_eq!(events, vec![Event::Key(KeyCode::Up.into())]);
    }

    /// The bytes of the parser's buffer up to `n`, spare capacity included.
    fn raw(parser: &Parser, n: usize) -> Vec<u8> {
        assert!(n <= parser.pending.capacity());
        // SAFETY: the buffer was allocated for its capacity, and its first `n` bytes were
        // all written (it once held a sequence at least `n` bytes long).
        unsafe { std::slice::from_raw_parts(parser.pending.as_ptr(), n) }.to_vec()
    }

    #[test]
    fn the_buffer_holds_no_byte_of_what_it_parsed() {
        let secret = b"\x1b[200~TwelveBytesSecret\x1b[201~TypedSecret\x1b[?1;2c\x1b[?2026;2$y\x1b[1;";
        let mut parser = Parser::new();
        parser.advance(secret, false, |_| {});
        // Only the unfinished "\x1b[1;" is held; everything before it is zeroed.
        assert_eq!(parser.pending, b"\x1b[1;");
        parser.advance(b"\x03", false, |_| {});
        assert!(parser.pending.is_empty());
        // The paste was the longest thing held: every byte the buffer ever held is zero.
        let longest = b"\x1b[200~TwelveBytesSecret\x1b[201~".len();
        assert_eq!(raw(&parser, longest), vec![0; longest]);
        // An over-long paste being dropped leaves nothing behind either.
        let long = [b"\x1b[200~".as_slice(), &[b's'; MAX_PENDING]].concat();
        parser.advance(&long, false, |_| {});
        assert!(parser.discarding.is_some());
        assert!(raw(&parser, MAX_PENDING).iter().all(|&b| b == 0));
    }

    #[test]
    fn sgr_and_x10_mouse_clicks_parse() {
        use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        let click = |column, row| {
            Event::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column,
                row,
                modifiers: KeyModifiers::NONE,
            })
        };
        let (events, _) = parse(&[b"\x1b[<0;10;5M", b"\x1b[M !!"]);
        assert_eq!(events, vec![click(9, 4), click(0, 0)]);
    }

    #[test]
    fn a_sequence_split_across_reads_is_one_event() {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        for chunk in [&b"\x1b"[..], b"[", b"<0;1", b"0;5", b"M", b"\xc3", b"\xa9"] {
            parser.advance(chunk, true, |e| events.push(e));
        }
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[1], char('é'));
    }
}
