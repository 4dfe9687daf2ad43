//! Credentials for one of a user's accounts, for the Ads API proxy and the
//! credentials function: the access token of the account's connection,
//! valid for as long as the caller needs it — refreshed through the
//! refresher's lease when it is not, so a refresh never runs twice at once —
//! with the host and headers a call for that account needs. Refresh tokens
//! never leave this module's callers' process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::refresh::{Outcome, Refresher};
use super::tokens::TokenPair;
use crate::amazon::PerRegion;
use crate::amazon::headers::OwnedHeader;
use crate::amazon::proxy::ForAccount;
use crate::ids::{AccountId, ConnectionId, OwnerId};
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::model::region::Region;
use crate::model::throttle::Throttles;
use crate::secrets::Secret;
use crate::store::{Store, StoreError};

/// How often a caller waiting for another process's refresh looks again.
const LEASE_POLL: StdDuration = StdDuration::from_millis(200);
/// A token refreshed this recently is not refreshed again because Amazon
/// refused it (unless it has expired): no loop of calls can drive LWA.
const RENEWAL_INTERVAL: Duration = Duration::minutes(1);
/// Account → connection mappings remembered per process (each is checked
/// against the table on every use; this only saves a read).
const CACHED_ACCOUNTS: usize = 10_000;

/// Everything a call to the Ads API for one account needs.
#[derive(Debug, Clone)]
pub struct AccountAccess {
    pub account: AccountRecord,
    pub connection_id: ConnectionId,
    pub region: Region,
    /// The region's Ads API base URL.
    pub api_host: String,
    pub access_token: Secret,
    pub expires_at: DateTime<Utc>,
    pub client_id: Secret,
    /// Where Amazon throttles the connection, as read with it.
    pub throttles: Throttles,
}

impl AccountAccess {
    /// Who a call with these credentials is made for.
    pub fn for_amazon(&self) -> ForAccount<'_> {
        ForAccount {
            account: &self.account,
            api_host: &self.api_host,
            access_token: &self.access_token,
            client_id: &self.client_id,
        }
    }

    /// The headers every call for this account carries (Amazon's rules per
    /// account kind: [`ForAccount::headers`]).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.for_amazon().headers()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No such account of this user (or its connection is gone).
    #[error("account not found")]
    NotFound,
    /// The connection must be re-authorized before it can be used.
    #[error("connection {0} needs re-authorization")]
    NeedsReauth(ConnectionId),
    /// The table, KMS or Login with Amazon failed, or time ran out.
    #[error("credentials unavailable: {0}")]
    Unavailable(String),
    /// The caller set a header the proxy owns to another value.
    #[error(transparent)]
    OwnedHeader(OwnedHeader),
}

impl From<StoreError> for AccessError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

pub struct Access {
    pub store: Store,
    pub refresher: Arc<Refresher>,
    pub client_id: Secret,
    pub ads_urls: PerRegion<String>,
    connections: Mutex<HashMap<(OwnerId, AccountId), ConnectionId>>,
}

impl Access {
    pub fn new(
        store: Store,
        refresher: Arc<Refresher>,
        client_id: Secret,
        ads_urls: PerRegion<String>,
    ) -> Self {
        Self {
            store,
            refresher,
            client_id,
            ads_urls,
            connections: Mutex::default(),
        }
    }

    /// Credentials for `account_id` of `owner` whose token stays valid
    /// for at least `valid_for`.
    pub async fn for_account(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        valid_for: Duration,
    ) -> Result<AccountAccess, AccessError> {
        let (account, connection) = self.load(owner, account_id).await?;
        self.valid_for(account, &connection, valid_for).await
    }

    /// Credentials for `account` of `connection` (as [`Self::load`] read
    /// them) whose token stays valid for at least `valid_for`: refreshed
    /// first when it would not.
    pub(super) async fn valid_for(
        &self,
        account: AccountRecord,
        connection: &ConnectionRecord,
        valid_for: Duration,
    ) -> Result<AccountAccess, AccessError> {
        if connection.access_expires_at > Utc::now() + valid_for {
            return self.open(account, connection, valid_for).await;
        }
        let connection = self.refreshed(connection, None).await?;
        self.open(account, &connection, valid_for).await
    }

