//! A connection from a consent: the start of Login with Amazon (state bound
//! to the user, PKCE) and its completion after Amazon's redirect (code
//! exchange, discovery, the connection and its accounts stored). Also how a
//! connection is renewed by re-authorization.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use reqwest::Url;

use super::accounts::{first_default, merge};
use super::lifecycle::{self, Consent};
pub use super::returns::ReturnPolicy;
use super::tokens::TokenPair;
use super::{amazon_identity, connection_id_for};
use crate::amazon::ads::{AdsApi, Discovery};
use crate::amazon::lwa::{Lwa, LwaError, Pkce, TokenGrant};
use crate::ids::{ConnectionId, UserId};
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::model::oauth::StateRecord;
use crate::model::region::Region;
use crate::secrets::Secret;
use crate::store::changes::{Change, SaveConnection};
use crate::store::oauth_states::{TakenState, state_hash};
use crate::store::{Store, StoreError};
use crate::tokens::{CipherError, TokenCipher};

/// The scope that lets us read who the Amazon login is.
const PROFILE_SCOPE: &str = "profile";
/// How long a consent may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);
const STATE_BYTES: usize = 32;
/// A state as this service hands it out: 32 random bytes, base64url.
const STATE_LENGTH: usize = 43;

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
        }
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

/// Where the browser goes after the callback, and what happened.
pub struct Completion {
    pub return_to: Url,
    pub outcome: Result<ConnectionId, Failure>,
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
    /// the consent renews that connection.
    pub async fn begin(
        &self,
        user_id: &UserId,
        region: Region,
        return_to: Option<Url>,
        reauthorize: Option<ConnectionId>,
    ) -> Result<ConsentStart, BeginError> {
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
        self.store.put_state(&hash, &record).await?;
        Ok(ConsentStart {
            authorization_url: self
                .lwa
                .authorization_url(region, &state_value, pkce.challenge),
            state: state_value,
            expires_at,
        })
    }

