//! The audit trail of a connection: what happened, when, and why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::connection::ConnectionRecord;
use crate::ids::{ConnectionId, OwnerId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Connected,
    /// An existing connection renewed by a new consent.
    Reauthorized,
    Synced,
    Refreshed,
    RefreshFailed,
    NeedsReauth,
    Disconnected,
    /// Recorded once, by the refresh that finds the consent expiring within
    /// `CONSENT_WARNING` (30 days).
    ConsentExpiring,
    /// Moved to another workspace (on the source's trail) or from one (on
    /// the destination's); `detail` is the other side, `<owner id>/<connection id>`.
    Moved,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub event_id: String,
    /// The connection's owner. Events written before organizations existed
    /// name their user as `user_id`: that user's own connection.
    #[serde(alias = "user_id")]
    pub owner: OwnerId,
    /// Who made the change: the signed-in user behind the request; `None`
    /// for what the service did on its own (a scheduled refresh, a Clerk
    /// webhook) or for events written before actors were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<UserId>,
    pub connection_id: ConnectionId,
    pub kind: EventKind,
    /// An error code (never a message from upstream), or for `moved` the
    /// other side of the move.
    pub detail: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}

impl AuditEvent {
    pub fn new(
        connection: &ConnectionRecord,
        kind: EventKind,
        detail: Option<&str>,
        actor: Option<&UserId>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id: uuid::Uuid::new_v4().simple().to_string(),
            owner: connection.owner.clone(),
            actor: actor.cloned(),
            connection_id: connection.connection_id.clone(),
            kind,
            detail: detail.map(str::to_owned),
            at,
        }
    }
}
