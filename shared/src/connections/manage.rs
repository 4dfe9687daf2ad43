//! What a user does with their connections and accounts: sync, disconnect,
//! remove an account, choose the default, refresh a DSP advertiser's seats,
//! and the settings that mirror onto connections. Each returns what
//! happened, for the API to render.

use std::sync::Arc;

use chrono::Utc;

use super::accounts::{first_default, merge};
use super::changes::{self, Change, DefaultGuard, SettingsChange, SettingsWrite};
use super::lifecycle;
use super::refresh::{Outcome, Refresher};
use super::saving::{self, Saving};
use super::seats::{self, SEAT_REFRESH_INTERVAL_SECONDS, SeatsRefreshed};
use super::tokens::TokenPair;
use crate::amazon::ads::AdsApi;
use crate::ids::{AccountId, ConnectionId, OwnerId, UserId};
use crate::model::account::{AccountRecord, NativeIds};
use crate::model::acting::Acting;
use crate::model::connection::ConnectionRecord;
use crate::settings::{Settings, SettingsPatch};
use crate::store::connections::ConnectionWrite;
use crate::store::partition::OwnerPartition;
use crate::store::profiles::FieldChange;
use crate::store::slot::Slot;
use crate::store::tx::MAX_ITEMS;
use crate::store::{Store, StoreError};

/// At most one manual sync per connection per minute.
pub const SYNC_INTERVAL_SECONDS: i64 = 60;
/// An access token closer than this to expiry is refreshed before use.
const ACCESS_TOKEN_MARGIN_SECONDS: i64 = 60;
/// A write whose reads keep being overtaken gives up after this many tries.
const ATTEMPTS: usize = 4;

#[derive(Debug)]
pub enum Synced {
    Done(Box<OwnerPartition>, ConnectionId),
    NotFound,
    NeedsReauth,
    /// At most one a minute: this many seconds remain.
    Wait(u64),
    AdsUnavailable,
    LwaUnavailable,
    /// KMS failed (or refused the key); nothing changed.
    TokensUnavailable,
    KeptChanging,
}

#[derive(Debug, PartialEq)]
pub enum Removed {
    Done,
    NotFound,
    KeptChanging,
}

#[derive(Debug)]
pub enum DefaultSet {
    Done(Box<OwnerPartition>),
    NotFound,
    /// The user has no profile yet to hold the setting.
    NoProfile,
}

#[derive(Debug, PartialEq)]
pub enum SettingsUpdate {
    Applied(Settings),
    NoProfile,
    /// `default_account_id` is not one of the user's accounts.
    UnknownAccount,
}

pub struct Manage {
    pub store: Store,
    pub ads: Arc<AdsApi>,
    pub refresher: Arc<Refresher>,
}

impl Manage {
    fn cipher(&self) -> &crate::tokens::TokenCipher {
        &self.refresher.cipher
    }

