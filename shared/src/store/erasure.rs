//! Erasing a user: their profile, connections (with the sealed tokens) and
//! accounts go at once, and a tombstone keeps late or replayed events from
//! bringing them back. Their audit events (ids, kinds, error codes and
//! times: no token, no personal data) are not read: nothing serves them
//! once the connections are gone, and they expire by TTL within 90 days, so
//! a deletion costs the same whatever the audit trail holds.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::deliveries::{Condition, WebhookWrite};
use super::tx::{MAX_ITEMS, Tx};
use super::{Item, Store, StoreError, keys, string_attribute};
use crate::ids::{DeliveryId, UserId};

impl Store {
    /// Deletes the user's partition and leaves a tombstone. One Query, one
    /// transaction for the tombstone and up to 99 owned items (more in
    /// chunks), one more Query, and one transaction for what a racing writer
    /// added plus the delivery record (so a failure part-way is simply
    /// retried). A replay costs one Query and the refused delivery record.
    pub async fn delete_user(
        &self,
        user_id: &UserId,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookWrite, StoreError> {
        let (tombstoned, owned) = self.owned_items(user_id).await?;
        let mut writes = Vec::new();
        if !tombstoned {
            // First (in the first chunk): from then on no writer can add to
            // the partition.
            writes.push(
                TransactWriteItem::builder()
                    .put(self.tombstone_put(user_id, now)?)
                    .build(),
            );
        }
        writes.extend(self.deletes(&owned)?);
        if !writes.is_empty() {
            for chunk in writes.chunks(MAX_ITEMS) {
                self.commit_chunked(Tx::<()>::default(), chunk.to_vec())
                    .await?;
            }
            // A writer that found no tombstone may have committed between the
            // Queries and the tombstone (a profile, a connection): look again.
            writes = self.deletes(&self.owned_items(user_id).await?.1)?;
        }
        let room = MAX_ITEMS - usize::from(delivery.is_some());
        let mut chunks: Vec<Vec<TransactWriteItem>> =
            writes.chunks(room).map(<[_]>::to_vec).collect();
        let last = chunks.pop().unwrap_or_default();
        for chunk in chunks {
            self.commit_chunked(Tx::<()>::default(), chunk).await?;
        }
        let mut tx = Tx::<Condition>::default();
        for write in last {
            if let Some(delete) = write.delete {
                tx.delete(delete, Condition::Effect);
            }
        }
        self.commit_once(tx, delivery, now).await
    }

    /// Whether the user has a tombstone, and every other item of their
    /// partition, read consistently so that a write acknowledged before is
    /// seen.
    async fn owned_items(&self, user_id: &UserId) -> Result<(bool, Vec<Item>), StoreError> {
        let mut items = self
            .query_partition(keys::user(user_id), None, true)
            .await?;
        let before = items.len();
        items.retain(|item| string_attribute(item, keys::SK) != keys::TOMBSTONE);
        // A deletion too big for one transaction can fail part-way (Svix then
        // retries it): the first one takes the profile and the connections
        // with their sealed tokens, so only accounts and events can linger.
        items.sort_by_key(|item| {
            let sk = string_attribute(item, keys::SK);
            !(sk == keys::PROFILE || sk.starts_with(keys::CONNECTION_PREFIX))
        });
        Ok((items.len() < before, items))
    }

    fn deletes(&self, items: &[Item]) -> Result<Vec<TransactWriteItem>, StoreError> {
        items
            .iter()
            .map(|item| {
                let delete = Delete::builder()
                    .table_name(self.table())
                    .set_key(Some(Self::key(
                        string_attribute(item, keys::PK).to_owned(),
                        string_attribute(item, keys::SK),
                    )))
                    .build()?;
                Ok(TransactWriteItem::builder().delete(delete).build())
            })
            .collect()
    }
}
