//! `oauth-start` (`POST /api/v1/amazon/connect`) and `oauth-callback`
//! (`GET /api/v1/amazon/callback`): Login with Amazon with PKCE and a state
//! bound to the user, then discovery of everything the login can reach.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::amazon::ads::{AdsApi, Discovery};
use crate::amazon::lwa::{Lwa, LwaError, Pkce, TokenGrant};
use crate::amazon::{AmazonConfig, Region};
use crate::config::{self, ConfigError};
use crate::http::ErrorResponse;
use crate::http::{self, ApiError, Caller, StrictJsonOrEmpty};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::secrets::Secret;
use crate::store::accounts::{AccountRecord, AccountStatus};
use crate::store::connections::{
    ConnectionRecord, ConnectionStatus, ConnectionWrite, UserPartition, account_id_for,
    connection_id_for,
};
use crate::store::events::EventKind;
use crate::store::oauth_states::{StateRecord, TakenState, state_hash};
use crate::store::{Store, WriteOutcome};
use crate::tokens::TokenCipher;

/// How long a consent may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);
/// Refresh tokens issued since 2026-06-30 die 365 days after consent.
pub const CONSENT_LIFETIME: Duration = Duration::days(365);
const STATE_BYTES: usize = 32;

/// Where the callback may send the browser back to.
pub struct ReturnPolicy {
    allowed_origins: Vec<String>,
    default_url: Url,
}

