//! Which store to use, named by a URL: `json:PATH` (the default, at the platform data
//! path), `sqlite:PATH`, `postgres://…` or `postgresql://…`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A store, as `--store` or `AUTHTUI_STORE` names it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `users.json` at this path, with `events.jsonl` beside it.
    Json(PathBuf),
    /// A SQLite database file (accounts and events in tables).
    Sqlite(PathBuf),
    /// A PostgreSQL connection string, as libpq takes it (`postgres://user@host/db`).
    Postgres(String),
}

impl FromStr for StoreUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<StoreUrl, String> {
        let path = |rest: &str, scheme: &str| {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            if rest.is_empty() {
                Err(format!(
                    "'{scheme}:' needs a path, as in {scheme}:/var/lib/authtui/users.{}",
                    if scheme == "json" { "json" } else { "db" }
                ))
            } else {
                Ok(PathBuf::from(rest))
            }
        };
        if let Some(rest) = text.strip_prefix("json:") {
            return path(rest, "json").map(StoreUrl::Json);
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            return path(rest, "sqlite").map(StoreUrl::Sqlite);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(text.to_owned()));
        }
        Err(format!(
            "'{}' is not a store URL: use json:PATH, sqlite:PATH, or postgres://USER@HOST/DATABASE",
            crate::printable::name(text)
        ))
    }
}

impl fmt::Display for StoreUrl {
    /// For people: a Postgres URL is shown without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Json(path) => write!(f, "{}", path.display()),
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:…@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:…@{host}{tail}"),
            None => url.to_owned(),
        },
        None => {
            // A password may also come as a `password=` parameter.
            match tail.find("password=") {
                Some(_) => format!("{scheme}://{authority}{}", redact_param(tail)),
                None => url.to_owned(),
            }
        }
    }
}

fn redact_param(tail: &str) -> String {
    tail.split('&')
        .map(|part| match part.split_once("password=") {
            Some((before, _)) => format!("{before}password=…"),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme() {
        assert_eq!(
            "json:/a/users.json".parse(),
            Ok(StoreUrl::Json("/a/users.json".into()))
        );
        assert_eq!(
            "json://a/users.json".parse(),
            Ok(StoreUrl::Json("a/users.json".into()))
        );
        assert_eq!(
            "sqlite:accounts.db".parse(),
            Ok(StoreUrl::Sqlite("accounts.db".into()))
        );
        assert_eq!(
            "postgresql://u@h/db".parse(),
            Ok(StoreUrl::Postgres("postgresql://u@h/db".into()))
        );
        assert_eq!(
            "postgres://h/db".parse(),
            Ok(StoreUrl::Postgres("postgres://h/db".into()))
        );
    }

    #[test]
    fn refuses_what_it_does_not_know_with_the_forms_it_takes() {
        for bad in ["users.json", "mysql://h/db", "sqlite:", "json:", "", "\u{1b}[2J"] {
            let err = bad.parse::<StoreUrl>().unwrap_err();
            assert!(
                err.contains("json:") || err.contains("needs a path"),
                "{bad}: {err}"
            );
            assert!(!err.contains('\u{1b}'), "{err}");
        }
    }

    #[test]
    fn a_postgres_password_is_never_shown() {
        let url: StoreUrl = "postgres://alice:s3cret@db.example/accounts".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://alice:…@db.example/accounts");
        assert_eq!(
            format!("{url:?}"),
            "StoreUrl(postgres://alice:…@db.example/accounts)"
        );
        let url: StoreUrl = "postgres://db.example/accounts?user=a&password=s3cret&sslmode=disable"
            .parse()
            .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://db.example/accounts?user=a&password=…&sslmode=disable"
        );
    }
}
