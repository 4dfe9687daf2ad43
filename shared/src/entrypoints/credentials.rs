//! The `credentials` function (Lambda Invoke API only; IAM decides who may
//! call it): the app's own backend services get, for one user's account,
//! an access token valid for at least five minutes, with the host and the
//! exact headers a call for that account needs. The refresh token never
//! leaves AWS; the access token is short-lived (at most an hour) and only
//! ever goes to the IAM principal that invoked the function.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};

use super::{BuildServices, OnFirstEvent};
use crate::budget;
use crate::connections::access::{Access, AccessError};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::model::account::AccountKind;

/// A token handed out is valid at least this long.
pub const MIN_VALIDITY: Duration = Duration::minutes(5);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsRequest {
    pub user_id: UserId,
    pub account_id: AccountId,
}

/// What a backend needs to call the Ads API for the account. No `Debug`:
/// it holds the access token.
#[derive(Serialize)]
pub struct Credentials {
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
    pub client_id: String,
    pub region: String,
    /// The region's Ads API base URL.
    pub api_host: String,
    /// Every header a call for this account carries, `Authorization` included.
    pub headers: BTreeMap<&'static str, String>,
    pub account_id: AccountId,
    pub connection_id: ConnectionId,
    pub kind: AccountKind,
    /// The Ads profile (an agency's for a DSP advertiser; none for AMC).
    pub profile_id: Option<String>,
}

/// A typed failure: `code` is the Lambda error type the caller branches on.
#[derive(Debug)]
pub struct CredentialsFailure {
    pub code: &'static str,
    pub message: String,
}

impl CredentialsFailure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<AccessError> for CredentialsFailure {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::NotFound => Self::new("not_found", "no such account for this user"),
            AccessError::NeedsReauth(connection_id) => Self::new(
                "needs_reauth",
                format!("connection {connection_id} must be re-authorized by its user"),
            ),
            AccessError::Unavailable(_) => {
                Self::new("unavailable", "credentials are unavailable; retry shortly")
            }
            // Only a proxied call carries the caller's headers.
            AccessError::OwnedHeader(owned) => Self::new("invalid_request", owned.to_string()),
        }
    }
}

impl From<CredentialsFailure> for Diagnostic {
    fn from(failure: CredentialsFailure) -> Self {
        Self {
            error_type: failure.code.to_owned(),
            error_message: failure.message,
        }
    }
}

/// Answers every invocation, each within its deadline; until `access` can
/// be built, with an `unavailable` error.
pub async fn serve(access: impl BuildServices<Access>) -> Result<(), lambda_runtime::Error> {
    let access = &OnFirstEvent::new(access);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = budget::instant_of(event.context.deadline())
                .unwrap_or_else(|| Instant::now() + budget::timeouts::CREDENTIALS);
            let access = access.get().await.map_err(|_| {
                CredentialsFailure::new("unavailable", "credentials are unavailable; retry shortly")
            })?;
            budget::scope(deadline, vend(access, event.payload))
                .await
                .map_err(Diagnostic::from)
        },
    ))
    .await
}

/// Answers one invocation whose payload is `input`.
pub async fn vend(
    access: &Access,
    input: serde_json::Value,
) -> Result<Credentials, CredentialsFailure> {
    if !input.is_object() {
        return Err(CredentialsFailure::new(
            "invalid_request",
            "expected a JSON object {\"user_id\", \"account_id\"}",
        ));
    }
    let request: CredentialsRequest = serde_json::from_value(input).map_err(|e| {
        CredentialsFailure::new(
            "invalid_request",
            format!("expected {{\"user_id\", \"account_id\"}}: {e}"),
        )
    })?;
    let outcome = access
        .for_account(&request.user_id, &request.account_id, MIN_VALIDITY)
        .await;
    let granted = match outcome {
        Ok(granted) => granted,
        Err(error) => {
            tracing::warn!(account_id = %request.account_id, error = %error, "credentials refused");
            return Err(error.into());
        }
    };
    tracing::info!(account_id = %request.account_id, connection_id = %granted.connection_id, "credentials handed out");
    Ok(Credentials {
        headers: granted.headers().into_iter().collect(),
        access_token: granted.access_token.expose().to_owned(),
        expires_at: granted.expires_at,
        client_id: granted.client_id.expose().to_owned(),
        region: granted.region.to_string(),
        api_host: granted.api_host.clone(),
        kind: granted.account.kind(),
        profile_id: granted.account.native.profile_id().map(str::to_owned),
        account_id: granted.account.account_id.clone(),
        connection_id: granted.connection_id,
    })
}
