//! Single-use records of the credentials function's proofs
//! (`PROOF#<sha-256 of the signature>`): a signed GetCallerIdentity proves
//! its caller once. Kept for [`PROOF_RETENTION`], beyond the time a proof
//! is accepted at all (its `X-Amz-Date` within five minutes of now).

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use super::{Store, StoreError, keys, millis, number};

pub const PROOF_RETENTION: Duration = Duration::minutes(15);

#[derive(Clone, Copy)]
pub struct Proofs<'a>(pub(super) &'a Store);

impl Proofs<'_> {
    /// Records the proof whose signature hashes to `fingerprint`; `false`
    /// when it was already recorded (a replay).
    pub async fn use_once(
        &self,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut item = Store::key(format!("PROOF#{fingerprint}"), "PROOF");
        item.insert(keys::ENTITY.into(), AttributeValue::S("proof".into()));
        item.insert("used_at".into(), millis(now));
        item.insert(
            keys::TTL.into(),
            number((now + PROOF_RETENTION).timestamp()),
        );
        let written = self
            .0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}
