use std::fmt;

pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 32;

/// A username that follows the rules: 3-32 characters, lowercase ASCII letters, digits,
/// `.`, `_` and `-`, starting with a letter. Input is lower-cased first, so `Alice` and
/// `alice` are one account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Username(String);

/// Why a username was refused; one reason, the first rule broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("Username is required")]
    Empty,
    #[error("Username must be at least {MIN_LEN} characters")]
    TooShort,
    #[error("Username must be at most {MAX_LEN} characters")]
    TooLong,
    #[error("Username must start with a letter")]
    MustStartWithLetter,
    #[error("Username may use only a-z, 0-9, '.', '_' and '-' (not {0:?})")]
    InvalidCharacter(char),
}

impl Username {
    pub fn parse(input: &str) -> Result<Username, UsernameError> {
        let name = input.to_ascii_lowercase();
        let len = name.chars().count();
        if len == 0 {
            return Err(UsernameError::Empty);
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
        {
            return Err(UsernameError::InvalidCharacter(bad));
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(UsernameError::MustStartWithLetter);
        }
        if len < MIN_LEN {
            return Err(UsernameError::TooShort);
        }
        if len > MAX_LEN {
            return Err(UsernameError::TooLong);
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A name as found in a store, trusted as it is (it may predate the rules).
    pub(crate) fn from_stored(name: String) -> Username {
        Username(name)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lowercases_input() {
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
    }

    #[test]
    fn one_reason_per_rule() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse("ab"), Err(UsernameError::TooShort));
        assert_eq!(Username::parse(&"a".repeat(33)), Err(UsernameError::TooLong));
        assert_eq!(Username::parse("1abc"), Err(UsernameError::MustStartWithLetter));
        assert_eq!(Username::parse("_abc"), Err(UsernameError::MustStartWithLetter));
        assert_eq!(
            Username::parse("ab cd"),
            Err(UsernameError::InvalidCharacter(' '))
        );
        assert_eq!(
            Username::parse("jos\u{e9}"),
            Err(UsernameError::InvalidCharacter('\u{e9}'))
        );
    }

    #[test]
    fn accepts_the_allowed_punctuation_and_bounds() {
        for ok in ["abc", "a.b_c-d9", &"z".repeat(32)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
    }

    proptest! {
        #[test]
        fn every_valid_name_matches_the_rules(s in "\\PC{0,40}") {
            if let Ok(name) = Username::parse(&s) {
                let n = name.as_str();
                prop_assert!((MIN_LEN..=MAX_LEN).contains(&n.len()));
                prop_assert!(n.starts_with(|c: char| c.is_ascii_lowercase()));
                prop_assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c)));
                prop_assert_eq!(n, s.to_ascii_lowercase());
            }
        }

        #[test]
        fn names_built_from_the_rules_are_accepted(s in "[a-zA-Z][a-zA-Z0-9._-]{2,31}") {
            let name = Username::parse(&s).unwrap();
            prop_assert_eq!(name.as_str(), s.to_ascii_lowercase());
        }

        #[test]
        fn parsing_is_idempotent(s in "\\PC{0,40}") {
            if let Ok(name) = Username::parse(&s) {
                prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name);
            }
        }
    }
}
