//! Connection items (`USER#<id>` or `ORG#<id>` / `CONN#<connection id>`) and their sparse
//! `refresh-due` index: a connection is in it while it has a due time,
//! spread over shards so neither the refresher's reads nor the index's
//! writes pile onto one partition. Every write is optimistic: it expects the
//! version the caller read and stores the next one, so two writers can never
//! both win.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, ReturnValue};

use super::slot::{self, Slot, SlotItem};
use super::tx::Write;
use super::{
    DueIndex, Item, Read, Store, StoreError, is_condition_failure, keys, number, string_attribute,
};
use crate::ids::{ConnectionId, OwnerId};
use crate::model::connection::{ConnectionRecord, ConnectionStatus, DueConnection};

const VERSION: &str = "version";
/// Shards of the refresh index: neither the refresher's reads nor the
/// index's writes pile onto one partition.
pub const REFRESH_SHARDS: u8 = 16;
const SHARD: &str = "refresh_shard";
const DUE: &str = "refresh_due_at";
/// The `refresh-due` index, as `template.yaml` defines it.
const REFRESH_INDEX: DueIndex = DueIndex {
    name: "refresh-due",
    shards: REFRESH_SHARDS,
    shard_attribute: SHARD,
    due_attribute: DUE,
};
const LEASE_OWNER: &str = "lease_owner";
const SYNC_REQUESTED: &str = "sync_requested_at";

/// How a conditional write of one connection ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionWrite {
    Written,
    /// Someone else wrote first (or it is gone, or the lease was lost).
    Conflict,
}

/// A due connection and when it is due (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub connection: DueConnection,
    pub due_at: i64,
}

/// The connection items of the table, with their refresh index.
#[derive(Clone, Copy)]
pub struct Connections<'a>(pub(super) &'a Store);

