//! Clerk Backend API: the user lookup behind just-in-time provisioning.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::StatusCode;

use crate::clerk::events::ClerkUser;
use crate::ids::UserId;
use crate::secrets::Secret;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum ClerkApiError {
    #[error("Clerk has no such user")]
    NotFound,
    #[error("Clerk API failed: {0}")]
    Upstream(String),
    /// 429/5xx/timeouts, still failing after the retries.
    #[error("Clerk API unavailable: {0}")]
    Transient(String),
}

#[derive(Clone)]
pub struct ClerkApi {
    http: crate::tls::Https,
    base_url: String,
    secret_key: Secret,
}

impl ClerkApi {
    /// `base_url` without a trailing slash, e.g. `https://api.clerk.com`.
    pub fn new(base_url: String, secret_key: Secret) -> Self {
        Self {
            http: crate::tls::Https,
            base_url,
            secret_key,
        }
    }

    /// `GET /v1/users/{id}`; retried on transient failures (a GET is safe to repeat).
    pub async fn get_user(&self, user_id: &UserId) -> Result<ClerkUser, ClerkApiError> {
        let attempt = || async {
            let timeout = crate::budget::for_call(REQUEST_TIMEOUT)
                .ok_or_else(|| ClerkApiError::Transient("no time left".into()))?;
            let response = self
                .http
                .get(format!("{}/v1/users/{user_id}", self.base_url))
                .bearer_auth(self.secret_key.expose())
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| ClerkApiError::Transient(without_url(e)))?;
            match response.status() {
                StatusCode::OK => response.json::<ClerkUser>().await.map_err(|e| {
                    ClerkApiError::Upstream(format!("unexpected user object: {}", without_url(e)))
                }),
                StatusCode::NOT_FOUND => Err(ClerkApiError::NotFound),
                status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
                    Err(ClerkApiError::Transient(format!("status {status}")))
                }
                status => Err(ClerkApiError::Upstream(format!("status {status}"))),
            }
        };
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_times(2)
                    .with_jitter(),
            )
            .when(|e| matches!(e, ClerkApiError::Transient(_)))
            .adjust(|_, backoff| backoff.filter(|wait| crate::budget::can_wait(*wait)))
            .await
    }
}

fn without_url(error: reqwest::Error) -> String {
    error.without_url().to_string()
}