    /// After Amazon refused `stale`'s token (a 401 about the token): new
    /// credentials, from the refresh another process made meanwhile or from
    /// one refresh through the lease. `None` when the connection's token
    /// was refreshed less than [`RENEWAL_INTERVAL`] ago and has not expired:
    /// then the refusal is not about the token, and Amazon's answer stands.
    pub(super) async fn renewed(
        &self,
        owner: &OwnerId,
        stale: &AccountAccess,
        valid_for: Duration,
    ) -> Result<Option<AccountAccess>, AccessError> {
        let (account, connection) = self.load(owner, &stale.account.account_id).await?;
        let current = self
            .open(account.clone(), &connection, Duration::zero())
            .await;
        let connection = match current {
            Ok(current) if current.access_token.expose() != stale.access_token.expose() => {
                connection
            }
            _ => {
                let now = Utc::now();
                let recently = connection
                    .last_refresh_at
                    .is_some_and(|at| at > now - RENEWAL_INTERVAL);
                if recently && connection.access_expires_at > now {
                    return Ok(None);
                }
                self.refreshed(&connection, Some(stale.access_token.expose()))
                    .await?
            }
        };
        self.open(account, &connection, valid_for).await.map(Some)
    }

    /// The account and its connection: one BatchGetItem when this process
    /// already knows which connection the account belongs to, else two reads.
    pub(super) async fn load(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
    ) -> Result<(AccountRecord, ConnectionRecord), AccessError> {
        let key = (owner.clone(), account_id.clone());
        let known = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        let account = match known {
            Some(connection_id) => {
                let found = self
                    .store
                    .get_pair(
                        self.store.accounts().read(owner, account_id),
                        self.store.connections().read(owner, &connection_id),
                    )
                    .await?;
                match found {
                    (None, _) => {
                        self.forget(&key);
                        return Err(AccessError::NotFound);
                    }
                    (Some(account), Some(connection))
                        if account.connection_id == connection.connection_id =>
                    {
                        return self.live(account, connection);
                    }
                    // The account moved to another connection of the user.
                    (Some(account), _) => account,
                }
            }
            None => self
                .store
                .accounts()
                .get(owner, account_id)
                .await?
                .ok_or(AccessError::NotFound)?,
        };
        let connection = self
            .store
            .connections()
            .get(owner, &account.connection_id)
            .await?
            .ok_or(AccessError::NotFound)?;
        let mut cache = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHED_ACCOUNTS {
            cache.clear();
        }
        cache.insert(key, account.connection_id.clone());
        drop(cache);
        self.live(account, connection)
    }

    fn forget(&self, key: &(OwnerId, AccountId)) {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    fn live(
        &self,
        account: AccountRecord,
        connection: ConnectionRecord,
    ) -> Result<(AccountRecord, ConnectionRecord), AccessError> {
        if connection.status.is_live() && connection.tokens.is_some() {
            Ok((account, connection))
        } else {
            Err(AccessError::NeedsReauth(connection.connection_id))
        }
    }

    /// The connection after a refresh through the lease. When another
    /// process holds the lease, its refresh is waited for (within the time
    /// budget) instead of starting a second one. `refused` is a token
    /// Amazon turned down: a connection still holding it is not fresh.
    async fn refreshed(
        &self,
        connection: &ConnectionRecord,
        refused: Option<&str>,
    ) -> Result<ConnectionRecord, AccessError> {
        let key = connection.key();
        match self.refresher.refresh_now(&key).await? {
            Outcome::Refreshed | Outcome::Skipped => {}
            Outcome::NeedsReauth => {
                return Err(AccessError::NeedsReauth(connection.connection_id.clone()));
            }
            other => {
                return Err(AccessError::Unavailable(format!("refresh: {other:?}")));
            }
        }
        loop {
            let current = self
                .store
                .connections()
                .get(&key.owner, &key.connection_id)
                .await?
                .ok_or(AccessError::NotFound)?;
            if !current.status.is_live() {
                return Err(AccessError::NeedsReauth(current.connection_id));
            }
            let renewed = current.version != connection.version
                && current.lease_owner.is_none()
                && current.access_expires_at > Utc::now();
            if renewed || (refused.is_none() && current.access_expires_at > Utc::now()) {
                return Ok(current);
            }
            if !crate::budget::can_wait(LEASE_POLL) {
                return Err(AccessError::Unavailable(
                    "another refresh did not finish in time".into(),
                ));
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    async fn open(
        &self,
        account: AccountRecord,
        connection: &ConnectionRecord,
        valid_for: Duration,
    ) -> Result<AccountAccess, AccessError> {
        if connection.access_expires_at <= Utc::now() + valid_for {
            return Err(AccessError::Unavailable(
                "no access token valid for long enough".into(),
            ));
        }
        let tokens = TokenPair::open(&self.refresher.cipher, connection)
            .await
            .map_err(|e| AccessError::Unavailable(e.to_string()))?
            .ok_or_else(|| AccessError::NeedsReauth(connection.connection_id.clone()))?;
        let region = account.region;
        Ok(AccountAccess {
            connection_id: connection.connection_id.clone(),
            api_host: self.ads_urls.get(region).clone(),
            region,
            access_token: tokens.access_token,
            expires_at: connection.access_expires_at,
            client_id: self.client_id.clone(),
            throttles: connection.throttles.clone(),
            account,
        })
    }
}