impl Connections<'_> {
    /// The connection as stored (strongly consistent).
    pub async fn get(
        &self,
        owner: &OwnerId,
        connection_id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let output = self
            .0
            .client
            .get_item()
            .table_name(self.0.table())
            .set_key(Some(connection_key(owner, connection_id)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(connection_from_item).transpose()
    }

    /// The connection, to be read with an item of another kind
    /// ([`Store::get_pair`]).
    pub fn read(&self, owner: &OwnerId, connection_id: &ConnectionId) -> Read<ConnectionRecord> {
        Read {
            key: connection_key(owner, connection_id),
            from_item: connection_from_item,
        }
    }

    /// The owner's connections (one Query, strongly consistent).
    pub async fn of_owner(&self, owner: &OwnerId) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.0
            .query_partition(keys::owner(owner), Some(keys::CONNECTION_PREFIX), true)
            .await?
            .into_iter()
            .map(connection_from_item)
            .collect()
    }

    /// The write of `record` for a transaction: it must be new (version 0)
    /// or still stored at `record.version`.
    pub fn write(&self, record: &ConnectionRecord) -> Result<Write, StoreError> {
        let expected = expected(record.version);
        Ok(Put::builder()
            .table_name(self.0.table())
            .set_item(Some(connection_item(&advanced(record))?))
            .condition_expression(expected.expression)
            .set_expression_attribute_names(Some(expected.names))
            .set_expression_attribute_values(expected.values)
            .build()?
            .into())
    }

    /// The delete of `record` (its sealed tokens with it) for a
    /// transaction: only while it is still stored at its version.
    pub fn delete(&self, record: &ConnectionRecord) -> Result<Write, StoreError> {
        Ok(Delete::builder()
            .table_name(self.0.table())
            .set_key(Some(connection_key(&record.owner, &record.connection_id)))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":version", number(record.version))
            .build()?
            .into())
    }

    /// A check, for a transaction, that the connection still exists.
    pub fn exists(
        &self,
        owner: &OwnerId,
        connection_id: &ConnectionId,
    ) -> Result<Write, StoreError> {
        Ok(ConditionCheck::builder()
            .table_name(self.0.table())
            .set_key(Some(connection_key(owner, connection_id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?
            .into())
    }

    /// Writes one connection on its own, expecting the version it was read at.
    pub async fn put(&self, record: &ConnectionRecord) -> Result<ConnectionWrite, StoreError> {
        let expected = expected(record.version);
        let result = self
            .0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(connection_item(&advanced(record))?))
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

    /// Writes `record` if it is still stored at its version and the lease is
    /// still `owner`'s: the refresher's write, one PutItem.
    pub async fn put_leased(
        &self,
        record: &ConnectionRecord,
        owner: &str,
    ) -> Result<ConnectionWrite, StoreError> {
        let result = self
            .0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(connection_item(&advanced(record))?))
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

    /// Allows one sync per connection per `interval_seconds`. The stamp is a
    /// throttle, not part of the connection's state: it expects no version
    /// and advances none (a refresh written meanwhile may put back the time
    /// it read, allowing one sync early).
    pub async fn claim_sync_slot(
        &self,
        owner: &OwnerId,
        connection_id: &ConnectionId,
        now: i64,
        interval_seconds: i64,
    ) -> Result<Slot, StoreError> {
        let item = SlotItem {
            key: connection_key(owner, connection_id),
            stamp: SYNC_REQUESTED,
            own_item: false,
        };
        slot::claim(self.0, item, now, interval_seconds).await
    }

    /// Every connection due by `horizon` (epoch seconds), soonest first,
    /// from all shards at once; reads only what is due.
    pub async fn due(&self, horizon: i64) -> Result<Vec<Due>, StoreError> {
        let items = self.0.due_items(&REFRESH_INDEX, horizon).await?;
        let mut due: Vec<Due> = items
            .into_iter()
            .filter_map(|item| {
                let owner = keys::owner_of(string_attribute(&item, keys::PK))?;
                let connection =
                    string_attribute(&item, keys::SK).strip_prefix(keys::CONNECTION_PREFIX)?;
                let due_at = item.get(DUE)?.as_n().ok()?.parse().ok()?;
                Some(Due {
                    connection: DueConnection {
                        owner,
                        connection_id: ConnectionId::parse(connection).ok()?,
                    },
                    due_at,
                })
            })
            .collect();
        due.sort_by_key(|d| d.due_at);
        Ok(due)
    }

    /// Takes a connection's refresh lease until `until`: only if it is live,
    /// no other lease is held at `now`, and (unless `horizon` is `None`, an
    /// on-demand refresh) it is still due. Returns the claimed record, or
    /// `None` when someone else has it, it was refreshed meanwhile, or it is
    /// gone.
    pub async fn claim_lease(
        &self,
        due: &DueConnection,
        owner: &str,
        now: i64,
        until: i64,
        horizon: Option<i64>,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let live: Vec<String> = (0..ConnectionStatus::LIVE.len())
            .map(|index| format!(":live{index}"))
            .collect();
        let mut condition = format!(
            "attribute_exists(#pk) AND (attribute_not_exists(#lease) OR #lease < :now) AND #status IN ({})",
            live.join(", ")
        );
        let mut request = self
            .0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(connection_key(&due.owner, &due.connection_id)))
            .update_expression("SET #lease = :until, #owner = :owner, #version = #version + :one")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":until", number(until))
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":one", number(1))
            .return_values(ReturnValue::AllNew);
        for (index, status) in ConnectionStatus::LIVE.into_iter().enumerate() {
            request = request.expression_attribute_values(
                format!(":live{index}"),
                serde_dynamo::to_attribute_value(status)?,
            );
        }
        if let Some(horizon) = horizon {
            condition.push_str(" AND #due <= :horizon");
            request = request
                .expression_attribute_names("#due", DUE)
                .expression_attribute_values(":horizon", number(horizon));
        }
        match request.condition_expression(condition).send().await {
            Ok(output) => Ok(Some(connection_from_item(
                output.attributes.unwrap_or_default(),
            )?)),
            Err(e) if is_condition_failure(&e) => Ok(None),
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

pub(super) fn connection_key(owner: &OwnerId, connection_id: &ConnectionId) -> Item {
    Store::key(keys::owner(owner), &keys::connection(connection_id))
}

/// The item, with the refresh index's shard while the connection is due.
fn connection_item(record: &ConnectionRecord) -> Result<Item, StoreError> {
    let mut item = Store::item(
        record,
        keys::owner(&record.owner),
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

pub(super) fn connection_from_item(item: Item) -> Result<ConnectionRecord, StoreError> {
    Ok(serde_dynamo::from_item(item)?)
}
