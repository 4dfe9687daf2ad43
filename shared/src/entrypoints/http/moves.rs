//! `POST /api/v1/connections/{id}/move`: a connection into the active
//! organization (from the caller's own, with `connect` there) or out of it
//! into the caller's own workspace (with `manage` there). The workspace
//! comes from the session, like everywhere: no request names an owner.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::identity::{KnowsRoles, Needs};
use super::views::{AccountView, ConnectionView};
use super::{ApiError, Caller, ErrorResponse, Permitted, StrictJson, ToConnect, ToManage};
use super::{UsersServices, connections::conflict};
use crate::connections::moving::{self, Move, Moved};
use crate::ids::{ConnectionId, OwnerId};
use crate::model::acting::Acting;
use crate::store::partition::OwnerPartition;

pub fn routes() -> Router<UsersServices> {
    Router::new().route("/api/v1/connections/{id}/move", post(move_connection))
}

#[derive(Deserialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// From the caller's own workspace into the organization active in
    /// their session.
    Organization,
    /// From the active organization into the caller's own workspace.
    Personal,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub to: Destination,
}

/// The connection where it now is: new ids, the same Amazon login.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MoveResult {
    /// The id it had before the move (gone now).
    pub moved_from: ConnectionId,
    pub owner_id: OwnerId,
    pub connection: ConnectionView,
    pub accounts: Vec<AccountView>,
}

/// Move a connection between workspaces
///
/// Into the organization active in the session (`{"to": "organization"}`:
/// a connection of the caller's own, and `connect` in the organization) or
/// from it into the caller's own workspace (`{"to": "personal"}`: one of
/// the organization's, and `manage` there). The connection and its accounts
/// get the destination's ids; its tokens are sealed again for it; each
/// side's audit trail records `moved`, naming the other.
#[utoipa::path(post, path = "/api/v1/connections/{id}/move", tag = "connections", params(("id" = String, Path, description = "Connection id, in the workspace it leaves")), request_body = MoveRequest, responses((status = 200, body = MoveResult), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 403, description = "PERMISSION_REQUIRED: `connect` in the organization (into it) or `manage` (out of it)", body = ErrorResponse), (status = 404, description = "Not found in the workspace it leaves", body = ErrorResponse), (status = 409, description = "ALREADY_CONNECTED: the destination already has this Amazon login; NEEDS_REAUTH; or changed meanwhile", body = ErrorResponse), (status = 413, description = "Body too large", body = ErrorResponse), (status = 415, description = "Not JSON", body = ErrorResponse), (status = 422, description = "NO_ACTIVE_ORGANIZATION: no organization is active in the session", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn move_connection(
    State(services): State<UsersServices>,
    caller: Caller,
    Path(id): Path<String>,
    StrictJson(request): StrictJson<MoveRequest>,
) -> Result<Json<MoveResult>, ApiError> {
    if caller.org_id.is_none() {
        return Err(ApiError::unprocessable(
            "NO_ACTIVE_ORGANIZATION",
            Some("to"),
            "a connection moves between your own workspace and the organization active in your session; none is",
        ));
    }
    let (from, to, mover) = match request.to {
        Destination::Organization => {
            let acting = permitted::<ToConnect>(&services, caller)?;
            (
                OwnerId::User(acting.user_id.clone()),
                acting.owner,
                acting.user_id,
            )
        }
        Destination::Personal => {
            let acting = permitted::<ToManage>(&services, caller)?;
            (
                acting.owner,
                OwnerId::User(acting.user_id.clone()),
                acting.user_id,
            )
        }
    };
    let not_found = || ApiError::not_found("CONNECTION_NOT_FOUND", "connection not found");
    let connection_id = ConnectionId::parse(&id).map_err(|_| not_found())?;
    let moved = moving::move_connection(
        &services.store,
        &services.manage.refresher.cipher,
        Move {
            mover: &mover,
            from: &from,
            to: &to,
            connection_id: &connection_id,
        },
    )
    .await?;
    match moved {
        Moved::Done(connection, accounts) => {
            let now = Utc::now();
            let partition = OwnerPartition {
                connections: vec![(*connection).clone()],
                accounts,
                ..OwnerPartition::default()
            };
            Ok(Json(MoveResult {
                moved_from: connection_id,
                owner_id: to,
                connection: ConnectionView::of(&connection, &partition.accounts, now),
                accounts: AccountView::all(&partition, &mover, now),
            }))
        }
        Moved::NotFound => Err(not_found()),
        Moved::AlreadyThere(_) => Err(ApiError::conflict(
            "ALREADY_CONNECTED",
            "this Amazon login is already connected in the destination workspace",
        )),
        Moved::NeedsReauth(id) => Err(ApiError::needs_reauth(&id)),
        Moved::DestinationGone => Err(not_found()),
        Moved::TokensUnavailable => Err(ApiError::unavailable("stored tokens could not be opened")),
        Moved::KeptChanging => Err(conflict()),
    }
}

fn permitted<N: Needs>(services: &UsersServices, caller: Caller) -> Result<Acting, ApiError> {
    Permitted::<N>::check(caller, services.roles()).map(|permitted| permitted.acting)
}
