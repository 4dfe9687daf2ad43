//! Single-use OAuth state records and pending grants. Stored under a hash
//! of the state (the completion), so a table dump yields none that works;
//! the PKCE verifier and the grant's tokens are sealed.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::{Item, Store, StoreError, keys, number};
use crate::model::oauth::{PendingGrant, StateRecord};

const STATE: &str = "STATE";
const GRANT: &str = "GRANT";

fn state_key(hash: &str) -> Item {
    Store::key(format!("STATE#{hash}"), STATE)
}

fn grant_key(hash: &str) -> Item {
    Store::key(format!("GRANT#{hash}"), GRANT)
}

pub enum TakenState {
    Valid(StateRecord),
    Expired(StateRecord),
    Unknown,
}

/// The OAuth state records and pending grants of the table, each under
/// [`state_hash`](crate::model::oauth::state_hash) of its value.
#[derive(Clone, Copy)]
pub struct OAuthStates<'a>(pub(super) &'a Store);

impl OAuthStates<'_> {
    pub async fn put_state(&self, hash: &str, record: &StateRecord) -> Result<(), StoreError> {
        let item = Store::item(record, format!("STATE#{hash}"), STATE, "oauth_state")?;
        self.put_new(item, record.expires_at).await
    }

    /// Writes a single-use item that expires (TTL) at `expires_at`; one
    /// already under its key is refused.
    async fn put_new(&self, mut item: Item, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        item.insert(keys::TTL.into(), number(expires_at.timestamp()));
        self.0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await?;
        Ok(())
    }

    /// Deletes the state and returns what it held: one call, so a state can
    /// be used once even when the callback is hit twice at the same time.
    pub async fn take_state(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<TakenState, StoreError> {
        let result = self
            .0
            .client
            .delete_item()
            .table_name(self.0.table())
            .set_key(Some(state_key(hash)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let record: StateRecord =
                    serde_dynamo::from_item(output.attributes.unwrap_or_default())?;
                Ok(if record.expires_at > now {
                    TakenState::Valid(record)
                } else {
                    TakenState::Expired(record)
                })
            }
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(TakenState::Unknown)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a pending grant; a second one under the same hash is refused.
    pub async fn put_grant(&self, hash: &str, grant: &PendingGrant) -> Result<(), StoreError> {
        let item = Store::item(grant, format!("GRANT#{hash}"), GRANT, "pending_grant")?;
        self.put_new(item, grant.expires_at).await
    }

    /// Deletes the pending grant and returns it (`None`: unknown or already
    /// taken): one call, so concurrent completions get it once.
    pub async fn take_grant(&self, hash: &str) -> Result<Option<PendingGrant>, StoreError> {
        let output = self
            .0
            .client
            .delete_item()
            .table_name(self.0.table())
            .set_key(Some(grant_key(hash)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await?;
        match output.attributes {
            Some(item) if !item.is_empty() => Ok(Some(serde_dynamo::from_item(item)?)),
            _ => Ok(None),
        }
    }
}
