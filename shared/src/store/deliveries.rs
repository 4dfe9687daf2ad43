//! Webhook delivery records (`DELIVERY#<svix id>`): the transaction helper
//! writes one with a delivery's effect ([`Store::commit_once`]), so a replay
//! has no second effect.

use aws_sdk_dynamodb::types::{AttributeValue, Put};
use chrono::{DateTime, Duration, Utc};

use super::{Store, StoreError, keys, millis, number};
use crate::ids::DeliveryId;

/// Deliveries are remembered well beyond Svix's ~28 h retry schedule.
pub const DELIVERY_RETENTION: Duration = Duration::hours(72);

/// How a webhook's write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookWrite {
    Applied,
    /// This delivery was already applied.
    Duplicate,
    /// A newer version is stored, or what it changes does not exist.
    Stale,
    /// The user was deleted; nothing may be written for them again.
    UserDeleted,
}

/// What the conditions of a webhook's transaction guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    NotDeleted,
    Effect,
    NewDelivery,
}

/// The record of a delivery, written only if it is new (or expired).
pub(super) fn record(
    store: &Store,
    delivery: &DeliveryId,
    now: DateTime<Utc>,
) -> Result<Put, StoreError> {
    let mut item = Store::key(format!("DELIVERY#{}", delivery.as_str()), "DELIVERY");
    item.insert(keys::ENTITY.into(), AttributeValue::S("delivery".into()));
    item.insert("received_at".into(), millis(now));
    item.insert(
        keys::TTL.into(),
        number((now + DELIVERY_RETENTION).timestamp()),
    );
    Ok(Put::builder()
        .table_name(store.table())
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
        .expression_attribute_names("#pk", keys::PK)
        .expression_attribute_names("#ttl", keys::TTL)
        .expression_attribute_values(":now", number(now.timestamp()))
        .build()?)
}
