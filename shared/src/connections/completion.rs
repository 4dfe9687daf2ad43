//! The last step of a consent: the signed-in user who started it presents
//! the completion the callback handed their browser. Only then is anything
//! connected: discovery runs, and the connection and its accounts are
//! stored. Another user presenting it destroys the pending grant.

use chrono::Utc;

use super::accounts::{first_default, merge};
use super::changes::Change;
use super::consent::{ConnectService, Failure, STATE_LENGTH, storage_failure};
use super::lifecycle::{self, Consent};
use super::saving::{self, Saving};
use super::tokens::{TokenPair, grant_context};
use super::{amazon_identity, connection_id_for};
use crate::amazon::discovery::Discovery;
use crate::ids::UserId;
use crate::model::account::{AccountKind, AccountRecord};
use crate::model::connection::ConnectionRecord;
use crate::model::oauth::{PendingGrant, state_hash};

/// The scope that lets us read who the Amazon login is.
pub const PROFILE_SCOPE: &str = "profile";

/// A connection made (or renewed) by a completion, with the user's accounts.
#[derive(Debug)]
pub struct Completed {
    pub connection: ConnectionRecord,
    pub accounts: Vec<AccountRecord>,
}

/// Whether `completion` has the shape this service hands out.
pub fn is_completion(completion: &str) -> bool {
    completion.len() == STATE_LENGTH
        && completion
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ConnectService {
    /// Connects the pending grant `completion` names, for `caller` only.
    /// Taking the grant is one call, so concurrent completions connect
    /// once; a failure that may pass (Amazon or storage unavailable, time
    /// out) puts it back, so the same completion can be tried again until
    /// it expires.
    pub async fn complete(&self, caller: &UserId, completion: &str) -> Result<Completed, Failure> {
        let hash = state_hash(completion);
        let grant = match self.store.oauth_states().take_grant(&hash).await {
            Ok(Some(grant)) => grant,
            Ok(None) => return Err(Failure::UnknownCompletion),
            Err(e) => return Err(storage_failure(e)),
        };
        if &grant.user_id != caller {
            tracing::warn!(
                "a completion was presented by another user; its pending grant is destroyed"
            );
            return Err(Failure::UnknownCompletion);
        }
        if grant.expires_at <= Utc::now() {
            return Err(Failure::UnknownCompletion);
        }
        let tokens = TokenPair::open_sealed(
            &self.cipher,
            &grant.tokens,
            &grant_context(&grant.user_id, &hash),
        )
        .await
        .map_err(storage_failure)?;
        let outcome = self.connect(&grant, &tokens).await;
        if let Err(failure) = &outcome
            && failure.is_transient()
            && let Err(e) = self.store.oauth_states().put_grant(&hash, &grant).await
        {
            tracing::warn!(error = %e, "pending grant could not be kept for another attempt");
        }
        outcome
    }

    async fn connect(
        &self,
        grant: &PendingGrant,
        tokens: &TokenPair,
    ) -> Result<Completed, Failure> {
        let with_profile = grant.scopes.iter().any(|s| s == PROFILE_SCOPE);
        let discovery = self.ads.discover(&tokens.access_token, with_profile).await;
        for warning in &discovery.warnings {
            tracing::warn!(source = %warning.source, reason = %warning.reason, "discovery incomplete");
        }
        if !discovery.any_region_answered() {
            return Err(Failure::AdsUnavailable);
        }
        // The LWA profile failed (garbage, or kept failing; a missing `profile`
        // scope is no failure): without its user id the login would be taken
        // for another one, a second connection for it.
        if discovery.warnings.iter().any(|w| w.source == "lwa_profile") {
            return Err(Failure::LwaUnavailable);
        }
        // One retry: another write (a refresh, a second tab) may have come first.
        for _ in 0..2 {
            match self.save(grant, tokens, &discovery).await? {
                Saved::Connected(completed) => return Ok(*completed),
                Saved::Retry => continue,
            }
        }
        Err(Failure::StorageUnavailable)
    }

    async fn save(
        &self,
        grant: &PendingGrant,
        tokens: &TokenPair,
        discovery: &Discovery,
    ) -> Result<Saved, Failure> {
        let user_id = &grant.user_id;
        let partition = self
            .store
            .partitions()
            .read(user_id)
            .await
            .map_err(storage_failure)?;
        if partition.deleted {
            return Err(Failure::UserDeleted);
        }
        let identity = amazon_identity(discovery);
        // A re-authorization renews the connection it was started for, if
        // it still exists, and only with that connection's own login.
        let renewed = grant.reauthorize.as_ref().and_then(|id| {
            partition
                .connections
                .iter()
                .find(|c| &c.connection_id == id)
        });
        let (connection_id, identity) = match renewed {
            Some(connection)
                if same_login(connection, &identity, &partition.accounts, discovery) =>
            {
                (
                    connection.connection_id.clone(),
                    connection.amazon_identity.clone(),
                )
            }
            Some(connection) => {
                tracing::warn!(
                    connection_id = %connection.connection_id,
                    "re-authorization consented by another Amazon login; nothing stored"
                );
                return Err(Failure::WrongAmazonLogin);
            }
            None => (connection_id_for(user_id, &identity), identity),
        };
        let existing = partition
            .connections
            .iter()
            .find(|c| c.connection_id == connection_id);
        let now = Utc::now();
        let sealed = tokens
            .seal(&self.cipher, user_id, &connection_id)
            .await
            .map_err(storage_failure)?;
        let lwa = discovery.lwa_profile.as_ref();
        let (connection, event) = lifecycle::connected(
            existing,
            Consent {
                user_id: user_id.clone(),
                connection_id,
                amazon_identity: identity,
                amazon_user_id: lwa.map(|p| p.user_id.clone()),
                amazon_name: lwa.and_then(|p| p.name.clone()),
                amazon_email: lwa.and_then(|p| p.email.clone()),
                region: grant.region,
                scopes: grant.scopes.clone(),
                access_expires_at: grant.access_expires_at,
                tokens: sealed,
                sync_warnings: discovery.warnings.clone(),
                auto_refresh: partition
                    .profile
                    .as_ref()
                    .is_none_or(|p| p.settings.auto_refresh_tokens),
            },
            now,
        );
        let accounts = merge(&partition.accounts, &connection, discovery, now);
        let new_default = first_default(partition.profile.as_ref(), &accounts);
        let saved = saving::save(
            &self.store,
            Saving {
                connection: &connection,
                event: &event,
                accounts,
                stored: &partition.accounts,
                new_default: new_default.as_ref(),
            },
        )
        .await
        .map_err(storage_failure)?;
        match saved {
            Ok(saved) => {
                let untouched: Vec<AccountRecord> = partition
                    .accounts
                    .into_iter()
                    .filter(|a| !saved.accounts.iter().any(|m| m.account_id == a.account_id))
                    .collect();
                let mut all = saved.accounts;
                all.extend(untouched);
                Ok(Saved::Connected(Box::new(Completed {
                    connection: saved.connection,
                    accounts: all,
                })))
            }
            Err(Change::UserDeleted) => Err(Failure::UserDeleted),
            Err(_) => Ok(Saved::Retry),
        }
    }
}

/// Whether a consent came from the login `connection` was made with: the
/// same LWA user, or (without the `profile` scope, when only the profiles
/// tell) a login that still reaches one of the connection's profiles.
fn same_login(
    connection: &ConnectionRecord,
    identity: &str,
    accounts: &[AccountRecord],
    discovery: &Discovery,
) -> bool {
    const BY_PROFILES: &str = "profiles:";
    if connection.amazon_identity == identity {
        return true;
    }
    connection.amazon_identity.starts_with(BY_PROFILES)
        && identity.starts_with(BY_PROFILES)
        && accounts
            .iter()
            .filter(|a| a.connection_id == connection.connection_id)
            .any(|a| {
                a.kind() == AccountKind::SponsoredAds
                    && discovery.accounts.iter().any(|d| {
                        d.native.kind() == AccountKind::SponsoredAds
                            && d.native.native_id() == a.native.native_id()
                    })
            })
}

enum Saved {
    Connected(Box<Completed>),
    Retry,
}