impl ReturnPolicy {
    pub fn new(allowed_origins: &[String], default_url: &str) -> Result<Self, ConfigError> {
        let invalid = |name: &'static str, reason: String| ConfigError::Invalid { name, reason };
        let default_url =
            Url::parse(default_url).map_err(|e| invalid("DEFAULT_RETURN_URL", e.to_string()))?;
        if !matches!(default_url.scheme(), "https" | "http") {
            return Err(invalid(
                "DEFAULT_RETURN_URL",
                "expected an http(s) URL".into(),
            ));
        }
        let allowed_origins = allowed_origins
            .iter()
            .map(|origin| {
                let url = Url::parse(origin)
                    .map_err(|e| invalid("ALLOWED_RETURN_ORIGINS", format!("{origin}: {e}")))?;
                Ok(url.origin().ascii_serialization())
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self {
            allowed_origins,
            default_url,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let origins = config::optional("ALLOWED_RETURN_ORIGINS")
            .map(|v| config::list(&v))
            .unwrap_or_default();
        Self::new(&origins, &config::required("DEFAULT_RETURN_URL")?)
    }

    /// An absolute http(s) URL, without credentials, on an allowed origin.
    /// Hosts are compared after URL normalisation (case, IDNA), so look-alike
    /// spellings of an allowed origin are the origin itself, and anything
    /// else is refused.
    pub fn check(&self, return_to: &str) -> Option<Url> {
        let url = Url::parse(return_to).ok()?;
        let plain = matches!(url.scheme(), "https" | "http")
            && url.username().is_empty()
            && url.password().is_none()
            && url.host().is_some();
        let origin = url.origin().ascii_serialization();
        (plain && self.allowed_origins.contains(&origin)).then_some(url)
    }
}

#[derive(Clone)]
pub struct AmazonState {
    pub store: Store,
    pub cipher: Arc<TokenCipher>,
    pub lwa: Arc<Lwa>,
    pub ads: Arc<AdsApi>,
    pub returns: Arc<ReturnPolicy>,
}

impl AmazonState {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = super::aws_sdk_config().await;
        let secrets = super::load_app_secrets(&sdk).await?;
        Self::load(&sdk, &secrets)
    }

    /// From configuration already loaded (several functions share it).
    pub fn load(
        sdk: &aws_config::SdkConfig,
        secrets: &crate::secrets::AppSecrets,
    ) -> Result<Self, ConfigError> {
        let table = Store::table_from_env()?;
        let key_id = config::required("TOKEN_KEY_ID")?;
        let returns = ReturnPolicy::from_env()?;
        let amazon = AmazonConfig::from_env(secrets)?;
        Ok(Self {
            store: Store::new(aws_sdk_dynamodb::Client::new(sdk), table),
            cipher: Arc::new(TokenCipher::new(aws_sdk_kms::Client::new(sdk), key_id)),
            lwa: Arc::new(Lwa::new(&amazon)?),
            ads: Arc::new(AdsApi::new(&amazon)),
            returns: Arc::new(returns),
        })
    }
}

pub fn start_router(state: AmazonState) -> Router {
    http::finish(
        Router::new()
            .route("/api/v1/amazon/connect", post(connect))
            .with_state(state),
    )
}

pub fn callback_router(state: AmazonState) -> Router {
    http::finish(
        Router::new()
            .route("/api/v1/amazon/callback", get(callback))
            .with_state(state),
    )
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    pub region: Option<Region>,
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectStart {
    pub authorization_url: String,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/api/v1/amazon/connect", tag = "amazon", request_body(content = Option<ConnectRequest>, description = "Both fields optional; the body may be empty"), responses((status = 200, body = ConnectStart), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn connect(
    State(state): State<AmazonState>,
    caller: Caller,
    StrictJsonOrEmpty(request): StrictJsonOrEmpty<ConnectRequest>,
) -> Result<Json<ConnectStart>, ApiError> {
    let return_to = match request.return_to.as_deref() {
        None => None,
        Some(url) => Some(state.returns.check(url).ok_or_else(|| {
            ApiError::invalid_field(
                "return_to",
                "`return_to` must be an http(s) URL on an allowed origin",
            )
        })?),
    };
    begin(
        &state,
        &caller.user_id,
        request.region.unwrap_or_default(),
        return_to,
        None,
    )
    .await
    .map(Json)
}

/// Creates the single-use state and the consent URL. Also used to
/// re-authorize an existing connection.
pub async fn begin(
    state: &AmazonState,
    user_id: &UserId,
    region: Region,
    return_to: Option<Url>,
    reauthorize: Option<ConnectionId>,
) -> Result<ConnectStart, ApiError> {
    let token: [u8; STATE_BYTES] = rand::random();
    let state_value = URL_SAFE_NO_PAD.encode(token);
    let hash = state_hash(&state_value);
    let pkce = Pkce::new();
    let verifier = state
        .cipher
        .seal(pkce.verifier.expose().as_bytes(), &verifier_context(&hash))
        .await
        .map_err(ApiError::unavailable)?;
    let expires_at = Utc::now() + STATE_LIFETIME;
    let record = StateRecord {
        user_id: user_id.clone(),
        region,
        return_to: return_to.map(String::from),
        reauthorize,
        verifier,
        expires_at,
    };
    state.store.put_state(&hash, &record).await?;
    Ok(ConnectStart {
        authorization_url: state
            .lwa
            .authorization_url(region, &state_value, pkce.challenge),
        state: state_value,
        expires_at,
    })
}

fn verifier_context(hash: &str) -> String {
    format!("pkce|{hash}")
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
            Self::UserDeleted => "user_deleted",
            Self::StorageUnavailable => "storage_unavailable",
        }
    }
}

#[derive(Default)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The scopes Amazon says were granted, space-separated.
    scope: Option<String>,
}

