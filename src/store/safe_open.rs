//! Opening a file of ours (users.json, its lock, its temp file, events.jsonl) safely: the
//! one way the store opens files.
//!
//! - never through a symbolic link (`O_NOFOLLOW`): a link is an error naming the file;
//! - never blocking on the open (`O_NONBLOCK`: a FIFO with no writer, a device); for a
//!   regular file, the only kind accepted, the flag changes nothing on Linux, so it is
//!   left set;
//! - only a regular file (`fstat` on the open descriptor, so what is checked is what is
//!   read): a FIFO, a device, a socket or a directory is an error naming the file;
//! - created 0600, close-on-exec (std opens everything `O_CLOEXEC`);
//! - created with the owner and group of the data ([`Owner`]): root working in another
//!   user's directory hands what it creates to that user, so the owner is never locked out
//!   of their own accounts.
//!
//! No libc: the two flags std lacks are the kernel's numbers, per platform.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::StoreError;

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "riscv32",
        target_arch = "riscv64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
mod flags {
    pub const O_NONBLOCK: i32 = 0o4000;
    pub const O_NOFOLLOW: i32 = 0o400000;
}
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    )
))]
mod flags {
    pub const O_NONBLOCK: i32 = 0o4000;
    pub const O_NOFOLLOW: i32 = 0o100000;
}
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
mod flags {
    pub const O_NONBLOCK: i32 = 0x4;
    pub const O_NOFOLLOW: i32 = 0x100;
}

use flags::{O_NOFOLLOW, O_NONBLOCK};

/// Who the data belongs to: the owner and group the files beside it must keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    fn of(meta: &Metadata) -> Owner {
        Owner {
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }

    /// The owner of `users.json` if it exists, else of the nearest directory above it
    /// that exists (the one its files will be made in, or below). `None` if neither can
    /// be read: the files are then simply the caller's.
    pub(crate) fn of_data(data: &Path) -> Option<Owner> {
        if let Ok(meta) = std::fs::symlink_metadata(data)
            && meta.file_type().is_file()
        {
            return Some(Owner::of(&meta));
        }
        Owner::of_nearest_dir(data)
    }

    /// The owner of the nearest existing directory above `path`.
    pub(crate) fn of_nearest_dir(path: &Path) -> Option<Owner> {
        let mut dir = path.parent();
        while let Some(d) = dir {
            let d = if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            };
            if let Ok(meta) = std::fs::metadata(d) {
                return meta.is_dir().then(|| Owner::of(&meta));
            }
            dir = d.parent();
        }
        None
    }
}

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Read only; a missing file is `Ok(None)`.
    Read,
    /// Read and write, created if missing, never truncated (the lock file).
    ReadWriteCreate,
    /// Write only, created; it must not exist yet (the temp file).
    CreateNew,
    /// Appended to (and read, to find a torn tail), created if missing: the activity log.
    AppendCreate,
}

/// Opens `path` by the rules above. A file this call creates is given to `owner` when
/// the process may do so (it runs as root); see [`adopt`].
pub(crate) fn open(path: &Path, mode: Mode, owner: Option<Owner>) -> Result<Option<File>, StoreError> {
    let mut options = OpenOptions::new();
    options.custom_flags(O_NOFOLLOW | O_NONBLOCK).mode(0o600);
    match mode {
        Mode::Read => options.read(true),
        Mode::ReadWriteCreate => options.read(true).write(true).create(true).truncate(false),
        Mode::CreateNew => options.write(true).create_new(true),
        Mode::AppendCreate => options.read(true).append(true).create(true),
    };
    // Whether the open may create the file: then it is ours to hand over.
    let existed = mode != Mode::CreateNew && std::fs::symlink_metadata(path).is_ok();
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound && mode == Mode::Read => return Ok(None),
        Err(e) => return Err(open_error(path, mode, e)),
    };
    let meta = file.metadata().map_err(io_error(path, "examine"))?;
    if !meta.file_type().is_file() {
        return Err(StoreError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&meta),
        });
    }
    if mode != Mode::Read && !existed {
        adopt(&file, &meta, owner, path, false)?;
    }
    Ok(Some(file))
}

