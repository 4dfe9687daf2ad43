//! The sparse `refresh-due` index: a connection is in it while it has a due
//! time, spread over shards so neither the refresher's reads nor the index's
//! writes pile onto one partition.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::connections::{REFRESH_SHARDS, SHARD, connection_from_item, connection_key};
use super::{Store, StoreError, all_items, is_condition_failure, keys, number, string_attribute};
use crate::ids::{ConnectionId, UserId};
use crate::model::connection::{ConnectionRecord, ConnectionStatus, DueConnection};

/// The index's name, as `template.yaml` defines it.
pub const REFRESH_INDEX: &str = "refresh-due";
const DUE: &str = "refresh_due_at";

/// A due connection and when it is due (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub connection: DueConnection,
    pub due_at: i64,
}

impl Store {
    /// Every connection due by `horizon` (epoch seconds), soonest first,
    /// from all shards at once; reads only what is due.
    pub async fn due_connections(&self, horizon: i64) -> Result<Vec<Due>, StoreError> {
        let shards = futures::future::join_all(
            (0..REFRESH_SHARDS).map(|shard| self.due_in_shard(shard, horizon)),
        )
        .await;
        let mut due = Vec::new();
        for shard in shards {
            due.extend(shard?);
        }
        due.sort_by_key(|d| d.due_at);
        Ok(due)
    }

    async fn due_in_shard(&self, shard: u8, horizon: i64) -> Result<Vec<Due>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(self.table())
            .index_name(REFRESH_INDEX)
            .key_condition_expression("#shard = :shard AND #due <= :horizon")
            .expression_attribute_names("#shard", SHARD)
            .expression_attribute_names("#due", DUE)
            .expression_attribute_values(":shard", AttributeValue::S(format!("{shard:02}")))
            .expression_attribute_values(":horizon", number(horizon));
        Ok(all_items(query)
            .await?
            .into_iter()
            .filter_map(|item| {
                let user = string_attribute(&item, keys::PK).strip_prefix(keys::USER_PREFIX)?;
                let connection =
                    string_attribute(&item, keys::SK).strip_prefix(keys::CONNECTION_PREFIX)?;
                let due_at = item.get(DUE)?.as_n().ok()?.parse().ok()?;
                Some(Due {
                    connection: DueConnection {
                        user_id: UserId::parse(user).ok()?,
                        connection_id: ConnectionId::parse(connection).ok()?,
                    },
                    due_at,
                })
            })
            .collect())
    }

    /// Takes a connection's refresh lease until `until`: only if it is live,
    /// no other lease is held at `now`, and (unless `horizon` is `None`, an
    /// on-demand refresh) it is still due. Returns the claimed record, or
    /// `None` when someone else has it, it was refreshed meanwhile, or it is
    /// gone.
    pub async fn claim_connection(
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
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(connection_key(&due.user_id, &due.connection_id)))
            .update_expression("SET #lease = :until, #owner = :owner, #version = #version + :one")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#owner", "lease_owner")
            .expression_attribute_names("#version", "version")
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
