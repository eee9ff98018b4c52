//! The password policy (docs/security.md rules 6-7): long enough, not too long for bcrypt, not
//! common, not the username, not easy to guess. No composition rules.

use std::collections::HashSet;
use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::hashing::MAX_PASSWORD_BYTES;
use super::{Password, Username};

/// Minimum length in characters (code points).
pub const MIN_CHARS: usize = 12;
/// The lowest acceptable zxcvbn score (0-4).
pub const MIN_SCORE: u8 = 3;
/// The app's own name, which a password should not lean on either.
const APP_WORDS: &[&str] = &["authtui"];

/// Django's list of 20,000 common passwords (BSD licence, see assets/).
static COMMON_PASSWORDS: &str = include_str!("../../assets/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Why a password was refused: the first rule it breaks, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("Password must be at least {min} characters (it has {chars})", min = MIN_CHARS)]
    TooShort { chars: usize },
    #[error(
        "Password must be at most {max} bytes (it has {bytes}): bcrypt ignores anything longer, so it would not all count",
        max = MAX_PASSWORD_BYTES
    )]
    TooLong { bytes: usize },
    #[error("Password must not contain control characters")]
    ControlCharacter,
    #[error("Password must not contain the username")]
    ContainsUsername,
    #[error("Password is on a list of commonly used passwords")]
    Common,
    #[error("Password is too easy to guess: {feedback}")]
    Weak { score: u8, feedback: String },
}

/// How strong a password looks, for a live meter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strength {
    /// zxcvbn's score, 0 (very weak) to 4 (strong).
    pub score: u8,
    /// The first rule the password breaks, if any.
    pub problem: Option<PolicyError>,
}

impl Strength {
    /// A word for the score.
    pub fn label(&self) -> &'static str {
        score_label(self.score)
    }
}

pub fn score_label(score: u8) -> &'static str {
    match score {
        0 => "very weak",
        1 => "weak",
        2 => "fair",
        3 => "good",
        _ => "strong",
    }
}

/// The length rule alone, which also applies at login: a password over 72 bytes can never
/// have been set, and bcrypt would silently compare only its first 72 bytes.
pub fn check_length(normalized: &Password) -> Result<(), PolicyError> {
    let bytes = normalized.expose().len();
    if bytes > MAX_PASSWORD_BYTES {
        return Err(PolicyError::TooLong { bytes });
    }
    Ok(())
}

