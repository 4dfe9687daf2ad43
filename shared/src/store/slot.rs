//! The one claim-slot write: a throttle stamp on an item, allowing one
//! action per interval however many ask at once (one conditional
//! UpdateItem). A manual sync stamps its connection; a seat refresh stamps
//! its account's claim item.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::{Item, Store, StoreError, keys, number};

/// Whether an action may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Granted,
    /// The last one started too recently: this many seconds remain.
    Wait(u64),
    /// The item the slot belongs to is gone.
    Gone,
}

/// Where a slot's stamp lives.
pub(super) struct SlotItem {
    pub key: Item,
    /// The attribute holding the last start (epoch seconds).
    pub stamp: &'static str,
    /// An item of its own, created by the first claim and expiring (TTL)
    /// with its interval; otherwise the stamp goes on an existing item
    /// (gone: [`Slot::Gone`]) and expects no version and advances none.
    pub own_item: bool,
}

/// Claims `slot` at `now` unless it was claimed within `interval_seconds`.
pub(super) async fn claim(
    store: &Store,
    slot: SlotItem,
    now: i64,
    interval_seconds: i64,
) -> Result<Slot, StoreError> {
    let free = "(attribute_not_exists(#stamp) OR #stamp <= :earliest)";
    let mut request = store
        .client
        .update_item()
        .table_name(store.table())
        .set_key(Some(slot.key))
        .expression_attribute_names("#stamp", slot.stamp)
        .expression_attribute_values(":now", number(now))
        .expression_attribute_values(":earliest", number(now - interval_seconds))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    request = if slot.own_item {
        request
            .update_expression("SET #stamp = :now, #ttl = :ttl")
            .condition_expression(free)
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":ttl", number(now + interval_seconds))
    } else {
        request
            .update_expression("SET #stamp = :now")
            .condition_expression(format!("attribute_exists(#pk) AND {free}"))
            .expression_attribute_names("#pk", keys::PK)
    };
    match request.send().await {
        Ok(_) => Ok(Slot::Granted),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            let old = match e.err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => failed.item(),
                _ => None,
            };
            if old.is_none() && !slot.own_item {
                return Ok(Slot::Gone);
            }
            let last = old
                .and_then(|old| old.get(slot.stamp))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(now);
            Ok(Slot::Wait(
                (last + interval_seconds - now).clamp(1, interval_seconds) as u64,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
