//! The audit trail of a user's connections: what happened, when, why. Kept
//! 90 days (TTL), under `EVENTS#<user id>`, sorted by connection then time.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::connections::ConnectionRecord;
use super::{Item, Store, StoreError, keys};
use crate::ids::{ConnectionId, UserId};

pub const EVENT_RETENTION: Duration = Duration::days(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Connected,
    Synced,
    Refreshed,
    RefreshFailed,
    NeedsReauth,
    Disconnected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

    fn sort_key(&self) -> String {
        format!(
            "{}#{:013}#{}",
            self.connection_id,
            self.at.timestamp_millis(),
            self.event_id
        )
    }
}

impl Store {
    pub(crate) fn event_put(&self, event: &AuditEvent) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(Self::event_item(event)?))
            .build()
            .map_err(super::build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Records an event on its own (not part of another write).
    pub async fn put_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(self.table())
            .set_item(Some(Self::event_item(event)?))
            .send()
            .await?;
        Ok(())
    }

    fn event_item(event: &AuditEvent) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(event)?;
        item.extend(Self::key(keys::events(&event.user_id), &event.sort_key()));
        item.insert("entity".into(), AttributeValue::S("event".into()));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N((event.at + EVENT_RETENTION).timestamp().to_string()),
        );
        Ok(item)
    }
}
