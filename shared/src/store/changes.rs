//! Writes that span item kinds, each one transaction: a connection with its
//! accounts, event and default account; a disconnect; an account's removal;
//! a new default.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};

use super::connections::connection_key;
use super::profiles::profile_key;
use super::tx::{Tx, TxOutcome};
use super::{Store, StoreError, keys, number};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::model::event::AuditEvent;

/// How a change of a user's connections or accounts ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Committed,
    /// Something it read changed meanwhile (or vanished): read and retry.
    Conflict,
    /// The user was deleted; nothing may be written for them again.
    UserDeleted,
    /// The account is not the user's (a new default).
    UnknownAccount,
    /// The user has no profile yet to hold the setting.
    NoProfile,
}

#[derive(Clone, Copy, PartialEq)]
enum Label {
    NotDeleted,
    Stale,
    Account,
    Profile,
}

/// What the user's default account must be for a change to apply: what
/// the caller read, and whether the change clears it (it goes with the
/// accounts removed).
pub struct DefaultGuard<'a> {
    pub read: Option<&'a AccountId>,
    pub clear: bool,
}

/// A connection written with its accounts and audit event, unless the user
/// was deleted or the connection changed since it was read.
pub struct SaveConnection<'a> {
    pub connection: &'a ConnectionRecord,
    pub accounts: &'a [AccountRecord],
    /// A first default account for a user who has none.
    pub new_default: Option<&'a AccountId>,
    pub event: &'a AuditEvent,
}

impl Store {
    pub async fn save_connection(&self, save: SaveConnection<'_>) -> Result<Change, StoreError> {
        let user_id = &save.connection.user_id;
        let mut tx = Tx::default();
        tx.check(self.not_deleted_check(user_id)?, Label::NotDeleted);
        tx.put(self.connection_put(save.connection)?, Label::Stale);
        tx.put(self.event_put(save.event)?, Label::Stale);
        if let Some(account_id) = save.new_default {
            tx.update(
                self.default_account_update(user_id, None, Some(account_id))?,
                Label::Stale,
            );
        }
        let accounts = save
            .accounts
            .iter()
            .map(|account| self.account_put(user_id, account))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(change(self.commit_chunked(tx, accounts).await?))
    }

    /// Writes more accounts of a connection already saved (up to a
    /// transaction's worth besides its two checks), unless the user was
    /// deleted or the connection is gone (a disconnect would leave them
    /// orphaned).
    pub async fn put_accounts(
        &self,
        user_id: &UserId,
        connection_id: &ConnectionId,
        accounts: &[AccountRecord],
    ) -> Result<Change, StoreError> {
        let mut tx = Tx::default();
        tx.check(self.not_deleted_check(user_id)?, Label::NotDeleted);
        let connection_exists = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(connection_key(user_id, connection_id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?;
        tx.check(connection_exists, Label::Stale);
        let puts = accounts
            .iter()
            .map(|account| self.account_put(user_id, account))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(change(self.commit_chunked(tx, puts).await?))
    }

    /// Deletes the connection (its sealed tokens with it) and its accounts,
    /// and records the event; clears the default when it goes with them.
    pub async fn remove_connection(
        &self,
        connection: &ConnectionRecord,
        accounts: &[AccountId],
        default: DefaultGuard<'_>,
        event: &AuditEvent,
    ) -> Result<Change, StoreError> {
        let user_id = &connection.user_id;
        let mut tx = Tx::default();
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(connection_key(user_id, &connection.connection_id)))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":version", number(connection.version))
            .build()?;
        tx.delete(delete, Label::Stale);
        tx.put(self.event_put(event)?, Label::Stale);
        self.guard_default(&mut tx, user_id, default)?;
        let deletes = accounts
            .iter()
            .map(|id| {
                Ok(TransactWriteItem::builder()
                    .delete(self.account_delete(user_id, id, false)?)
                    .build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(change(self.commit_chunked(tx, deletes).await?))
    }

    /// Removes one account (not the last of its connection: that is a
    /// disconnect).
    pub async fn remove_account(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        default: DefaultGuard<'_>,
    ) -> Result<Change, StoreError> {
        let mut tx = Tx::default();
        tx.delete(
            self.account_delete(user_id, account_id, true)?,
            Label::Stale,
        );
        self.guard_default(&mut tx, user_id, default)?;
        Ok(change(self.commit(tx).await?))
    }

    /// Makes `account_id` the user's default: one setting, so there is never
    /// a second one.
    pub async fn set_default_account(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
    ) -> Result<Change, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(profile_key(user_id)))
            .update_expression("SET #settings.#default = :new")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#settings", "settings")
            .expression_attribute_names("#default", "default_account_id")
            .expression_attribute_values(":new", AttributeValue::S(account_id.to_string()))
            .build()?;
        let mut tx = Tx::default();
        tx.check(self.account_exists(user_id, account_id)?, Label::Account);
        tx.update(update, Label::Profile);
        Ok(change(self.commit(tx).await?))
    }

    fn guard_default(
        &self,
        tx: &mut Tx<Label>,
        user_id: &UserId,
        default: DefaultGuard<'_>,
    ) -> Result<(), StoreError> {
        match (default.read, default.clear) {
            (Some(read), true) => {
                tx.update(
                    self.default_account_update(user_id, Some(read), None)?,
                    Label::Stale,
                );
            }
            (read, _) => tx.check(self.default_unchanged(user_id, read)?, Label::Stale),
        }
        Ok(())
    }

    /// A check that the default account is still `read`.
    fn default_unchanged(
        &self,
        user_id: &UserId,
        read: Option<&AccountId>,
    ) -> Result<ConditionCheck, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(profile_key(user_id)))
            .expression_attribute_names("#settings", "settings")
            .expression_attribute_names("#default", "default_account_id");
        let check = match read {
            Some(id) => check
                .condition_expression("#settings.#default = :read")
                .expression_attribute_values(":read", AttributeValue::S(id.to_string())),
            None => check
                .condition_expression(
                    "attribute_not_exists(#pk) OR attribute_not_exists(#settings.#default) OR attribute_type(#settings.#default, :null_type)",
                )
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":null_type", AttributeValue::S("NULL".into())),
        };
        Ok(check.build()?)
    }
}

fn change(outcome: TxOutcome<Label>) -> Change {
    match outcome {
        TxOutcome::Committed => Change::Committed,
        refused if refused.refused(&Label::NotDeleted) => Change::UserDeleted,
        refused if refused.refused(&Label::Account) => Change::UnknownAccount,
        refused if refused.refused(&Label::Profile) => Change::NoProfile,
        TxOutcome::Refused(_) => Change::Conflict,
    }
}
