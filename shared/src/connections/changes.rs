//! What changes together when a user's connections, accounts or settings
//! change: each change one transaction of the item kinds' own writes
//! (`crate::store::tx`), refused as a whole when something it read changed.

use crate::ids::{AccountId, ConnectionId, OwnerId, UserId};
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::model::event::AuditEvent;
use crate::settings::Settings;
use crate::store::defaults::DefaultSlot;
use crate::store::profiles::FieldChange;
use crate::store::tx::{Tx, TxOutcome};
use crate::store::{Store, StoreError};

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
    /// The destination of a move already holds that connection.
    Occupied,
}

#[derive(Clone, Copy, PartialEq)]
enum Label {
    NotDeleted,
    Stale,
    Account,
    Profile,
    Destination,
}

/// What the acting user's default account in the workspace must be for a
/// change to apply: what the caller read, and whether the change clears it
/// (it goes with the accounts removed). Other members' defaults that name a
/// removed account are not touched: a default naming no account is none.
pub struct DefaultGuard<'a> {
    pub member: &'a UserId,
    pub read: Option<&'a AccountId>,
    pub clear: bool,
}

/// A connection written with its accounts and audit event, unless the user
/// was deleted or the connection changed since it was read.
pub struct SaveConnection<'a> {
    pub connection: &'a ConnectionRecord,
    pub accounts: &'a [AccountRecord],
    /// A first default account for the acting user, who has none in the
    /// workspace.
    pub new_default: Option<&'a AccountId>,
    pub actor: &'a UserId,
    pub event: &'a AuditEvent,
}

pub async fn save_connection(
    store: &Store,
    save: SaveConnection<'_>,
) -> Result<Change, StoreError> {
    let owner = &save.connection.owner;
    let mut tx = Tx::default();
    tx.add(store.profiles().not_deleted(owner)?, Label::NotDeleted);
    tx.add(store.connections().write(save.connection)?, Label::Stale);
    tx.add(store.events().write(save.event)?, Label::Stale);
    if let Some(account_id) = save.new_default {
        tx.add(
            store.defaults().replace(
                &DefaultSlot::of(owner, save.actor),
                None,
                Some(account_id),
            )?,
            Label::Stale,
        );
    }
    let accounts = save
        .accounts
        .iter()
        .map(|account| store.accounts().write(owner, account))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(change(store.commit_chunked(tx, accounts).await?))
}

/// Writes more accounts of a connection already saved (up to a
/// transaction's worth besides its two checks), unless the user was
/// deleted or the connection is gone (a disconnect would leave them
/// orphaned).
pub async fn put_accounts(
    store: &Store,
    owner: &OwnerId,
    connection_id: &ConnectionId,
    accounts: &[AccountRecord],
) -> Result<Change, StoreError> {
    let mut tx = Tx::default();
    tx.add(store.profiles().not_deleted(owner)?, Label::NotDeleted);
    tx.add(
        store.connections().exists(owner, connection_id)?,
        Label::Stale,
    );
    let puts = accounts
        .iter()
        .map(|account| store.accounts().write(owner, account))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(change(store.commit_chunked(tx, puts).await?))
}

