//! A connection from a consent, in three steps: the start of Login with
//! Amazon (state bound to the user, PKCE); Amazon's redirect (the code
//! exchanged once, the tokens kept sealed as a pending grant); and the
//! completion by the signed-in user who started (`completion.rs`:
//! discovery, the connection and its accounts stored). Re-authorization
//! renews a connection the same way.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use reqwest::Url;

pub use super::returns::ReturnPolicy;
use super::tokens::{TokenPair, grant_context};
use crate::amazon::ads::AdsApi;
use crate::amazon::lwa::{Lwa, LwaError, Pkce};
use crate::ids::{ConnectionId, UserId};
use crate::model::oauth::state_hash;
use crate::model::oauth::{PendingGrant, StateRecord};
use crate::model::region::Region;
use crate::secrets::Secret;
use crate::store::oauth_states::TakenState;
use crate::store::{Store, StoreError};
use crate::tokens::{CipherError, TokenCipher};

/// How long a consent may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);
/// How long a granted consent waits for its completion.
pub const GRANT_LIFETIME: Duration = Duration::minutes(10);
const STATE_BYTES: usize = 32;
/// A state (a completion) as this service hands it out: 32 random bytes,
/// base64url.
pub const STATE_LENGTH: usize = 43;

/// The start of a consent, for the user to open.
#[derive(Debug)]
pub struct ConsentStart {
    pub authorization_url: String,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a connection attempt failed, as the `reason` the frontend receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    InvalidState,
    ExpiredState,
    AccessDenied,
    InvalidScope,
    AuthorizationFailed,
    MissingCode,
    InvalidGrant,
    ClientRejected,
    TokenExchangeFailed,
    LwaUnavailable,
    AdsUnavailable,
    /// A re-authorization was consented by another Amazon login than the
    /// connection's own.
    WrongAmazonLogin,
    UserDeleted,
    StorageUnavailable,
    /// Unknown, used, expired, or another user's.
    UnknownCompletion,
    /// The invocation's time ran out before a dependency answered.
    TimedOut,
}

impl Failure {
    pub fn reason(self) -> &'static str {
        match self {
            Self::InvalidState => "invalid_state",
            Self::ExpiredState => "expired_state",
            Self::AccessDenied => "access_denied",
            Self::InvalidScope => "invalid_scope",
            Self::AuthorizationFailed => "authorization_failed",
            Self::MissingCode => "missing_code",
            Self::InvalidGrant => "invalid_grant",
            Self::ClientRejected => "client_rejected",
            Self::TokenExchangeFailed => "token_exchange_failed",
            Self::LwaUnavailable => "lwa_unavailable",
            Self::AdsUnavailable => "ads_unavailable",
            Self::WrongAmazonLogin => "wrong_amazon_login",
            Self::UserDeleted => "user_deleted",
            Self::StorageUnavailable => "storage_unavailable",
            Self::UnknownCompletion => "unknown_completion",
            Self::TimedOut => "timed_out",
        }
    }

    /// Whether the same completion may succeed if presented again.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::LwaUnavailable | Self::AdsUnavailable | Self::StorageUnavailable | Self::TimedOut
        )
    }
}

/// What Amazon's redirect brought.
#[derive(Debug, Default)]
pub struct Redirect {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// The scopes Amazon says were granted, space-separated.
    pub scope: Option<String>,
}

/// Where the browser goes after the callback, and what happened: the
/// completion its signed-in user presents to connect, or why not.
pub struct Callback {
    pub return_to: Url,
    pub outcome: Result<String, Failure>,
}

pub struct ConnectService {
    pub store: Store,
    pub cipher: Arc<TokenCipher>,
    pub lwa: Arc<Lwa>,
    pub ads: Arc<AdsApi>,
    pub returns: Arc<ReturnPolicy>,
}

fn verifier_context(hash: &str) -> String {
    format!("pkce|{hash}")
}

impl ConnectService {
    /// Creates the single-use state and the consent URL; with `reauthorize`,
    /// the consent renews that connection. A `return_to` must be on an
    /// allowed origin ([`ReturnPolicy::check`]).
    pub async fn begin(
        &self,
        user_id: &UserId,
        region: Region,
        return_to: Option<&str>,
        reauthorize: Option<ConnectionId>,
    ) -> Result<ConsentStart, BeginError> {
        let return_to = return_to
            .map(|url| {
                self.returns
                    .check(url)
                    .ok_or(BeginError::ReturnToNotAllowed)
            })
            .transpose()?;
        let token: [u8; STATE_BYTES] = rand::random();
        let state_value = URL_SAFE_NO_PAD.encode(token);
        let hash = state_hash(&state_value);
        let pkce = Pkce::new();
        let verifier = self
            .cipher
            .seal(pkce.verifier.expose().as_bytes(), &verifier_context(&hash))
            .await?;
        let expires_at = Utc::now() + STATE_LIFETIME;
        let record = StateRecord {
            user_id: user_id.clone(),
            region,
            return_to: return_to.map(String::from),
            reauthorize,
            verifier,
            expires_at,
        };
        self.store.oauth_states().put_state(&hash, &record).await?;
        Ok(ConsentStart {
            authorization_url: self
                .lwa
                .authorization_url(region, &state_value, pkce.challenge),
            state: state_value,
            expires_at,
        })
    }

