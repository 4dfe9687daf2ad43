//! DSP seats (`SEATS#<user id>`): per account, the last snapshot
//! (`<account>#CURRENT`), the refresh slot (`<account>#CLAIM`), and the
//! refresh history (`<account>#H#<ms>#<id>`, newest last). Seat and
//! exchange ids are Amazon's, no personal data: like audit events, every
//! item expires (TTL) 90 days after it was written, and a removed account's
//! seats are no longer served (the account is checked first).

use aws_sdk_dynamodb::types::Put;
use chrono::{DateTime, Duration, Utc};

use super::slot::{self, Slot, SlotItem};
use super::tx::{Tx, TxOutcome, Write};
use super::{Store, StoreError, keys, number};
use crate::ids::{AccountId, OwnerId};
use crate::model::seats::{SeatRefresh, SeatSnapshot};

pub const SEAT_RETENTION: Duration = Duration::days(90);
const CLAIMED_AT: &str = "claimed_at";

fn partition(owner: &OwnerId) -> String {
    format!("SEATS#{owner}")
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

/// The DSP seat items of the table.
#[derive(Clone, Copy)]
pub struct Seats<'a>(pub(super) &'a Store);

impl Seats<'_> {
    /// The account's last snapshot, if one was taken in the last 90 days.
    pub async fn snapshot(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
    ) -> Result<Option<SeatSnapshot>, StoreError> {
        self.0
            .get_typed(partition(owner), &format!("{account_id}#CURRENT"))
            .await
    }

    /// Claims the account's refresh slot: at most one refresh starts per
    /// `interval_seconds`, however many ask at once.
    pub async fn claim_refresh(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        now: i64,
        interval_seconds: i64,
    ) -> Result<Slot, StoreError> {
        let item = SlotItem {
            key: Store::key(partition(owner), &format!("{account_id}#CLAIM")),
            stamp: CLAIMED_AT,
            own_item: true,
        };
        slot::claim(self.0, item, now, interval_seconds).await
    }

    /// Records a refresh, and with a successful one its snapshot: one
    /// transaction, so the history never names a snapshot that is not there.
    pub async fn record_refresh(
        &self,
        owner: &OwnerId,
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
        tx.add(self.write(owner, refresh, &sort_key, refresh.at)?, ());
        if let Some(snapshot) = snapshot {
            let sort_key = format!("{}#CURRENT", snapshot.account_id);
            tx.add(
                self.write(owner, snapshot, &sort_key, snapshot.taken_at)?,
                (),
            );
        }
        match self.0.commit(tx).await? {
            TxOutcome::Committed => Ok(()),
            TxOutcome::Refused(_) => Err(StoreError::Unavailable(
                "an unconditional write was refused".into(),
            )),
        }
    }

    fn write(
        &self,
        owner: &OwnerId,
        value: &impl serde::Serialize,
        sort_key: &str,
        written_at: DateTime<Utc>,
    ) -> Result<Write, StoreError> {
        let mut item = Store::item(value, partition(owner), sort_key, "seats")?;
        item.insert(
            keys::TTL.into(),
            number((written_at + SEAT_RETENTION).timestamp()),
        );
        Ok(Put::builder()
            .table_name(self.0.table())
            .set_item(Some(item))
            .build()?
            .into())
    }

    /// One page of an account's refreshes, newest first, after `after`.
    pub async fn history(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        limit: i32,
        after: Option<&HistoryCursor>,
    ) -> Result<(Vec<SeatRefresh>, Option<HistoryCursor>), StoreError> {
        let (refreshes, next) = self
            .0
            .newest_first(
                partition(owner),
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
