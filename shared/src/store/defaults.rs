//! A user's default account in one workspace: in their profile's settings
//! for their own connections (`USER#<id>` / `PROFILE`, where it always
//! was), in their member item of an organization's partition for that
//! organization's (`ORG#<id>` / `MEMBER#<user id>`), so it is read with the
//! organization's connections and accounts in the same Query. The writes
//! here are conditional on what the caller read, for transactions.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Update};

use super::profiles::{DEFAULT_ACCOUNT, SETTINGS, profile_key};
use super::tx::Write;
use super::{Item, Store, StoreError, keys};
use crate::ids::{AccountId, OwnerId, UserId};

pub const MEMBER_PREFIX: &str = "MEMBER#";

/// Where one user's default account in one workspace is kept.
pub struct DefaultSlot {
    key: Item,
    /// A personal default lives in the profile, which must exist; a
    /// member item is created by its first write.
    in_profile: bool,
}

impl DefaultSlot {
    pub fn of(owner: &OwnerId, user_id: &UserId) -> Self {
        match owner {
            OwnerId::User(_) => Self {
                key: profile_key(user_id),
                in_profile: true,
            },
            OwnerId::Org(_) => Self {
                key: Store::key(keys::owner(owner), &format!("{MEMBER_PREFIX}{user_id}")),
                in_profile: false,
            },
        }
    }

    fn path(&self) -> &'static str {
        if self.in_profile {
            "#settings.#default"
        } else {
            "#default"
        }
    }

    fn names(&self) -> Vec<(String, String)> {
        let mut names = vec![("#default".to_owned(), DEFAULT_ACCOUNT.to_owned())];
        if self.in_profile {
            names.push(("#settings".to_owned(), SETTINGS.to_owned()));
        }
        names
    }

    /// `attribute_exists(#pk) AND ` where the item must exist.
    fn existing(&self) -> &'static str {
        if self.in_profile {
            "attribute_exists(#pk) AND "
        } else {
            ""
        }
    }
}

/// The default-account slots of the table.
#[derive(Clone, Copy)]
pub struct Defaults<'a>(pub(super) &'a Store);

impl Defaults<'_> {
    /// Makes `account_id` the default, whatever it was: refused when a
    /// personal default has no profile to live in.
    pub fn set(&self, slot: &DefaultSlot, account_id: &AccountId) -> Result<Write, StoreError> {
        let update = Update::builder()
            .table_name(self.0.table())
            .set_key(Some(slot.key.clone()))
            .set_expression_attribute_names(Some(slot.names().into_iter().collect()))
            .expression_attribute_values(":new", AttributeValue::S(account_id.to_string()));
        let update = if slot.in_profile {
            update
                .update_expression("SET #settings.#default = :new")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
        } else {
            update
                .update_expression("SET #default = :new, #entity = :entity")
                .expression_attribute_names("#entity", keys::ENTITY)
                .expression_attribute_values(":entity", AttributeValue::S("member".into()))
        };
        Ok(update.build()?.into())
    }

    /// Sets the default only if it still names `expected` (so a concurrent
    /// change is noticed, not overwritten).
    pub fn replace(
        &self,
        slot: &DefaultSlot,
        expected: Option<&AccountId>,
        new: Option<&AccountId>,
    ) -> Result<Write, StoreError> {
        let path = slot.path();
        let existing = slot.existing();
        let mut update = Update::builder()
            .table_name(self.0.table())
            .set_key(Some(slot.key.clone()))
            .set_expression_attribute_names(Some(slot.names().into_iter().collect()))
            .update_expression(format!("SET {path} = :new"))
            .expression_attribute_values(
                ":new",
                new.map_or(AttributeValue::Null(true), |id| {
                    AttributeValue::S(id.to_string())
                }),
            );
        if slot.in_profile {
            update = update.expression_attribute_names("#pk", keys::PK);
        }
        update = match expected {
            Some(old) => update
                .condition_expression(format!("{existing}{path} = :old"))
                .expression_attribute_values(":old", AttributeValue::S(old.to_string())),
            None => update
                .condition_expression(format!(
                    "{existing}(attribute_not_exists({path}) OR attribute_type({path}, :null_type))"
                ))
                .expression_attribute_values(":null_type", AttributeValue::S("NULL".into())),
        };
        Ok(update.build()?.into())
    }

    /// A check that the default is still `read`.
    pub fn unchanged(
        &self,
        slot: &DefaultSlot,
        read: Option<&AccountId>,
    ) -> Result<Write, StoreError> {
        let path = slot.path();
        let check = ConditionCheck::builder()
            .table_name(self.0.table())
            .set_key(Some(slot.key.clone()))
            .set_expression_attribute_names(Some(slot.names().into_iter().collect()));
        let check = match read {
            Some(id) => check
                .condition_expression(format!("{path} = :read"))
                .expression_attribute_values(":read", AttributeValue::S(id.to_string())),
            None => check
                .condition_expression(format!(
                    "attribute_not_exists(#pk) OR attribute_not_exists({path}) OR attribute_type({path}, :null_type)"
                ))
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":null_type", AttributeValue::S("NULL".into())),
        };
        Ok(check.build()?.into())
    }
}