    /// Amazon's redirect: the state checked and spent, the code exchanged.
    /// Nothing is connected here: the browser that follows Amazon's
    /// redirect may not be the one that started (RFC 9700 §4.7.1).
    pub async fn callback(&self, redirect: Redirect) -> Callback {
        let fail = |return_to: Url, failure| Callback {
            return_to,
            outcome: Err(failure),
        };
        let default_url = self.returns.default_url().clone();
        let Some(state_value) = redirect
            .state
            .filter(|s| s.len() == STATE_LENGTH && URL_SAFE_NO_PAD.decode(s).is_ok())
        else {
            return fail(default_url, Failure::InvalidState);
        };
        let hash = state_hash(&state_value);
        let record = match self
            .store
            .oauth_states()
            .take_state(&hash, Utc::now())
            .await
        {
            Ok(TakenState::Valid(record)) => record,
            Ok(TakenState::Expired(record)) => {
                return fail(self.return_url(&record), Failure::ExpiredState);
            }
            Ok(TakenState::Unknown) => return fail(default_url, Failure::InvalidState),
            Err(e) => {
                tracing::error!(error = %e, "state could not be read");
                return fail(default_url, Failure::StorageUnavailable);
            }
        };
        let return_to = self.return_url(&record);
        if let Some(error) = redirect.error {
            return fail(return_to, consent_refused(&error));
        }
        let Some(code) = redirect.code.filter(|c| !c.is_empty()) else {
            return fail(return_to, Failure::MissingCode);
        };
        let granted: Vec<String> = redirect
            .scope
            .iter()
            .flat_map(|s| s.split_whitespace())
            .filter(|s| {
                s.len() <= 100
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b":_-.".contains(&b))
            })
            .map(str::to_owned)
            .collect();
        Callback {
            return_to,
            outcome: self.exchange(&record, &hash, &code, granted).await,
        }
    }

    fn return_url(&self, record: &StateRecord) -> Url {
        record
            .return_to
            .as_deref()
            .and_then(|url| self.returns.check(url))
            .unwrap_or_else(|| self.returns.default_url().clone())
    }

    /// Exchanges the code (once: a code works once) and keeps the tokens as
    /// a pending grant for the user who started; the completion returned
    /// is the browser's handle to it.
    async fn exchange(
        &self,
        record: &StateRecord,
        hash: &str,
        code: &str,
        granted_scopes: Vec<String>,
    ) -> Result<String, Failure> {
        let verifier = self
            .cipher
            .open(&record.verifier, &verifier_context(hash))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "PKCE verifier could not be opened");
                Failure::StorageUnavailable
            })?;
        let verifier =
            Secret::new(String::from_utf8(verifier).map_err(|_| Failure::StorageUnavailable)?);
        let grant = self
            .lwa
            .exchange_code(code, &verifier)
            .await
            .map_err(exchange_failure)?;
        let Some(refresh_token) = grant.refresh_token else {
            tracing::error!("LWA returned no refresh token");
            return Err(Failure::TokenExchangeFailed);
        };
        let now = Utc::now();
        let completion = URL_SAFE_NO_PAD.encode(rand::random::<[u8; STATE_BYTES]>());
        let grant_hash = state_hash(&completion);
        let tokens = TokenPair {
            access_token: grant.access_token,
            refresh_token,
        }
        .seal_for(&self.cipher, &grant_context(&record.user_id, &grant_hash))
        .await
        .map_err(storage_failure)?;
        let pending = PendingGrant {
            user_id: record.user_id.clone(),
            region: record.region,
            reauthorize: record.reauthorize.clone(),
            // LWA's token response usually omits `scope`; the redirect carries it.
            scopes: if grant.scopes.is_empty() {
                granted_scopes
            } else {
                grant.scopes
            },
            access_expires_at: now
                + Duration::from_std(grant.expires_in).unwrap_or(Duration::hours(1)),
            tokens,
            expires_at: now + GRANT_LIFETIME,
        };
        self.store
            .oauth_states()
            .put_grant(&grant_hash, &pending)
            .await
            .map_err(storage_failure)?;
        Ok(completion)
    }
}

/// Why the start of a consent failed: a dependency, never the input.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    #[error("return_to is not an http(s) URL on an allowed origin")]
    ReturnToNotAllowed,
    #[error(transparent)]
    Cipher(#[from] CipherError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn consent_refused(error: &str) -> Failure {
    // Amazon's own words are not echoed: only a known code is logged.
    let known = matches!(
        error,
        "access_denied"
            | "invalid_scope"
            | "invalid_request"
            | "server_error"
            | "temporarily_unavailable"
    );
    tracing::info!(
        amazon_error = if known { error } else { "other" },
        "consent not given"
    );
    match error {
        "access_denied" => Failure::AccessDenied,
        "invalid_scope" => Failure::InvalidScope,
        _ => Failure::AuthorizationFailed,
    }
}

fn exchange_failure(error: LwaError) -> Failure {
    match error {
        LwaError::InvalidGrant => Failure::InvalidGrant,
        LwaError::ClientRejected(code) => {
            tracing::error!(
                lwa_error = code,
                "LWA rejected our client credentials: check amazon_client_id/secret"
            );
            Failure::ClientRejected
        }
        LwaError::Rejected(reason) => {
            tracing::error!(%reason, "LWA rejected the code exchange");
            Failure::TokenExchangeFailed
        }
        LwaError::Unavailable { reason, .. } => {
            tracing::warn!(%reason, "LWA unavailable");
            Failure::LwaUnavailable
        }
    }
}

pub(super) fn storage_failure(error: impl std::fmt::Display) -> Failure {
    tracing::error!(error = %error, "connection could not be stored");
    Failure::StorageUnavailable
}
