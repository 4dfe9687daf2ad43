//! Profile items (`USER#<id>` / `PROFILE`): what Clerk says of a user, our
//! own fields, and their settings as one map attribute; and the tombstone a
//! deleted owner (user or organization) leaves in its partition.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, ReturnValue, Update};
use chrono::{DateTime, Utc};

use super::deliveries::{Condition, WebhookWrite};
use super::tx::{Tx, Write};
use super::{Item, Store, StoreError, is_condition_failure, keys, millis};
use crate::ids::{DeliveryId, OwnerId, UserId};
use crate::model::user::{UserProfile, UserRecord};
use crate::settings::{RESETTABLE, Settings, SettingsPatch};

pub(super) const SETTINGS: &str = "settings";
pub(super) const DEFAULT_ACCOUNT: &str = "default_account_id";

/// The settings fields to set or reset.
pub enum FieldChange<'a> {
    Patch(&'a SettingsPatch),
    /// Every preference back to its default.
    Reset,
}

/// A settings change as one update of an existing profile: applied on its
/// own ([`Profiles::apply_settings`]) or in a transaction
/// ([`Profiles::settings_write`]).
pub struct SettingsUpdate {
    key: Item,
    expression: String,
    names: HashMap<String, String>,
    values: Option<Item>,
}

/// The profile items of the table, with the tombstone a deleted user
/// leaves in their partition.
#[derive(Clone, Copy)]
pub struct Profiles<'a>(pub(super) &'a Store);

impl Profiles<'_> {
    /// The profile, eventually consistent (the cheapest read).
    pub async fn get(&self, user_id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        self.read(user_id, false).await
    }

    /// The profile as last written (strongly consistent).
    pub async fn get_latest(&self, user_id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        self.read(user_id, true).await
    }

    async fn read(
        &self,
        user_id: &UserId,
        consistent: bool,
    ) -> Result<Option<UserRecord>, StoreError> {
        let output = self
            .0
            .client
            .get_item()
            .table_name(self.0.table())
            .set_key(Some(profile_key(user_id)))
            .consistent_read(consistent)
            .send()
            .await?;
        output.item.map(profile_from_item).transpose()
    }

    /// Creates or updates a profile unless a newer version is stored or the
    /// user was deleted; with a delivery, at most once per delivery.
    pub async fn upsert(
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
            .table_name(self.0.table())
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
            .table_name(self.0.table())
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

    /// A webhook's effect on a profile (of a user not deleted, when
    /// `user` is given), once per delivery.
    async fn apply_once(
        &self,
        user: Option<&UserId>,
        effect: Update,
        delivery: Option<&DeliveryId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookWrite, StoreError> {
        let mut tx = Tx::default();
        if let Some(user_id) = user {
            tx.add(
                self.not_deleted(&OwnerId::User(user_id.clone()))?,
                Condition::NotDeleted,
            );
        }
        tx.add(effect.into(), Condition::Effect);
        self.0.commit_once(tx, delivery, now).await
    }

    /// The update of the user's settings `change` makes; `None` when it
    /// changes nothing.
    pub fn settings_update(
        &self,
        user_id: &UserId,
        change: &FieldChange<'_>,
    ) -> Result<Option<SettingsUpdate>, StoreError> {
        let mut names = HashMap::from([
            ("#pk".to_owned(), keys::PK.to_owned()),
            ("#settings".to_owned(), SETTINGS.to_owned()),
        ]);
        let mut values = Item::new();
        let expression = match change {
            FieldChange::Patch(patch) => {
                let fields: Item = serde_dynamo::to_item(patch)?;
                if fields.is_empty() {
                    return Ok(None);
                }
                let clauses = set_clauses("s", "#settings.", fields, &mut names, &mut values);
                format!("SET {}", clauses.join(", "))
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
                format!("REMOVE {}", removals.join(", "))
            }
        };
        Ok(Some(SettingsUpdate {
            key: profile_key(user_id),
            expression,
            names,
            values: (!values.is_empty()).then_some(values),
        }))
    }

    /// Applies `update` on its own: one UpdateItem. The settings after it,
    /// or `None` when the user has no profile.
    pub async fn apply_settings(
        &self,
        update: SettingsUpdate,
    ) -> Result<Option<Settings>, StoreError> {
        let result = self
            .0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(update.key))
            .update_expression(update.expression)
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(update.values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(
                profile_from_item(output.attributes.unwrap_or_default())?.settings,
            )),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `update` for a transaction: refused when the user has no profile.
    pub fn settings_write(&self, update: SettingsUpdate) -> Result<Write, StoreError> {
        Ok(Update::builder()
            .table_name(self.0.table())
            .set_key(Some(update.key))
            .update_expression(update.expression)
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(update.values)
            .build()?
            .into())
    }

    /// A tombstone: from its write on, nothing may be written for the
    /// owner (a deleted user, a deleted organization).
    pub fn tombstone(&self, owner: &OwnerId, now: DateTime<Utc>) -> Result<Write, StoreError> {
        let mut tombstone = Store::key(keys::owner(owner), keys::TOMBSTONE);
        tombstone.insert(keys::ENTITY.into(), AttributeValue::S("tombstone".into()));
        tombstone.insert("owner".into(), AttributeValue::S(owner.to_string()));
        tombstone.insert("deleted_at".into(), millis(now));
        Ok(Put::builder()
            .table_name(self.0.table())
            .set_item(Some(tombstone))
            .build()?
            .into())
    }

    /// A check that the owner has no tombstone.
    pub fn not_deleted(&self, owner: &OwnerId) -> Result<Write, StoreError> {
        Ok(ConditionCheck::builder()
            .table_name(self.0.table())
            .set_key(Some(Store::key(keys::owner(owner), keys::TOMBSTONE)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?
            .into())
    }
}

pub(super) fn profile_key(user_id: &UserId) -> Item {
    Store::key(keys::user(user_id), keys::PROFILE)
}

pub(super) fn profile_from_item(item: Item) -> Result<UserRecord, StoreError> {
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
