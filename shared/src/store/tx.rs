//! The one way to write several items atomically: DynamoDB's 100-item limit,
//! chunking what does not fit, and telling which condition refused a
//! transaction.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::{Store, StoreError};

/// DynamoDB's limit on items per transaction.
pub const MAX_ITEMS: usize = 100;

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

    pub fn put(&mut self, put: Put, label: L) {
        self.push(TransactWriteItem::builder().put(put).build(), label);
    }

    pub fn update(&mut self, update: Update, label: L) {
        self.push(TransactWriteItem::builder().update(update).build(), label);
    }

    pub fn delete(&mut self, delete: Delete, label: L) {
        self.push(TransactWriteItem::builder().delete(delete).build(), label);
    }

    pub fn check(&mut self, check: ConditionCheck, label: L) {
        self.push(
            TransactWriteItem::builder().condition_check(check).build(),
            label,
        );
    }

    fn push(&mut self, item: TransactWriteItem, label: L) {
        self.items.push(item);
        self.labels.push(Some(label));
    }
}

impl Store {
    /// Commits `tx` (at most [`MAX_ITEMS`] writes) as one transaction.
    pub(crate) async fn commit<L>(&self, tx: Tx<L>) -> Result<TxOutcome<L>, StoreError> {
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
    pub(crate) async fn commit_chunked<L>(
        &self,
        mut first: Tx<L>,
        rest: Vec<TransactWriteItem>,
    ) -> Result<TxOutcome<L>, StoreError> {
        let mut rest = rest.into_iter();
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