/// Deletes the connection (its sealed tokens with it) and its accounts, and
/// records the event; clears the default when it goes with them.
pub async fn remove_connection(
    store: &Store,
    connection: &ConnectionRecord,
    accounts: &[AccountId],
    default: DefaultGuard<'_>,
    event: &AuditEvent,
) -> Result<Change, StoreError> {
    let owner = &connection.owner;
    let mut tx = Tx::default();
    tx.add(store.connections().delete(connection)?, Label::Stale);
    tx.add(store.events().write(event)?, Label::Stale);
    guard_default(store, &mut tx, owner, default)?;
    let deletes = accounts
        .iter()
        .map(|id| store.accounts().delete(owner, id, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(change(store.commit_chunked(tx, deletes).await?))
}

/// A connection moved to another owner: the source (its sealed tokens with
/// it) and its accounts deleted, the destination and its accounts written
/// (new there, into a workspace not deleted), an event on each side; the
/// mover's default on the source side cleared when it goes with them.
pub struct MoveConnection<'a> {
    pub from: &'a ConnectionRecord,
    pub from_accounts: &'a [AccountId],
    pub to: &'a ConnectionRecord,
    pub to_accounts: &'a [AccountRecord],
    pub default: DefaultGuard<'a>,
    pub events: [&'a AuditEvent; 2],
}

pub async fn move_connection(
    store: &Store,
    moving: MoveConnection<'_>,
) -> Result<Change, StoreError> {
    let mut tx = Tx::default();
    tx.add(store.connections().delete(moving.from)?, Label::Stale);
    tx.add(store.connections().write(moving.to)?, Label::Destination);
    tx.add(
        store.profiles().not_deleted(&moving.to.owner)?,
        Label::NotDeleted,
    );
    for event in moving.events {
        tx.add(store.events().write(event)?, Label::Stale);
    }
    guard_default(store, &mut tx, &moving.from.owner, moving.default)?;
    // Each account written at the destination before it is deleted at the
    // source: a run cut short between transactions loses none.
    let mut rest = Vec::new();
    for (id, account) in moving.from_accounts.iter().zip(moving.to_accounts) {
        rest.push(store.accounts().write(&moving.to.owner, account)?);
        rest.push(store.accounts().delete(&moving.from.owner, id, false)?);
    }
    Ok(change(store.commit_chunked(tx, rest).await?))
}

/// Removes one account (not the last of its connection: that is a
/// disconnect).
pub async fn remove_account(
    store: &Store,
    owner: &OwnerId,
    account_id: &AccountId,
    default: DefaultGuard<'_>,
) -> Result<Change, StoreError> {
    let mut tx = Tx::default();
    tx.add(
        store.accounts().delete(owner, account_id, true)?,
        Label::Stale,
    );
    guard_default(store, &mut tx, owner, default)?;
    Ok(change(store.commit(tx).await?))
}

/// Makes `account_id` the member's default in the owner's workspace: one
/// setting, so there is never a second one.
pub async fn set_default_account(
    store: &Store,
    owner: &OwnerId,
    member: &UserId,
    account_id: &AccountId,
) -> Result<Change, StoreError> {
    let mut tx = Tx::default();
    tx.add(store.accounts().exists(owner, account_id)?, Label::Account);
    tx.add(
        store
            .defaults()
            .set(&DefaultSlot::of(owner, member), account_id)?,
        Label::Profile,
    );
    Ok(change(store.commit(tx).await?))
}

fn guard_default(
    store: &Store,
    tx: &mut Tx<Label>,
    owner: &OwnerId,
    default: DefaultGuard<'_>,
) -> Result<(), StoreError> {
    let slot = DefaultSlot::of(owner, default.member);
    let write = match (default.read, default.clear) {
        (Some(read), true) => store.defaults().replace(&slot, Some(read), None)?,
        (read, _) => store.defaults().unchanged(&slot, read)?,
    };
    tx.add(write, Label::Stale);
    Ok(())
}

fn change(outcome: TxOutcome<Label>) -> Change {
    match outcome {
        TxOutcome::Committed => Change::Committed,
        refused if refused.refused(&Label::NotDeleted) => Change::UserDeleted,
        refused if refused.refused(&Label::Account) => Change::UnknownAccount,
        refused if refused.refused(&Label::Profile) => Change::NoProfile,
        refused if refused.refused(&Label::Destination) => Change::Occupied,
        TxOutcome::Refused(_) => Change::Conflict,
    }
}

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

/// A settings write: the fields to set or reset, and what must hold with it.
pub struct SettingsChange<'a> {
    pub user_id: &'a UserId,
    pub change: FieldChange<'a>,
    /// Connections whose `auto_refresh` mirror changes, each expecting the
    /// version it was read at.
    pub connections: &'a [ConnectionRecord],
}

/// Changes settings of an existing profile, in one transaction with the
/// check that a new default account is the user's and with the
/// connections' `auto_refresh` mirrors, so the setting and the refresh
/// schedule never disagree. One UpdateItem when nothing else is involved.
pub async fn write_settings(
    store: &Store,
    change: SettingsChange<'_>,
) -> Result<SettingsWrite, StoreError> {
    let user_id = change.user_id;
    let profiles = store.profiles();
    let Some(update) = profiles.settings_update(user_id, &change.change)? else {
        return latest(store, user_id).await;
    };
    let new_default = match &change.change {
        FieldChange::Patch(patch) => patch.default_account_id.as_ref().and_then(Option::as_ref),
        FieldChange::Reset => None,
    };
    if new_default.is_none() && change.connections.is_empty() {
        return Ok(match profiles.apply_settings(update).await? {
            Some(settings) => SettingsWrite::Applied(settings),
            None => SettingsWrite::NoProfile,
        });
    }
    let mut tx = Tx::default();
    tx.add(profiles.settings_write(update)?, Label::Profile);
    if let Some(account_id) = new_default {
        tx.add(
            store
                .accounts()
                .exists(&OwnerId::User(user_id.clone()), account_id)?,
            Label::Account,
        );
    }
    for connection in change.connections {
        tx.add(store.connections().write(connection)?, Label::Stale);
    }
    match store.commit(tx).await? {
        TxOutcome::Committed => latest(store, user_id).await,
        refused if refused.refused(&Label::Profile) => Ok(SettingsWrite::NoProfile),
        refused if refused.refused(&Label::Account) => Ok(SettingsWrite::UnknownAccount),
        TxOutcome::Refused(_) => Ok(SettingsWrite::ConnectionsChanged),
    }
}

/// The settings as last written.
async fn latest(store: &Store, user_id: &UserId) -> Result<SettingsWrite, StoreError> {
    Ok(match store.profiles().get_latest(user_id).await? {
        Some(user) => SettingsWrite::Applied(user.settings),
        None => SettingsWrite::NoProfile,
    })
}
