//! Connections: one per (user, Amazon login), under the user's partition
//! (`CONN#<connection id>`), holding the sealed tokens and their lifecycle.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::accounts::{AccountRecord, accounts_in};
use super::events::{AuditEvent, EventKind};
use super::users::UserRecord;
use super::{Item, Store, StoreError, WriteOutcome, keys, partition_key, sort_key};
use crate::amazon::Region;
use crate::amazon::ads::SyncWarning;
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::tokens::Sealed;

/// Shards of the `refresh-due` index: spreads the refresher's reads and the
/// index's writes over several partitions.
pub const REFRESH_SHARDS: u8 = 16;
/// DynamoDB's limit on items per transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    /// Only the user can fix it, by consenting again.
    NeedsReauth,
    /// Refreshing keeps failing; still retried.
    Error,
    Disconnected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub connection_id: ConnectionId,
    pub user_id: UserId,
    /// What identifies the Amazon login: `lwa:<amazon user id>` when the
    /// `profile` scope is granted, else `profiles:<hash of its profile ids>`.
    pub amazon_identity: String,
    pub amazon_user_id: Option<String>,
    pub amazon_name: Option<String>,
    pub amazon_email: Option<String>,
    /// The region whose consent page was used.
    pub region: Region,
    pub status: ConnectionStatus,
    pub scopes: Vec<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub access_expires_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub consent_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub consent_expires_at: DateTime<Utc>,
    pub refresh_count: u64,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub failure_count: u32,
    pub last_error_code: Option<String>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Optimistic concurrency: every write expects the version it read.
    pub version: u64,
    #[serde(default)]
    pub sync_warnings: Vec<SyncWarning>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_synced_at: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    /// Sealed `{access_token, refresh_token}`; absent once shredded.
    pub tokens: Option<Sealed>,
    /// `refresh-due` index keys: present only while the refresher should look
    /// at this connection (absent attributes keep it out of the sparse index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_due_at: Option<i64>,
    /// The user's `auto_refresh_tokens` setting, mirrored: when false the
    /// connection stays out of the `refresh-due` index.
    #[serde(default = "yes")]
    pub auto_refresh: bool,
    /// When a manual sync last started (epoch seconds): one per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_requested_at: Option<i64>,
    /// Who holds the refresh lease, and until when (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<i64>,
}

fn yes() -> bool {
    true
}

impl ConnectionRecord {
    /// Puts the connection into the `refresh-due` index at `due`, or takes it
    /// out (`None`).
    pub fn schedule_refresh(&mut self, due: Option<DateTime<Utc>>) {
        let due = due.filter(|_| self.auto_refresh);
        self.refresh_due_at = due.map(|at| at.timestamp());
        self.refresh_shard = due.map(|_| refresh_shard(&self.connection_id));
    }

    /// The context its tokens are sealed for: they open nowhere else.
    pub fn token_context(&self) -> String {
        token_context(&self.user_id, &self.connection_id)
    }
}

pub fn token_context(user_id: &UserId, connection_id: &ConnectionId) -> String {
    format!("tokens|{user_id}|{connection_id}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn refresh_shard(connection_id: &ConnectionId) -> String {
    let digest = Sha256::digest(connection_id.as_str().as_bytes());
    format!("{:02}", digest[0] % REFRESH_SHARDS)
}

/// Stable per (user, Amazon login): connecting the same login again lands
/// on the same connection.
pub fn connection_id_for(user_id: &UserId, amazon_identity: &str) -> ConnectionId {
    let digest = Sha256::digest(format!("{user_id}|{amazon_identity}").as_bytes());
    ConnectionId::parse(&format!("conn_{}", &hex(&digest)[..24]))
        .unwrap_or_else(|_| unreachable!("hex is a valid id"))
}

/// Stable per (user, advertising profile): re-authorizing keeps account ids.
pub fn account_id_for(user_id: &UserId, profile_id: &str) -> AccountId {
    let digest = Sha256::digest(format!("{user_id}|{profile_id}").as_bytes());
    AccountId::parse(&format!("acct_{}", &hex(&digest)[..24]))
        .unwrap_or_else(|_| unreachable!("hex is a valid id"))
}

/// A user's partition, read with one Query.
#[derive(Debug, Default)]
pub struct UserPartition {
    pub profile: Option<UserRecord>,
    pub deleted: bool,
    pub connections: Vec<ConnectionRecord>,
    pub accounts: Vec<AccountRecord>,
}

impl UserPartition {
    pub fn from_items(items: &[Item]) -> Result<Self, StoreError> {
        let mut partition = Self {
            accounts: accounts_in(items)?,
            ..Self::default()
        };
        for item in items {
            let sk = sort_key(item);
            if sk == keys::PROFILE {
                partition.profile = Some(UserRecord::from_item(item.clone())?);
            } else if sk == keys::TOMBSTONE {
                partition.deleted = true;
            } else if sk.starts_with(keys::CONNECTION_PREFIX) {
                partition
                    .connections
                    .push(serde_dynamo::from_item(item.clone())?);
            }
        }
        Ok(partition)
    }
}

/// A connection's place in the `refresh-due` index: its table key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueConnection {
    pub user_id: UserId,
    pub connection_id: ConnectionId,
}

