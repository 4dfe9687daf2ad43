//! The audit trail of a connection: what happened, when, and why — the
//! reports of its accounts included (a day stored, or stored again with
//! other numbers).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::connection::ConnectionRecord;
use super::report::Totals;
use crate::ids::{AccountId, ConnectionId, OwnerId, ReportJobId, UserId};

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
    /// A day of an account's report stored for the first time.
    ReportReady,
    /// A day stored again with other rows or totals (Amazon restates a
    /// day's numbers for weeks).
    ReportRestated,
}

/// A day's rows and the totals of its main metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayNumbers {
    pub rows: u64,
    pub totals: Totals,
}

/// The day a report event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportDay {
    pub account_id: AccountId,
    /// The report as jobs name it: a preset, or `custom-<hash>`.
    pub report: String,
    /// Amazon's `reportTypeId` of its configuration.
    pub report_type_id: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The job whose pull stored the day.
    pub job_id: ReportJobId,
    pub rows: u64,
    pub totals: Totals,
    /// What the day held before, for `report_restated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<DayNumbers>,
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
    /// For the report kinds: the day stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportDay>,
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
            report: None,
        }
    }

    /// `kind` (one of the report kinds) for `day`, on the trail of the
    /// connection that reaches its account.
    pub fn report(
        owner: &OwnerId,
        connection_id: &ConnectionId,
        kind: EventKind,
        day: ReportDay,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id: uuid::Uuid::new_v4().simple().to_string(),
            owner: owner.clone(),
            actor: None,
            connection_id: connection_id.clone(),
            kind,
            detail: None,
            at,
            report: Some(day),
        }
    }
}