/// Gives `file` (just made, by this process) to `owner` if it differs. `strict`: the file
/// is to replace one of `owner`'s, so failing to give it away is an error; otherwise only
/// root gives files away, and a file of an ordinary user stays theirs.
pub(crate) fn adopt(
    file: &File,
    meta: &Metadata,
    owner: Option<Owner>,
    path: &Path,
    strict: bool,
) -> Result<(), StoreError> {
    let Some(owner) = owner else { return Ok(()) };
    if Owner::of(meta) == owner || (!strict && meta.uid() != 0) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(owner.uid), Some(owner.gid)).map_err(|source| StoreError::Owner {
        path: path.to_path_buf(),
        uid: owner.uid,
        gid: owner.gid,
        source,
    })
}

/// Gives the directories `created` (made by this process, outermost first) to `owner`,
/// when running as root; as an ordinary user they stay the user's.
pub(crate) fn adopt_dirs(created: &[PathBuf], owner: Option<Owner>) -> Result<(), StoreError> {
    let Some(owner) = owner else { return Ok(()) };
    for dir in created {
        let meta = std::fs::symlink_metadata(dir).map_err(io_error(dir, "examine"))?;
        if meta.uid() == 0 && Owner::of(&meta) != owner {
            std::os::unix::fs::lchown(dir, Some(owner.uid), Some(owner.gid)).map_err(|source| {
                StoreError::Owner {
                    path: dir.clone(),
                    uid: owner.uid,
                    gid: owner.gid,
                    source,
                }
            })?;
        }
    }
    Ok(())
}

/// Opens a directory to fsync it (links to directories are allowed: a data directory may
/// well be one).
pub(crate) fn open_dir(dir: &Path) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(dir)
        .map_err(io_error(dir, "open the directory"))?;
    Ok(file)
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { action, path, source }
}

/// Why an open failed, in the store's terms: a link or an odd file is named as such
/// (`ELOOP` from `O_NOFOLLOW`, `EISDIR`, `ENXIO` from a FIFO without a reader).
fn open_error(path: &Path, mode: Mode, e: io::Error) -> StoreError {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return StoreError::Symlink {
                path: path.to_path_buf(),
            };
        }
        if !meta.file_type().is_file() {
            return StoreError::NotRegular {
                path: path.to_path_buf(),
                kind: kind_of(&meta),
            };
        }
    }
    let action = match mode {
        Mode::Read => "read",
        Mode::ReadWriteCreate => "open",
        Mode::CreateNew => "create",
        Mode::AppendCreate => "open",
    };
    io_error(path, action)(e)
}

/// What a file that is not a regular one is, in words.
fn kind_of(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "not a file"
    }
}

/// Creates the missing directories above `path`, private to the user (0700, like
/// `~/.ssh`); root gives them to the owner of the directory they are made in, as the files
/// later made in them.
pub(crate) fn create_parent_dirs(path: &Path) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let owner = Owner::of_nearest_dir(path);
    let mut missing: Vec<std::path::PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(dir)
        .map_err(io_error(dir, "create the directory"))?;
    adopt_dirs(&missing, owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_is_refused_in_every_mode_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for mode in [
            Mode::Read,
            Mode::ReadWriteCreate,
            Mode::CreateNew,
            Mode::AppendCreate,
        ] {
            let err = open(&link, mode, None).unwrap_err();
            assert!(matches!(err, StoreError::Symlink { .. }), "{mode:?}: {err}");
            assert!(err.to_string().contains(&link.display().to_string()), "{err}");
            assert!(!target.exists(), "{mode:?} created the target");
        }
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        for mode in [Mode::Read, Mode::ReadWriteCreate, Mode::AppendCreate] {
            let err = open(&fifo, mode, None).unwrap_err();
            assert!(matches!(err, StoreError::NotRegular { .. }), "{mode:?}: {err}");
            assert!(err.to_string().contains("named pipe"), "{err}");
        }
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [Mode::Read, Mode::ReadWriteCreate, Mode::AppendCreate] {
            let err = open(dir.path(), mode, None).unwrap_err();
            assert!(matches!(err, StoreError::NotRegular { .. }), "{mode:?}: {err}");
            assert!(err.to_string().contains("a directory"), "{err}");
        }
    }

    #[test]
    fn a_created_file_is_0600_and_a_missing_one_is_none_for_reading() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(open(&path, Mode::Read, None).unwrap().is_none());
        open(&path, Mode::AppendCreate, None).unwrap().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(open(&path, Mode::Read, None).unwrap().is_some());
    }
}
