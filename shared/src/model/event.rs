//! The audit trail of a connection: what happened, when, and why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::connection::ConnectionRecord;
use crate::ids::{ConnectionId, UserId};

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub event_id: String,
    pub user_id: UserId,
    pub connection_id: ConnectionId,
    pub kind: EventKind,
    /// An error code, never a message from upstream.
    pub detail: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}

impl AuditEvent {
    pub fn new(
        connection: &ConnectionRecord,
        kind: EventKind,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id: uuid::Uuid::new_v4().simple().to_string(),
            user_id: connection.user_id.clone(),
            connection_id: connection.connection_id.clone(),
            kind,
            detail: detail.map(str::to_owned),
            at,
        }
    }
}
