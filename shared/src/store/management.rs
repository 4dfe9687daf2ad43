//! Writes behind the account-management API: disconnecting, removing an
//! account, switching the default, throttling syncs, paging audit events.
//! Every key is built from the caller's user id.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::connections::ConnectionRecord;
use super::events::{AuditEvent, EventKind};
use super::{Item, Store, StoreError, WriteOutcome, keys};
use crate::ids::{AccountId, ConnectionId, UserId};

/// DynamoDB's limit on items per transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

impl Store {
    fn delete_item(
        &self,
        pk: String,
        sk: &str,
        must_exist: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(pk, sk)));
        if must_exist {
            delete = delete
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK);
        }
        Ok(TransactWriteItem::builder()
            .delete(delete.build().map_err(super::build_error)?)
            .build())
    }

    /// Sets `settings.default_account_id` on the profile, only if it still
    /// holds `expected` (so concurrent switches cannot interleave).
    fn default_mirror(
        &self,
        user_id: &UserId,
        expected: Option<&AccountId>,
        new: Option<&AccountId>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), keys::PROFILE)))
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#settings", "settings")
            .expression_attribute_names("#default", "default_account_id")
            .update_expression("SET #settings.#default = :new")
            .expression_attribute_values(
                ":new",
                new.map_or(AttributeValue::Null(true), |id| {
                    AttributeValue::S(id.to_string())
                }),
            );
        update = match expected {
            Some(old) => update
                .condition_expression("attribute_exists(#pk) AND #settings.#default = :old")
                .expression_attribute_values(":old", AttributeValue::S(old.to_string())),
            None => update.condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#settings.#default) OR attribute_type(#settings.#default, :null_type))",
            )
            .expression_attribute_values(":null_type", AttributeValue::S("NULL".into())),
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(super::build_error)?)
            .build())
    }

    fn flag_default(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        value: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(
                keys::user(user_id),
                &keys::account(account_id),
            )))
            .update_expression("SET #default = :value")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#default", "is_default")
            .expression_attribute_values(":value", AttributeValue::Bool(value))
            .build()
            .map_err(super::build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Makes `new` the user's only default account, atomically with the
    /// settings mirror. `Stale`: the default changed meanwhile (re-read and
    /// retry) or an account vanished.
    pub async fn switch_default_account(
        &self,
        user_id: &UserId,
        new: &AccountId,
        current: Option<&AccountId>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut items = vec![
            self.flag_default(user_id, new, true)?,
            self.default_mirror(user_id, current, Some(new))?,
        ];
        if let Some(old) = current.filter(|old| *old != new) {
            items.push(self.flag_default(user_id, old, false)?);
        }
        self.transact(items, |_| WriteOutcome::Stale).await
    }

    /// Crypto-shredding: deletes the connection item (its sealed tokens and
    /// wrapped data key with it) and its accounts, clears the default mirror
    /// when the default goes, and records the event.
    pub async fn disconnect(
        &self,
        connection: &ConnectionRecord,
        accounts: &[AccountId],
        current_default: Option<&AccountId>,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome, StoreError> {
        let user_id = &connection.user_id;
        let mut first = vec![
            self.delete_item(
                keys::user(user_id),
                &keys::connection(&connection.connection_id),
                true,
            )?,
            self.event_put(&AuditEvent::new(
                connection,
                EventKind::Disconnected,
                None,
                now,
            ))?,
        ];
        if current_default.is_some_and(|d| accounts.contains(d)) {
            first.push(self.default_mirror(user_id, current_default, None)?);
        }
        let mut deletes = accounts
            .iter()
            .map(|id| self.delete_item(keys::user(user_id), &keys::account(id), false))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        first.extend(deletes.by_ref().take(MAX_TRANSACTION_ITEMS - first.len()));
        let outcome = self.transact(first, |_| WriteOutcome::Stale).await?;
        if outcome == WriteOutcome::Applied {
            let rest: Vec<_> = deletes.collect();
            for chunk in rest.chunks(MAX_TRANSACTION_ITEMS) {
                self.transact(chunk.to_vec(), |_| WriteOutcome::Stale)
                    .await?;
            }
        }
        Ok(outcome)
    }

    /// Removes one account (not the last of its connection: that is a
    /// disconnect), clearing the default mirror if it was the default.
    pub async fn remove_account(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        was_default: bool,
    ) -> Result<WriteOutcome, StoreError> {
        let mut items =
            vec![self.delete_item(keys::user(user_id), &keys::account(account_id), true)?];
        if was_default {
            items.push(self.default_mirror(user_id, Some(account_id), None)?);
        }
        self.transact(items, |_| WriteOutcome::Stale).await
    }

    /// Allows one sync per connection per `interval_seconds`: `Ok(Err(wait))`
    /// says how many seconds remain.
    pub async fn begin_sync(
        &self,
        user_id: &UserId,
        connection_id: &ConnectionId,
        now: i64,
        interval_seconds: i64,
    ) -> Result<Result<(), i64>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), &keys::connection(connection_id))))
            .update_expression("SET #requested = :now")
            .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#requested) OR #requested <= :earliest)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#requested", "sync_requested_at")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":earliest", AttributeValue::N((now - interval_seconds).to_string()))
            .return_values_on_condition_check_failure(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                let last = match e.err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c
                        .item()
                        .and_then(|item| item.get("sync_requested_at"))
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<i64>().ok()),
                    _ => None,
                };
                Ok(Err(last.map_or(interval_seconds, |last| {
                    (last + interval_seconds - now).max(1)
                })))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One page of a connection's events, newest first, after `after` (a
    /// sort key from a previous page, always inside the caller's partition).
    pub async fn events_page(
        &self,
        user_id: &UserId,
        connection_id: &ConnectionId,
        limit: i32,
        after: Option<&str>,
    ) -> Result<(Vec<AuditEvent>, Option<String>), StoreError> {
        let pk = keys::events(user_id);
        let mut query = self
            .client
            .query()
            .table_name(self.table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":prefix", AttributeValue::S(format!("{connection_id}#")))
            .scan_index_forward(false)
            .limit(limit);
        if let Some(after) = after {
            let start: Item = Self::key(pk, after);
            query = query.set_exclusive_start_key(Some(start));
        }
        let output = query.send().await?;
        let next = output
            .last_evaluated_key()
            .and_then(|key| key.get(keys::SK))
            .and_then(|sk| sk.as_s().ok())
            .cloned();
        let events = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .collect::<Result<_, StoreError>>()?;
        Ok((events, next))
    }
}