/// Checks a (normalized) new password for `username`; the first rule broken is the reason.
pub fn check(password: &Password, username: &Username) -> Result<(), PolicyError> {
    match strength(password, username.as_str()).problem {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Scores a password and finds the first rule it breaks, for the policy and for a meter.
/// `username` may be partly typed (or empty).
pub fn strength(password: &Password, username: &str) -> Strength {
    let pw = password.expose();
    let chars = pw.chars().count();
    let username = username.to_ascii_lowercase();
    let mut inputs: Vec<&str> = APP_WORDS.to_vec();
    if !username.is_empty() {
        inputs.push(&username);
    }
    let entropy = (!pw.is_empty()).then(|| zxcvbn::zxcvbn(pw, &inputs));
    let score = entropy.as_ref().map_or(0, |e| u8::from(e.score()));
    let problem = if chars < MIN_CHARS {
        Some(PolicyError::TooShort { chars })
    } else if let Err(e) = check_length(password) {
        Some(e)
    } else if pw.chars().any(char::is_control) {
        Some(PolicyError::ControlCharacter)
    } else if username.len() >= 3 && lowercase(pw).contains(&username) {
        Some(PolicyError::ContainsUsername)
    } else if common_passwords().contains(lowercase(pw).as_str()) {
        Some(PolicyError::Common)
    } else if score < MIN_SCORE {
        Some(PolicyError::Weak {
            score,
            feedback: weak_feedback(entropy.as_ref()),
        })
    } else {
        None
    };
    Strength { score, problem }
}

/// The password in lower case, wiped when dropped. Built in a buffer reserved up front
/// (lower case is at most three times as long in UTF-8), so it never moves and leaves no
/// copy behind.
fn lowercase(pw: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(pw.len() * 3));
    for c in pw.chars() {
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}

/// zxcvbn's warning ("This is similar to a commonly used password."), or failing that its
/// first suggestion: one sentence, so it fits under a field.
fn weak_feedback(entropy: Option<&zxcvbn::Entropy>) -> String {
    let feedback = entropy.and_then(|e| e.feedback());
    let warning = feedback.and_then(|f| f.warning()).map(|w| w.to_string());
    let suggestion = feedback
        .and_then(|f| f.suggestions().first())
        .map(|s| s.to_string());
    warning
        .or(suggestion)
        .unwrap_or_else(|| "Add another word or two. Uncommon words are better.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_str(pw: &str, user: &str) -> Result<(), PolicyError> {
        check(&Password::from(pw), &Username::parse(user).unwrap())
    }

    #[test]
    fn the_list_is_large_enough() {
        assert!(common_passwords().len() >= 10_000, "{}", common_passwords().len());
        assert!(common_passwords().contains("password"));
    }

    #[test]
    fn too_short_counts_characters_not_bytes() {
        assert_eq!(
            check_str("short", "alice"),
            Err(PolicyError::TooShort { chars: 5 })
        );
        // Eleven two-byte characters are 22 bytes but still too short.
        assert_eq!(
            check_str(&"é".repeat(11), "alice"),
            Err(PolicyError::TooShort { chars: 11 })
        );
    }

    #[test]
    fn over_72_bytes_is_refused_and_says_why() {
        let err = check_str(&"correct horse battery staple ".repeat(3), "alice").unwrap_err();
        assert_eq!(err, PolicyError::TooLong { bytes: 87 });
        assert!(err.to_string().contains("bcrypt"));
    }

    #[test]
    fn a_strong_72_byte_password_is_accepted() {
        let pw = "violet marmot sings under quartz bridges at dawn while the kettle hums!!";
        assert_eq!(pw.len(), 72);
        assert_eq!(check_str(pw, "alice"), Ok(()));
    }

    #[test]
    fn contains_username_case_insensitively() {
        assert_eq!(
            check_str("xyzALICEqwertyfoo", "alice"),
            Err(PolicyError::ContainsUsername)
        );
    }

    #[test]
    fn common_passwords_are_refused() {
        // 12+ characters and on the list.
        let long_common = common_passwords()
            .iter()
            .find(|p| p.chars().count() >= 12)
            .unwrap();
        assert_eq!(
            check_str(&long_common.to_uppercase(), "zed"),
            Err(PolicyError::Common)
        );
    }

    #[test]
    fn guessable_passwords_are_refused_with_feedback() {
        let err = check_str("aaaaaaaaaaaaaaaa", "alice").unwrap_err();
        match err {
            PolicyError::Weak { score, feedback } => {
                assert!(score < MIN_SCORE);
                // zxcvbn's own warning for a repeated character, not any text.
                assert!(feedback.contains("Repeats like"), "{feedback}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_zxcvbns_warning_its_first_suggestion_is_the_feedback() {
        assert_eq!(
            weak_feedback(None),
            "Add another word or two. Uncommon words are better."
        );
        let entropy = zxcvbn::zxcvbn("tr0ub4dour", &[]);
        let feedback = entropy.feedback().expect("a weak password has feedback");
        let want = feedback
            .warning()
            .map(|w| w.to_string())
            .unwrap_or_else(|| feedback.suggestions()[0].to_string());
        assert_eq!(weak_feedback(Some(&entropy)), want);
    }

    #[test]
    fn the_app_name_counts_as_guessable() {
        assert!(matches!(
            check_str("authtuiauthtui1", "alice"),
            Err(PolicyError::Weak { .. })
        ));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            check_str("violet marmot\u{0}sings quartz", "alice"),
            Err(PolicyError::ControlCharacter)
        );
    }

    #[test]
    fn a_passphrase_passes() {
        assert_eq!(check_str("correct horse battery staple", "alice"), Ok(()));
    }

    #[test]
    fn strength_scores_known_passwords() {
        assert_eq!(strength(&Password::from(""), "").score, 0);
        assert!(strength(&Password::from("password"), "").score <= 1);
        assert_eq!(
            strength(&Password::from("violet marmot sings under quartz"), "").score,
            4
        );
        assert_eq!(
            strength(&Password::from("violet marmot sings under quartz"), "").label(),
            "strong"
        );
    }

    proptest! {
        #[test]
        fn accepted_passwords_satisfy_every_rule(pw in "\\PC{0,40}") {
            let user = Username::parse("alice").unwrap();
            if check(&Password::from(pw.as_str()), &user).is_ok() {
                prop_assert!(pw.chars().count() >= MIN_CHARS);
                prop_assert!(pw.len() <= MAX_PASSWORD_BYTES);
                prop_assert!(!pw.to_lowercase().contains("alice"));
                prop_assert!(!pw.chars().any(char::is_control));
                prop_assert!(!common_passwords().contains(pw.to_lowercase().as_str()));
            }
        }

        #[test]
        fn short_passwords_are_always_refused(pw in "\\PC{0,11}") {
            let user = Username::parse("alice").unwrap();
            let refused = matches!(
                check(&Password::from(pw.as_str()), &user),
                Err(PolicyError::TooShort { .. })
            );
            prop_assert!(refused);
        }

        #[test]
        fn long_passwords_are_always_refused(pw in "[a-z ]{73,120}") {
            let user = Username::parse("alice").unwrap();
            prop_assert_eq!(
                check(&Password::from(pw.as_str()), &user),
                Err(PolicyError::TooLong { bytes: pw.len() })
            );
        }
    }
}
