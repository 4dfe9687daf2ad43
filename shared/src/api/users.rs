//! The `users` function: profile, session and settings of the caller.

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::health::health;
use super::views::{AccountStats, AccountView, ConnectionView, UserView};
use std::sync::Arc;

use super::amazon::AmazonState;
use crate::clerk_api::ClerkApi;
use crate::config::{self, ConfigError};
use crate::http::ErrorResponse;
use crate::http::{self, ApiError, Caller, StrictJson};
use crate::ids::UserId;
use crate::refresh::{RefreshConfig, Refresher};
use crate::secrets::AppSecrets;
use crate::settings::{Settings, SettingsPatch};
use crate::store::users::UserRecord;
use crate::store::{Store, WriteOutcome};

#[derive(Clone)]
pub struct UsersState {
    pub store: Store,
    pub clerk: ClerkApi,
    /// For re-authorization and sync.
    pub amazon: AmazonState,
    /// On-demand refreshes go through the refresher's lease.
    pub refresher: Arc<Refresher>,
}

impl UsersState {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = super::aws_sdk_config().await;
        let table = Store::table_from_env()?;
        let clerk_api_url = match config::optional("CLERK_API_URL") {
            Some(url) => config::base_url("CLERK_API_URL", &url)?,
            None => "https://api.clerk.com".to_owned(),
        };
        let secrets = super::load_app_secrets(&sdk).await?;
        let secret_key = AppSecrets::require(&secrets.clerk_secret_key, "clerk_secret_key")?;
        let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), table);
        let amazon = AmazonState::load(&sdk, &secrets)?;
        let refresher = Refresher {
            store: store.clone(),
            cipher: Arc::clone(&amazon.cipher),
            lwa: Arc::clone(&amazon.lwa),
            config: RefreshConfig::from_env()?,
        };
        Ok(Self {
            store,
            clerk: ClerkApi::new(clerk_api_url, secret_key),
            amazon,
            refresher: Arc::new(refresher),
        })
    }

    /// The caller's profile: one GetItem; on a miss (the `user.created`
    /// webhook has not arrived yet) the user is fetched from Clerk and stored,
    /// unless they were deleted.
    pub(crate) async fn current_user(&self, user_id: &UserId) -> Result<UserRecord, ApiError> {
        match self.store.get_user(user_id).await? {
            Some(user) => Ok(user),
            None => self.provision(user_id).await,
        }
    }

    async fn provision(&self, user_id: &UserId) -> Result<UserRecord, ApiError> {
        let profile = self.clerk.get_user(user_id).await?.into_profile();
        if profile.user_id != *user_id {
            return Err(ApiError::upstream(
                "UPSTREAM_FAILED",
                "Clerk returned another user",
                "user id mismatch",
            ));
        }
        match self.store.upsert_user(&profile, None, Utc::now()).await? {
            WriteOutcome::UserDeleted => Err(user_deleted()),
            // Applied, or a webhook stored the same or a newer version first.
            _ => self
                .store
                .get_user(user_id)
                .await?
                .ok_or_else(|| ApiError::unavailable("user vanished after provisioning")),
        }
    }
}

/// The body of a route that takes no input: empty, or `{}`. Anything else
/// (garbage, fields) is refused like any bad body, not ignored: the client
/// meant something this route does not do.
pub(crate) struct NoInput;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

impl<S: Send + Sync> FromRequest<S> for NoInput {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, http::MAX_JSON_BODY_BYTES)
            .await
            .map_err(|_| ApiError::payload_too_large(http::MAX_JSON_BODY_BYTES))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self);
        }
        let request = Request::from_parts(parts, Body::from(bytes));
        StrictJson::<Nothing>::from_request(request, state)
            .await
            .map(|_| Self)
    }
}

fn user_deleted() -> ApiError {
    ApiError::not_found("USER_NOT_FOUND", "user not found")
}

pub fn router(state: UsersState) -> Router {
    let api = Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(super::openapi::openapi_json))
        .route("/api/v1/users/me", get(me))
        .route("/api/v1/users/me/full", get(me_full))
        .route("/api/v1/users/me/accounts", get(my_accounts))
        .route("/api/v1/users/session", get(session))
        .route("/api/v1/settings", get(get_settings).patch(patch_settings))
        .route("/api/v1/settings/reset", post(reset_settings))
        .route("/api/v1/settings/defaults", get(default_settings))
        .merge(super::manage::routes())
        .with_state(state);
    http::finish(api)
}