/// A connection and its accounts, written together.
pub struct ConnectionWrite<'a> {
    pub connection: &'a ConnectionRecord,
    /// `None`: the connection must not exist yet; else its current version.
    pub expected_version: Option<u64>,
    pub accounts: &'a [AccountRecord],
    /// Mirror a newly chosen default account into the user's settings.
    pub set_default_account: Option<&'a AccountId>,
    /// The audit event recorded with the write.
    pub event: EventKind,
}

impl Store {
    pub async fn read_partition(&self, user_id: &UserId) -> Result<UserPartition, StoreError> {
        UserPartition::from_items(&self.user_partition(user_id).await?)
    }

    /// Writes the connection (version-checked), its accounts and the default
    /// account mirror in one transaction, unless the user was deleted.
    /// `Stale`: someone else changed the connection or the default first.
    pub async fn save_connection(
        &self,
        write: ConnectionWrite<'_>,
    ) -> Result<WriteOutcome, StoreError> {
        let connection = write.connection;
        let user_pk = keys::user(&connection.user_id);
        let mut item: Item = serde_dynamo::to_item(connection)?;
        item.extend(Self::key(
            user_pk.clone(),
            &keys::connection(&connection.connection_id),
        ));
        item.insert("entity".into(), AttributeValue::S("connection".into()));
        let mut put = Put::builder().table_name(self.table()).set_item(Some(item));
        put = match write.expected_version {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(version) => put
                .condition_expression("#version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
        };
        let mut first = vec![
            self.not_deleted_check(&connection.user_id)?,
            TransactWriteItem::builder()
                .put(put.build().map_err(super::build_error)?)
                .build(),
        ];
        first.push(self.event_put(&AuditEvent::new(
            connection,
            write.event,
            None,
            connection.updated_at,
        ))?);
        if let Some(account_id) = write.set_default_account {
            let update = Update::builder()
                .table_name(self.table())
                .set_key(Some(Self::key(user_pk.clone(), keys::PROFILE)))
                .update_expression("SET #settings.#default = :account")
                .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#settings.#default) OR #settings.#default = :null)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#settings", "settings")
                .expression_attribute_names("#default", "default_account_id")
                .expression_attribute_values(":account", AttributeValue::S(account_id.to_string()))
                .expression_attribute_values(":null", AttributeValue::Null(true))
                .build()
                .map_err(super::build_error)?;
            first.push(TransactWriteItem::builder().update(update).build());
        }
        let mut account_puts = write
            .accounts
            .iter()
            .map(|account| {
                let mut item: Item = serde_dynamo::to_item(account)?;
                item.extend(Self::key(
                    user_pk.clone(),
                    &keys::account(&account.account_id),
                ));
                item.insert("entity".into(), AttributeValue::S("account".into()));
                let put = Put::builder()
                    .table_name(self.table())
                    .set_item(Some(item))
                    .build()
                    .map_err(super::build_error)?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?
            .into_iter();
        first.extend(
            account_puts
                .by_ref()
                .take(MAX_TRANSACTION_ITEMS - first.len()),
        );
        let outcome = self
            .transact(first, |failed| {
                if failed.first() == Some(&true) {
                    WriteOutcome::UserDeleted
                } else {
                    WriteOutcome::Stale
                }
            })
            .await?;
        if outcome != WriteOutcome::Applied {
            return Ok(outcome);
        }
        // Users with more profiles than one transaction holds: the rest follow.
        let rest: Vec<TransactWriteItem> = account_puts.collect();
        for chunk in rest.chunks(MAX_TRANSACTION_ITEMS) {
            self.transact(chunk.to_vec(), |_| WriteOutcome::Stale)
                .await?;
        }
        Ok(WriteOutcome::Applied)
    }
}

impl Store {
    /// The connections of one index shard due by `horizon` (epoch seconds):
    /// reads only what is due.
    pub async fn due_connections(
        &self,
        shard: u8,
        horizon: i64,
    ) -> Result<Vec<DueConnection>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(self.table())
            .index_name(REFRESH_INDEX)
            .key_condition_expression("#shard = :shard AND #due <= :horizon")
            .expression_attribute_names("#shard", "refresh_shard")
            .expression_attribute_names("#due", "refresh_due_at")
            .expression_attribute_values(":shard", AttributeValue::S(format!("{shard:02}")))
            .expression_attribute_values(":horizon", AttributeValue::N(horizon.to_string()));
        Ok(super::all_items(query)
            .await?
            .into_iter()
            .filter_map(|item| {
                let user = partition_key(&item).strip_prefix("USER#")?;
                let connection = sort_key(&item).strip_prefix(keys::CONNECTION_PREFIX)?;
                Some(DueConnection {
                    user_id: UserId::parse(user).ok()?,
                    connection_id: ConnectionId::parse(connection).ok()?,
                })
            })
            .collect())
    }

    /// Takes the refresh lease of a connection: only if no live lease exists
    /// and (unless `horizon` is `None`, an on-demand refresh) it is still due.
    /// Returns the claimed record (its `version` already bumped), or `None`
    /// when someone else has it, it was refreshed meanwhile, or it is gone.
    pub async fn claim_connection(
        &self,
        due: &DueConnection,
        owner: &str,
        now: i64,
        lease_seconds: i64,
        horizon: Option<i64>,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let mut condition =
            "attribute_exists(#pk) AND (attribute_not_exists(#lease) OR #lease < :now) AND #status IN (:active, :error)".to_owned();
        let mut request = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(Self::key(
                keys::user(&due.user_id),
                &keys::connection(&due.connection_id),
            )))
            .update_expression("SET #lease = :until, #owner = :owner, #version = #version + :one")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#owner", "lease_owner")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(
                ":until",
                AttributeValue::N((now + lease_seconds).to_string()),
            )
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":active", AttributeValue::S("active".into()))
            .expression_attribute_values(":error", AttributeValue::S("error".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        if let Some(horizon) = horizon {
            condition.push_str(" AND #due <= :horizon");
            request = request
                .expression_attribute_names("#due", "refresh_due_at")
                .expression_attribute_values(":horizon", AttributeValue::N(horizon.to_string()));
        }
        match request.condition_expression(condition).send().await {
            Ok(output) => Ok(Some(serde_dynamo::from_item(
                output.attributes.unwrap_or_default(),
            )?)),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the outcome of a refresh (lease released), then its audit event,
    /// only if the connection still holds `owner`'s lease at `claimed_version`
    /// and its `auto_refresh` is still what the refresher saw. `Stale`: the
    /// lease was lost, the connection deleted, or the setting changed.
    pub async fn finish_refresh(
        &self,
        connection: &ConnectionRecord,
        owner: &str,
        claimed_version: u64,
        event: Option<&AuditEvent>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut item: Item = serde_dynamo::to_item(connection)?;
        item.extend(Self::key(
            keys::user(&connection.user_id),
            &keys::connection(&connection.connection_id),
        ));
        item.insert("entity".into(), AttributeValue::S("connection".into()));
        // Not a transaction with the event: this is the hottest write path and
        // a transaction doubles its cost. Losing the event of a refresh whose
        // process died in between is acceptable; losing the refresh is not.
        let written = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("#version = :version AND #owner = :owner AND #auto = :auto")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#owner", "lease_owner")
            .expression_attribute_names("#auto", "auto_refresh")
            .expression_attribute_values(":auto", AttributeValue::Bool(connection.auto_refresh))
            .expression_attribute_values(":version", AttributeValue::N(claimed_version.to_string()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .send()
            .await;
        match written {
            Ok(_) => {}
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                return Ok(WriteOutcome::Stale);
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(event) = event
            && let Err(error) = self.put_event(event).await
        {
            tracing::warn!(error = %error, "audit event not recorded");
        }
        Ok(WriteOutcome::Applied)
    }
}

/// The sparse index the refresher reads.
pub const REFRESH_INDEX: &str = "refresh-due";

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
            .set_key(Some(Self::key(
                keys::user(user_id),
                &keys::connection(connection_id),
            )))
            .consistent_read(true)
            .send()
            .await?;
        output
            .item
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .transpose()
    }

    /// The user's connections (one Query).
    pub(crate) async fn connections_of(
        &self,
        user_id: &UserId,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.query_partition(keys::user(user_id), Some(keys::CONNECTION_PREFIX))
            .await?
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .collect()
    }

    /// The updates that mirror `enabled` onto those of `connections` that
    /// differ, for a transaction with the setting itself. Each expects the
    /// version read, so a refresher's claim or write in between cancels the
    /// transaction (and the caller reads again). A connection under a live
    /// lease gets the flag only: the refresher's write, which expects the
    /// flag it saw, then fails and reschedules with the new one.
    pub(crate) fn auto_refresh_mirror(
        &self,
        connections: &[ConnectionRecord],
        enabled: bool,
        now: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        connections
            .iter()
            .filter(|connection| connection.auto_refresh != enabled)
            .map(|connection| {
                let leased = connection.lease_until.is_some_and(|until| until >= now);
                let schedulable = matches!(
                    connection.status,
                    ConnectionStatus::Active | ConnectionStatus::Error
                );
                let mut update = Update::builder()
                    .table_name(self.table())
                    .set_key(Some(Self::key(
                        keys::user(&connection.user_id),
                        &keys::connection(&connection.connection_id),
                    )))
                    .condition_expression("#version = :version")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(
                        ":version",
                        AttributeValue::N(connection.version.to_string()),
                    )
                    .expression_attribute_names("#auto", "auto_refresh")
                    .expression_attribute_values(":auto", AttributeValue::Bool(enabled));
                update = if leased || (enabled && !schedulable) {
                    update.update_expression("SET #auto = :auto")
                } else if enabled {
                    update
                        .update_expression("SET #auto = :auto, #shard = :shard, #due = :due")
                        .expression_attribute_names("#shard", "refresh_shard")
                        .expression_attribute_names("#due", "refresh_due_at")
                        .expression_attribute_values(
                            ":shard",
                            AttributeValue::S(refresh_shard(&connection.connection_id)),
                        )
                        .expression_attribute_values(
                            ":due",
                            AttributeValue::N(connection.access_expires_at.timestamp().to_string()),
                        )
                } else {
                    update
                        .update_expression("SET #auto = :auto REMOVE #shard, #due")
                        .expression_attribute_names("#shard", "refresh_shard")
                        .expression_attribute_names("#due", "refresh_due_at")
                };
                Ok(TransactWriteItem::builder()
                    .update(update.build().map_err(super::build_error)?)
                    .build())
            })
            .collect()
    }

    /// Mirrors the user's `auto_refresh_tokens` onto their connections and
    /// puts them into (or takes them out of) the `refresh-due` index. A
    /// connection being refreshed right now keeps its index entry until the
    /// refresher's write, which sees the new flag and schedules accordingly.
    pub async fn set_auto_refresh(
        &self,
        user_id: &UserId,
        enabled: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let items = self
            .query_partition(keys::user(user_id), Some(keys::CONNECTION_PREFIX))
            .await?;
        for item in items {
            let connection: ConnectionRecord = serde_dynamo::from_item(item)?;
            if connection.auto_refresh == enabled {
                continue;
            }
            let key = Self::key(
                keys::user(user_id),
                &keys::connection(&connection.connection_id),
            );
            let schedulable = matches!(
                connection.status,
                ConnectionStatus::Active | ConnectionStatus::Error
            );
            let mut update = self
                .client
                .update_item()
                .table_name(self.table())
                .set_key(Some(key.clone()))
                .condition_expression(
                    "attribute_exists(#pk) AND (attribute_not_exists(#lease) OR #lease < :now)",
                )
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#lease", "lease_until")
                .expression_attribute_names("#auto", "auto_refresh")
                .expression_attribute_names("#shard", "refresh_shard")
                .expression_attribute_names("#due", "refresh_due_at")
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .expression_attribute_values(":auto", AttributeValue::Bool(enabled));
            update = if enabled && schedulable {
                update
                    .update_expression("SET #auto = :auto, #shard = :shard, #due = :due")
                    .expression_attribute_values(
                        ":shard",
                        AttributeValue::S(refresh_shard(&connection.connection_id)),
                    )
                    .expression_attribute_values(
                        ":due",
                        AttributeValue::N(connection.access_expires_at.timestamp().to_string()),
                    )
            } else if enabled {
                update.update_expression("SET #auto = :auto")
            } else {
                update.update_expression("SET #auto = :auto REMOVE #shard, #due")
            };
            match update.send().await {
                Ok(_) => {}
                Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                    if e.err().is_conditional_check_failed_exception() =>
                {
                    // Leased (or gone): set the flag alone; the refresher's
                    // conditional write then fails and reschedules with it.
                    let flag_only = self
                        .client
                        .update_item()
                        .table_name(self.table())
                        .set_key(Some(key))
                        .update_expression("SET #auto = :auto")
                        .condition_expression("attribute_exists(#pk)")
                        .expression_attribute_names("#pk", keys::PK)
                        .expression_attribute_names("#auto", "auto_refresh")
                        .expression_attribute_values(":auto", AttributeValue::Bool(enabled))
                        .send()
                        .await;
                    match flag_only {
                        Ok(_) => {}
                        Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                            if e.err().is_conditional_check_failed_exception() => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