    /// Re-runs discovery now: new profiles added, changed ones updated,
    /// vanished ones marked `disabled` (never deleted). Every phase ends
    /// inside the time budget: what it could not list or write waits for
    /// the next sync, behind an `incomplete` warning.
    pub async fn sync(
        &self,
        acting: &Acting,
        connection_id: &ConnectionId,
    ) -> Result<Synced, StoreError> {
        let owner = &acting.owner;
        let Some(connection) = self.store.connections().get(owner, connection_id).await? else {
            return Ok(Synced::NotFound);
        };
        if !connection.status.is_live() {
            return Ok(Synced::NeedsReauth);
        }
        match self
            .store
            .connections()
            .claim_sync_slot(
                owner,
                connection_id,
                Utc::now().timestamp(),
                SYNC_INTERVAL_SECONDS,
            )
            .await?
        {
            Slot::Granted => {}
            Slot::Wait(seconds) => return Ok(Synced::Wait(seconds)),
            Slot::Gone => return Ok(Synced::NotFound),
        }
        for _ in 0..ATTEMPTS {
            let partition = self.store.partitions().read(owner).await?;
            let Some(connection) = partition.connection(connection_id) else {
                return Ok(Synced::NotFound);
            };
            let connection = match self.fresh(connection).await? {
                Ok(connection) => connection,
                Err(outcome) => return Ok(outcome),
            };
            let tokens = match TokenPair::open(self.cipher(), &connection).await {
                Ok(Some(tokens)) => tokens,
                Ok(None) => return Ok(Synced::NeedsReauth),
                Err(error) => {
                    tracing::error!(error = %error, "tokens did not open for a sync");
                    return Ok(Synced::TokensUnavailable);
                }
            };
            // The login's identity was settled at connect: no profile lookup.
            let discovery = self.ads.discover(&tokens.access_token, false).await;
            if !discovery.any_region_answered() {
                return Ok(Synced::AdsUnavailable);
            }
            let now = Utc::now();
            let accounts = merge(&partition.accounts, &connection, &discovery, now);
            let new_default = first_default(&partition, acting, &accounts);
            let (updated, event) =
                lifecycle::synced(&connection, discovery.warnings, &acting.user_id, now);
            let saved = saving::save(
                &self.store,
                Saving {
                    connection: &updated,
                    event: &event,
                    accounts,
                    stored: &partition.accounts,
                    new_default: new_default.as_ref(),
                    actor: &acting.user_id,
                },
            )
            .await?;
            match saved {
                Ok(saved) => {
                    let partition = saved.applied_to(partition, new_default, &acting.user_id);
                    return Ok(Synced::Done(Box::new(partition), connection_id.clone()));
                }
                Err(Change::UserDeleted) => return Ok(Synced::NotFound),
                // A refresh wrote between our read and our write: read again.
                Err(_) => continue,
            }
        }
        Ok(Synced::KeptChanging)
    }

    /// The connection with an access token valid for a while, refreshing it
    /// through the refresher's lease if needed.
    async fn fresh(
        &self,
        connection: &ConnectionRecord,
    ) -> Result<Result<ConnectionRecord, Synced>, StoreError> {
        let soon = Utc::now() + chrono::Duration::seconds(ACCESS_TOKEN_MARGIN_SECONDS);
        if connection.access_expires_at > soon {
            return Ok(Ok(connection.clone()));
        }
        let key = connection.key();
        match self.refresher.refresh_now(&key).await? {
            Outcome::Refreshed | Outcome::Skipped => {}
            Outcome::NeedsReauth => return Ok(Err(Synced::NeedsReauth)),
            Outcome::KeyUnusable | Outcome::Unreadable => {
                return Ok(Err(Synced::TokensUnavailable));
            }
            Outcome::TransientFailure | Outcome::ClientRejected => {
                return Ok(Err(Synced::LwaUnavailable));
            }
        }
        Ok(self
            .store
            .connections()
            .get(&key.owner, &key.connection_id)
            .await?
            .filter(|c| c.access_expires_at > Utc::now())
            .ok_or(Synced::LwaUnavailable))
    }

    /// Disconnects: the connection item goes, and with it the sealed tokens;
    /// its accounts go; an audit event stays.
    pub async fn disconnect(
        &self,
        acting: &Acting,
        connection_id: &ConnectionId,
    ) -> Result<Removed, StoreError> {
        for _ in 0..ATTEMPTS {
            let partition = self.store.partitions().read(&acting.owner).await?;
            let Some(connection) = partition.connection(connection_id) else {
                return Ok(Removed::NotFound);
            };
            if self
                .remove_connection(&partition, connection, acting)
                .await?
            {
                tracing::info!(%connection_id, "connection disconnected");
                return Ok(Removed::Done);
            }
        }
        Ok(Removed::KeptChanging)
    }

    async fn remove_connection(
        &self,
        partition: &OwnerPartition,
        connection: &ConnectionRecord,
        acting: &Acting,
    ) -> Result<bool, StoreError> {
        let accounts: Vec<AccountId> = partition
            .accounts
            .iter()
            .filter(|a| a.connection_id == connection.connection_id)
            .map(|a| a.account_id.clone())
            .collect();
        let read = partition.default_account(&acting.user_id);
        let guard = DefaultGuard {
            member: &acting.user_id,
            read,
            clear: read.is_some_and(|d| accounts.contains(d)),
        };
        let event = lifecycle::disconnected(connection, Some(&acting.user_id), Utc::now());
        let change =
            changes::remove_connection(&self.store, connection, &accounts, guard, &event).await?;
        Ok(matches!(change, Change::Committed))
    }

