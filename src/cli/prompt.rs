//! Passwords come from a no-echo prompt on the terminal, or as one line on standard
//! input (`--password-stdin`); never from the command line, where `ps` would show them.

use std::io::BufRead;

use super::Failure;
use crate::auth::Password;

/// Reads one password.
pub fn password(prompt: &str, from_stdin: bool) -> Result<Password, Failure> {
    if from_stdin {
        return read_stdin_line();
    }
    rpassword::prompt_password(prompt)
        .map(Password::new)
        .map_err(|e| {
            Failure::usage(format!(
                "cannot prompt for a password ({e}): run in a terminal, or pipe it in with --password-stdin"
            ))
        })
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
