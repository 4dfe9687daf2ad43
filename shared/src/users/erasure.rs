//! Erasing a user: their profile, connections (with the sealed tokens) and
//! accounts go at once, and a tombstone keeps late or replayed events from
//! bringing them back. Their audit events (ids, kinds, error codes and
//! times: no token, no personal data) are not read: nothing serves them
//! once the connections are gone, and they expire by TTL within 90 days, so
//! a deletion costs the same whatever the audit trail holds.

use chrono::{DateTime, Utc};

use crate::ids::{DeliveryId, OwnerId, UserId};
use crate::store::deliveries::{Condition, WebhookWrite};
use crate::store::partition::{Held, StoredKey};
use crate::store::tx::{MAX_ITEMS, Tx, Write};
use crate::store::{Store, StoreError};

/// Deletes the user's partition and leaves a tombstone. One Query, one
/// transaction for the tombstone and up to 99 owned items (more in chunks),
/// one more Query, and one transaction for what a racing writer added plus
/// the delivery record (so a failure part-way is simply retried). A replay
/// costs one Query and the refused delivery record.
pub async fn erase(
    store: &Store,
    user_id: &UserId,
    delivery: Option<&DeliveryId>,
    now: DateTime<Utc>,
) -> Result<WebhookWrite, StoreError> {
    let (tombstoned, owned) = owned_items(store, user_id).await?;
    let mut writes = Vec::new();
    if !tombstoned {
        // First (in the first chunk): from then on no writer can add to the
        // partition.
        writes.push(
            store
                .profiles()
                .tombstone(&OwnerId::User(user_id.clone()), now)?,
        );
    }
    writes.extend(deletes(store, &owned)?);
    if !writes.is_empty() {
        for chunk in writes.chunks(MAX_ITEMS) {
            store
                .commit_chunked(Tx::<()>::default(), chunk.to_vec())
                .await?;
        }
        // A writer that found no tombstone may have committed between the
        // Queries and the tombstone (a profile, a connection): look again.
        writes = deletes(store, &owned_items(store, user_id).await?.1)?;
    }
    let room = MAX_ITEMS - usize::from(delivery.is_some());
    let mut chunks: Vec<Vec<Write>> = writes.chunks(room).map(<[_]>::to_vec).collect();
    let last = chunks.pop().unwrap_or_default();
    for chunk in chunks {
        store.commit_chunked(Tx::<()>::default(), chunk).await?;
    }
    let mut tx = Tx::default();
    for delete in last {
        tx.add(delete, Condition::Effect);
    }
    store.commit_once(tx, delivery, now).await
}

/// Whether the user has a tombstone, and every other item of their
/// partition, read consistently so that a write acknowledged before is seen.
async fn owned_items(
    store: &Store,
    user_id: &UserId,
) -> Result<(bool, Vec<StoredKey>), StoreError> {
    let mut items = store
        .partitions()
        .keys(&OwnerId::User(user_id.clone()))
        .await?;
    let before = items.len();
    items.retain(|item| item.held != Held::Tombstone);
    // A deletion too big for one transaction can fail part-way (Svix then
    // retries it): the first one takes the profile and the connections with
    // their sealed tokens, so only accounts and events can linger.
    items.sort_by_key(|item| !matches!(item.held, Held::Profile | Held::Connection));
    Ok((items.len() < before, items))
}

fn deletes(store: &Store, items: &[StoredKey]) -> Result<Vec<Write>, StoreError> {
    items
        .iter()
        .map(|item| store.partitions().delete(item))
        .collect()
}
