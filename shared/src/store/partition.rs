//! An owner's partition read at once — a user's (`USER#<id>`: profile,
//! tombstone, connections, accounts) or an organization's (`ORG#<id>`:
//! tombstone, connections, accounts, each member's default account) — in
//! one Query, each item mapped by its kind's module; and the partition's
//! keys, for erasing it.

use aws_sdk_dynamodb::types::Delete;

use super::accounts::{account_from_item, is_account};
use super::connections::connection_from_item;
use super::profiles::profile_from_item;
use super::tx::Write;
use super::{Item, Store, StoreError, keys, string_attribute};
use std::collections::HashMap;

use super::defaults::MEMBER_PREFIX;
use super::profiles::DEFAULT_ACCOUNT;
use crate::ids::{AccountId, ConnectionId, OwnerId, UserId};
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::model::user::UserRecord;

#[derive(Debug, Default, Clone)]
pub struct OwnerPartition {
    /// The user's profile, in a user's partition.
    pub profile: Option<UserRecord>,
    pub deleted: bool,
    pub connections: Vec<ConnectionRecord>,
    pub accounts: Vec<AccountRecord>,
    /// Each member's default account, in an organization's partition.
    pub member_defaults: HashMap<UserId, AccountId>,
}

impl OwnerPartition {
    pub fn connection(&self, id: &ConnectionId) -> Option<&ConnectionRecord> {
        self.connections.iter().find(|c| &c.connection_id == id)
    }

    /// `user_id`'s default account in this workspace, as stored (it may name
    /// an account removed since by another member: see
    /// [`crate::connections::accounts::default_account`]).
    pub fn default_account(&self, user_id: &UserId) -> Option<&AccountId> {
        match &self.profile {
            Some(profile) => profile.settings.default_account_id.as_ref(),
            None => self.member_defaults.get(user_id),
        }
    }
}

/// What an item of an owner's partition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Profile,
    Tombstone,
    /// A connection, with its sealed tokens.
    Connection,
    /// An account, or anything else the partition holds.
    Other,
}

/// The key of one item of an owner's partition.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub held: Held,
    key: Item,
}

/// The owners' partitions of the table.
#[derive(Clone, Copy)]
pub struct Partitions<'a>(pub(super) &'a Store);

impl Partitions<'_> {
    /// One Query (more only for a partition over 1 MB), strongly consistent
    /// so that what the caller just wrote is seen.
    pub async fn read(&self, owner: &OwnerId) -> Result<OwnerPartition, StoreError> {
        let mut partition = OwnerPartition::default();
        for item in self.items(owner).await? {
            let sk = string_attribute(&item, keys::SK);
            if let Some(member) = sk.strip_prefix(MEMBER_PREFIX) {
                if let (Ok(member), Ok(default)) = (
                    UserId::parse(member),
                    AccountId::parse(string_attribute(&item, DEFAULT_ACCOUNT)),
                ) {
                    partition.member_defaults.insert(member, default);
                }
            } else if sk == keys::PROFILE {
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
    pub async fn keys(&self, owner: &OwnerId) -> Result<Vec<StoredKey>, StoreError> {
        Ok(self
            .items(owner)
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

    async fn items(&self, owner: &OwnerId) -> Result<Vec<Item>, StoreError> {
        self.0.query_partition(keys::owner(owner), None, true).await
    }
}
