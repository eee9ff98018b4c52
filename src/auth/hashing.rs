//! bcrypt, with the sharp edges filed off: the cost bounds, the accepted prefixes, and the
//! 72-byte limit.

use std::fmt;
use std::str::FromStr;

use super::Password;

/// bcrypt reads at most 72 bytes of a password. Longer passwords are refused rather than
/// silently cut (NIST 800-63B: verifiers SHALL NOT truncate).
pub const MAX_PASSWORD_BYTES: usize = 72;

/// The bcrypt work factor: 2^cost rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cost(u32);

impl Cost {
    pub const MIN: u32 = 4;
    pub const MAX: u32 = 20;
    /// About 0.25 s per hash on a current machine.
    pub const DEFAULT: Cost = Cost(12);
    /// Below this a cost is for tests only (OWASP: at least 10).
    pub const RECOMMENDED_MIN: u32 = 10;

    pub fn new(cost: u32) -> Result<Cost, HashError> {
        if (Self::MIN..=Self::MAX).contains(&cost) {
            Ok(Cost(cost))
        } else {
            Err(HashError::CostOutOfRange(cost))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// True for costs too cheap for real use.
    pub fn is_for_tests_only(self) -> bool {
        self.0 < Self::RECOMMENDED_MIN
    }
}

impl Default for Cost {
    fn default() -> Self {
        Cost::DEFAULT
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Cost {
    type Err = String;

    fn from_str(s: &str) -> Result<Cost, String> {
        let n: u32 = s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a whole number"))?;
        Cost::new(n).map_err(|e| e.to_string())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("bcrypt cost {0} is outside {min}..={max}", min = Cost::MIN, max = Cost::MAX)]
    CostOutOfRange(u32),
    #[error("not a bcrypt hash (expected $2a$, $2b$ or $2y$, a two-digit cost and 53 characters)")]
    Malformed,
    #[error("bcrypt cost {0} is above {max}: a verify would take hours (a tampered file?)", max = Cost::MAX)]
    CostTooHigh(u32),
    #[error("bcrypt failed: {0}")]
    Bcrypt(String),
}

const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Checks a stored hash's form and returns its cost.
pub fn stored_cost(hash: &str) -> Result<u32, HashError> {
    let b = hash.as_bytes();
    let well_formed = b.len() == 60
        && matches!(&b[..4], b"$2a$" | b"$2b$" | b"$2y$")
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && b[7..].iter().all(|c| BCRYPT_ALPHABET.contains(c));
    if !well_formed {
        return Err(HashError::Malformed);
    }
    let cost = u32::from(b[4] - b'0') * 10 + u32::from(b[5] - b'0');
    if cost < Cost::MIN {
        return Err(HashError::Malformed);
    }
    if cost > Cost::MAX {
        return Err(HashError::CostTooHigh(cost));
    }
    Ok(cost)
}

/// The bcrypt primitive, behind a trait so that tests can count and weigh what reaches
/// it (a lock that is checked too late shows up as a verify that should not have run).
pub trait Hasher: Send + Sync {
    /// Hashes a password of at most 72 bytes as `$2b$` at `cost`.
    fn hash(&self, password: &str, cost: u32) -> Result<String, HashError>;
    /// Verifies a password of at most 72 bytes against a checked stored hash.
    fn verify(&self, password: &str, stored: &str) -> Result<bool, HashError>;
}

/// The real thing: the `bcrypt` crate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bcrypt;

impl Hasher for Bcrypt {
    fn hash(&self, password: &str, cost: u32) -> Result<String, HashError> {
        bcrypt::hash(password, cost).map_err(|e| HashError::Bcrypt(e.to_string()))
    }

    /// The crate's `non_truncating_verify` would refuse a 72-byte password (it counts the
    /// terminating NUL), yet 72 bytes is legal bcrypt that other implementations hash;
    /// since longer passwords are refused before this point, the plain `verify` never
    /// truncates here.
    fn verify(&self, password: &str, stored: &str) -> Result<bool, HashError> {
        bcrypt::verify(password, stored).map_err(|e| HashError::Bcrypt(e.to_string()))
    }
}

/// Hashes an already normalized password of at most 72 bytes as `$2b$`.
pub fn hash(password: &Password, cost: Cost) -> Result<String, HashError> {
    debug_assert!(password.expose().len() <= MAX_PASSWORD_BYTES);
    Bcrypt.hash(password.expose(), cost.get())
}

/// Verifies a password of at most 72 bytes against a checked stored hash.
pub fn verify(password: &str, stored: &str) -> Result<bool, HashError> {
    debug_assert!(password.len() <= MAX_PASSWORD_BYTES);
    stored_cost(stored)?;
    Bcrypt.verify(password, stored)
}

/// A well-formed hash of `cost` with no account behind it (any salt and digest do; no
/// hash is computed ahead).
pub fn dummy_hash(cost: u32) -> String {
    format!("$2b${cost:02}$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
}

/// The same bcrypt work as verifying against a real hash of this cost, with no account
/// behind it: unknown usernames must cost as much as known ones, from the first attempt.
pub fn verify_dummy(hasher: &dyn Hasher, password: &str, cost: Cost) {
    let _ = hasher.verify(password, &dummy_hash(cost.get()));
}

/// Verifies against a stored hash and, when it does not match, spends whatever bcrypt
/// work `cost` would have cost beyond the stored hash's own, so that a wrong password
/// takes as long as an unknown name (which costs `cost`) whatever cost the hash was made
/// at: an account imported from `htpasswd -B` at cost 5 must not answer 128 times faster.
///
/// The padding is exact in bcrypt's work, not in time measured: since
/// 2^c = 2^s + (2^s + 2^(s+1) + … + 2^(c-1)), after the real verify at cost s one dummy
/// verify at each cost from s to c-1 makes up the rest. A hash above `cost` cannot be made
/// cheaper: such hashes exist only where the configured cost was lowered after they were
/// made, and their wrong passwords answer slower than an unknown name (docs/security.md rule 11).
pub fn verify_padded(
    hasher: &dyn Hasher,
    password: &str,
    stored: &str,
    cost: Cost,
) -> Result<bool, HashError> {
    debug_assert!(password.len() <= MAX_PASSWORD_BYTES);
    let stored_cost = stored_cost(stored)?;
    let ok = hasher.verify(password, stored)?;
    if !ok {
        for k in stored_cost..cost.get() {
            let _ = hasher.verify(password, &dummy_hash(k));
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_bounds() {
        assert!(Cost::new(3).is_err());
        assert!(Cost::new(4).is_ok());
        assert!(Cost::new(20).is_ok());
        assert!(Cost::new(21).is_err());
        assert!(Cost::new(4).unwrap().is_for_tests_only());
        assert!(!Cost::DEFAULT.is_for_tests_only());
    }

    #[test]
    fn hashes_are_2b_with_the_cost() {
        let h = hash(&Password::from("a password"), Cost::new(4).unwrap()).unwrap();
        assert!(h.starts_with("$2b$04$"), "{h}");
        assert_eq!(stored_cost(&h), Ok(4));
    }

    #[test]
    fn accepts_2a_2b_2y_and_refuses_others() {
        let h = hash(&Password::from("pw"), Cost::new(4).unwrap()).unwrap();
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let other = format!("{prefix}{}", &h[4..]);
            assert_eq!(verify("pw", &other), Ok(true), "{prefix}");
        }
        for prefix in ["$2x$", "$2$$", "$1$x", "$5$x"] {
            let other = format!("{prefix}{}", &h[4..]);
            assert_eq!(verify("pw", &other), Err(HashError::Malformed), "{prefix}");
        }
        assert_eq!(verify("pw", "plain"), Err(HashError::Malformed));
        assert_eq!(verify("pw", ""), Err(HashError::Malformed));
    }

    #[test]
    fn refuses_a_tampered_cost_without_hashing() {
        let h = hash(&Password::from("pw"), Cost::new(4).unwrap()).unwrap();
        let tampered = format!("$2b$31${}", &h[7..]);
        assert_eq!(verify("pw", &tampered), Err(HashError::CostTooHigh(31)));
        let low = format!("$2b$03${}", &h[7..]);
        assert_eq!(verify("pw", &low), Err(HashError::Malformed));
    }

    #[test]
    fn a_72_byte_password_hashes_and_verifies_in_full() {
        let p72 = "x".repeat(71) + "y";
        let h = hash(&Password::from(p72.as_str()), Cost::new(4).unwrap()).unwrap();
        assert_eq!(verify(&p72, &h), Ok(true));
        // The 72nd byte counts.
        assert_eq!(verify(&("x".repeat(71) + "z"), &h), Ok(false));
    }

    #[test]
    fn dummy_hashes_are_well_formed_at_every_cost() {
        for cost in Cost::MIN..=Cost::MAX {
            assert_eq!(stored_cost(&dummy_hash(cost)), Ok(cost));
        }
        let dummy = dummy_hash(4);
        assert_eq!(Bcrypt.verify("anything", &dummy), Ok(false));
        assert_eq!(
            bcrypt::verify("U*U", &dummy.replace("$2b$04$", "$2a$05$")).ok(),
            Some(true)
        );
    }
}
