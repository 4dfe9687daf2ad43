//! Outbound HTTP to Amazon: bounded timeouts, and retries with exponential
//! backoff and jitter for timeouts, 429 (honouring `Retry-After`) and 5xx —
//! for a request that must not be repeated, only when the earlier attempt
//! certainly had no effect. Other statuses are answers, not failures, and
//! are returned as they are. Each attempt gets what the invocation's time
//! budget leaves (`crate::budget`), and no pause outlasts it.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::{RequestBuilder, Response, StatusCode};

/// Per attempt; the callback makes a few calls, each within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A server asking for a longer pause than this is not waited for here.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
const ATTEMPTS: usize = 3;
/// The longest pause between two attempts without a `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The longest one call (all its attempts and pauses) can take.
pub const WORST_CASE: Duration = Duration::from_secs(
    REQUEST_TIMEOUT.as_secs() * ATTEMPTS as u64 + MAX_RETRY_AFTER.as_secs() * (ATTEMPTS as u64 - 1),
);

/// Whether a request may be sent again after an attempt that may have
/// reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, and writes whose repetition does no harm.
    Safe,
    /// A one-time credential (an authorization code works once; a second
    /// use may revoke what the first issued): sent again only when the
    /// earlier attempt never left (no connection) or was turned away
    /// unprocessed (429). A timeout or a 5xx may have been processed.
    OnlyIfUnprocessed,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// Timeouts, connection failures, and 429/5xx after the retries.
    #[error("transient failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
}

fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Sends the request `build` makes (again for each attempt).
pub async fn send(build: impl Fn() -> RequestBuilder) -> Result<Response, HttpError> {
    send_with(Repeat::Safe, build).await
}

/// A failed attempt, and whether it certainly had no effect at the server.
struct Failed {
    error: HttpError,
    unprocessed: bool,
}

/// Sends the request `build` makes, repeating it as `repeat` allows.
pub async fn send_with(
    repeat: Repeat,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response, HttpError> {
    let attempt = || async {
        let timeout = crate::budget::for_call(REQUEST_TIMEOUT).ok_or(Failed {
            unprocessed: true,
            error: HttpError::Transient {
                reason: "no time left in this invocation".into(),
                retry_after: None,
            },
        })?;
        let response = build().timeout(timeout).send().await.map_err(|e| Failed {
            unprocessed: e.is_connect(),
            error: HttpError::Transient {
                reason: e.without_url().to_string(),
                retry_after: None,
            },
        })?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Failed {
                unprocessed: status == StatusCode::TOO_MANY_REQUESTS,
                error: HttpError::Transient {
                    reason: format!("status {status}"),
                    retry_after: retry_after(&response),
                },
            });
        }
        Ok(response)
    };
    let sent = attempt
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(MAX_BACKOFF)
                .with_max_times(ATTEMPTS - 1)
                .with_jitter(),
        )
        .when(|failed: &Failed| repeat == Repeat::Safe || failed.unprocessed)
        // `None` from the backoff means the attempts are used up; a pause
        // past the time budget ends them too.
        .adjust(|failed: &Failed, backoff| {
            let wait = match (&failed.error, backoff) {
                (_, None) => None,
                (
                    HttpError::Transient {
                        retry_after: Some(wait),
                        ..
                    },
                    Some(_),
                ) => (*wait <= MAX_RETRY_AFTER).then_some(*wait),
                (_, backoff) => backoff,
            };
            wait.filter(|wait| crate::budget::can_wait(*wait))
        })
        .await;
    sent.map_err(|failed| failed.error)
}
