//! The server's host key: Ed25519, created once (mode 0600) and never replaced silently.
//! A key file that exists but cannot be read or parsed is an error, not a new key: the
//! fingerprint people have pinned must not change behind their backs.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::{HashAlg, PrivateKey};

/// Loads the key at `path`, or creates it when no file is there. Returns the key and
/// whether it was created.
pub fn load_or_create(path: &Path) -> Result<(PrivateKey, bool), String> {
    match fs::read(path) {
        Ok(text) => {
            let key = PrivateKey::from_openssh(&text).map_err(|e| {
                format!(
                    "the host key {} cannot be parsed ({e}); it was left as it is",
                    path.display()
                )
            })?;
            if key.is_encrypted() {
                return Err(format!(
                    "the host key {} is encrypted: give an unencrypted one",
                    path.display()
                ));
            }
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path).map(|key| (key, true)),
        Err(e) => Err(format!("cannot read the host key {}: {e}", path.display())),
    }
}

fn create(path: &Path) -> Result<PrivateKey, String> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed[..]))
        .map_err(|e| format!("cannot read /dev/urandom for a host key: {e}"))?;
    let pair = Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::new(KeypairData::Ed25519(pair), "authtui host key")
        .map_err(|e| format!("cannot make a host key: {e}"))?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| format!("cannot encode the host key: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // create_new: a file that appeared meanwhile is not overwritten.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create the host key {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write the host key {}: {e}", path.display()))?;
    Ok(key)
}

/// The key's fingerprint as `ssh-keygen -lf` prints it: `256 SHA256:… COMMENT (ED25519)`.
pub fn fingerprint(key: &PrivateKey) -> String {
    let comment = key.comment().as_str_lossy();
    let comment = if comment.is_empty() { "no comment" } else { comment };
    format!(
        "256 {} {} (ED25519)",
        key.public_key().fingerprint(HashAlg::Sha256),
        crate::printable::escape(comment)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded_and_a_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_key");
        let (key, created) = load_or_create(&path).unwrap();
        assert!(created);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(fingerprint(&key), fingerprint(&again));
        assert!(fingerprint(&key).starts_with("256 SHA256:"));
        fs::write(&path, "not a key").unwrap();
        let err = load_or_create(&path).unwrap_err();
        assert!(err.contains("cannot be parsed"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
    }
}