    /// Everything after Amazon's redirect.
    pub async fn complete(&self, redirect: Redirect) -> Completion {
        let fail = |return_to: Url, failure| Completion {
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
        let record = match self.store.take_state(&hash, Utc::now()).await {
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
        Completion {
            return_to,
            outcome: self.connect_with_code(&record, &hash, &code, granted).await,
        }
    }

    fn return_url(&self, record: &StateRecord) -> Url {
        record
            .return_to
            .as_deref()
            .and_then(|url| self.returns.check(url))
            .unwrap_or_else(|| self.returns.default_url().clone())
    }

    async fn connect_with_code(
        &self,
        record: &StateRecord,
        hash: &str,
        code: &str,
        granted_scopes: Vec<String>,
    ) -> Result<ConnectionId, Failure> {
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
        let mut grant = self
            .lwa
            .exchange_code(code, &verifier)
            .await
            .map_err(exchange_failure)?;
        // LWA's token response usually omits `scope`; the redirect carries it.
        if grant.scopes.is_empty() {
            grant.scopes = granted_scopes;
        }
        let Some(refresh_token) = grant.refresh_token.clone() else {
            tracing::error!("LWA returned no refresh token");
            return Err(Failure::TokenExchangeFailed);
        };
        let with_profile = grant.scopes.iter().any(|s| s == PROFILE_SCOPE);
        let discovery = self.ads.discover(&grant.access_token, with_profile).await;
        for warning in &discovery.warnings {
            tracing::warn!(source = %warning.source, reason = %warning.reason, "discovery incomplete");
        }
        if !discovery.any_region_answered {
            return Err(Failure::AdsUnavailable);
        }
        // The LWA profile failed (garbage, or kept failing; a missing `profile`
        // scope is no failure): without its user id the login would be taken
        // for another one, a second connection for it.
        if discovery.warnings.iter().any(|w| w.source == "lwa_profile") {
            return Err(Failure::LwaUnavailable);
        }
        let tokens = TokenPair {
            access_token: grant.access_token.clone(),
            refresh_token,
        };
        // One retry: another write (a refresh, a second tab) may have come first.
        for _ in 0..2 {
            match self.save(record, &grant, &tokens, &discovery).await? {
                Saved::Connected(id) => return Ok(id),
                Saved::Retry => continue,
            }
        }
        Err(Failure::StorageUnavailable)
    }

    async fn save(
        &self,
        record: &StateRecord,
        grant: &TokenGrant,
        tokens: &TokenPair,
        discovery: &Discovery,
    ) -> Result<Saved, Failure> {
        let user_id = &record.user_id;
        let partition = self
            .store
            .read_partition(user_id)
            .await
            .map_err(storage_failure)?;
        if partition.deleted {
            return Err(Failure::UserDeleted);
        }
        let identity = amazon_identity(discovery);
        // A re-authorization renews the connection it was started for, if
        // it still exists, and only with that connection's own login.
        let renewed = record.reauthorize.as_ref().and_then(|id| {
            partition
                .connections
                .iter()
                .find(|c| &c.connection_id == id)
        });
        let (connection_id, identity) = match renewed {
            Some(connection)
                if same_login(connection, &identity, &partition.accounts, discovery) =>
            {
                (
                    connection.connection_id.clone(),
                    connection.amazon_identity.clone(),
                )
            }
            Some(connection) => {
                tracing::warn!(
                    connection_id = %connection.connection_id,
                    "re-authorization consented by another Amazon login; nothing stored"
                );
                return Err(Failure::WrongAmazonLogin);
            }
            None => (connection_id_for(user_id, &identity), identity),
        };
        let existing = partition
            .connections
            .iter()
            .find(|c| c.connection_id == connection_id);
        let now = Utc::now();
        let sealed = tokens
            .seal(&self.cipher, user_id, &connection_id)
            .await
            .map_err(storage_failure)?;
        let lwa = discovery.lwa_profile.as_ref();
        let (connection, event) = lifecycle::connected(
            existing,
            Consent {
                user_id: user_id.clone(),
                connection_id,
                amazon_identity: identity,
                amazon_user_id: lwa.map(|p| p.user_id.clone()),
                amazon_name: lwa.and_then(|p| p.name.clone()),
                amazon_email: lwa.and_then(|p| p.email.clone()),
                region: record.region,
                scopes: grant.scopes.clone(),
                access_expires_at: now
                    + Duration::from_std(grant.expires_in).unwrap_or(Duration::hours(1)),
                tokens: sealed,
                sync_warnings: discovery.warnings.clone(),
                auto_refresh: partition
                    .profile
                    .as_ref()
                    .is_none_or(|p| p.settings.auto_refresh_tokens),
            },
            now,
        );
        let accounts = merge(&partition.accounts, &connection, discovery, now);
        let new_default = first_default(partition.profile.as_ref(), &accounts);
        let change = self
            .store
            .save_connection(SaveConnection {
                connection: &connection,
                accounts: &accounts,
                new_default: new_default.as_ref(),
                event: &event,
            })
            .await
            .map_err(storage_failure)?;
        match change {
            Change::Committed => Ok(Saved::Connected(connection.connection_id)),
            Change::UserDeleted => Err(Failure::UserDeleted),
            _ => Ok(Saved::Retry),
        }
    }
}

/// Whether a consent came from the login `connection` was made with: the
/// same LWA user, or (without the `profile` scope, when only the profiles
/// tell) a login that still reaches one of the connection's profiles.
fn same_login(
    connection: &ConnectionRecord,
    identity: &str,
    accounts: &[AccountRecord],
    discovery: &Discovery,
) -> bool {
    const BY_PROFILES: &str = "profiles:";
    if connection.amazon_identity == identity {
        return true;
    }
    connection.amazon_identity.starts_with(BY_PROFILES)
        && identity.starts_with(BY_PROFILES)
        && accounts
            .iter()
            .filter(|a| a.connection_id == connection.connection_id)
            .any(|a| {
                discovery
                    .accounts
                    .iter()
                    .any(|d| d.profile_id == a.profile_id)
            })
}

enum Saved {
    Connected(ConnectionId),
    Retry,
}

/// Why the start of a consent failed: a dependency, never the input.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
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

fn storage_failure(error: impl std::fmt::Display) -> Failure {
    tracing::error!(error = %error, "connection could not be stored");
    Failure::StorageUnavailable
}
