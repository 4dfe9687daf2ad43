//! User profiles (with their settings), tombstones and webhook deliveries.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Item, Store, StoreError, WriteOutcome, keys, partition_key, set_clauses, sort_key};
use crate::ids::{AccountId, UserId};
use crate::settings::{RESETTABLE, Settings, SettingsPatch};
use crate::webhooks::svix::DeliveryId;

/// Deliveries are remembered well beyond Svix's ~28 h retry schedule.
pub const DELIVERY_RETENTION: Duration = Duration::hours(72);
/// DynamoDB's limit on items per transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Settings writes that mirror `auto_refresh_tokens` are retried this often
/// when refreshes keep changing the connections meanwhile.
const MIRROR_ATTEMPTS: usize = 4;

/// What Clerk tells us about a user. Timestamps are stored as epoch
/// milliseconds, Clerk's own unit, so `clerk_updated_at` compares in a
/// condition expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub user_id: UserId,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub image_url: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub clerk_created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub clerk_updated_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// The profile item as stored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub profile: UserProfile,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_login_at: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub settings: Settings,
}

impl UserRecord {
    pub fn from_item(item: Item) -> Result<Self, StoreError> {
        Ok(serde_dynamo::from_item(item)?)
    }
}

fn millis(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp_millis().to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

impl Store {
    pub async fn get_user(&self, user_id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), keys::PROFILE)))
            .send()
            .await?;
        output.item.map(UserRecord::from_item).transpose()
    }

    /// Creates or updates a profile unless a newer version is stored or the
    /// user was deleted. With a delivery id, the delivery is recorded in the
    /// same transaction, so a replay has no second effect.
    pub async fn upsert_user(
        &self,
        profile: &UserProfile,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut names = HashMap::new();
        let mut values = Item::new();
        let mut fields: Item = serde_dynamo::to_item(profile)?;
        fields.insert("entity".into(), s("user"));
        let mut clauses = set_clauses("f", "", fields, &mut names, &mut values);
        clauses.push("#created = if_not_exists(#created, :now)".into());
        clauses.push("#updated = :now".into());
        clauses.push("#settings = if_not_exists(#settings, :empty)".into());
        names.extend([
            ("#pk".to_owned(), keys::PK.to_owned()),
            ("#created".to_owned(), "created_at".to_owned()),
            ("#updated".to_owned(), "updated_at".to_owned()),
            ("#settings".to_owned(), "settings".to_owned()),
            ("#version".to_owned(), "clerk_updated_at".to_owned()),
        ]);
        values.insert(":now".into(), millis(now));
        values.insert(":empty".into(), AttributeValue::M(HashMap::new()));
        values.insert(":version".into(), millis(profile.clerk_updated_at));
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(&profile.user_id), keys::PROFILE)))
            .update_expression(format!("SET {}", clauses.join(", ")))
            .condition_expression("attribute_not_exists(#pk) OR #version < :version")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        self.apply_once(
            Some(&profile.user_id),
            TransactWriteItem::builder().update(update).build(),
            delivery,
            now,
        )
        .await
    }

    /// Deletes everything the user owns (their partition and their audit
    /// events) and leaves a tombstone that keeps late or replayed events from
    /// bringing the user back. Two Queries, one transaction for the tombstone
    /// and up to 99 owned items (more in chunks), two more Queries, and one
    /// transaction for what a racing writer added plus the delivery record (so
    /// a failure part-way is simply retried). A replay costs two Queries and
    /// the refused delivery record.
    pub async fn delete_user(
        &self,
        user_id: &UserId,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome, StoreError> {
        let (tombstoned, owned) = self.owned_items(user_id).await?;
        let mut writes = Vec::new();
        if !tombstoned {
            let mut tombstone = Self::key(keys::user(user_id), keys::TOMBSTONE);
            tombstone.insert("entity".into(), s("tombstone"));
            tombstone.insert("user_id".into(), s(user_id.as_str()));
            tombstone.insert("deleted_at".into(), millis(now));
            // Written first (in the first chunk): from then on no writer can
            // add to the partition.
            writes.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(self.table())
                            .set_item(Some(tombstone))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        writes.extend(self.deletes(&owned)?);
        if !writes.is_empty() {
            for chunk in writes.chunks(MAX_TRANSACTION_ITEMS) {
                self.transact(chunk.to_vec(), |_| WriteOutcome::Stale)
                    .await?;
            }
            // A writer that found no tombstone may have committed between the
            // Queries and the tombstone (a profile, a connection): look again.
            // No writer can add anything after the tombstone.
            writes = self.deletes(&self.owned_items(user_id).await?.1)?;
        }
        let delivery = self.delivery_record(delivery, now)?;
        let chunk_size = MAX_TRANSACTION_ITEMS - usize::from(delivery.is_some());
        let mut chunks: Vec<Vec<TransactWriteItem>> =
            writes.chunks(chunk_size).map(<[_]>::to_vec).collect();
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        let last = chunks.len() - 1;
        for (index, mut chunk) in chunks.into_iter().enumerate() {
            let mut conditions = Conditions::default();
            if index == last
                && let Some(record) = &delivery
            {
                conditions.delivery = Some(chunk.len());
                chunk.push(record.clone());
            }
            if chunk.is_empty() {
                continue;
            }
            let outcome = self
                .transact(chunk, |failed| conditions.outcome(failed))
                .await?;
            if outcome != WriteOutcome::Applied {
                return Ok(outcome);
            }
        }
        Ok(WriteOutcome::Applied)
    }

    /// Whether the user has a tombstone, and every other item they own (their
    /// partition and their audit events), read consistently so that a write
    /// acknowledged before is seen.
    async fn owned_items(&self, user_id: &UserId) -> Result<(bool, Vec<Item>), StoreError> {
        let mut items = Vec::new();
        for pk in [keys::user(user_id), keys::events(user_id)] {
            let query = self
                .client
                .query()
                .table_name(self.table())
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", AttributeValue::S(pk));
            items.extend(super::all_items(query).await?);
        }
        let before = items.len();
        items.retain(|item| sort_key(item) != keys::TOMBSTONE);
        // A deletion too big for one transaction can fail part-way (Svix then
        // retries it): the first one takes the profile and the connections
        // with their sealed tokens, so only accounts and events can linger.
        items.sort_by_key(|item| {
            let sk = sort_key(item);
            !(sk == keys::PROFILE || sk.starts_with(keys::CONNECTION_PREFIX))
        });
        Ok((items.len() < before, items))
    }

    fn deletes(&self, items: &[Item]) -> Result<Vec<TransactWriteItem>, StoreError> {
        items
            .iter()
            .map(|item| {
                let delete = Delete::builder()
                    .table_name(self.table())
                    .set_key(Some(Self::key(
                        partition_key(item).to_owned(),
                        sort_key(item),
                    )))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().delete(delete).build())
            })
            .collect()
    }

    /// Advances `last_login_at` (never moves it back) for an existing user.
    pub async fn record_login(
        &self,
        user_id: &UserId,
        at: DateTime<Utc>,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), keys::PROFILE)))
            .update_expression("SET #login = :at")
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#login) OR #login < :at)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#login", "last_login_at")
            .expression_attribute_values(":at", millis(at))
            .build()
            .map_err(build_error)?;
        self.apply_once(
            None,
            TransactWriteItem::builder().update(update).build(),
            delivery,
            now,
        )
        .await
    }

    /// Applies a validated partial update to the settings map of an existing
    /// profile: `Err(Missing)` when there is no profile. A new default account
    /// must be one of the user's accounts (checked in the same transaction),
    /// else `Err(Stale)`.
    pub async fn update_settings(
        &self,
        user_id: &UserId,
        patch: &SettingsPatch,
    ) -> Result<Result<Settings, WriteOutcome>, StoreError> {
        let fields: Item = serde_dynamo::to_item(patch)?;
        if fields.is_empty() {
            return self
                .get_user(user_id)
                .await
                .map(|user| user.map(|u| u.settings).ok_or(WriteOutcome::Missing));
        }
        let mut names = HashMap::from([
            ("#pk".to_owned(), keys::PK.to_owned()),
            ("#settings".to_owned(), "settings".to_owned()),
        ]);
        let mut values = Item::new();
        let clauses = set_clauses("s", "#settings.", fields, &mut names, &mut values);
        let expression = format!("SET {}", clauses.join(", "));
        let key = Self::key(keys::user(user_id), keys::PROFILE);

        let new_default = match &patch.default_account_id {
            Some(Some(account_id)) => Some(account_id),
            _ => None,
        };
        if new_default.is_none() && patch.auto_refresh_tokens.is_none() {
            let result = self
                .client
                .update_item()
                .table_name(self.table())
                .set_key(Some(key))
                .update_expression(expression)
                .condition_expression("attribute_exists(#pk)")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            return match result {
                Ok(output) => Ok(Ok(UserRecord::from_item(
                    output.attributes.unwrap_or_default(),
                )?
                .settings)),
                Err(e) if is_conditional_failure(&e) => Ok(Err(WriteOutcome::Missing)),
                Err(e) => Err(e.into()),
            };
        }
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        let mut writes = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(account_id) = new_default {
            writes.push(self.account_exists(user_id, account_id)?);
        }
        match self
            .with_auto_refresh_mirror(user_id, writes, patch.auto_refresh_tokens)
            .await?
        {
            Ok(()) => self
                .settings_after_write(user_id)
                .await
                .map(|settings| settings.ok_or(WriteOutcome::Missing)),
            Err(failed) if failed.first() == Some(&true) => Ok(Err(WriteOutcome::Missing)),
            // The account is not the user's.
            Err(_) => Ok(Err(WriteOutcome::Stale)),
        }
    }

    /// Returns every preference to its default. `Ok(None)`: no profile.
    pub async fn reset_settings(&self, user_id: &UserId) -> Result<Option<Settings>, StoreError> {
        let mut names = HashMap::from([
            ("#pk".to_owned(), keys::PK.to_owned()),
            ("#settings".to_owned(), "settings".to_owned()),
        ]);
        let removals: Vec<String> = RESETTABLE
            .iter()
            .enumerate()
            .map(|(index, name)| {
                names.insert(format!("#r{index}"), (*name).to_owned());
                format!("#settings.#r{index}")
            })
            .collect();
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), keys::PROFILE)))
            .update_expression(format!("REMOVE {}", removals.join(", ")))
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names))
            .build()
            .map_err(build_error)?;
        // The default turns automatic refreshing back on.
        let writes = vec![TransactWriteItem::builder().update(update).build()];
        let auto_refresh = Settings::default().auto_refresh_tokens;
        match self
            .with_auto_refresh_mirror(user_id, writes, Some(auto_refresh))
            .await?
        {
            Ok(()) => self.settings_after_write(user_id).await,
            Err(_) => Ok(None),
        }
    }

    /// Runs `writes` in one transaction with the updates that mirror
    /// `auto_refresh` (when it is being set) onto the user's connections, so
    /// that a failure changes neither the setting nor any connection.
    /// `Err(failed)`: which of `writes` failed their condition.
    async fn with_auto_refresh_mirror(
        &self,
        user_id: &UserId,
        writes: Vec<TransactWriteItem>,
        auto_refresh: Option<bool>,
    ) -> Result<Result<(), Vec<bool>>, StoreError> {
        for _ in 0..MIRROR_ATTEMPTS {
            let now = Utc::now().timestamp();
            let mirror = match auto_refresh {
                Some(enabled) => {
                    let connections = self.connections_of(user_id).await?;
                    self.auto_refresh_mirror(&connections, enabled, now)?
                }
                None => Vec::new(),
            };
            let room = MAX_TRANSACTION_ITEMS - writes.len();
            let overflow = mirror.len() > room;
            let mut items = writes.clone();
            items.extend(mirror.into_iter().take(room));
            let mut failed = Vec::new();
            let outcome = self
                .transact(items, |f| {
                    failed = f.to_vec();
                    WriteOutcome::Stale
                })
                .await?;
            if outcome == WriteOutcome::Applied {
                // More connections than one transaction holds: the rest follow.
                if let (true, Some(enabled)) = (overflow, auto_refresh) {
                    self.set_auto_refresh(user_id, enabled, now).await?;
                }
                return Ok(Ok(()));
            }
            failed.truncate(writes.len());
            if failed.contains(&true) {
                return Ok(Err(failed));
            }
            // A refresh changed a connection meanwhile: read them again.
        }
        Err(StoreError::Unavailable(
            "connections kept changing during a settings write".into(),
        ))
    }

    /// The settings as just written (a strongly consistent read).
    async fn settings_after_write(&self, user_id: &UserId) -> Result<Option<Settings>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), keys::PROFILE)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output
            .item
            .map(UserRecord::from_item)
            .transpose()?
            .map(|user| user.settings))
    }

    /// Runs `effect` in one transaction: after a check that `guard` (a user)
    /// has no tombstone, and with the delivery's de-duplication record.
    async fn apply_once(
        &self,
        guard: Option<&UserId>,
        effect: TransactWriteItem,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut items = Vec::with_capacity(3);
        let mut conditions = Conditions::default();
        if let Some(user_id) = guard {
            conditions.tombstone = Some(items.len());
            items.push(self.not_deleted_check(user_id)?);
        }
        items.push(effect);
        if let Some(record) = self.delivery_record(delivery, now)? {
            conditions.delivery = Some(items.len());
            items.push(record);
        }
        self.transact(items, |failed| conditions.outcome(failed))
            .await
    }

    /// A condition that the user has no tombstone.
    pub(crate) fn not_deleted_check(
        &self,
        user_id: &UserId,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), keys::TOMBSTONE)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    fn account_exists(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(
                keys::user(user_id),
                &format!("{}{account_id}", keys::ACCOUNT_PREFIX),
            )))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The de-duplication record of a webhook delivery, written only if the
    /// delivery is new (or its record has expired).
    fn delivery_record(
        &self,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let Some(delivery) = delivery else {
            return Ok(None);
        };
        let mut item = Self::key(keys::delivery(delivery.as_str()), keys::DELIVERY);
        item.insert("entity".into(), s("delivery"));
        item.insert("received_at".into(), millis(now));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N((now + DELIVERY_RETENTION).timestamp().to_string()),
        );
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .build()
            .map_err(build_error)?;
        Ok(Some(TransactWriteItem::builder().put(put).build()))
    }

    /// Runs one transaction. When conditions cancel it, `on_conditions`
    /// receives, per item, whether that item's condition failed.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        on_conditions: impl FnOnce(&[bool]) -> WriteOutcome,
    ) -> Result<WriteOutcome, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(WriteOutcome::Applied),
            Err(error) => match failed_conditions(&error) {
                Some(failed) => Ok(on_conditions(&failed)),
                None => Err(error.into()),
            },
        }
    }
}

