//! The app's own terminal input reader, in place of `crossterm::event::read`.
//!
//! crossterm keeps the bytes it reads in two buffers it never clears: the last 1 KiB read
//! from the terminal (a password typed in one burst or pasted stays there whole until a
//! longer read overwrites it) and the last escape sequence (a whole bracketed paste). So
//! the app reads the terminal itself, into buffers it wipes as soon as their bytes are
//! parsed, and parses them with crossterm's own parser (copied into `parse.rs`). The
//! events are crossterm's types, so the rest of the app is unchanged.

mod parse;

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;

use crossterm::event::Event;
use zeroize::Zeroize;

use parse::{InternalEvent, parse_event};

/// As crossterm: a terminal read returns at most about 1 KiB.
const READ_SIZE: usize = 1024;
/// Room for most escape sequences before the pending buffer must grow.
const PENDING: usize = 256;

/// Turns terminal bytes into events. Every byte it holds is wiped once it is parsed.
pub struct Parser {
    /// The bytes of the sequence being parsed (all of a paste, until its end marker).
    pending: Vec<u8>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    pub fn new() -> Parser {
        Parser {
            pending: Vec::with_capacity(PENDING),
        }
    }

    /// Parses `bytes` (one read), calling `emit` for each complete event. `more` says the
    /// read filled its buffer, so a lone Esc at its end may start a sequence.
    pub fn advance(&mut self, bytes: &[u8], more: bool, mut emit: impl FnMut(Event)) {
        for (i, &byte) in bytes.iter().enumerate() {
            self.push(byte);
            let more = i + 1 < bytes.len() || more;
            match parse_event(&self.pending, more) {
                Ok(Some(InternalEvent::Event(event))) => {
                    self.wipe();
                    emit(event);
                }
                // Replies to queries the app never makes.
                Ok(Some(_)) | Err(_) => self.wipe(),
                Ok(None) => {}
            }
        }
    }

    /// Appends a byte; when the buffer is full it moves to one twice the size and the old
    /// one is wiped (a plain `push` would leave the old bytes behind in freed memory).
    fn push(&mut self, byte: u8) {
        if self.pending.len() == self.pending.capacity() {
            let mut bigger = Vec::with_capacity(self.pending.capacity().max(PENDING) * 2);
            bigger.extend_from_slice(&self.pending);
            let mut old = std::mem::replace(&mut self.pending, bigger);
            old.zeroize();
        }
        self.pending.push(byte);
    }

    fn wipe(&mut self) {
        self.pending.as_mut_slice().zeroize();
        self.pending.clear();
    }
}

impl Drop for Parser {
    fn drop(&mut self) {
        self.pending.zeroize();
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
    fn a_paste_longer_than_the_buffer_is_whole() {
        let long = "p".repeat(3 * PENDING);
        let input = format!("\x1b[200~{long}\x1b[201~");
        let (events, parser) = parse(&[input.as_bytes()]);
        assert_eq!(events, vec![Event::Paste(long)]);
        assert!(parser.pending.is_empty());
        assert!(parser.pending.capacity() >= 3 * PENDING);
    }
}
