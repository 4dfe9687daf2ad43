//! Amazon's rules for the answers a proxied call may get besides its
//! result: throttling (429, and 425 for a report already being made),
//! server failures, and the two kinds of 401. Sources:
//! `../shared/reference/amazon-lwa-and-ads.md` §5 (Amazon's rate-limiting
//! and error guides).

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Amazon's back-off without a `Retry-After`: "2 seconds … 4 seconds … 8
/// seconds"; its length is also the most retries of a throttled call.
pub const BACKOFF: [Duration; 3] = [
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];
/// The longest `Retry-After` believed (Airbyte caps Amazon's at 600 s).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Amazon's `Retry-After`: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.to_utc() - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The pause before attempt `retry` (0-based) of a throttled call.
pub fn backoff(retry: usize) -> Duration {
    BACKOFF[retry.min(BACKOFF.len() - 1)]
}

/// Amazon's "retry later" failures.
pub fn is_transient(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// Whether sending the call again cannot do twice what it asked: only
/// then is a server failure (which may have been processed) retried.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::PUT | Method::DELETE)
}

/// What a 401 from the Ads API means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorized {
    /// The token is expired or invalid ("Authentication failed", "user is
    /// not authenticated", v1's "lacks the necessary credentials", or no
    /// reason): a renewed token may pass.
    Token,
    /// The token is fine but the login may not do this: a scope it cannot
    /// reach, an advertiser it does not manage, a role without the right
    /// ("Not authorized to access scope", "No matching advertiser found for
    /// scope", permission or consent). A new token changes nothing.
    Permission,
}

/// Reads a 401's body (Amazon's `details`, `message` or `code`, in any of
/// its shapes) for the kind of refusal.
pub fn unauthorized(body: &[u8]) -> Unauthorized {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_ascii_lowercase();
    const PERMISSION: &[&str] = &[
        "scope",
        "advertiser",
        "not authorized to",
        "permission",
        "forbidden",
        "consent",
        "access denied",
    ];
    if PERMISSION.iter().any(|sign| text.contains(sign)) {
        Unauthorized::Permission
    } else {
        Unauthorized::Token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_is_read_before_anything_is_refreshed() {
        for token in [
            r#"{"code":"401","details":"Authentication failed","requestId":"K1"}"#,
            r#"{"code":"UNAUTHORIZED","message":"The request lacks the necessary credentials"}"#,
            r#"{"code":"UNAUTHORIZED","details":"user is not authenticated"}"#,
            r#"{"code":"UNAUTHORIZED","details":"Not authorized"}"#,
            "",
        ] {
            assert_eq!(
                unauthorized(token.as_bytes()),
                Unauthorized::Token,
                "{token}"
            );
        }
        for refusal in [
            r#"{"code":"UNAUTHORIZED","details":"Not authorized to access scope 5001"}"#,
            r#"{"code":"401","details":"No matching advertiser found for scope"}"#,
            r#"{"code":"UNAUTHORIZED","details":"Not authorized to manage this profile. Please check permissions and consent from the advertiser."}"#,
            r#"{"code":"FORBIDDEN","message":"The caller is not authorized to make the given request"}"#,
        ] {
            assert_eq!(
                unauthorized(refusal.as_bytes()),
                Unauthorized::Permission,
                "{refusal}"
            );
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(with("7"), Some(Duration::from_secs(7)));
        assert_eq!(with("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(with("soon"), None);
        assert_eq!(backoff(0), Duration::from_secs(2));
        assert_eq!(backoff(9), Duration::from_secs(8));
    }
}
