//! A user's connections (one per Amazon login): list, read, disconnect,
//! re-authorize, sync, audit trail. Every route is scoped to the caller: an
//! id that is not theirs is exactly as unknown as one that does not exist
//! (404), and nothing changes.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::UsersServices;
use super::amazon::{ConnectRequest, ConnectStart};
use super::views::{AccountView, ConnectionView, EventView};
use super::{
    ApiError, ErrorResponse, NoInput, Permitted, StrictJsonOrEmpty, StrictQuery, ToConnect,
    ToManage, ToRead,
};
use crate::connections::manage::{Removed, SYNC_INTERVAL_SECONDS, Synced};
use crate::ids::{ConnectionId, OwnerId};
use crate::model::connection::ConnectionRecord;
use crate::store::events::EventCursor;
use crate::store::partition::OwnerPartition;

/// The largest page a client may ask for.
pub const MAX_PAGE: u32 = 100;
/// The longest cursor this API hands out, with room to spare.
pub const MAX_CURSOR_LENGTH: usize = 512;

pub fn routes() -> Router<UsersServices> {
    Router::new()
        .route("/api/v1/connections", get(list_connections))
        .route(
            "/api/v1/connections/{id}",
            get(get_connection).delete(delete_connection),
        )
        .route("/api/v1/connections/{id}/reauthorize", post(reauthorize))
        .route("/api/v1/connections/{id}/sync", post(sync))
        .route("/api/v1/connections/{id}/events", get(connection_events))
}

fn connection_not_found() -> ApiError {
    ApiError::not_found("CONNECTION_NOT_FOUND", "connection not found")
}

pub(crate) fn conflict() -> ApiError {
    ApiError::conflict("CONFLICT", "it kept changing meanwhile; retry")
}

/// The workspace's partition (one Query) and the connection `id` names in it.
async fn own_connection(
    services: &UsersServices,
    owner: &OwnerId,
    id: &str,
) -> Result<(OwnerPartition, ConnectionRecord), ApiError> {
    let id = ConnectionId::parse(id).map_err(|_| connection_not_found())?;
    let partition = services.store.partitions().read(owner).await?;
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

/// The caller's connections
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = ConnectionList), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn list_connections(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
) -> Result<Json<ConnectionList>, ApiError> {
    let partition = services.store.partitions().read(&acting.owner).await?;
    let now = Utc::now();
    Ok(Json(ConnectionList {
        connections: partition
            .connections
            .iter()
            .map(|c| ConnectionView::of(c, &partition.accounts, now))
            .collect(),
    }))
}

/// One connection
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "Connection id")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = ConnectionView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn get_connection(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let (partition, connection) = own_connection(&services, &acting.owner, &id).await?;
    Ok(Json(ConnectionView::of(
        &connection,
        &partition.accounts,
        Utc::now(),
    )))
}

/// Where an Amazon user removes an app's access: Login with Amazon has no
/// revocation endpoint, so a disconnect here cannot revoke the grant there.
pub const AMAZON_APP_REMOVAL_URL: &str = "https://www.amazon.com/ap/adam";

/// What a disconnect destroyed, what remains, and what only the user can do.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Disconnected {
    pub connection_id: ConnectionId,
    /// Gone at once.
    pub destroyed: Vec<&'static str>,
    /// Still held, and for how long.
    pub retained: Vec<&'static str>,
    /// Amazon's page where the user removes this app's access to their
    /// Amazon account (the grant itself lives on at Amazon until then).
    pub amazon_app_removal_url: &'static str,
}

/// Disconnect
///
/// Disconnects: the connection item goes, and with it the stored (sealed)
/// tokens; its accounts go; an audit event stays. The answer says exactly
/// that, and links Amazon's app-removal page.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "Connection id")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `manage`", body = ErrorResponse), (status = 200, body = Disconnected, description = "Disconnected: the stored tokens are deleted; the grant at Amazon lasts until the user removes the app at amazon_app_removal_url"), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 409, description = "Changed meanwhile", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn delete_connection(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToManage>,
    Path(id): Path<String>,
) -> Result<Json<Disconnected>, ApiError> {
    let id = ConnectionId::parse(&id).map_err(|_| connection_not_found())?;
    match services.manage.disconnect(&acting, &id).await? {
        Removed::Done => Ok(Json(Disconnected {
            connection_id: id,
            destroyed: vec![
                "the stored access and refresh tokens of this Amazon login",
                "the connection and its advertising accounts",
            ],
            retained: vec![
                "the connection's audit trail (event kinds and times), for 90 days",
                "table backups (point-in-time recovery) hold the deleted, still sealed, item for up to 35 days",
                "the KMS key and data keys that sealed the tokens, which also seal other connections",
            ],
            amazon_app_removal_url: AMAZON_APP_REMOVAL_URL,
        })),
        Removed::NotFound => Err(connection_not_found()),
        Removed::KeptChanging => Err(conflict()),
    }
}

