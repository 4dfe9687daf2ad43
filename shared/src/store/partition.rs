//! A user's partition (`USER#<id>`) read at once: profile, tombstone,
//! connections and accounts in one Query, each item mapped by its kind's
//! module; and the partition's keys, for erasing it.

use aws_sdk_dynamodb::types::Delete;

use super::accounts::{account_from_item, is_account};
use super::connections::connection_from_item;
use super::profiles::profile_from_item;
use super::tx::Write;
use super::{Item, Store, StoreError, keys, string_attribute};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::model::user::UserRecord;

#[derive(Debug, Default, Clone)]
pub struct UserPartition {
    pub profile: Option<UserRecord>,
    pub deleted: bool,
    pub connections: Vec<ConnectionRecord>,
    pub accounts: Vec<AccountRecord>,
}

impl UserPartition {
    pub fn connection(&self, id: &ConnectionId) -> Option<&ConnectionRecord> {
        self.connections.iter().find(|c| &c.connection_id == id)
    }

    /// The user's default account, as their settings name it.
    pub fn default_account(&self) -> Option<&AccountId> {
        self.profile
            .as_ref()
            .and_then(|p| p.settings.default_account_id.as_ref())
    }
}

/// What an item of a user's partition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Profile,
    Tombstone,
    /// A connection, with its sealed tokens.
    Connection,
    /// An account, or anything else the partition holds.
    Other,
}

/// The key of one item of a user's partition.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub held: Held,
    key: Item,
}

/// The users' partitions of the table.
#[derive(Clone, Copy)]
pub struct Partitions<'a>(pub(super) &'a Store);

impl Partitions<'_> {
    /// One Query (more only for a partition over 1 MB), strongly consistent
    /// so that what the caller just wrote is seen.
    pub async fn read(&self, user_id: &UserId) -> Result<UserPartition, StoreError> {
        let mut partition = UserPartition::default();
        for item in self.items(user_id).await? {
            let sk = string_attribute(&item, keys::SK);
            if sk == keys::PROFILE {
                partition.profile = Some(profile_from_item(item)?);
            } else if sk == keys::TOMBSTONE {
                partition.deleted = true;
            } else if sk.starts_with(keys::CONNECTION_PREFIX) {
                partition.connections.push(connection_from_item(item)?);
            } else if is_account(&item) {
                partition.accounts.push(account_from_item(item)?);
            }
        }
        Ok(partition)
    }

    /// The key of every item of the partition, read like [`Self::read`].
    pub async fn keys(&self, user_id: &UserId) -> Result<Vec<StoredKey>, StoreError> {
        Ok(self
            .items(user_id)
            .await?
            .iter()
            .map(|item| {
                let sk = string_attribute(item, keys::SK);
                let held = if sk == keys::PROFILE {
                    Held::Profile
                } else if sk == keys::TOMBSTONE {
                    Held::Tombstone
                } else if sk.starts_with(keys::CONNECTION_PREFIX) {
                    Held::Connection
                } else {
                    Held::Other
                };
                StoredKey {
                    held,
                    key: Store::key(string_attribute(item, keys::PK).to_owned(), sk),
                }
            })
            .collect())
    }

    /// The unconditional delete of one item, for a transaction.
    pub fn delete(&self, stored: &StoredKey) -> Result<Write, StoreError> {
        Ok(Delete::builder()
            .table_name(self.0.table())
            .set_key(Some(stored.key.clone()))
            .build()?
            .into())
    }

    async fn items(&self, user_id: &UserId) -> Result<Vec<Item>, StoreError> {
        self.0
            .query_partition(keys::user(user_id), None, true)
            .await
    }
}
