//! Account management, served by the `users` function: connections (one per
//! Amazon login) and accounts (one per advertising profile). Every route is
//! scoped to the caller: an id that is not theirs is exactly as unknown as
//! one that does not exist (404), and nothing changes.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::amazon::{ConnectRequest, ConnectStart, accounts_for, begin};
use super::users::{NoInput, UsersState};
use super::views::{AccountView, ConnectionView, EventView};
use crate::amazon::Region;
use crate::health::{Health, assess};
use crate::http::ErrorResponse;
use crate::http::{ApiError, Caller, StrictJsonOrEmpty};
use crate::ids::{AccountId, ConnectionId};
use crate::refresh::Outcome;
use crate::secrets::Secret;
use crate::store::WriteOutcome;
use crate::store::accounts::AccountStatus;
use crate::store::connections::{
    ConnectionRecord, ConnectionStatus, ConnectionWrite, DueConnection, UserPartition,
};
use crate::store::events::EventKind;

/// At most one manual sync per connection per minute.
pub const SYNC_INTERVAL_SECONDS: i64 = 60;
const MAX_PAGE: u32 = 100;
/// An access token closer than this to expiry is refreshed before use.
const ACCESS_TOKEN_MARGIN_SECONDS: i64 = 60;
/// Concurrent default switches retry this often before giving up.
const SWITCH_ATTEMPTS: usize = 8;

pub fn routes() -> Router<UsersState> {
    Router::new()
        .route("/api/v1/connections", get(list_connections))
        .route(
            "/api/v1/connections/{id}",
            get(get_connection).delete(delete_connection),
        )
        .route("/api/v1/connections/{id}/reauthorize", post(reauthorize))
        .route("/api/v1/connections/{id}/sync", post(sync))
        .route("/api/v1/connections/{id}/events", get(connection_events))
        .route("/api/v1/accounts", get(list_accounts))
        .route("/api/v1/accounts/health", get(accounts_health))
        .route(
            "/api/v1/accounts/{id}",
            get(get_account).delete(delete_account),
        )
        .route("/api/v1/accounts/{id}/default", put(set_default))
}

/// Query parameters, unknown ones refused.
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::bad_request("INVALID_QUERY", rejection.body_text()))
    }
}

fn connection_not_found() -> ApiError {
    ApiError::not_found("CONNECTION_NOT_FOUND", "connection not found")
}

fn account_not_found() -> ApiError {
    ApiError::not_found("ACCOUNT_NOT_FOUND", "account not found")
}

/// The caller's partition (one Query) and the connection `id` names in it.
async fn own_connection(
    state: &UsersState,
    caller: &Caller,
    id: &str,
) -> Result<(UserPartition, ConnectionRecord), ApiError> {
    let id = ConnectionId::parse(id).map_err(|_| connection_not_found())?;
    let partition = state.store.read_partition(&caller.user_id).await?;
    let connection = partition
        .connections
        .iter()
        .find(|c| c.connection_id == id)
        .cloned()
        .ok_or_else(connection_not_found)?;
    Ok((partition, connection))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
}

