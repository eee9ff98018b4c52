//! authtui's bcrypt against hashes made elsewhere: published test vectors (openwall's
//! crypt_blowfish, pyca/bcrypt) and hashes made with Python's bcrypt (docs/security.md rules 2-3).

mod common;

use authtui::auth::hashing::{self, MAX_PASSWORD_BYTES};
use authtui::auth::{Password, policy};
use common::fixture_vectors;

/// A different password of at most 72 bytes: one byte added, or, at 72 bytes, its last
/// character replaced.
fn wrong(password: &str) -> String {
    if password.len() < MAX_PASSWORD_BYTES {
        return format!("{password}x");
    }
    let mut changed = password.to_owned();
    let last = changed.pop().unwrap();
    changed.push(if last == 'x' { 'y' } else { 'x' });
    changed
}

#[test]
fn published_bcrypt_vectors_verify() {
    let vectors = fixture_vectors("bcrypt-vectors.json");
    let mut checked = 0;
    for (password, hash, over72) in &vectors {
        if *over72 {
            continue;
        }
        assert!(password.len() <= MAX_PASSWORD_BYTES);
        assert_eq!(
            hashing::verify(password, hash),
            Ok(true),
            "{password:?} against {hash}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} vectors");
}

#[test]
fn the_72_byte_published_vector_verifies() {
    let vectors = fixture_vectors("bcrypt-vectors.json");
    let (password, hash, _) = vectors
        .iter()
        .find(|(p, _, over72)| p.len() == MAX_PASSWORD_BYTES && !over72)
        .expect("a 72-byte vector");
    assert_eq!(hashing::verify(password, hash), Ok(true));
}

#[test]
fn the_empty_password_vector_verifies() {
    let vectors = fixture_vectors("bcrypt-vectors.json");
    let (password, hash, _) = vectors.iter().find(|(p, _, _)| p.is_empty()).unwrap();
    assert_eq!(hashing::verify(password, hash), Ok(true));
    assert_eq!(hashing::verify("x", hash), Ok(false));
}

#[test]
fn over_72_byte_vectors_are_refused_by_the_length_rule() {
    let vectors = fixture_vectors("bcrypt-vectors.json");
    let long: Vec<_> = vectors.iter().filter(|(_, _, over72)| *over72).collect();
    assert!(!long.is_empty());
    for (password, _, _) in long {
        assert!(password.len() > MAX_PASSWORD_BYTES);
        let result = policy::check_length(&Password::from(password.as_str()).normalized());
        assert!(
            matches!(result, Err(policy::PolicyError::TooLong { bytes }) if bytes == password.len()),
            "{} bytes: {result:?}",
            password.len()
        );
    }
}

#[test]
fn python_bcrypt_hashes_verify() {
    let vectors = fixture_vectors("python-bcrypt.json");
    assert!(vectors.iter().any(|(_, h, _)| h.starts_with("$2a$")));
    assert!(vectors.iter().any(|(_, h, _)| h.starts_with("$2b$")));
    for (password, hash, _) in &vectors {
        // The fixtures are stored in NFC: what authtui hashes and verifies.
        let normalized = Password::from(password.as_str()).normalized();
        assert_eq!(normalized.expose(), password);
        policy::check_length(&normalized).unwrap();
        assert_eq!(
            hashing::verify(password, hash),
            Ok(true),
            "{password:?} against {hash}"
        );
    }
}

#[test]
fn python_bcrypt_71_and_72_byte_hashes_verify_and_every_byte_counts() {
    let vectors = fixture_vectors("python-bcrypt.json");
    let lengths: Vec<usize> = vectors.iter().map(|(p, _, _)| p.len()).collect();
    assert!(lengths.contains(&71) && lengths.contains(&72), "{lengths:?}");
    for (password, hash, _) in vectors.iter().filter(|(p, _, _)| p.len() >= 71) {
        assert_eq!(
            hashing::verify(password, hash),
            Ok(true),
            "{} bytes",
            password.len()
        );
        // One byte shorter does not match either.
        let shorter = &password[..password.char_indices().last().unwrap().0];
        assert_eq!(
            hashing::verify(shorter, hash),
            Ok(false),
            "{} bytes",
            password.len()
        );
    }
}

#[test]
fn a_wrong_password_does_not_verify() {
    for file in ["bcrypt-vectors.json", "python-bcrypt.json"] {
        for (password, hash, over72) in fixture_vectors(file) {
            if over72 {
                continue;
            }
            let wrong = wrong(&password);
            assert_ne!(wrong, password);
            assert!(wrong.len() <= MAX_PASSWORD_BYTES);
            assert_eq!(
                hashing::verify(&wrong, &hash),
                Ok(false),
                "{file}: {wrong:?} against {hash}"
            );
        }
    }
}

#[test]
fn the_stored_cost_of_each_fixture_hash_is_read() {
    for file in ["bcrypt-vectors.json", "python-bcrypt.json"] {
        for (_, hash, _) in fixture_vectors(file) {
            let cost = hashing::stored_cost(&hash).unwrap();
            assert_eq!(cost.to_string(), hash[4..6].trim_start_matches('0'), "{hash}");
        }
    }
}

#[test]
fn a_hash_made_by_authtui_verifies_in_full_at_72_bytes() {
    let cost = hashing::Cost::new(4).unwrap();
    let p72 = "violet marmot sings under quartz bridges at dawn while the kettle hums!!";
    assert_eq!(p72.len(), 72);
    let hash = hashing::hash(&Password::from(p72), cost).unwrap();
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    assert_eq!(hashing::verify(p72, &hash), Ok(true));
    assert_eq!(hashing::verify(&wrong(p72), &hash), Ok(false));
    assert_eq!(hashing::verify(&p72[..71], &hash), Ok(false));
}