    /// Removes one account; removing the last account of a connection
    /// disconnects it.
    pub async fn remove_account(
        &self,
        acting: &Acting,
        account_id: &AccountId,
    ) -> Result<Removed, StoreError> {
        for _ in 0..ATTEMPTS {
            let partition = self.store.partitions().read(&acting.owner).await?;
            let Some(account) = partition
                .accounts
                .iter()
                .find(|a| &a.account_id == account_id)
            else {
                return Ok(Removed::NotFound);
            };
            let siblings = partition
                .accounts
                .iter()
                .filter(|a| a.connection_id == account.connection_id)
                .count();
            let removed = match partition.connection(&account.connection_id) {
                Some(connection) if siblings == 1 => {
                    self.remove_connection(&partition, connection, acting)
                        .await?
                }
                _ => {
                    let read = partition.default_account(&acting.user_id);
                    let guard = DefaultGuard {
                        member: &acting.user_id,
                        read,
                        clear: read == Some(account_id),
                    };
                    let change =
                        changes::remove_account(&self.store, &acting.owner, account_id, guard)
                            .await?;
                    matches!(change, Change::Committed)
                }
            };
            if removed {
                return Ok(Removed::Done);
            }
        }
        Ok(Removed::KeptChanging)
    }

    /// Makes one account the default.
    pub async fn set_default(
        &self,
        acting: &Acting,
        account_id: &AccountId,
    ) -> Result<DefaultSet, StoreError> {
        let owner = &acting.owner;
        match changes::set_default_account(&self.store, owner, &acting.user_id, account_id).await? {
            Change::Committed => Ok(DefaultSet::Done(Box::new(
                self.store.partitions().read(owner).await?,
            ))),
            Change::NoProfile => Ok(DefaultSet::NoProfile),
            _ => Ok(DefaultSet::NotFound),
        }
    }

    /// A validated partial update, with `auto_refresh_tokens` mirrored onto
    /// the connections in the same transaction.
    pub async fn update_settings(
        &self,
        user_id: &UserId,
        patch: &SettingsPatch,
    ) -> Result<SettingsUpdate, StoreError> {
        self.write_settings(
            user_id,
            FieldChange::Patch(patch),
            patch.auto_refresh_tokens,
        )
        .await
    }

    /// Every preference back to its default (automatic refreshing on).
    pub async fn reset_settings(&self, user_id: &UserId) -> Result<SettingsUpdate, StoreError> {
        let auto_refresh = Settings::default().auto_refresh_tokens;
        self.write_settings(user_id, FieldChange::Reset, Some(auto_refresh))
            .await
    }

    async fn write_settings(
        &self,
        user_id: &UserId,
        change: FieldChange<'_>,
        auto_refresh: Option<bool>,
    ) -> Result<SettingsUpdate, StoreError> {
        for _ in 0..ATTEMPTS {
            let now = Utc::now();
            let mirrors: Vec<ConnectionRecord> = match auto_refresh {
                Some(enabled) => self
                    .store
                    .connections()
                    .of_owner(&OwnerId::User(user_id.clone()))
                    .await?
                    .iter()
                    .filter_map(|c| lifecycle::with_auto_refresh(c, enabled, now))
                    .collect(),
                None => Vec::new(),
            };
            // The profile update and the account check share the transaction.
            let (first, rest) = mirrors.split_at(mirrors.len().min(MAX_ITEMS - 2));
            let written = changes::write_settings(
                &self.store,
                SettingsChange {
                    user_id,
                    change: match &change {
                        FieldChange::Patch(patch) => FieldChange::Patch(patch),
                        FieldChange::Reset => FieldChange::Reset,
                    },
                    connections: first,
                },
            )
            .await?;
            return Ok(match written {
                SettingsWrite::Applied(settings) => {
                    if let Some(enabled) = auto_refresh {
                        self.mirror_rest(rest, enabled).await?;
                    }
                    SettingsUpdate::Applied(settings)
                }
                SettingsWrite::NoProfile => SettingsUpdate::NoProfile,
                SettingsWrite::UnknownAccount => SettingsUpdate::UnknownAccount,
                // A refresh changed a connection meanwhile: read them again.
                SettingsWrite::ConnectionsChanged => continue,
            });
        }
        Err(StoreError::Unavailable(
            "connections kept changing during a settings write".into(),
        ))
    }

