//! The caller's settings: read, partial update, reset, defaults.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::UsersServices;
use super::users::{current_user, provision, user_deleted};
use super::{ApiError, Caller, ErrorResponse, NoInput, StrictJson};
use crate::connections::manage::SettingsUpdate;
use crate::ids::UserId;
use crate::settings::{Settings, SettingsPatch};

pub fn routes() -> Router<UsersServices> {
    Router::new()
        .route("/api/v1/settings", get(get_settings).patch(patch_settings))
        .route("/api/v1/settings/reset", post(reset_settings))
        .route("/api/v1/settings/defaults", get(default_settings))
}

/// The caller's settings
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = Settings), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn get_settings(
    State(services): State<UsersServices>,
    caller: Caller,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(
        current_user(&services, &caller.user_id).await?.settings,
    ))
}

/// Runs `write`, provisioning the profile from Clerk first if it is missing.
async fn with_profile<F, Fut>(
    services: &UsersServices,
    user_id: &UserId,
    write: F,
) -> Result<Json<Settings>, ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<SettingsUpdate, crate::store::StoreError>>,
{
    let mut update = write().await?;
    if update == SettingsUpdate::NoProfile {
        provision(services, user_id).await?;
        update = write().await?;
    }
    match update {
        // A changed `auto_refresh_tokens` was mirrored onto the connections
        // in the same transaction.
        SettingsUpdate::Applied(settings) => Ok(Json(settings)),
        SettingsUpdate::UnknownAccount => Err(ApiError::unprocessable(
            "ACCOUNT_NOT_FOUND",
            Some("default_account_id"),
            "`default_account_id` is not one of your accounts",
        )),
        SettingsUpdate::NoProfile => Err(user_deleted()),
    }
}

/// Change some settings
///
/// Only the fields sent change; `default_account_id` may be `null` to clear it.
#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", request_body = SettingsPatch, responses((status = 200, body = Settings), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 415, description = "Not JSON", body = ErrorResponse), (status = 422, description = "default_account_id is not one of the caller's accounts", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn patch_settings(
    State(services): State<UsersServices>,
    caller: Caller,
    StrictJson(patch): StrictJson<SettingsPatch>,
) -> Result<Json<Settings>, ApiError> {
    with_profile(&services, &caller.user_id, || {
        services.manage.update_settings(&caller.user_id, &patch)
    })
    .await
}

/// Reset every setting to its default
#[utoipa::path(post, path = "/api/v1/settings/reset", tag = "settings", responses((status = 200, body = Settings), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn reset_settings(
    State(services): State<UsersServices>,
    caller: Caller,
    _: NoInput,
) -> Result<Json<Settings>, ApiError> {
    with_profile(&services, &caller.user_id, || {
        services.manage.reset_settings(&caller.user_id)
    })
    .await
}

/// The default settings
#[utoipa::path(get, path = "/api/v1/settings/defaults", tag = "settings", responses((status = 200, body = Settings)), security(("clerk_session" = [])))]
pub(crate) async fn default_settings(_caller: Caller) -> Json<Settings> {
    Json(Settings::default())
}
