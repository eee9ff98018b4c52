//! Reading an Apache htpasswd file: `name:hash` lines. Only bcrypt entries can become
//! accounts; the others are named with the reason.

pub struct Parsed {
    /// (name, hash) for each bcrypt-looking entry, in file order.
    pub bcrypt: Vec<(String, String)>,
    pub skipped: Vec<Skipped>,
}

pub struct Skipped {
    /// The user name, or "line N" when the line has none.
    pub what: String,
    pub reason: String,
}

pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed {
        bcrypt: Vec::new(),
        skipped: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, hash)) = line.split_once(':') else {
            parsed.skipped.push(Skipped {
                what: format!("line {}", i + 1),
                reason: "not a NAME:HASH entry".to_owned(),
            });
            continue;
        };
        let kind = if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
            None
        } else if hash.starts_with("$apr1$") {
            Some("Apache MD5 ($apr1$)")
        } else if hash.starts_with("{SHA}") {
            Some("unsalted SHA-1 ({SHA})")
        } else if hash.starts_with("$5$") || hash.starts_with("$6$") {
            Some("SHA-crypt ($5$/$6$)")
        } else if hash.starts_with('$') {
            Some("an unknown scheme")
        } else {
            Some("DES crypt or plain text")
        };
        match kind {
            None => parsed.bcrypt.push((name.to_owned(), hash.to_owned())),
            Some(kind) => parsed.skipped.push(Skipped {
                what: name.to_owned(),
                reason: format!(
                    "{kind} is not bcrypt; add the account with `authtui user add {}`",
                    crate::printable::name(name)
                ),
            }),
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_bcrypt_from_the_rest() {
        let p = parse(include_str!("../../tests/fixtures/htpasswd-mixed"));
        let names: Vec<&str> = p.bcrypt.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "Grace"]);
        let skipped: Vec<&str> = p.skipped.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(skipped, ["carol", "dave", "erin", "frank"]);
        assert!(p.skipped[0].reason.contains("$apr1$"));
        assert!(p.skipped[1].reason.contains("{SHA}"));
    }

    #[test]
    fn a_line_without_a_colon_is_reported() {
        let p = parse("garbage\r\nok:$2y$04$x\n");
        assert_eq!(p.skipped[0].what, "line 1");
        assert_eq!(p.bcrypt, [("ok".to_owned(), "$2y$04$x".to_owned())]);
    }
}