    /// More connections than one transaction holds: the rest, one by one,
    /// each read again when a refresh overtook it.
    async fn mirror_rest(
        &self,
        rest: &[ConnectionRecord],
        enabled: bool,
    ) -> Result<(), StoreError> {
        for record in rest {
            let mut next = record.clone();
            for _ in 0..ATTEMPTS {
                if self.store.connections().put(&next).await? != ConnectionWrite::Conflict {
                    break;
                }
                let Some(current) = self
                    .store
                    .connections()
                    .get(&record.owner, &record.connection_id)
                    .await?
                else {
                    break;
                };
                match lifecycle::with_auto_refresh(&current, enabled, Utc::now()) {
                    Some(mirrored) => next = mirrored,
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// The caller's account `account_id` when it is a DSP advertiser.
    pub async fn dsp_account(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
    ) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self
            .store
            .accounts()
            .get(owner, account_id)
            .await?
            .filter(|a| matches!(a.native, NativeIds::DspAdvertiser { .. })))
    }

    /// Fetches every page of the caller's DSP `account`'s seats now
    /// (narrowed to `exchange_ids` when given) and records the refresh,
    /// whatever its outcome.
    pub async fn refresh_seats(
        &self,
        owner: &OwnerId,
        account: &AccountRecord,
        exchange_ids: &[String],
    ) -> Result<SeatsRefreshed, StoreError> {
        let account_id = &account.account_id;
        let NativeIds::DspAdvertiser {
            advertiser_id,
            parent_entity_id,
            ..
        } = &account.native
        else {
            return Ok(SeatsRefreshed::NotFound);
        };
        let Some(connection) = self
            .store
            .connections()
            .get(owner, &account.connection_id)
            .await?
        else {
            return Ok(SeatsRefreshed::NotFound);
        };
        if !connection.status.is_live() {
            return Ok(SeatsRefreshed::NeedsReauth(connection.connection_id));
        }
        let now = Utc::now();
        let slot = self
            .store
            .seats()
            .claim_refresh(
                owner,
                account_id,
                now.timestamp(),
                SEAT_REFRESH_INTERVAL_SECONDS,
            )
            .await?;
        if let Slot::Wait(seconds) = slot {
            return Ok(SeatsRefreshed::Wait(seconds));
        }
        let connection = match self.fresh(&connection).await? {
            Ok(connection) => connection,
            Err(Synced::NeedsReauth) => {
                return Ok(SeatsRefreshed::NeedsReauth(connection.connection_id));
            }
            Err(Synced::TokensUnavailable) => return Ok(SeatsRefreshed::TokensUnavailable),
            Err(_) => return Ok(SeatsRefreshed::LwaUnavailable),
        };
        let tokens = match TokenPair::open(self.cipher(), &connection).await {
            Ok(Some(tokens)) => tokens,
            Ok(None) => return Ok(SeatsRefreshed::NeedsReauth(connection.connection_id)),
            Err(error) => {
                tracing::error!(error = %error, "tokens did not open for a seat refresh");
                return Ok(SeatsRefreshed::TokensUnavailable);
            }
        };
        let listed = self
            .ads
            .dsp_seats(
                account.region,
                advertiser_id,
                parent_entity_id.as_deref(),
                exchange_ids,
                &tokens.access_token,
            )
            .await;
        let (refresh, snapshot, outcome) = seats::recorded(account_id, exchange_ids, listed);
        self.store
            .seats()
            .record_refresh(owner, &refresh, snapshot.as_ref())
            .await?;
        Ok(outcome)
    }
}
