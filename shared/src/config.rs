//! Environment configuration. Every required variable is read and checked at
//! start-up; an error names the variable and never echoes a secret value.

use std::env;
use std::time::Duration;

/// The longest one DynamoDB, KMS or Secrets Manager call may take, all its
/// attempts included (set on the SDK configuration at start-up).
pub const AWS_CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("required environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Reads a variable, treating an empty value as unset.
pub fn optional(name: &'static str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
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
    fn lists_ignore_blanks() {
        assert_eq!(list(" a, ,b,"), vec!["a", "b"]);
    }
}