#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", responses((status = 200, body = UserView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn me(State(state): State<UsersState>, caller: Caller) -> Result<Json<UserView>, ApiError> {
    let user = state.current_user(&caller.user_id).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FullProfile {
    pub user: UserView,
    pub settings: Settings,
    pub connections: Vec<ConnectionView>,
    pub accounts: Vec<AccountView>,
    pub stats: AccountStats,
}

/// Everything about the caller from one Query of their partition.
#[utoipa::path(get, path = "/api/v1/users/me/full", tag = "users", responses((status = 200, body = FullProfile), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn me_full(
    State(state): State<UsersState>,
    caller: Caller,
) -> Result<Json<FullProfile>, ApiError> {
    let partition = state.store.read_partition(&caller.user_id).await?;
    if partition.deleted {
        return Err(user_deleted());
    }
    let user = match partition.profile {
        Some(user) => user,
        None => state.provision(&caller.user_id).await?,
    };
    let now = Utc::now();
    let accounts = partition.accounts;
    Ok(Json(FullProfile {
        user: UserView::from(&user),
        stats: AccountStats::of(&accounts),
        settings: user.settings,
        connections: partition
            .connections
            .iter()
            .map(|c| ConnectionView::of(c, &accounts, now))
            .collect(),
        accounts: AccountView::all(accounts, &partition.connections, now),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

/// The caller's accounts with their health: one Query.
#[utoipa::path(get, path = "/api/v1/users/me/accounts", tag = "users", responses((status = 200, body = AccountList), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn my_accounts(
    State(state): State<UsersState>,
    caller: Caller,
) -> Result<Json<AccountList>, ApiError> {
    let partition = state.store.read_partition(&caller.user_id).await?;
    Ok(Json(AccountList {
        accounts: AccountView::all(partition.accounts, &partition.connections, Utc::now()),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub authenticated: bool,
    pub session_id: String,
    pub user: UserView,
    pub organization: Option<OrganizationView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrganizationView {
    pub id: String,
    pub slug: Option<String>,
    pub role: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users/session", tag = "users", responses((status = 200, body = SessionView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn session(
    State(state): State<UsersState>,
    caller: Caller,
) -> Result<Json<SessionView>, ApiError> {
    let user = state.current_user(&caller.user_id).await?;
    Ok(Json(SessionView {
        authenticated: true,
        session_id: caller.session_id.to_string(),
        user: UserView::from(&user),
        organization: caller.org_id.map(|id| OrganizationView {
            id: id.to_string(),
            slug: caller.org_slug,
            role: caller.org_role,
        }),
    }))
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = Settings), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn get_settings(
    State(state): State<UsersState>,
    caller: Caller,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(state.current_user(&caller.user_id).await?.settings))
}

#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", request_body = SettingsPatch, responses((status = 200, body = Settings), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 415, description = "Not JSON", body = ErrorResponse), (status = 422, description = "default_account_id is not one of the caller's accounts", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn patch_settings(
    State(state): State<UsersState>,
    caller: Caller,
    StrictJson(patch): StrictJson<SettingsPatch>,
) -> Result<Json<Settings>, ApiError> {
    let mut result = state.store.update_settings(&caller.user_id, &patch).await?;
    if result == Err(WriteOutcome::Missing) {
        state.provision(&caller.user_id).await?;
        result = state.store.update_settings(&caller.user_id, &patch).await?;
    }
    match result {
        // A changed `auto_refresh_tokens` was mirrored onto the connections
        // in the same transaction.
        Ok(settings) => Ok(Json(settings)),
        Err(WriteOutcome::Stale) => Err(ApiError::unprocessable(
            "ACCOUNT_NOT_FOUND",
            Some("default_account_id"),
            "`default_account_id` is not one of your accounts",
        )),
        Err(_) => Err(user_deleted()),
    }
}

#[utoipa::path(post, path = "/api/v1/settings/reset", tag = "settings", responses((status = 200, body = Settings), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
async fn reset_settings(
    State(state): State<UsersState>,
    caller: Caller,
    _: NoInput,
) -> Result<Json<Settings>, ApiError> {
    let settings = match state.store.reset_settings(&caller.user_id).await? {
        Some(settings) => settings,
        None => {
            state.provision(&caller.user_id).await?;
            state
                .store
                .reset_settings(&caller.user_id)
                .await?
                .ok_or_else(user_deleted)?
        }
    };
    // Automatic refreshing, back on, was mirrored onto the connections in
    // the same transaction.
    Ok(Json(settings))
}

#[utoipa::path(get, path = "/api/v1/settings/defaults", tag = "settings", responses((status = 200, body = Settings)), security(("clerk_session" = [])))]
async fn default_settings(_caller: Caller) -> Json<Settings> {
    Json(Settings::default())
}