fn parse_params(query: Option<&str>) -> CallbackParams {
    let mut params = CallbackParams::default();
    for (key, value) in url_pairs(query.unwrap_or_default()) {
        let slot = match key.as_str() {
            "code" => &mut params.code,
            "state" => &mut params.state,
            "error" => &mut params.error,
            "scope" => &mut params.scope,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    params
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    Url::parse(&format!("http://callback/?{query}"))
        .map(|url| {
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[utoipa::path(get, path = "/api/v1/amazon/callback", tag = "amazon", params(("code" = Option<String>, Query), ("state" = Option<String>, Query), ("scope" = Option<String>, Query), ("error" = Option<String>, Query), ("error_description" = Option<String>, Query)), responses((status = 302, description = "To return_to with amazon=connected&connection_id=… or amazon=error&reason=…")))]
async fn callback(State(state): State<AmazonState>, RawQuery(query): RawQuery) -> Response {
    let params = parse_params(query.as_deref());
    let (return_to, outcome) = complete(&state, params).await;
    let mut url = return_to;
    match &outcome {
        Ok(connection_id) => {
            tracing::info!(%connection_id, "Amazon connection completed");
            url.query_pairs_mut()
                .append_pair("amazon", "connected")
                .append_pair("connection_id", connection_id.as_str());
        }
        Err(failure) => {
            tracing::warn!(reason = failure.reason(), "Amazon connection failed");
            url.query_pairs_mut()
                .append_pair("amazon", "error")
                .append_pair("reason", failure.reason());
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The callback URL carries the code: never send it on as a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Everything after Amazon's redirect. Returns where to send the browser and
/// the connection or the failure.
async fn complete(
    state: &AmazonState,
    params: CallbackParams,
) -> (Url, Result<ConnectionId, Failure>) {
    let default_url = state.returns.default_url.clone();
    let Some(state_value) = params
        .state
        .filter(|s| s.len() == 43 && URL_SAFE_NO_PAD.decode(s).is_ok())
    else {
        return (default_url, Err(Failure::InvalidState));
    };
    let hash = state_hash(&state_value);
    let record = match state.store.take_state(&hash, Utc::now()).await {
        Ok(TakenState::Valid(record)) => record,
        Ok(TakenState::Expired(record)) => {
            return (return_url(state, &record), Err(Failure::ExpiredState));
        }
        Ok(TakenState::Unknown) => return (default_url, Err(Failure::InvalidState)),
        Err(e) => {
            tracing::error!(error = %e, "state could not be read");
            return (default_url, Err(Failure::StorageUnavailable));
        }
    };
    let url = return_url(state, &record);
    if let Some(error) = params.error {
        // Amazon's own words are not echoed: only a known code is logged.
        let known = matches!(
            error.as_str(),
            "access_denied"
                | "invalid_scope"
                | "invalid_request"
                | "server_error"
                | "temporarily_unavailable"
        );
        tracing::info!(
            amazon_error = if known { error.as_str() } else { "other" },
            "consent not given"
        );
        let failure = match error.as_str() {
            "access_denied" => Failure::AccessDenied,
            "invalid_scope" => Failure::InvalidScope,
            _ => Failure::AuthorizationFailed,
        };
        return (url, Err(failure));
    }
    let Some(code) = params.code.filter(|c| !c.is_empty()) else {
        return (url, Err(Failure::MissingCode));
    };
    let granted: Vec<String> = params
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
    let outcome = connect_with_code(state, &record, &hash, &code, granted).await;
    (url, outcome)
}

fn return_url(state: &AmazonState, record: &StateRecord) -> Url {
    record
        .return_to
        .as_deref()
        .and_then(|url| state.returns.check(url))
        .unwrap_or_else(|| state.returns.default_url.clone())
}

async fn connect_with_code(
    state: &AmazonState,
    record: &StateRecord,
    hash: &str,
    code: &str,
    granted_scopes: Vec<String>,
) -> Result<ConnectionId, Failure> {
    let verifier = state
        .cipher
        .open(&record.verifier, &verifier_context(hash))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "PKCE verifier could not be opened");
            Failure::StorageUnavailable
        })?;
    let verifier =
        Secret::new(String::from_utf8(verifier).map_err(|_| Failure::StorageUnavailable)?);
    let mut grant = state
        .lwa
        .exchange_code(code, &verifier)
        .await
        .map_err(|e| match e {
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
        })?;
    // LWA's token response usually omits `scope`; the redirect carries it.
    if grant.scopes.is_empty() {
        grant.scopes = granted_scopes;
    }
    if grant.refresh_token.is_none() {
        tracing::error!("LWA returned no refresh token");
        return Err(Failure::TokenExchangeFailed);
    }
    let discovery = state.ads.discover(&grant.access_token).await;
    for warning in &discovery.warnings {
        tracing::warn!(source = %warning.source, reason = %warning.reason, "discovery incomplete");
    }
    if !discovery.any_region_answered {
        return Err(Failure::AdsUnavailable);
    }
    // The LWA profile failed (garbage, or kept failing; a missing `profile`
    // scope is no failure): without its user id the login would be taken for
    // another one, a second connection for it.
    if discovery.warnings.iter().any(|w| w.source == "lwa_profile") {
        return Err(Failure::LwaUnavailable);
    }
    // One retry: another write (a refresh, a second tab) may have come first.
    for _ in 0..2 {
        match save(state, record, &grant, &discovery).await? {
            (WriteOutcome::Applied, id) => return Ok(id),
            (WriteOutcome::UserDeleted, _) => return Err(Failure::UserDeleted),
            _ => continue,
        }
    }
    Err(Failure::StorageUnavailable)
}

/// The Amazon login's identity (see `ConnectionRecord::amazon_identity`).
fn amazon_identity(discovery: &Discovery) -> String {
    if let Some(profile) = &discovery.lwa_profile {
        return format!("lwa:{}", profile.user_id);
    }
    let mut ids: Vec<&str> = discovery
        .accounts
        .iter()
        .map(|a| a.profile_id.as_str())
        .collect();
    ids.sort_unstable();
    let digest = Sha256::digest(ids.join(",").as_bytes());
    format!(
        "profiles:{}",
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

#[derive(Serialize)]
struct TokenPair<'a> {
    access_token: &'a str,
    refresh_token: &'a str,
}

async fn save(
    state: &AmazonState,
    record: &StateRecord,
    grant: &TokenGrant,
    discovery: &Discovery,
) -> Result<(WriteOutcome, ConnectionId), Failure> {
    let user_id = &record.user_id;
    let partition = state
        .store
        .read_partition(user_id)
        .await
        .map_err(storage_failure)?;
    if partition.deleted {
        return Ok((WriteOutcome::UserDeleted, connection_id_for(user_id, "")));
    }
    let Plan {
        mut connection,
        expected_version,
        accounts,
        new_default,
    } = plan(record, grant, discovery, &partition, Utc::now());
    let refresh_token = grant
        .refresh_token
        .as_ref()
        .map(Secret::expose)
        .unwrap_or_default();
    let plaintext = serde_json::to_vec(&TokenPair {
        access_token: grant.access_token.expose(),
        refresh_token,
    })
    .map_err(storage_failure)?;
    let sealed = state
        .cipher
        .seal(&plaintext, &connection.token_context())
        .await
        .map_err(storage_failure)?;
    connection.tokens = Some(sealed);
    let outcome = state
        .store
        .save_connection(ConnectionWrite {
            connection: &connection,
            expected_version,
            accounts: &accounts,
            set_default_account: new_default.as_ref(),
            event: EventKind::Connected,
        })
        .await
        .map_err(storage_failure)?;
    Ok((outcome, connection.connection_id))
}

/// What one callback writes, decided from the partition it read.
struct Plan {
    /// Without tokens yet: those are sealed for its id.
    connection: ConnectionRecord,
    expected_version: Option<u64>,
    accounts: Vec<AccountRecord>,
    /// To mirror into settings (only when the user has a profile).
    new_default: Option<AccountId>,
}

fn plan(
    record: &StateRecord,
    grant: &TokenGrant,
    discovery: &Discovery,
    partition: &UserPartition,
    now: DateTime<Utc>,
) -> Plan {
    let user_id = &record.user_id;
    let identity = amazon_identity(discovery);
    // A re-authorization renews the connection it was started for, if it
    // still exists; otherwise the login's own connection.
    let connection_id = record
        .reauthorize
        .clone()
        .filter(|id| partition.connections.iter().any(|c| &c.connection_id == id))
        .unwrap_or_else(|| connection_id_for(user_id, &identity));
    let existing = partition
        .connections
        .iter()
        .find(|c| c.connection_id == connection_id);
    let access_expires_at =
        now + Duration::from_std(grant.expires_in).unwrap_or(Duration::hours(1));
    let lwa = discovery.lwa_profile.as_ref();
    let mut connection = ConnectionRecord {
        connection_id,
        user_id: user_id.clone(),
        amazon_identity: identity,
        amazon_user_id: lwa.map(|p| p.user_id.clone()),
        amazon_name: lwa.and_then(|p| p.name.clone()),
        amazon_email: lwa.and_then(|p| p.email.clone()),
        region: record.region,
        status: ConnectionStatus::Active,
        scopes: grant.scopes.clone(),
        access_expires_at,
        consent_at: now,
        consent_expires_at: now + CONSENT_LIFETIME,
        refresh_count: existing.map_or(0, |c| c.refresh_count),
        last_refresh_at: existing.and_then(|c| c.last_refresh_at),
        failure_count: 0,
        last_error_code: None,
        next_retry_at: None,
        version: existing.map_or(1, |c| c.version + 1),
        sync_warnings: discovery.warnings.clone(),
        last_synced_at: Some(now),
        created_at: existing.map_or(now, |c| c.created_at),
        updated_at: now,
        tokens: None,
        refresh_shard: None,
        refresh_due_at: None,
        auto_refresh: partition
            .profile
            .as_ref()
            .is_none_or(|p| p.settings.auto_refresh_tokens),
        sync_requested_at: None,
        lease_owner: None,
        lease_until: None,
    };
    connection.schedule_refresh(Some(access_expires_at));
    let (accounts, new_default) = accounts_for(partition, &connection, discovery, now);
    Plan {
        expected_version: existing.map(|c| c.version),
        new_default: new_default.filter(|_| partition.profile.is_some()),
        connection,
        accounts,
    }
}

fn storage_failure(error: impl std::fmt::Display) -> Failure {
    tracing::error!(error = %error, "connection could not be stored");
    Failure::StorageUnavailable
}

/// The account items to write: every discovered profile (ids stable per
/// user and profile, `is_default` and `connected_at` kept), and this
/// connection's accounts that a region which answered no longer lists,
/// marked disabled rather than deleted. Picks a default when the user has none.
pub(crate) fn accounts_for(
    partition: &UserPartition,
    connection: &ConnectionRecord,
    discovery: &Discovery,
    now: DateTime<Utc>,
) -> (Vec<AccountRecord>, Option<AccountId>) {
    let user_id = &connection.user_id;
    let existing = |id: &AccountId| partition.accounts.iter().find(|a| &a.account_id == id);
    let mut accounts: Vec<AccountRecord> = discovery
        .accounts
        .iter()
        .map(|found| {
            let account_id = account_id_for(user_id, &found.profile_id);
            let before = existing(&account_id);
            AccountRecord {
                connection_id: connection.connection_id.clone(),
                name: found.name.clone(),
                profile_id: found.profile_id.clone(),
                ads_account_id: found.ads_account_id.clone(),
                region: found.region.to_string(),
                country_code: found.country_code.clone(),
                currency_code: found.currency_code.clone(),
                timezone: found.timezone.clone(),
                marketplace_id: found.marketplace_id.clone(),
                account_type: found.account_type.clone(),
                status: found.status,
                is_default: before.is_some_and(|a| a.is_default),
                connected_at: before.map_or(now, |a| a.connected_at),
                last_synced_at: Some(now),
                account_id,
            }
        })
        .collect();
    let answered = |region: &str| {
        !discovery
            .warnings
            .iter()
            .any(|w| w.source == format!("profiles_{region}"))
    };
    let vanished: Vec<AccountRecord> = partition
        .accounts
        .iter()
        .filter(|a| {
            a.connection_id == connection.connection_id
                && answered(&a.region)
                && !accounts.iter().any(|n| n.account_id == a.account_id)
        })
        .map(|a| AccountRecord {
            status: AccountStatus::Disabled,
            last_synced_at: Some(now),
            ..a.clone()
        })
        .collect();
    accounts.extend(vanished);
    let has_default = partition.accounts.iter().any(|a| a.is_default)
        || partition
            .profile
            .as_ref()
            .is_some_and(|p| p.settings.default_account_id.is_some());
    let mut new_default = None;
    if !has_default
        && let Some(first) = accounts
            .iter_mut()
            .find(|a| a.status == AccountStatus::Active)
    {
        first.is_default = true;
        new_default = Some(first.account_id.clone());
    }
    (accounts, new_default)
}
