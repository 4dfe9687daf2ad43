//! An organization deleted in Clerk: every connection it owns is
//! disconnected — sealed tokens destroyed with the connection item, its
//! accounts deleted, a `disconnected` event recorded (and so published) —
//! and its members' default accounts go with it. A tombstone in its
//! partition, written first, keeps a consent completing meanwhile (or a
//! late webhook) from bringing anything back. Idempotent: a replay finds
//! the delivery recorded, a retry after a failure part-way finds less to
//! do.

use chrono::{DateTime, Utc};

use crate::ids::{DeliveryId, OrgId, OwnerId};
use crate::model::connection::ConnectionRecord;
use crate::model::event::{AuditEvent, EventKind};
use crate::store::deliveries::{Condition, WebhookWrite};
use crate::store::partition::{Held, OwnerPartition};
use crate::store::tx::{MAX_ITEMS, Tx};
use crate::store::{Store, StoreError};

/// Reads of the partition before giving up on writers that keep adding:
/// Svix retries the delivery.
const ROUNDS: usize = 5;

pub async fn dissolve(
    store: &Store,
    org_id: &OrgId,
    delivery: Option<&DeliveryId>,
    now: DateTime<Utc>,
) -> Result<WebhookWrite, StoreError> {
    let owner = OwnerId::Org(org_id.clone());
    let partitions = store.partitions();
    let mut tombstoned = false;
    for _ in 0..ROUNDS {
        let partition = partitions.read(&owner).await?;
        if !partition.deleted && !tombstoned {
            let mut tx = Tx::<()>::default();
            tx.add(store.profiles().tombstone(&owner, now)?, ());
            store.commit(tx).await?;
            tombstoned = true;
            // A connect that committed before the tombstone is in the next read.
            continue;
        }
        if partition.connections.is_empty() {
            return finish(store, &owner, delivery, now).await;
        }
        for connection in &partition.connections {
            // Refused when a refresh wrote meanwhile: the next round reads it again.
            disconnect(store, &partition, connection, now).await?;
        }
    }
    Err(StoreError::Unavailable(
        "the organization's connections kept changing while it was dissolved".into(),
    ))
}

async fn disconnect(
    store: &Store,
    partition: &OwnerPartition,
    connection: &ConnectionRecord,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let event = AuditEvent::new(connection, EventKind::Disconnected, None, None, now);
    let mut tx = Tx::<()>::default();
    tx.add(store.connections().delete(connection)?, ());
    tx.add(store.events().write(&event)?, ());
    let accounts = partition
        .accounts
        .iter()
        .filter(|a| a.connection_id == connection.connection_id)
        .map(|a| {
            store
                .accounts()
                .delete(&connection.owner, &a.account_id, false)
        })
        .collect::<Result<Vec<_>, _>>()?;
    store.commit_chunked(tx, accounts).await?;
    Ok(())
}

/// Everything left but the tombstone (members' defaults, accounts of no
/// connection), deleted with the delivery's record last.
async fn finish(
    store: &Store,
    owner: &OwnerId,
    delivery: Option<&DeliveryId>,
    now: DateTime<Utc>,
) -> Result<WebhookWrite, StoreError> {
    let partitions = store.partitions();
    let mut deletes = partitions
        .keys(owner)
        .await?
        .iter()
        .filter(|key| key.held != Held::Tombstone)
        .map(|key| partitions.delete(key))
        .collect::<Result<Vec<_>, _>>()?;
    let room = MAX_ITEMS - usize::from(delivery.is_some());
    let last = deletes.split_off(deletes.len() - deletes.len().min(room));
    for chunk in deletes.chunks(MAX_ITEMS) {
        store
            .commit_chunked(Tx::<()>::default(), chunk.to_vec())
            .await?;
    }
    let mut tx = Tx::default();
    for delete in last {
        tx.add(delete, Condition::Effect);
    }
    store.commit_once(tx, delivery, now).await
}
