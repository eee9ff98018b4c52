//! A program started on a fresh pseudo-terminal: the one spawner of the end-to-end tests
//! (`tests/pty/mod.rs`), the prompt tests (`tests/prompt.rs`) and the live benchmark
//! (`benches/ui_live.rs`, through `#[path]`).
#![allow(dead_code)] // each includer uses its own part

use std::io::{Read, Write};
use std::path::Path;

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, SlavePty, native_pty_system};

/// The child and the pty's ends.
pub struct Spawned {
    pub child: Box<dyn Child + Send + Sync>,
    /// Kept open while the child runs: closing it hangs the terminal up.
    pub master: Box<dyn MasterPty + Send>,
    pub reader: Box<dyn Read + Send>,
    pub writer: Box<dyn Write + Send>,
}

/// `bin` with `dir` as its working directory, home and data home, and no data file from
/// the environment: it never touches the real one.
pub fn command(bin: impl AsRef<Path>, dir: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(bin.as_ref());
    cmd.cwd(dir);
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", dir);
    cmd.env("XDG_DATA_HOME", dir);
    cmd.env_remove("AUTHTUI_DATA_FILE");
    cmd
}

/// A new pty, nothing started on it yet (a reader may be started first, to time the
/// child's output from its start).
pub struct Opened {
    pub master: Box<dyn MasterPty + Send>,
    pub slave: Box<dyn SlavePty + Send>,
    pub reader: Box<dyn Read + Send>,
    pub writer: Box<dyn Write + Send>,
}

/// Opens a pty of `rows` x `cols`.
pub fn open(rows: u16, cols: u16) -> Opened {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let reader = pty.master.try_clone_reader().expect("pty reader");
    let writer = pty.master.take_writer().expect("pty writer");
    Opened {
        master: pty.master,
        slave: pty.slave,
        reader,
        writer,
    }
}

/// Starts `cmd` on the pty's `slave`, which only the child holds afterwards (so reads end
/// when it exits).
pub fn start(slave: Box<dyn SlavePty + Send>, cmd: CommandBuilder) -> Box<dyn Child + Send + Sync> {
    let child = slave.spawn_command(cmd).expect("spawn the program");
    drop(slave);
    child
}

/// Starts `cmd` on a new pty of `rows` x `cols`.
pub fn spawn(cmd: CommandBuilder, rows: u16, cols: u16) -> Spawned {
    let Opened {
        master,
        slave,
        reader,
        writer,
    } = open(rows, cols);
    Spawned {
        child: start(slave, cmd),
        master,
        reader,
        writer,
    }
}
