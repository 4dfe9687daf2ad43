//! Connections: one per (user, Amazon login), under the user's partition
//! (`CONN#<connection id>`), holding the sealed tokens and their lifecycle.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::accounts::{AccountRecord, accounts_in};
use super::users::UserRecord;
use super::{Item, Store, StoreError, WriteOutcome, keys, sort_key};
use crate::amazon::Region;
use crate::amazon::ads::SyncWarning;
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::tokens::Sealed;

/// Shards of the `refresh-due` index: spreads the refresher's reads and the
/// index's writes over several partitions.
pub const REFRESH_SHARDS: u8 = 16;
/// DynamoDB's limit on items per transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl ConnectionRecord {
    /// Puts the connection into the `refresh-due` index at `due`, or takes it
    /// out (`None`).
    pub fn schedule_refresh(&mut self, due: Option<DateTime<Utc>>) {
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

/// A connection and its accounts, written together.
pub struct ConnectionWrite<'a> {
    pub connection: &'a ConnectionRecord,
    /// `None`: the connection must not exist yet; else its current version.
    pub expected_version: Option<u64>,
    pub accounts: &'a [AccountRecord],
    /// Mirror a newly chosen default account into the user's settings.
    pub set_default_account: Option<&'a AccountId>,
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
