//! What a configured value must be (an http(s) URL, an exact origin, a
//! list), and the error that names the variable when it is not. Reads no
//! environment: every layer may check a value with these, and only
//! `configuration` reads the variables.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("required environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// An `http(s)://` URL without a trailing slash, so paths can be appended.
pub fn base_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(value).map_err(|e| ConfigError::Invalid {
        name,
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ConfigError::Invalid {
            name,
            reason: "expected an http(s) URL".into(),
        });
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Hosts on which an issuer may use plain `http`: a Clerk stand-in on this
/// machine. As `Url` spells them, so `127.1` or `[0::1]` do not count.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Exactly an origin, `https://host[:port]`, as Clerk writes a token's `iss`
/// (compared byte for byte, so any other spelling would deny every token).
/// Plain `http` only on loopback.
pub fn origin(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name, reason };
    let parsed = reqwest::Url::parse(value).map_err(|e| invalid(e.to_string()))?;
    let loopback = parsed
        .host_str()
        .is_some_and(|host| LOOPBACK_HOSTS.contains(&host));
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                "expected https (http only on 127.0.0.1, localhost or [::1])".into(),
            ));
        }
        _ => return Err(invalid("expected an https URL".into())),
    }
    if value.ends_with('/') {
        return Err(invalid("must not end with a slash".into()));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            "expected an origin: no path, query or fragment".into(),
        ));
    }
    let origin = parsed.origin().ascii_serialization();
    if value != origin {
        return Err(invalid(format!("expected exactly the origin {origin}")));
    }
    Ok(origin)
}

/// A comma-separated list; blank entries are dropped.
pub fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_drops_trailing_slash_and_rejects_non_http() {
        assert_eq!(
            base_url("X", "https://api.clerk.com/").ok().as_deref(),
            Some("https://api.clerk.com")
        );
        assert!(base_url("X", "ftp://x").is_err());
        assert!(base_url("X", "not a url").is_err());
    }

    #[test]
    fn origins_are_exact_and_http_only_on_loopback() {
        for ok in [
            "https://clerk.example.com",
            "https://clerk.example.com:8443",
            "http://127.0.0.1:3000",
            "http://localhost",
            "http://[::1]:3000",
        ] {
            assert_eq!(origin("X", ok).ok().as_deref(), Some(ok));
        }
        for bad in [
            "https://clerk.example.com/",
            "https://clerk.example.com/a",
            "https://clerk.example.com?a",
            "https://Clerk.example.com",
            "https://clerk.example.com:443",
            "http://clerk.example.com",
            "http://127.1:3000",
            "ws://localhost",
        ] {
            let error = origin("X", bad).unwrap_err().to_string();
            assert!(
                error.starts_with("environment variable X is invalid"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn lists_ignore_blanks() {
        assert_eq!(list(" a, ,b,"), vec!["a", "b"]);
    }
}
