//! Single-use OAuth state records. Stored under a hash of the state, so a
//! table dump yields no usable state; the PKCE verifier is sealed.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Item, Store, StoreError, keys, number};
use crate::model::oauth::StateRecord;

const STATE: &str = "STATE";

fn state_key(hash: &str) -> Item {
    Store::key(format!("STATE#{hash}"), STATE)
}

/// The key under which a state is stored, and the context its verifier is
/// sealed for.
pub fn state_hash(state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub enum TakenState {
    Valid(StateRecord),
    Expired(StateRecord),
    Unknown,
}

impl Store {
    pub async fn put_state(&self, hash: &str, record: &StateRecord) -> Result<(), StoreError> {
        let mut item = Self::item(record, format!("STATE#{hash}"), STATE, "oauth_state")?;
        item.insert(keys::TTL.into(), number(record.expires_at.timestamp()));
        self.client
            .put_item()
            .table_name(self.table())
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
            .client
            .delete_item()
            .table_name(self.table())
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
}