/// Start re-authorizing a connection
///
/// Answers the Amazon authorization URL; the connection keeps its id.
#[utoipa::path(post, path = "/api/v1/connections/{id}/reauthorize", tag = "connections", params(("id" = String, Path, description = "Connection id")), request_body(content = Option<ConnectRequest>, description = "Both fields optional; the body may be empty"), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `connect`", body = ErrorResponse), (status = 200, body = ConnectStart), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn reauthorize(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToConnect>,
    Path(id): Path<String>,
    StrictJsonOrEmpty(request): StrictJsonOrEmpty<ConnectRequest>,
) -> Result<Json<ConnectStart>, ApiError> {
    let (_, connection) = own_connection(&services, &acting.owner, &id).await?;
    let start = services
        .connect
        .begin(
            &acting,
            request.region.unwrap_or(connection.region),
            request.return_to.as_deref(),
            Some(connection.connection_id),
        )
        .await?;
    Ok(Json(start.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncResult {
    pub connection: ConnectionView,
    pub accounts: Vec<AccountView>,
}

/// Sync a connection's accounts now
///
/// Re-runs discovery now: new profiles added, changed ones updated,
/// vanished ones marked `disabled` (never deleted).
#[utoipa::path(post, path = "/api/v1/connections/{id}/sync", tag = "connections", params(("id" = String, Path, description = "Connection id")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `manage`", body = ErrorResponse), (status = 200, body = SyncResult), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 409, description = "Needs re-authorization", body = ErrorResponse), (status = 429, description = "At most one sync a minute", body = ErrorResponse), (status = 502, description = "Amazon failed", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn sync(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToManage>,
    Path(id): Path<String>,
    _: NoInput,
) -> Result<Json<SyncResult>, ApiError> {
    let id = ConnectionId::parse(&id).map_err(|_| connection_not_found())?;
    match services.manage.sync(&acting, &id).await? {
        Synced::Done(partition, id) => {
            let now = Utc::now();
            let connection = partition
                .connections
                .iter()
                .find(|c| c.connection_id == id)
                .ok_or_else(connection_not_found)?;
            Ok(Json(SyncResult {
                connection: ConnectionView::of(connection, &partition.accounts, now),
                accounts: AccountView::all(&partition, &acting.user_id, now)
                    .into_iter()
                    .filter(|a| a.connection_id == id)
                    .collect(),
            }))
        }
        Synced::NotFound => Err(connection_not_found()),
        Synced::NeedsReauth => Err(ApiError::needs_reauth(&id)),
        Synced::Wait(seconds) => Err(ApiError::too_many_requests(seconds)),
        // The attempt used this minute's sync: the next may come after it.
        Synced::AdsUnavailable => Err(ApiError::upstream(
            "ADS_UNAVAILABLE",
            "the Amazon Ads API did not answer",
            "every region failed",
        )
        .retry_after(SYNC_INTERVAL_SECONDS.unsigned_abs())),
        Synced::LwaUnavailable => Err(ApiError::upstream(
            "LWA_UNAVAILABLE",
            "Login with Amazon did not refresh the token",
            "refresh failed",
        )
        .retry_after(SYNC_INTERVAL_SECONDS.unsigned_abs())),
        Synced::TokensUnavailable => {
            Err(ApiError::unavailable("stored tokens could not be opened"))
        }
        Synced::KeptChanging => Err(conflict()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    pub next_cursor: Option<String>,
}

pub(crate) fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_field(
            "limit",
            "`limit` must be between 1 and 100",
        )),
    }
}

pub(crate) fn invalid_cursor() -> ApiError {
    ApiError::invalid_field("cursor", "`cursor` is not one this API returned")
}

/// The text inside a cursor this API handed out: bounded, base64url, UTF-8.
pub(crate) fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    if cursor.len() > MAX_CURSOR_LENGTH {
        return Err(invalid_cursor());
    }
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid_cursor)
}

/// A connection's audit trail
#[utoipa::path(get, path = "/api/v1/connections/{id}/events", tag = "connections", params(("id" = String, Path, description = "Connection id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = EventPage), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn connection_events(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path(id): Path<String>,
    StrictQuery(query): StrictQuery<PageQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let (_, connection) = own_connection(&services, &acting.owner, &id).await?;
    let limit = page_limit(query.limit, 50)?;
    // A cursor names a position inside this connection's events only.
    let after = query
        .cursor
        .as_deref()
        .map(|cursor| {
            EventCursor::parse(&connection.connection_id, &decode_cursor(cursor)?)
                .ok_or_else(invalid_cursor)
        })
        .transpose()?;
    let (events, next) = services
        .store
        .events()
        .page(
            &acting.owner,
            &connection.connection_id,
            limit as i32,
            after.as_ref(),
        )
        .await?;
    Ok(Json(EventPage {
        events: events.into_iter().map(EventView::from).collect(),
        next_cursor: next.map(|cursor| URL_SAFE_NO_PAD.encode(cursor.as_str())),
    }))
}
