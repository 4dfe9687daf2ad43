//! The one way to write several items atomically: writes built by the item
//! kinds' handles, committed together within DynamoDB's 100-item limit
//! (chunking what does not fit), telling which condition refused a
//! transaction, and — for a webhook's effect — at most once per delivery.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::deliveries::{self, Condition, WebhookWrite};
use super::{Store, StoreError};
use crate::ids::DeliveryId;

/// DynamoDB's limit on items per transaction.
pub const MAX_ITEMS: usize = 100;

/// One write of a transaction (a put, an update, a delete or a condition
/// check), as an item kind's handle builds it.
#[derive(Debug, Clone)]
pub struct Write(TransactWriteItem);

impl From<Put> for Write {
    fn from(put: Put) -> Self {
        Self(TransactWriteItem::builder().put(put).build())
    }
}

impl From<Update> for Write {
    fn from(update: Update) -> Self {
        Self(TransactWriteItem::builder().update(update).build())
    }
}

impl From<Delete> for Write {
    fn from(delete: Delete) -> Self {
        Self(TransactWriteItem::builder().delete(delete).build())
    }
}

impl From<ConditionCheck> for Write {
    fn from(check: ConditionCheck) -> Self {
        Self(TransactWriteItem::builder().condition_check(check).build())
    }
}

/// Writes to commit together. Each carries a label saying what its
/// condition, when refused, means to the caller.
pub struct Tx<L> {
    items: Vec<TransactWriteItem>,
    /// `None` for writes without a condition.
    labels: Vec<Option<L>>,
}

/// How a transaction ended when DynamoDB answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutcome<L> {
    Committed,
    /// Conditions refused it; nothing was written. The labels of every
    /// refused write, in the order they were added.
    Refused(Vec<L>),
}

impl<L> TxOutcome<L> {
    pub fn refused(&self, label: &L) -> bool
    where
        L: PartialEq,
    {
        matches!(self, Self::Refused(labels) if labels.contains(label))
    }
}

impl<L> Default for Tx<L> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            labels: Vec::new(),
        }
    }
}

impl<L> Tx<L> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn add(&mut self, write: Write, label: L) {
        self.items.push(write.0);
        self.labels.push(Some(label));
    }
}

impl Store {
    /// Commits `tx` (at most [`MAX_ITEMS`] writes) as one transaction.
    pub async fn commit<L>(&self, tx: Tx<L>) -> Result<TxOutcome<L>, StoreError> {
        debug_assert!(tx.items.len() <= MAX_ITEMS, "transaction too large");
        if tx.items.is_empty() {
            return Ok(TxOutcome::Committed);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(tx.items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(TxOutcome::Committed),
            Err(error) => match refused_items(&error) {
                Some(refused) => Ok(TxOutcome::Refused(
                    tx.labels
                        .into_iter()
                        .zip(refused)
                        .filter_map(|(label, refused)| label.filter(|_| refused))
                        .collect(),
                )),
                None => Err(error.into()),
            },
        }
    }

    /// Commits `first` (every condition that matters) and then, only if it
    /// committed, `rest` in as many further transactions as it takes: for
    /// writes too many for one transaction whose tail cannot be refused.
    pub async fn commit_chunked<L>(
        &self,
        mut first: Tx<L>,
        rest: Vec<Write>,
    ) -> Result<TxOutcome<L>, StoreError> {
        let mut rest = rest.into_iter().map(|write| write.0);
        while first.len() < MAX_ITEMS {
            let Some(item) = rest.next() else { break };
            first.items.push(item);
            first.labels.push(None);
        }
        let outcome = self.commit(first).await?;
        if matches!(outcome, TxOutcome::Committed) {
            let rest: Vec<TransactWriteItem> = rest.collect();
            for chunk in rest.chunks(MAX_ITEMS) {
                let tx = Tx::<()> {
                    labels: vec![None; chunk.len()],
                    items: chunk.to_vec(),
                };
                self.commit(tx).await?;
            }
        }
        Ok(outcome)
    }

    /// Commits a webhook's effect `tx` with the delivery's record (if any),
    /// so a replay has no second effect. A duplicate delivery explains every
    /// other refusal; then deletion; then staleness.
    pub async fn commit_once(
        &self,
        mut tx: Tx<Condition>,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookWrite, StoreError> {
        if let Some(delivery) = delivery {
            tx.add(
                deliveries::record(self, delivery, now)?.into(),
                Condition::NewDelivery,
            );
        }
        Ok(match self.commit(tx).await? {
            TxOutcome::Committed => WebhookWrite::Applied,
            refused if refused.refused(&Condition::NewDelivery) => WebhookWrite::Duplicate,
            refused if refused.refused(&Condition::NotDeleted) => WebhookWrite::UserDeleted,
            TxOutcome::Refused(_) => WebhookWrite::Stale,
        })
    }
}

/// Per item, whether its condition refused the transaction; `None` when it
/// was cancelled for another reason (a conflict, throttling) or failed.
fn refused_items<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<bool>> {
    let SdkError::ServiceError(service) = error else {
        return None;
    };
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err() else {
        return None;
    };
    let reasons = cancelled.cancellation_reasons();
    let refused: Vec<bool> = reasons
        .iter()
        .map(|r| r.code() == Some("ConditionalCheckFailed"))
        .collect();
    let only_conditions = reasons.iter().all(|r| {
        matches!(
            r.code(),
            None | Some("None") | Some("ConditionalCheckFailed")
        )
    });
    (refused.contains(&true) && only_conditions).then_some(refused)
}
