//! Just-in-time provisioning: a signed-in user whose `user.created`
//! webhook has not arrived yet is fetched from Clerk's Backend API and
//! stored, unless they were deleted.

use chrono::Utc;

use crate::clerk::api::{ClerkApi, ClerkApiError};
use crate::ids::UserId;
use crate::model::user::UserRecord;
use crate::store::deliveries::WebhookWrite;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The user was deleted; they are not brought back.
    #[error("user deleted")]
    Deleted,
    #[error("Clerk returned another user")]
    OtherUser,
    #[error("user vanished after provisioning")]
    Vanished,
    #[error(transparent)]
    Clerk(#[from] ClerkApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The user's profile: one GetItem; on a miss, provisioned.
pub async fn current_user(
    store: &Store,
    clerk: &ClerkApi,
    user_id: &UserId,
) -> Result<UserRecord, ProvisionError> {
    match store.profiles().get(user_id).await? {
        Some(user) => Ok(user),
        None => provision(store, clerk, user_id).await,
    }
}

/// Stores the user as Clerk has them, and answers what is then stored.
pub async fn provision(
    store: &Store,
    clerk: &ClerkApi,
    user_id: &UserId,
) -> Result<UserRecord, ProvisionError> {
    let profile = clerk.get_user(user_id).await?.into_profile();
    if profile.user_id != *user_id {
        return Err(ProvisionError::OtherUser);
    }
    match store.profiles().upsert(&profile, None, Utc::now()).await? {
        WebhookWrite::UserDeleted => Err(ProvisionError::Deleted),
        // Applied, or a webhook stored the same or a newer version first.
        _ => store
            .profiles()
            .get(user_id)
            .await?
            .ok_or(ProvisionError::Vanished),
    }
}
