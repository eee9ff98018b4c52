use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// A password in memory: wiped when dropped, never printed. It has no `Display`, and its
/// `Debug` shows only that it is redacted.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Takes ownership of the string, so that no unwiped copy is left behind.
    pub fn new(secret: String) -> Self {
        Password(Zeroizing::new(secret))
    }

    /// The secret itself, for hashing or comparing. Keep the borrow short.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The buffer itself, to read a password into in place.
    pub fn buffer_mut(&mut self) -> &mut String {
        &mut self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The password in Unicode NFC, the form that is hashed, so that the same password
    /// typed on systems that compose characters differently still matches.
    pub fn normalized(&self) -> Password {
        // NFC is at most three times as long as its input, so a buffer of that size never
        // has to grow (growing would leave an unwiped copy behind).
        let mut out = Password::new(String::with_capacity(self.0.len() * 3));
        out.0.extend(self.0.nfc());
        out
    }
}

impl From<String> for Password {
    fn from(secret: String) -> Self {
        Password::new(secret)
    }
}

impl From<&str> for Password {
    fn from(secret: &str) -> Self {
        Password::new(secret.to_owned())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::from("hunter2-is-my-password");
        let shown = format!("{p:?} {:?} {:#?}", Some(&p), [&p]);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn normalizes_to_nfc() {
        let decomposed = Password::from("e\u{301}t\u{e9}");
        assert_eq!(decomposed.normalized().expose(), "\u{e9}t\u{e9}");
    }
}
