//! What a verified Clerk event does: a user created or updated is stored
//! (unless a newer version is), a deleted one is erased, a new session
//! records the login; the rest is acknowledged. Each write is recorded
//! with its delivery, so a delivery applies once.

use chrono::{DateTime, Utc};

use super::{erasure, organizations};
use crate::clerk::events::ClerkEvent;
use crate::ids::DeliveryId;
use crate::store::deliveries::WebhookWrite;
use crate::store::{Store, StoreError};

/// What applying an event did.
pub enum Effect {
    /// The event of `kind` was written, or found already written.
    Written {
        kind: &'static str,
        outcome: WebhookWrite,
    },
    /// Nothing to write for this event.
    Acknowledged,
}

pub async fn apply(
    store: &Store,
    event: &ClerkEvent,
    delivery: &DeliveryId,
    now: DateTime<Utc>,
) -> Result<Effect, StoreError> {
    let (kind, outcome) = match event {
        ClerkEvent::UserUpserted(profile) => (
            "user.upserted",
            store
                .profiles()
                .upsert(profile, Some(delivery), now)
                .await?,
        ),
        ClerkEvent::UserDeleted(user_id) => (
            "user.deleted",
            erasure::erase(store, user_id, Some(delivery), now).await?,
        ),
        ClerkEvent::OrganizationDeleted(org_id) => (
            "organization.deleted",
            organizations::dissolve(store, org_id, Some(delivery), now).await?,
        ),
        ClerkEvent::SessionCreated { user_id, at, .. } => (
            "session.created",
            store
                .profiles()
                .record_login(user_id, *at, Some(delivery), now)
                .await?,
        ),
        ClerkEvent::SessionClosed {
            kind,
            user_id,
            session_id,
        } => {
            tracing::info!(event = %kind, %user_id, %session_id, "session closed");
            return Ok(Effect::Acknowledged);
        }
        ClerkEvent::Other(kind) => {
            tracing::info!(event = %kind, "event type not handled; acknowledged");
            return Ok(Effect::Acknowledged);
        }
    };
    Ok(Effect::Written { kind, outcome })
}
