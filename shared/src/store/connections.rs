//! Connection items (`USER#<id>` / `CONN#<connection id>`). Every write is
//! optimistic: it expects the version the caller read and stores the next
//! one, so two writers can never both win.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put};

use super::{Item, Store, StoreError, is_condition_failure, keys, number};
use crate::ids::{ConnectionId, UserId};
use crate::model::connection::ConnectionRecord;

const VERSION: &str = "version";
/// Shards of the refresh index: neither the refresher's reads nor the
/// index's writes pile onto one partition.
pub const REFRESH_SHARDS: u8 = 16;
pub(crate) const SHARD: &str = "refresh_shard";
const LEASE_OWNER: &str = "lease_owner";

/// How a conditional write of one connection ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionWrite {
    Written,
    /// Someone else wrote first (or it is gone, or the lease was lost).
    Conflict,
}

impl Store {
    /// The connection as stored (strongly consistent).
    pub async fn get_connection(
        &self,
        user_id: &UserId,
        connection_id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(connection_key(user_id, connection_id)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(connection_from_item).transpose()
    }

    /// The user's connections (one Query, strongly consistent).
    pub async fn connections_of(
        &self,
        user_id: &UserId,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.query_partition(keys::user(user_id), Some(keys::CONNECTION_PREFIX), true)
            .await?
            .into_iter()
            .map(connection_from_item)
            .collect()
    }

    /// The write of `record` for a transaction: it must be new (version 0)
    /// or still stored at `record.version`.
    pub(crate) fn connection_put(&self, record: &ConnectionRecord) -> Result<Put, StoreError> {
        let expected = expected(record.version);
        Ok(Put::builder()
            .table_name(self.table())
            .set_item(Some(connection_item(&advanced(record))?))
            .condition_expression(expected.expression)
            .set_expression_attribute_names(Some(expected.names))
            .set_expression_attribute_values(expected.values)
            .build()?)
    }

    /// Writes `record` if it is still stored at its version and the lease is
    /// still `owner`'s: the refresher's write, one PutItem.
    pub async fn put_leased_connection(
        &self,
        record: &ConnectionRecord,
        owner: &str,
    ) -> Result<ConnectionWrite, StoreError> {
        let stored = advanced(record);
        let result = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(connection_item(&stored)?))
            .condition_expression("#version = :version AND #owner = :owner")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_values(":version", number(record.version))
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(ConnectionWrite::Written),
            Err(e) if is_condition_failure(&e) => Ok(ConnectionWrite::Conflict),
            Err(e) => Err(e.into()),
        }
    }
}

/// The record as a write stores it: one version on.
fn advanced(record: &ConnectionRecord) -> ConnectionRecord {
    ConnectionRecord {
        version: record.version + 1,
        ..record.clone()
    }
}

/// The condition of every connection write: new (version 0) or still at
/// the version read.
struct Expected {
    expression: &'static str,
    names: HashMap<String, String>,
    values: Option<Item>,
}

fn expected(version: u64) -> Expected {
    if version == 0 {
        Expected {
            expression: "attribute_not_exists(#pk)",
            names: HashMap::from([("#pk".into(), keys::PK.into())]),
            values: None,
        }
    } else {
        Expected {
            expression: "#version = :version",
            names: HashMap::from([("#version".into(), VERSION.into())]),
            values: Some(HashMap::from([(":version".into(), number(version))])),
        }
    }
}

/// The refresh-index shard of a connection: stable, spread evenly.
pub fn refresh_shard(connection_id: &ConnectionId) -> String {
    let digest = Sha256::digest(connection_id.as_str().as_bytes());
    format!("{:02}", digest[0] % REFRESH_SHARDS)
}

pub(crate) fn connection_key(user_id: &UserId, connection_id: &ConnectionId) -> Item {
    Store::key(keys::user(user_id), &keys::connection(connection_id))
}

/// The item, with the refresh index's shard while the connection is due.
pub(crate) fn connection_item(record: &ConnectionRecord) -> Result<Item, StoreError> {
    let mut item = Store::item(
        record,
        keys::user(&record.user_id),
        &keys::connection(&record.connection_id),
        "connection",
    )?;
    // The refresh index is sparse: only a due connection has a shard.
    if record.refresh_due_at.is_some() {
        item.insert(
            SHARD.into(),
            AttributeValue::S(refresh_shard(&record.connection_id)),
        );
    }
    Ok(item)
}

pub(crate) fn connection_from_item(item: Item) -> Result<ConnectionRecord, StoreError> {
    Ok(serde_dynamo::from_item(item)?)
}

/// Whether a manual sync may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncSlot {
    Granted,
    /// The last one started too recently: this many seconds remain.
    Wait(u64),
    /// The connection is gone.
    Gone,
}

impl Store {
    /// Writes one connection on its own, expecting the version it was read at.
    pub async fn put_connection(
        &self,
        record: &ConnectionRecord,
    ) -> Result<ConnectionWrite, StoreError> {
        let stored = advanced(record);
        let expected = expected(record.version);
        let result = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(connection_item(&stored)?))
            .condition_expression(expected.expression)
            .set_expression_attribute_names(Some(expected.names))
            .set_expression_attribute_values(expected.values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(ConnectionWrite::Written),
            Err(e) if is_condition_failure(&e) => Ok(ConnectionWrite::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// Allows one sync per connection per `interval_seconds`. The one write
    /// that expects no version and advances none: the stamp is a throttle,
    /// not part of the connection's state (a refresh written meanwhile may
    /// put back the time it read, allowing one sync early).
    pub async fn claim_sync_slot(
        &self,
        user_id: &UserId,
        connection_id: &ConnectionId,
        now: i64,
        interval_seconds: i64,
    ) -> Result<SyncSlot, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(connection_key(user_id, connection_id)))
            .update_expression("SET #requested = :now")
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#requested) OR #requested <= :earliest)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#requested", SYNC_REQUESTED)
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":earliest", number(now - interval_seconds))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(SyncSlot::Granted),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                let old = match e.err() {
                    UpdateItemError::ConditionalCheckFailedException(failed) => failed.item(),
                    _ => None,
                };
                let Some(old) = old else {
                    return Ok(SyncSlot::Gone);
                };
                let last = old
                    .get(SYNC_REQUESTED)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .unwrap_or(now);
                Ok(SyncSlot::Wait(
                    (last + interval_seconds - now).clamp(1, interval_seconds) as u64,
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}

const SYNC_REQUESTED: &str = "sync_requested_at";
