//! Profile items (`USER#<id>` / `PROFILE`): what Clerk says of a user, our
//! own fields, and their settings as one map attribute.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, ReturnValue, Update};
use chrono::{DateTime, Utc};

use super::deliveries::{self, WebhookWrite};
use super::tx::{Tx, TxOutcome};
use super::{Item, Store, StoreError, is_condition_failure, keys, millis};
use crate::ids::{AccountId, DeliveryId, UserId};
use crate::model::connection::ConnectionRecord;
use crate::model::user::{UserProfile, UserRecord};
use crate::settings::{RESETTABLE, Settings, SettingsPatch};

const SETTINGS: &str = "settings";
const DEFAULT_ACCOUNT: &str = "default_account_id";

/// How a settings write ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsWrite {
    Applied(Settings),
    NoProfile,
    /// The new `default_account_id` is not one of the user's accounts.
    UnknownAccount,
    /// A connection whose mirror was part of the write changed meanwhile:
    /// read them again and retry.
    ConnectionsChanged,
}

#[derive(Clone, Copy, PartialEq)]
enum SettingsCondition {
    Profile,
    Account,
    Connection,
}

/// A settings write: the fields to set or reset, and what must hold with it.
pub struct SettingsChange<'a> {
    pub user_id: &'a UserId,
    pub change: FieldChange<'a>,
    /// Connections whose `auto_refresh` mirror changes, each expecting the
    /// version it was read at.
    pub connections: &'a [ConnectionRecord],
}

pub enum FieldChange<'a> {
    Patch(&'a SettingsPatch),
    /// Every preference back to its default.
    Reset,
}

impl Store {
    pub async fn get_user(&self, user_id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        self.read_profile(user_id, false).await
    }

