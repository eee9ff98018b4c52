//! Passwords come from a no-echo prompt on the terminal, or as one line on standard
//! input (`--password-stdin`); never from the command line, where `ps` would show them.
//!
//! The prompt is the app's own, on raw mode: it gives the terminal back as it found it
//! whichever way the prompt ends. Enter returns the password; Ctrl+C (a byte in raw
//! mode) returns a failure with exit code 130; Ctrl+D on an empty line, end of input or
//! a read error return a failure; SIGINT, SIGTERM or SIGHUP from outside restore the
//! terminal and exit with 128 + the signal's number; a panic unwinds through the guard
//! that restores it. (rpassword, used before, raised SIGINT before restoring echo.)

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroize;

use super::Failure;
use crate::auth::Password;

/// Bytes a prompt holds at most, reserved up front so the buffer never moves (a move would
/// leave an unwiped copy behind). Far more than any password bcrypt can use (72 bytes).
const CAPACITY: usize = 1024;

/// Reads one password.
pub fn password(prompt: &str, from_stdin: bool) -> Result<Password, Failure> {
    if from_stdin {
        return read_stdin_line();
    }
    read_terminal(prompt)
}

fn cannot_prompt(e: io::Error) -> Failure {
    Failure::usage(format!(
        "cannot prompt for a password ({e}): run in a terminal, or pipe it in with --password-stdin"
    ))
}

/// The terminal to read from (standard input if it is one, else /dev/tty, as crossterm's
/// raw mode chooses) and to prompt on (/dev/tty, else standard error).
fn open_terminal() -> io::Result<(File, Box<dyn Write>)> {
    let input = if io::stdin().is_terminal() {
        File::from(io::stdin().as_fd().try_clone_to_owned()?)
    } else {
        File::open("/dev/tty")?
    };
    let output: Box<dyn Write> = match OpenOptions::new().write(true).open("/dev/tty") {
        Ok(tty) => Box::new(tty),
        Err(_) => Box::new(io::stderr()),
    };
    Ok((input, output))
}

/// True while a prompt has the terminal in raw mode.
static IN_PROMPT: AtomicBool = AtomicBool::new(false);

/// From the first prompt on, SIGINT, SIGTERM and SIGHUP are watched: during a prompt they
/// restore the terminal and exit with 128 + the signal; at any other time they do what
/// they did before (the default action).
fn watch_signals() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("prompt-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if IN_PROMPT.load(Ordering::SeqCst) {
                        let _ = crossterm::terminal::disable_raw_mode();
                        eprintln!();
                        std::process::exit(128 + signal);
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            });
    });
}

/// Raw mode for as long as it lives: dropping it (any way out, a panic included)
/// restores the terminal's modes as they were.
struct RawMode;

impl RawMode {
    fn enable() -> io::Result<RawMode> {
        watch_signals();
        IN_PROMPT.store(true, Ordering::SeqCst);
        match crossterm::terminal::enable_raw_mode() {
            Ok(()) => Ok(RawMode),
            Err(e) => {
                IN_PROMPT.store(false, Ordering::SeqCst);
                Err(e)
            }
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
        IN_PROMPT.store(false, Ordering::SeqCst);
    }
}

/// How a prompt ended, other than with a password.
enum Ended {
    Interrupted,
    EndOfInput,
    Failed(io::Error),
}

/// Prompts on the terminal and reads a line without echo.
fn read_terminal(prompt: &str) -> Result<Password, Failure> {
    let (mut input, mut output) = open_terminal().map_err(cannot_prompt)?;
    output
        .write_all(prompt.as_bytes())
        .and_then(|()| output.flush())
        .map_err(cannot_prompt)?;
    let mut line = Vec::with_capacity(CAPACITY);
    let read = {
        let raw = RawMode::enable().map_err(cannot_prompt)?;
        let read = read_line(&mut input, &mut line);
        drop(raw);
        read
    };
    // Raw mode has no output processing: the newline the terminal did not echo.
    let _ = output.write_all(b"\r\n").and_then(|()| output.flush());
    match read {
        Ok(()) => String::from_utf8(line).map(Password::new).map_err(|e| {
            e.into_bytes().zeroize();
            Failure::refused("The password is not valid UTF-8")
        }),
        Err(ended) => {
            line.zeroize();
            Err(match ended {
                Ended::Interrupted => Failure {
                    message: "interrupted".into(),
                    code: 130,
                },
                Ended::EndOfInput => Failure::usage("no password entered"),
                Ended::Failed(e) => cannot_prompt(e),
            })
        }
    }
}

/// Reads keys into `line` until Enter. Backspace deletes a character, Ctrl+U the line;
/// other control keys are ignored. Bytes beyond `CAPACITY` are dropped.
fn read_line(input: &mut impl Read, line: &mut Vec<u8>) -> Result<(), Ended> {
    let mut byte = [0u8; 1];
    let result = loop {
        match input.read(&mut byte) {
            Ok(0) => break Err(Ended::EndOfInput),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(Ended::Failed(e)),
        }
        match byte[0] {
            b'\r' | b'\n' => break Ok(()),
            0x03 => break Err(Ended::Interrupted),
            0x04 if line.is_empty() => break Err(Ended::EndOfInput),
            0x7f | 0x08 => {
                // One character: its continuation bytes, then its first byte.
                while line.pop().is_some_and(|b| b & 0xc0 == 0x80) {}
            }
            0x15 => line.zeroize(),
            b if b < 0x20 => {}
            b if line.len() < CAPACITY => line.push(b),
            _ => {}
        }
    };
    byte.zeroize();
    // What Backspace popped is still in the spare capacity.
    let len = line.len();
    line.spare_capacity_mut()
        .iter_mut()
        .for_each(|b| *b = std::mem::MaybeUninit::new(0));
    debug_assert_eq!(line.len(), len);
    result
}

/// Reads a new password: on a terminal, twice, to catch typos.
pub fn new_password(from_stdin: bool) -> Result<Password, Failure> {
    let first = password("New password: ", from_stdin)?;
    if !from_stdin {
        let again = password("Retype new password: ", false)?;
        if again.expose() != first.expose() {
            return Err(Failure::refused("Passwords do not match"));
        }
    }
    Ok(first)
}

fn read_stdin_line() -> Result<Password, Failure> {
    // Room for any password up front, so the buffer is never reallocated (which would leave
    // an unwiped copy behind).
    let mut line = Password::new(String::with_capacity(1024));
    let read = {
        let buf = line.buffer_mut();
        std::io::stdin().lock().read_line(buf)
    };
    match read {
        Ok(0) => Err(Failure::usage("no password on standard input (--password-stdin)")),
        Ok(_) => {
            let buf = line.buffer_mut();
            if buf.ends_with('\n') {
                buf.pop();
                if buf.ends_with('\r') {
                    buf.pop();
                }
            }
            Ok(line)
        }
        Err(e) => Err(Failure::usage(format!(
            "cannot read the password from standard input: {e}"
        ))),
    }
}
