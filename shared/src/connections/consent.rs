//! What connecting an Amazon login (`connect::ConnectService`) takes and
//! answers at each step: the consent's start, Amazon's redirect, the
//! callback's outcome, the completion and the connection it made, and
//! every reason a step fails.

use chrono::{DateTime, Duration, Utc};
use reqwest::Url;

use crate::amazon::lwa::LwaError;
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::store::StoreError;
use crate::tokens::CipherError;

/// How long a consent may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);
/// How long a granted consent waits for its completion.
pub const GRANT_LIFETIME: Duration = Duration::minutes(10);
pub(super) const STATE_BYTES: usize = 32;
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

pub(super) fn consent_refused(error: &str) -> Failure {
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

pub(super) fn exchange_failure(error: LwaError) -> Failure {
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

/// The scope that lets us read who the Amazon login is.
pub const PROFILE_SCOPE: &str = "profile";

/// A connection made (or renewed) by a completion, with the user's accounts.
#[derive(Debug)]
pub struct Completed {
    pub connection: ConnectionRecord,
    pub accounts: Vec<AccountRecord>,
}

/// Whether `completion` has the shape this service hands out.
pub fn is_completion(completion: &str) -> bool {
    completion.len() == STATE_LENGTH
        && completion
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
