//! The `credentials` function (Lambda Invoke API only): the app's own
//! backend services get, for one user's account, an access token valid for
//! at least five minutes, with the host and the exact headers a call for
//! that account needs. Being allowed to invoke the function is not enough:
//! the caller proves its IAM role with a signed GetCallerIdentity bound to
//! the owner and account (`crate::callers`), and only the roles of
//! `CREDENTIALS_CALLERS` get a token. The refresh token never leaves AWS;
//! the access token is short-lived (at most an hour).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};

use super::{BuildServices, OnFirstEvent};
use crate::aws_identity::proof::SignedRequest;
use crate::budget;
use crate::callers::{Callers, Refused};
use crate::connections::access::{Access, AccessError};
use crate::ids::{AccountId, ConnectionId, OwnerId, UserId};
use crate::model::account::{AccountKind, AccountRole};

/// A token handed out is valid at least this long.
pub const MIN_VALIDITY: Duration = Duration::minutes(5);

/// The services of the function: who may ask, and the tokens.
pub struct CredentialsServices {
    pub callers: Callers,
    pub access: Access,
}

/// `{"owner_id" (or `user_id` for a personal owner), "account_id", "proof"}`.
/// No `Debug`: the proof holds a signature and a session token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsRequest {
    owner_id: Option<String>,
    user_id: Option<UserId>,
    account_id: AccountId,
    proof: SignedRequest,
}

impl CredentialsRequest {
    fn owner(&self) -> Result<OwnerId, CredentialsFailure> {
        let invalid = || {
            CredentialsFailure::new(
                "invalid_request",
                "expected one of owner_id (user_… or org_…) and user_id",
            )
        };
        match (&self.owner_id, &self.user_id) {
            (None, Some(user)) => Ok(OwnerId::User(user.clone())),
            (Some(owner), None) => OwnerId::parse(owner).map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }
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
    /// The Ads profile (an agency's for a DSP advertiser; none for AMC or a
    /// managed-service advertiser).
    pub profile_id: Option<String>,
    /// What the login may do with the account (`viewer`: reads and reports
    /// only; Amazon answers its writes with 401).
    pub role: AccountRole,
}

/// A typed failure: `code` is the Lambda error type the caller branches on.
#[derive(Debug)]
pub struct CredentialsFailure {
    pub code: &'static str,
    pub message: String,
}

impl CredentialsFailure {
    /// All an unproven or unlisted caller learns.
    fn forbidden() -> Self {
        Self::new("forbidden", "this caller may not receive credentials")
    }

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

/// Answers every invocation, each within its deadline; until the services
/// can be built, with an `unavailable` error.
pub async fn serve(
    services: impl BuildServices<CredentialsServices>,
) -> Result<(), lambda_runtime::Error> {
    let services = &OnFirstEvent::new(services);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = budget::instant_of(event.context.deadline())
                .unwrap_or_else(|| Instant::now() + budget::timeouts::CREDENTIALS);
            let services = services.get().await.map_err(|_| {
                CredentialsFailure::new("unavailable", "credentials are unavailable; retry shortly")
            })?;
            budget::scope(deadline, vend(services, event.payload))
                .await
                .map_err(Diagnostic::from)
        },
    ))
    .await
}

/// Answers one invocation whose payload is `input`: the caller proven
/// first, so a refused one learns nothing of owners or accounts.
pub async fn vend(
    services: &CredentialsServices,
    input: serde_json::Value,
) -> Result<Credentials, CredentialsFailure> {
    const EXPECTED: &str =
        "expected {\"owner_id\", \"account_id\", \"proof\": {\"headers\", \"body\"}}";
    if !input.is_object() {
        return Err(CredentialsFailure::new("invalid_request", EXPECTED));
    }
    let request: CredentialsRequest = serde_json::from_value(input)
        .map_err(|e| CredentialsFailure::new("invalid_request", format!("{EXPECTED}: {e}")))?;
    let owner = request.owner()?;
    let account_id = request.account_id;
    let binding = format!("{}/{account_id}", owner.as_str());
    let caller = match services.callers.prove(request.proof, &binding).await {
        Ok(caller) => caller,
        Err(refused) => {
            let caller = match &refused {
                Refused::Unlisted { caller } => caller.as_str(),
                _ => "unproven",
            };
            tracing::warn!(caller, owner_id = owner.as_str(), account_id = %account_id, reason = %refused, "credentials refused");
            return Err(match refused {
                Refused::Unavailable(_) => CredentialsFailure::new(
                    "unavailable",
                    "the caller could not be verified; retry shortly",
                ),
                _ => CredentialsFailure::forbidden(),
            });
        }
    };
    let outcome = services
        .access
        .for_account(&owner, &account_id, MIN_VALIDITY)
        .await;
    let granted = match outcome {
        Ok(granted) => granted,
        Err(error) => {
            tracing::warn!(caller, owner_id = %owner, account_id = %account_id, reason = %error, "credentials refused");
            return Err(error.into());
        }
    };
    tracing::info!(caller, owner_id = %owner, account_id = %account_id, connection_id = %granted.connection_id, "credentials handed out");
    Ok(Credentials {
        headers: granted.headers().into_iter().collect(),
        access_token: granted.access_token.expose().to_owned(),
        expires_at: granted.expires_at,
        client_id: granted.client_id.expose().to_owned(),
        region: granted.region.to_string(),
        api_host: granted.api_host.clone(),
        kind: granted.account.kind(),
        profile_id: granted.account.native.profile_id().map(str::to_owned),
        role: granted.account.role,
        account_id: granted.account.account_id.clone(),
        connection_id: granted.connection_id,
    })
}
