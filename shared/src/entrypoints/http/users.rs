//! The caller's profile and session; the profile is provisioned from
//! Clerk's Backend API the first time a signed-in user is seen before the
//! `user.created` webhook.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;

use super::UsersServices;
use super::views::{AccountStats, AccountView, ConnectionView, UserView};
use super::{ApiError, Caller, ErrorResponse, Permitted, ToRead};
use crate::ids::{OwnerId, UserId};
use crate::model::permission::Permission;
use crate::model::user::UserRecord;
use crate::settings::Settings;
use crate::users::provisioning::{self, ProvisionError};

pub fn routes() -> Router<UsersServices> {
    Router::new()
        .route("/api/v1/users/me", get(me))
        .route("/api/v1/users/me/full", get(me_full))
        .route("/api/v1/users/me/accounts", get(my_accounts))
        .route("/api/v1/users/session", get(session))
}

/// The caller's profile: one GetItem; on a miss (the `user.created`
/// webhook has not arrived yet) provisioned from Clerk, unless they were
/// deleted.
pub(crate) async fn current_user(
    services: &UsersServices,
    user_id: &UserId,
) -> Result<UserRecord, ApiError> {
    Ok(provisioning::current_user(&services.store, &services.clerk, user_id).await?)
}

pub(crate) async fn provision(
    services: &UsersServices,
    user_id: &UserId,
) -> Result<UserRecord, ApiError> {
    Ok(provisioning::provision(&services.store, &services.clerk, user_id).await?)
}

impl From<ProvisionError> for ApiError {
    fn from(error: ProvisionError) -> Self {
        match error {
            ProvisionError::Deleted => user_deleted(),
            ProvisionError::OtherUser => ApiError::upstream(
                "UPSTREAM_FAILED",
                "Clerk returned another user",
                "user id mismatch",
            ),
            ProvisionError::Vanished => ApiError::unavailable("user vanished after provisioning"),
            ProvisionError::Clerk(error) => error.into(),
            ProvisionError::Store(error) => error.into(),
        }
    }
}

pub(crate) fn user_deleted() -> ApiError {
    ApiError::not_found("USER_NOT_FOUND", "user not found")
}

/// The caller's profile
///
/// Provisioned on first use.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", responses((status = 200, body = UserView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn me(
    State(services): State<UsersServices>,
    caller: Caller,
) -> Result<Json<UserView>, ApiError> {
    let user = current_user(&services, &caller.user_id).await?;
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

/// The caller's profile, settings, connections and accounts
///
/// Everything about the caller and their workspace's connections: one
/// Query of their own partition, or for an organization's, that Query and
/// their profile's GetItem beside it.
#[utoipa::path(get, path = "/api/v1/users/me/full", tag = "users", responses((status = 200, body = FullProfile), (status = 403, description = "PERMISSION_REQUIRED: the active organization does not let the caller read", body = ErrorResponse), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn me_full(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
) -> Result<Json<FullProfile>, ApiError> {
    let partitions = services.store.partitions();
    let (partition, own) = match &acting.owner {
        OwnerId::User(_) => {
            let partition = partitions.read(&acting.owner).await?;
            let own = (partition.profile.clone(), partition.deleted);
            (partition, own)
        }
        OwnerId::Org(_) => {
            // The profile alone: a deleted user has none, and provisioning
            // refuses them.
            let profiles = services.store.profiles();
            let (partition, profile) = tokio::try_join!(
                partitions.read(&acting.owner),
                profiles.get_latest(&acting.user_id)
            )?;
            (partition, (profile, false))
        }
    };
    let user = match own {
        (_, true) => return Err(user_deleted()),
        (Some(profile), false) => profile,
        (None, false) => provision(&services, &acting.user_id).await?,
    };
    let now = Utc::now();
    Ok(Json(FullProfile {
        user: UserView::from(&user),
        stats: AccountStats::of(&partition, &acting.user_id),
        connections: partition
            .connections
            .iter()
            .map(|c| ConnectionView::of(c, &partition.accounts, now))
            .collect(),
        accounts: AccountView::all(&partition, &acting.user_id, now),
        settings: user.settings,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

/// The caller's accounts with their health
///
/// The caller's accounts with their health: one Query.
#[utoipa::path(get, path = "/api/v1/users/me/accounts", tag = "users", responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = AccountList), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn my_accounts(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
) -> Result<Json<AccountList>, ApiError> {
    let partition = services.store.partitions().read(&acting.owner).await?;
    Ok(Json(AccountList {
        accounts: AccountView::all(&partition, &acting.user_id, Utc::now()),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub authenticated: bool,
    pub session_id: String,
    pub user: UserView,
    pub organization: Option<OrganizationView>,
    /// Whose connections this session works on: the user's own, or the
    /// active organization's.
    pub owner_id: OwnerId,
    /// What the session may do with them (`connect`, `manage`, `use`,
    /// `read`): everything on one's own connections; in an organization,
    /// what the member's custom permissions or role grant.
    pub permissions: Vec<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrganizationView {
    pub id: String,
    pub slug: Option<String>,
    pub role: Option<String>,
}

/// The caller's session
///
/// The user, session and organization the authorizer verified.
#[utoipa::path(get, path = "/api/v1/users/session", tag = "users", responses((status = 200, body = SessionView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn session(
    State(services): State<UsersServices>,
    caller: Caller,
) -> Result<Json<SessionView>, ApiError> {
    let user = current_user(&services, &caller.user_id).await?;
    let permissions = caller
        .permissions(&services.connect.roles)
        .map_or(Permission::ALL.to_vec(), |held| held.into_iter().collect());
    let owner_id = caller
        .org_id
        .clone()
        .map_or_else(|| OwnerId::User(caller.user_id.clone()), OwnerId::Org);
    Ok(Json(SessionView {
        owner_id,
        permissions: permissions.into_iter().map(Permission::code).collect(),
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
