//! Audit events (`EVENTS#<user id>` / `<connection id>#<ms>#<event id>`):
//! kept 90 days (TTL), sorted by connection then time.

use aws_sdk_dynamodb::types::Put;
use chrono::Duration;

use super::tx::Write;
use super::{Item, Store, StoreError, keys, number};
use crate::ids::{ConnectionId, OwnerId};
use crate::model::event::AuditEvent;

pub const EVENT_RETENTION: Duration = Duration::days(90);

/// A position in a connection's events, as a page hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCursor(String);

impl EventCursor {
    /// A cursor read back from a client: only one inside this connection's
    /// events, and of the shape this store writes.
    pub fn parse(connection_id: &ConnectionId, value: &str) -> Option<Self> {
        let rest = value.strip_prefix(&format!("{connection_id}#"))?;
        let (millis, event_id) = rest.split_once('#')?;
        let shaped = millis.len() == 13
            && millis.bytes().all(|b| b.is_ascii_digit())
            && !event_id.is_empty()
            && event_id.len() <= 64
            && event_id.bytes().all(|b| b.is_ascii_alphanumeric());
        shaped.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn sort_key(event: &AuditEvent) -> String {
    format!(
        "{}#{:013}#{}",
        event.connection_id,
        event.at.timestamp_millis(),
        event.event_id
    )
}

/// The audit events of the table.
#[derive(Clone, Copy)]
pub struct Events<'a>(pub(super) &'a Store);

impl Events<'_> {
    /// The write of `event` for a transaction.
    pub fn write(&self, event: &AuditEvent) -> Result<Write, StoreError> {
        Ok(Put::builder()
            .table_name(self.0.table())
            .set_item(Some(event_item(event)?))
            .build()?
            .into())
    }

    /// Records an event on its own (not part of another write).
    pub async fn put(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(event_item(event)?))
            .send()
            .await?;
        Ok(())
    }

    /// One page of a connection's events, newest first, after `after`.
    pub async fn page(
        &self,
        owner: &OwnerId,
        connection_id: &ConnectionId,
        limit: i32,
        after: Option<&EventCursor>,
    ) -> Result<(Vec<AuditEvent>, Option<EventCursor>), StoreError> {
        let (events, next) = self
            .0
            .newest_first(
                keys::events(owner),
                format!("{connection_id}#"),
                limit,
                after.map(EventCursor::as_str),
            )
            .await?;
        Ok((events, next.map(EventCursor)))
    }
}

/// The audit event a stream record's new image holds; `Ok(None)` for an
/// image of any other kind. The stream hands items over in DynamoDB's JSON
/// (`{"attr": {"S": …}}`), which only this module knows how to read.
pub fn event_from_stream_image(image: &serde_json::Value) -> Result<Option<AuditEvent>, String> {
    if image[keys::ENTITY]["S"] != EVENT_ENTITY {
        return Ok(None);
    }
    let item: serde_dynamo::Item =
        serde_json::from_value(image.clone()).map_err(|e| e.to_string())?;
    serde_dynamo::from_item(item)
        .map(Some)
        .map_err(|e| e.to_string())
}

const EVENT_ENTITY: &str = "event";

fn event_item(event: &AuditEvent) -> Result<Item, StoreError> {
    let mut item = Store::item(
        event,
        keys::events(&event.owner),
        &sort_key(event),
        EVENT_ENTITY,
    )?;
    item.insert(
        keys::TTL.into(),
        number((event.at + EVENT_RETENTION).timestamp()),
    );
    Ok(item)
}