#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", responses((status = 200, body = ConnectionList), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn list_connections(
    State(state): State<UsersState>,
    caller: Caller,
) -> Result<Json<ConnectionList>, ApiError> {
    let partition = state.store.read_partition(&caller.user_id).await?;
    let now = Utc::now();
    Ok(Json(ConnectionList {
        connections: partition
            .connections
            .iter()
            .map(|c| ConnectionView::of(c, &partition.accounts, now))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "Connection id")), responses((status = 200, body = ConnectionView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn get_connection(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let (partition, connection) = own_connection(&state, &caller, &id).await?;
    Ok(Json(ConnectionView::of(
        &connection,
        &partition.accounts,
        Utc::now(),
    )))
}

/// Disconnects: the connection item goes, and with it the sealed tokens and
/// the wrapped data key (crypto-shredding); its accounts go; an audit event stays.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "Connection id")), responses((status = 204, description = "Disconnected; tokens destroyed"), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 409, description = "Changed meanwhile", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn delete_connection(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (partition, connection) = own_connection(&state, &caller, &id).await?;
    disconnect(&state, &partition, &connection).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn current_default(partition: &UserPartition) -> Option<AccountId> {
    partition
        .profile
        .as_ref()
        .and_then(|p| p.settings.default_account_id.clone())
        .or_else(|| {
            partition
                .accounts
                .iter()
                .find(|a| a.is_default)
                .map(|a| a.account_id.clone())
        })
}

async fn disconnect(
    state: &UsersState,
    partition: &UserPartition,
    connection: &ConnectionRecord,
) -> Result<(), ApiError> {
    let accounts: Vec<AccountId> = partition
        .accounts
        .iter()
        .filter(|a| a.connection_id == connection.connection_id)
        .map(|a| a.account_id.clone())
        .collect();
    let default = partition
        .profile
        .as_ref()
        .and_then(|p| p.settings.default_account_id.clone());
    match state
        .store
        .disconnect(connection, &accounts, default.as_ref(), Utc::now())
        .await?
    {
        WriteOutcome::Applied => {
            tracing::info!(connection_id = %connection.connection_id, "connection disconnected");
            Ok(())
        }
        _ => Err(ApiError::conflict(
            "CONFLICT",
            "the connection changed meanwhile; retry",
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/connections/{id}/reauthorize", tag = "connections", params(("id" = String, Path, description = "Connection id")), request_body(content = Option<ConnectRequest>, description = "Both fields optional; the body may be empty"), responses((status = 200, body = ConnectStart), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn reauthorize(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
    StrictJsonOrEmpty(request): StrictJsonOrEmpty<ConnectRequest>,
) -> Result<Json<ConnectStart>, ApiError> {
    let (_, connection) = own_connection(&state, &caller, &id).await?;
    let return_to = match request.return_to.as_deref() {
        None => None,
        Some(url) => Some(state.amazon.returns.check(url).ok_or_else(|| {
            ApiError::invalid_field(
                "return_to",
                "`return_to` must be an http(s) URL on an allowed origin",
            )
        })?),
    };
    let region: Region = request.region.unwrap_or(connection.region);
    begin(
        &state.amazon,
        &caller.user_id,
        region,
        return_to,
        Some(connection.connection_id),
    )
    .await
    .map(Json)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncResult {
    pub connection: ConnectionView,
    pub accounts: Vec<AccountView>,
}

#[derive(Deserialize)]
struct TokenPair {
    access_token: String,
}

/// Re-runs discovery now: new profiles added, changed ones updated,
/// vanished ones marked `disabled` (never deleted).
#[utoipa::path(post, path = "/api/v1/connections/{id}/sync", tag = "connections", params(("id" = String, Path, description = "Connection id")), responses((status = 200, body = SyncResult), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 409, description = "Needs re-authorization", body = ErrorResponse), (status = 429, description = "At most one sync a minute", body = ErrorResponse), (status = 502, description = "Amazon failed", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn sync(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
    _: NoInput,
) -> Result<Json<SyncResult>, ApiError> {
    let (_, connection) = own_connection(&state, &caller, &id).await?;
    if !matches!(
        connection.status,
        ConnectionStatus::Active | ConnectionStatus::Error
    ) {
        return Err(ApiError::conflict(
            "NEEDS_REAUTH",
            "the connection must be re-authorized first",
        ));
    }
    let now = Utc::now();
    if let Err(wait) = state
        .store
        .begin_sync(
            &caller.user_id,
            &connection.connection_id,
            now.timestamp(),
            SYNC_INTERVAL_SECONDS,
        )
        .await?
    {
        return Err(ApiError::too_many_requests(wait.max(1) as u64));
    }
    let due = DueConnection {
        user_id: caller.user_id.clone(),
        connection_id: connection.connection_id.clone(),
    };
    // A write by the refresher between our read and our write: read again.
    for _ in 0..3 {
        let (partition, connection) = own_connection(&state, &caller, &id).await?;
        let connection = fresh(&state, &due, connection).await?;
        let access = access_token(&state, &connection).await?;
        let discovery = state.amazon.ads.discover(&access).await;
        if !discovery.any_region_answered {
            return Err(ApiError::upstream(
                "ADS_UNAVAILABLE",
                "the Amazon Ads API did not answer",
                "every region failed",
            ));
        }
        let now = Utc::now();
        let (accounts, new_default) = accounts_for(&partition, &connection, &discovery, now);
        let mut updated = connection.clone();
        updated.sync_warnings = discovery.warnings.clone();
        updated.last_synced_at = Some(now);
        updated.updated_at = now;
        updated.version = connection.version + 1;
        let outcome = state
            .store
            .save_connection(ConnectionWrite {
                connection: &updated,
                expected_version: Some(connection.version),
                accounts: &accounts,
                set_default_account: new_default.as_ref().filter(|_| partition.profile.is_some()),
                event: EventKind::Synced,
            })
            .await?;
        if outcome == WriteOutcome::Applied {
            let partition = state.store.read_partition(&caller.user_id).await?;
            return Ok(Json(SyncResult {
                connection: ConnectionView::of(&updated, &partition.accounts, now),
                accounts: AccountView::all(
                    partition
                        .accounts
                        .into_iter()
                        .filter(|a| a.connection_id == updated.connection_id)
                        .collect(),
                    &partition.connections,
                    now,
                ),
            }));
        }
    }
    Err(ApiError::conflict(
        "CONFLICT",
        "the connection kept changing; retry",
    ))
}

/// The connection with an access token valid for a while, refreshing it
/// through the refresher's lease if needed.
async fn fresh(
    state: &UsersState,
    due: &DueConnection,
    connection: ConnectionRecord,
) -> Result<ConnectionRecord, ApiError> {
    if connection.access_expires_at
        > Utc::now() + chrono::Duration::seconds(ACCESS_TOKEN_MARGIN_SECONDS)
    {
        return Ok(connection);
    }
    match state.refresher.refresh_now(due).await? {
        Outcome::Refreshed | Outcome::Skipped => {}
        Outcome::NeedsReauth => {
            return Err(ApiError::conflict(
                "NEEDS_REAUTH",
                "the connection must be re-authorized",
            ));
        }
        Outcome::TransientFailure | Outcome::ClientRejected => {
            return Err(ApiError::upstream(
                "LWA_UNAVAILABLE",
                "Login with Amazon did not refresh the token",
                "refresh failed",
            ));
        }
    }
    state
        .store
        .get_connection(&due.user_id, &due.connection_id)
        .await?
        .filter(|c| c.access_expires_at > Utc::now())
        .ok_or_else(|| ApiError::unavailable("token refresh still running"))
}

async fn access_token(
    state: &UsersState,
    connection: &ConnectionRecord,
) -> Result<Secret, ApiError> {
    let sealed = connection.tokens.as_ref().ok_or_else(|| {
        ApiError::conflict("NEEDS_REAUTH", "the connection must be re-authorized")
    })?;
    let plaintext = state
        .amazon
        .cipher
        .open(sealed, &connection.token_context())
        .await
        .map_err(ApiError::unavailable)?;
    let pair: TokenPair = serde_json::from_slice(&plaintext)
        .map_err(|_| ApiError::unavailable("stored tokens unreadable"))?;
    Ok(Secret::new(pair.access_token))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    pub next_cursor: Option<String>,
}

fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_field(
            "limit",
            "`limit` must be between 1 and 100",
        )),
    }
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ApiError::invalid_field("cursor", "`cursor` is not one this API returned"))
}

#[utoipa::path(get, path = "/api/v1/connections/{id}/events", tag = "connections", params(("id" = String, Path, description = "Connection id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)), responses((status = 200, body = EventPage), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn connection_events(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
    StrictQuery(query): StrictQuery<PageQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let (_, connection) = own_connection(&state, &caller, &id).await?;
    let limit = page_limit(query.limit, 50)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    // A cursor names a position inside this connection's events only.
    if after
        .as_deref()
        .is_some_and(|sk| !sk.starts_with(&format!("{}#", connection.connection_id)))
    {
        return Err(ApiError::invalid_field(
            "cursor",
            "`cursor` is not one this API returned",
        ));
    }
    let (events, next) = state
        .store
        .events_page(
            &caller.user_id,
            &connection.connection_id,
            limit as i32,
            after.as_deref(),
        )
        .await?;
    Ok(Json(EventPage {
        events: events.into_iter().map(EventView::from).collect(),
        next_cursor: next.map(|sk| URL_SAFE_NO_PAD.encode(sk)),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsQuery {
    status: Option<AccountStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountPage {
    pub accounts: Vec<AccountView>,
    pub next_cursor: Option<String>,
}

/// Accounts in id order, `limit` at a time (default: the user's
/// `items_per_page`). Without `status`, disabled accounts show only with
/// `show_disconnected_accounts`, and accounts needing re-authorization only
/// with `show_expired_accounts`.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(("status" = Option<AccountStatus>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)), responses((status = 200, body = AccountPage), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn list_accounts(
    State(state): State<UsersState>,
    caller: Caller,
    StrictQuery(query): StrictQuery<AccountsQuery>,
) -> Result<Json<AccountPage>, ApiError> {
    let partition = state.store.read_partition(&caller.user_id).await?;
    let settings = partition
        .profile
        .as_ref()
        .map(|p| p.settings.clone())
        .unwrap_or_default();
    let limit = page_limit(query.limit, u32::from(settings.items_per_page.get()))? as usize;
    let after = query
        .cursor
        .as_deref()
        .map(|c| {
            decode_cursor(c).and_then(|id| {
                AccountId::parse(&id).map_err(|_| {
                    ApiError::invalid_field("cursor", "`cursor` is not one this API returned")
                })
            })
        })
        .transpose()?;
    let mut accounts = AccountView::all(partition.accounts, &partition.connections, Utc::now());
    accounts.retain(|a| match query.status {
        Some(status) => a.status == status,
        None => {
            (settings.show_disconnected_accounts || a.status != AccountStatus::Disabled)
                && (settings.show_expired_accounts || a.health != Health::NeedsReauth)
        }
    });
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    if let Some(after) = &after {
        accounts.retain(|a| &a.account_id > after);
    }
    let more = accounts.len() > limit;
    accounts.truncate(limit);
    let next_cursor = more
        .then(|| {
            accounts
                .last()
                .map(|a| URL_SAFE_NO_PAD.encode(a.account_id.as_str()))
        })
        .flatten();
    Ok(Json(AccountPage {
        accounts,
        next_cursor,
    }))
}

async fn own_account(
    state: &UsersState,
    caller: &Caller,
    id: &str,
) -> Result<(UserPartition, AccountId), ApiError> {
    let id = AccountId::parse(id).map_err(|_| account_not_found())?;
    let partition = state.store.read_partition(&caller.user_id).await?;
    if !partition.accounts.iter().any(|a| a.account_id == id) {
        return Err(account_not_found());
    }
    Ok((partition, id))
}

#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path, description = "Account id")), responses((status = 200, body = AccountView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn get_account(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let (partition, id) = own_account(&state, &caller, &id).await?;
    let views = AccountView::all(partition.accounts, &partition.connections, Utc::now());
    views
        .into_iter()
        .find(|a| a.account_id == id)
        .map(Json)
        .ok_or_else(account_not_found)
}

/// Removes one account; removing the last account of a connection
/// disconnects it.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path, description = "Account id")), responses((status = 204, description = "Removed"), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 409, description = "Changed meanwhile", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn delete_account(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (partition, id) = own_account(&state, &caller, &id).await?;
    let account = partition
        .accounts
        .iter()
        .find(|a| a.account_id == id)
        .ok_or_else(account_not_found)?;
    let siblings = partition
        .accounts
        .iter()
        .filter(|a| a.connection_id == account.connection_id)
        .count();
    let connection = partition
        .connections
        .iter()
        .find(|c| c.connection_id == account.connection_id);
    match connection {
        Some(connection) if siblings == 1 => disconnect(&state, &partition, connection).await?,
        _ => {
            let was_default =
                current_default(&partition).as_ref() == Some(&id) && partition.profile.is_some();
            if state
                .store
                .remove_account(&caller.user_id, &id, was_default)
                .await?
                != WriteOutcome::Applied
            {
                return Err(ApiError::conflict(
                    "CONFLICT",
                    "the account changed meanwhile; retry",
                ));
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Makes one account the default: exactly one per user, switched
/// atomically with the `default_account_id` setting.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/default", tag = "accounts", params(("id" = String, Path, description = "Account id")), responses((status = 200, body = AccountView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 409, description = "Kept changing", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn set_default(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
    _: NoInput,
) -> Result<Json<AccountView>, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| account_not_found())?;
    let mut partition = state.store.read_partition(&caller.user_id).await?;
    for _ in 0..SWITCH_ATTEMPTS {
        if !partition.accounts.iter().any(|a| a.account_id == id) {
            return Err(account_not_found());
        }
        // The profile's setting is what serialises concurrent switches.
        if partition.profile.is_none() {
            state.current_user(&caller.user_id).await?;
            partition = state.store.read_partition(&caller.user_id).await?;
            continue;
        }
        let current = current_default(&partition);
        let outcome = state
            .store
            .switch_default_account(&caller.user_id, &id, current.as_ref())
            .await?;
        if outcome == WriteOutcome::Applied {
            for account in &mut partition.accounts {
                account.is_default = account.account_id == id;
            }
            return AccountView::all(partition.accounts, &partition.connections, Utc::now())
                .into_iter()
                .find(|a| a.account_id == id)
                .map(Json)
                .ok_or_else(account_not_found);
        }
        partition = state.store.read_partition(&caller.user_id).await?;
    }
    Err(ApiError::conflict(
        "CONFLICT",
        "the default kept changing; retry",
    ))
}

#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct HealthCounts {
    pub healthy: usize,
    pub warning: usize,
    pub error: usize,
    pub needs_reauth: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountsHealth {
    pub total: usize,
    pub counts: HealthCounts,
    /// Accounts whose connection needs the user (or is failing).
    pub needs_action: Vec<AccountView>,
    pub soonest_consent_expiry: Option<DateTime<Utc>>,
}

/// For a dashboard banner: counts by health, what needs action, and the
/// soonest consent expiry.
#[utoipa::path(get, path = "/api/v1/accounts/health", tag = "accounts", responses((status = 200, body = AccountsHealth), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn accounts_health(
    State(state): State<UsersState>,
    caller: Caller,
) -> Result<Json<AccountsHealth>, ApiError> {
    let partition = state.store.read_partition(&caller.user_id).await?;
    let now = Utc::now();
    let soonest_consent_expiry = partition
        .connections
        .iter()
        .filter(|c| assess(c, now).0 != Health::NeedsReauth)
        .map(|c| c.consent_expires_at)
        .min();
    let accounts = AccountView::all(partition.accounts, &partition.connections, now);
    let mut counts = HealthCounts::default();
    for account in &accounts {
        *match account.health {
            Health::Healthy => &mut counts.healthy,
            Health::Warning => &mut counts.warning,
            Health::Error => &mut counts.error,
            Health::NeedsReauth => &mut counts.needs_reauth,
        } += 1;
    }
    let total = accounts.len();
    let needs_action = accounts
        .into_iter()
        .filter(|a| matches!(a.health, Health::Error | Health::NeedsReauth))
        .collect();
    Ok(Json(AccountsHealth {
        total,
        counts,
        needs_action,
        soonest_consent_expiry,
    }))
}