    async fn read_profile(
        &self,
        user_id: &UserId,
        consistent: bool,
    ) -> Result<Option<UserRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(profile_key(user_id)))
            .consistent_read(consistent)
            .send()
            .await?;
        output.item.map(profile_from_item).transpose()
    }

    /// Creates or updates a profile unless a newer version is stored or the
    /// user was deleted; with a delivery, at most once per delivery.
    pub async fn upsert_user(
        &self,
        profile: &UserProfile,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookWrite, StoreError> {
        let mut names = HashMap::new();
        let mut values = Item::new();
        let mut fields: Item = serde_dynamo::to_item(profile)?;
        fields.insert(keys::ENTITY.into(), AttributeValue::S("user".into()));
        let mut clauses = set_clauses("f", "", fields, &mut names, &mut values);
        clauses.push("#created = if_not_exists(#created, :now)".into());
        clauses.push("#updated = :now".into());
        clauses.push("#settings = if_not_exists(#settings, :empty)".into());
        names.extend([
            ("#pk".to_owned(), keys::PK.to_owned()),
            ("#created".to_owned(), "created_at".to_owned()),
            ("#updated".to_owned(), "updated_at".to_owned()),
            ("#settings".to_owned(), SETTINGS.to_owned()),
            ("#version".to_owned(), "clerk_updated_at".to_owned()),
        ]);
        values.insert(":now".into(), millis(now));
        values.insert(":empty".into(), AttributeValue::M(HashMap::new()));
        values.insert(":version".into(), millis(profile.clerk_updated_at));
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(profile_key(&profile.user_id)))
            .update_expression(format!("SET {}", clauses.join(", ")))
            .condition_expression("attribute_not_exists(#pk) OR #version < :version")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()?;
        self.apply_once(Some(&profile.user_id), update, delivery, now)
            .await
    }

    /// Advances `last_login_at` (never moves it back) of an existing user.
    pub async fn record_login(
        &self,
        user_id: &UserId,
        at: DateTime<Utc>,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookWrite, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(profile_key(user_id)))
            .update_expression("SET #login = :at")
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#login) OR #login < :at)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#login", "last_login_at")
            .expression_attribute_values(":at", millis(at))
            .build()?;
        self.apply_once(None, update, delivery, now).await
    }

    /// Changes settings of an existing profile, in one transaction with the
    /// check that a new default account is the user's and with the
    /// connections' `auto_refresh` mirrors, so the setting and the refresh
    /// schedule never disagree. One UpdateItem when nothing else is involved.
    pub async fn write_settings(
        &self,
        change: SettingsChange<'_>,
    ) -> Result<SettingsWrite, StoreError> {
        let user_id = change.user_id;
        let mut names = HashMap::from([
            ("#pk".to_owned(), keys::PK.to_owned()),
            ("#settings".to_owned(), SETTINGS.to_owned()),
        ]);
        let mut values = Item::new();
        let (expression, new_default) = match change.change {
            FieldChange::Patch(patch) => {
                let fields: Item = serde_dynamo::to_item(patch)?;
                if fields.is_empty() {
                    return Ok(match self.read_profile(user_id, true).await? {
                        Some(user) => SettingsWrite::Applied(user.settings),
                        None => SettingsWrite::NoProfile,
                    });
                }
                let clauses = set_clauses("s", "#settings.", fields, &mut names, &mut values);
                let new_default = match &patch.default_account_id {
                    Some(Some(account_id)) => Some(account_id),
                    _ => None,
                };
                (format!("SET {}", clauses.join(", ")), new_default)
            }
            FieldChange::Reset => {
                let removals: Vec<String> = RESETTABLE
                    .iter()
                    .enumerate()
                    .map(|(index, name)| {
                        names.insert(format!("#r{index}"), (*name).to_owned());
                        format!("#settings.#r{index}")
                    })
                    .collect();
                (format!("REMOVE {}", removals.join(", ")), None)
            }
        };
        let values = (!values.is_empty()).then_some(values);
        if new_default.is_none() && change.connections.is_empty() {
            let result = self
                .client
                .update_item()
                .table_name(self.table())
                .set_key(Some(profile_key(user_id)))
                .update_expression(expression)
                .condition_expression("attribute_exists(#pk)")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(values)
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            return match result {
                Ok(output) => Ok(SettingsWrite::Applied(
                    profile_from_item(output.attributes.unwrap_or_default())?.settings,
                )),
                Err(e) if is_condition_failure(&e) => Ok(SettingsWrite::NoProfile),
                Err(e) => Err(e.into()),
            };
        }
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(profile_key(user_id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(values)
            .build()?;
        let mut tx = Tx::default();
        tx.update(update, SettingsCondition::Profile);
        if let Some(account_id) = new_default {
            tx.check(
                self.account_exists(user_id, account_id)?,
                SettingsCondition::Account,
            );
        }
        for connection in change.connections {
            tx.put(
                self.connection_put(connection)?,
                SettingsCondition::Connection,
            );
        }
        match self.commit(tx).await? {
            TxOutcome::Committed => Ok(match self.read_profile(user_id, true).await? {
                Some(user) => SettingsWrite::Applied(user.settings),
                None => SettingsWrite::NoProfile,
            }),
            refused if refused.refused(&SettingsCondition::Profile) => Ok(SettingsWrite::NoProfile),
            refused if refused.refused(&SettingsCondition::Account) => {
                Ok(SettingsWrite::UnknownAccount)
            }
            _ => Ok(SettingsWrite::ConnectionsChanged),
        }
    }

    /// A check that the account exists in the user's partition.
    pub(crate) fn account_exists(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
    ) -> Result<ConditionCheck, StoreError> {
        Ok(ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(
                keys::user(user_id),
                &keys::account(account_id),
            )))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?)
    }

    /// Sets the default account on the profile, only if it still names
    /// `expected` (so a concurrent change is noticed, not overwritten).
    pub(crate) fn default_account_update(
        &self,
        user_id: &UserId,
        expected: Option<&AccountId>,
        new: Option<&AccountId>,
    ) -> Result<Update, StoreError> {
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(profile_key(user_id)))
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#settings", SETTINGS)
            .expression_attribute_names("#default", DEFAULT_ACCOUNT)
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
            None => update
                .condition_expression(
                    "attribute_exists(#pk) AND (attribute_not_exists(#settings.#default) OR attribute_type(#settings.#default, :null_type))",
                )
                .expression_attribute_values(":null_type", AttributeValue::S("NULL".into())),
        };
        Ok(update.build()?)
    }

    /// A tombstone: from its write on, nothing may be written for the user.
    pub(crate) fn tombstone_put(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Put, StoreError> {
        let mut tombstone = Self::key(keys::user(user_id), keys::TOMBSTONE);
        tombstone.insert(keys::ENTITY.into(), AttributeValue::S("tombstone".into()));
        tombstone.insert("user_id".into(), AttributeValue::S(user_id.to_string()));
        tombstone.insert("deleted_at".into(), millis(now));
        Ok(Put::builder()
            .table_name(self.table())
            .set_item(Some(tombstone))
            .build()?)
    }

    /// A check that the user has no tombstone.
    pub(crate) fn not_deleted_check(&self, user_id: &UserId) -> Result<ConditionCheck, StoreError> {
        Ok(ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(keys::user(user_id), keys::TOMBSTONE)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?)
    }

    async fn apply_once(
        &self,
        user: Option<&UserId>,
        effect: Update,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookWrite, StoreError> {
        let mut tx = Tx::default();
        if let Some(user_id) = user {
            tx.check(
                self.not_deleted_check(user_id)?,
                deliveries::Condition::NotDeleted,
            );
        }
        tx.update(effect, deliveries::Condition::Effect);
        self.commit_once(tx, delivery, now).await
    }
}

pub(crate) fn profile_key(user_id: &UserId) -> Item {
    Store::key(keys::user(user_id), keys::PROFILE)
}

pub(crate) fn profile_from_item(item: Item) -> Result<UserRecord, StoreError> {
    Ok(serde_dynamo::from_item(item)?)
}

/// Builds `SET #n0 = :v0, …` with placeholder names, so any attribute name
/// (reserved words included) is safe.
fn set_clauses(
    prefix: &str,
    path_prefix: &str,
    values: Item,
    names: &mut HashMap<String, String>,
    expression_values: &mut Item,
) -> Vec<String> {
    let mut clauses = Vec::with_capacity(values.len());
    for (index, (name, value)) in values.into_iter().enumerate() {
        let name_key = format!("#{prefix}{index}");
        let value_key = format!(":{prefix}{index}");
        clauses.push(format!("{path_prefix}{name_key} = {value_key}"));
        names.insert(name_key, name);
        expression_values.insert(value_key, value);
    }
    clauses
}
