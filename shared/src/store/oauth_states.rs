//! Single-use OAuth state records. Stored under a hash of the state, so a
//! table dump yields no usable state; the PKCE verifier is sealed.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, keys};
use crate::amazon::Region;
use crate::ids::{ConnectionId, UserId};
use crate::tokens::Sealed;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRecord {
    pub user_id: UserId,
    pub region: Region,
    pub return_to: Option<String>,
    /// Set when the consent renews an existing connection.
    pub reauthorize: Option<ConnectionId>,
    pub verifier: Sealed,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub expires_at: DateTime<Utc>,
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
        let mut item: super::Item = serde_dynamo::to_item(record)?;
        item.extend(Self::key(keys::state(hash), keys::STATE));
        item.insert("entity".into(), AttributeValue::S("oauth_state".into()));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(record.expires_at.timestamp().to_string()),
        );
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
            .set_key(Some(Self::key(keys::state(hash), keys::STATE)))
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
