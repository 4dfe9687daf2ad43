//! A user's partition read at once: profile, tombstone, connections and
//! accounts in one Query.

use super::accounts::{account_from_item, is_account};
use super::connections::connection_from_item;
use super::profiles::profile_from_item;
use super::{Store, StoreError, keys, string_attribute};
use crate::ids::UserId;
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

impl Store {
    /// One Query (more only for a partition over 1 MB), strongly consistent
    /// so that what the caller just wrote is seen.
    pub async fn read_partition(&self, user_id: &UserId) -> Result<UserPartition, StoreError> {
        let mut partition = UserPartition::default();
        for item in self
            .query_partition(keys::user(user_id), None, true)
            .await?
        {
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
}