/// Where the conditions of a transaction sit, to tell why it was cancelled.
/// A duplicate delivery explains everything else; then deletion; then a newer
/// version already stored.
#[derive(Default)]
struct Conditions {
    tombstone: Option<usize>,
    delivery: Option<usize>,
}

impl Conditions {
    fn outcome(&self, failed: &[bool]) -> WriteOutcome {
        let hit = |index: Option<usize>| index.and_then(|i| failed.get(i).copied()) == Some(true);
        if hit(self.delivery) {
            WriteOutcome::Duplicate
        } else if hit(self.tombstone) {
            WriteOutcome::UserDeleted
        } else {
            WriteOutcome::Stale
        }
    }
}

fn failed_conditions<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<bool>> {
    let SdkError::ServiceError(service) = error else {
        return None;
    };
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err() else {
        return None;
    };
    let reasons = cancelled.cancellation_reasons();
    let failed: Vec<bool> = reasons
        .iter()
        .map(|r| r.code() == Some("ConditionalCheckFailed"))
        .collect();
    // Cancelled for another reason (a conflict, throttling): not a condition.
    let only_conditions = reasons.iter().all(|r| {
        matches!(
            r.code(),
            None | Some("None") | Some("ConditionalCheckFailed")
        )
    });
    (failed.contains(&true) && only_conditions).then_some(failed)
}

fn is_conditional_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(error, SdkError::ServiceError(e) if e.err().code() == Some("ConditionalCheckFailedException"))
}

pub(crate) fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Corrupt(error.to_string())
}
