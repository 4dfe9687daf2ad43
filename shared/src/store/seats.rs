//! DSP seats (`SEATS#<user id>`): per account, the last snapshot
//! (`<account>#CURRENT`), the refresh slot (`<account>#CLAIM`), and the
//! refresh history (`<account>#H#<ms>#<id>`, newest last). Seat and
//! exchange ids are Amazon's, no personal data: like audit events, every
//! item expires (TTL) 90 days after it was written, and a removed account's
//! seats are no longer served (the account is checked first).

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Duration, Utc};

use super::tx::{Tx, TxOutcome};
use super::{Store, StoreError, keys, number};
use crate::ids::{AccountId, UserId};
use crate::model::seats::{SeatRefresh, SeatSnapshot};

pub const SEAT_RETENTION: Duration = Duration::days(90);
const CLAIMED_AT: &str = "claimed_at";

fn partition(user_id: &UserId) -> String {
    format!("SEATS#{user_id}")
}

fn history_prefix(account_id: &AccountId) -> String {
    format!("{account_id}#H#")
}

/// A position in an account's refresh history, as a page hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCursor(String);

impl HistoryCursor {
    /// A cursor read back from a client: only one inside this account's
    /// history, and of the shape this store writes.
    pub fn parse(account_id: &AccountId, value: &str) -> Option<Self> {
        let rest = value.strip_prefix(&history_prefix(account_id))?;
        let (millis, refresh_id) = rest.split_once('#')?;
        let shaped = millis.len() == 13
            && millis.bytes().all(|b| b.is_ascii_digit())
            && (1..=64).contains(&refresh_id.len())
            && refresh_id.bytes().all(|b| b.is_ascii_alphanumeric());
        shaped.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a refresh may start now.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshSlot {
    Granted,
    /// The last one started less than the interval ago: seconds to wait.
    Wait(u64),
}

impl Store {
    /// The account's last snapshot, if one was taken in the last 90 days.
    pub async fn seat_snapshot(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
    ) -> Result<Option<SeatSnapshot>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(Self::key(
                partition(user_id),
                &format!("{account_id}#CURRENT"),
            )))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }

    /// Claims the account's refresh slot: at most one refresh starts per
    /// `interval_seconds`, however many ask at once (one conditional put).
    pub async fn claim_seat_refresh(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        now: i64,
        interval_seconds: i64,
    ) -> Result<RefreshSlot, StoreError> {
        let mut item = Self::key(partition(user_id), &format!("{account_id}#CLAIM"));
        item.insert(CLAIMED_AT.into(), number(now));
        item.insert(keys::TTL.into(), number(now + interval_seconds));
        let result = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #claimed <= :earliest")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#claimed", CLAIMED_AT)
            .expression_attribute_values(":earliest", number(now - interval_seconds))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(RefreshSlot::Granted),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                let last = match e.err() {
                    PutItemError::ConditionalCheckFailedException(failed) => failed.item(),
                    _ => None,
                }
                .and_then(|old| old.get(CLAIMED_AT))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(now);
                Ok(RefreshSlot::Wait(
                    (last + interval_seconds - now).clamp(1, interval_seconds) as u64,
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records a refresh, and with a successful one its snapshot: one
    /// transaction, so the history never names a snapshot that is not there.
    pub async fn record_seat_refresh(
        &self,
        user_id: &UserId,
        refresh: &SeatRefresh,
        snapshot: Option<&SeatSnapshot>,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::<()>::default();
        let sort_key = format!(
            "{}{:013}#{}",
            history_prefix(&refresh.account_id),
            refresh.at.timestamp_millis(),
            refresh.refresh_id
        );
        tx.put(self.seat_put(user_id, refresh, &sort_key, refresh.at)?, ());
        if let Some(snapshot) = snapshot {
            let sort_key = format!("{}#CURRENT", snapshot.account_id);
            tx.put(
                self.seat_put(user_id, snapshot, &sort_key, snapshot.taken_at)?,
                (),
            );
        }
        match self.commit(tx).await? {
            TxOutcome::Committed => Ok(()),
            TxOutcome::Refused(_) => Err(StoreError::Unavailable(
                "an unconditional write was refused".into(),
            )),
        }
    }

    fn seat_put(
        &self,
        user_id: &UserId,
        value: &impl serde::Serialize,
        sort_key: &str,
        written_at: DateTime<Utc>,
    ) -> Result<Put, StoreError> {
        let mut item = Self::item(value, partition(user_id), sort_key, "seats")?;
        item.insert(
            keys::TTL.into(),
            number((written_at + SEAT_RETENTION).timestamp()),
        );
        Ok(Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .build()?)
    }

    /// One page of an account's refreshes, newest first, after `after`.
    pub async fn seat_history(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        limit: i32,
        after: Option<&HistoryCursor>,
    ) -> Result<(Vec<SeatRefresh>, Option<HistoryCursor>), StoreError> {
        let (refreshes, next) = self
            .newest_first(
                partition(user_id),
                history_prefix(account_id),
                limit,
                after.map(HistoryCursor::as_str),
            )
            .await?;
        Ok((refreshes, next.map(HistoryCursor)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_cursors_stay_inside_their_account() {
        let account = AccountId::parse("acct_1").unwrap();
        let other = AccountId::parse("acct_2").unwrap();
        let cursor = "acct_1#H#1733000000000#abc123";
        assert!(HistoryCursor::parse(&account, cursor).is_some());
        assert!(HistoryCursor::parse(&other, cursor).is_none());
        assert!(HistoryCursor::parse(&account, "acct_1#CURRENT").is_none());
        assert!(HistoryCursor::parse(&account, "acct_1#H#17330#abc").is_none());
        assert!(HistoryCursor::parse(&account, "acct_1#H#1733000000000#a/b").is_none());
    }
}
