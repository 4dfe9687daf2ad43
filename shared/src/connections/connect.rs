//! Connecting an Amazon login, in three steps of one service: the start of
//! Login with Amazon (state bound to the user, PKCE); Amazon's redirect
//! (the code exchanged once, the tokens kept sealed as a pending grant);
//! and the completion by the signed-in user who started — only then is
//! anything connected: discovery runs, and the connection and its accounts
//! are stored (another user presenting it destroys the pending grant).
//! Re-authorization renews a connection the same way. What the steps take
//! and answer is in `consent`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use reqwest::Url;

use super::accounts::{first_default, merge};
use super::changes::Change;
use super::consent::{
    BeginError, Callback, Completed, ConsentStart, Failure, GRANT_LIFETIME, PROFILE_SCOPE,
    Redirect, STATE_BYTES, STATE_LENGTH, STATE_LIFETIME, consent_refused, exchange_failure,
    storage_failure,
};
use super::lifecycle::{self, Consent};
use super::returns::ReturnPolicy;
use super::saving::{self, Saving};
use super::tokens::{TokenPair, grant_context};
use super::{amazon_identity, connection_id_for};
use crate::amazon::ads::AdsApi;
use crate::amazon::discovery::Discovery;
use crate::amazon::lwa::{Lwa, Pkce};
use crate::ids::{ConnectionId, UserId};
use crate::model::account::{AccountKind, AccountRecord};
use crate::model::acting::Acting;
use crate::model::connection::{AmazonIdentity, ConnectionRecord};
use crate::model::oauth::{PendingGrant, StateRecord, state_hash};
use crate::model::permission::RolePermissions;
use crate::model::region::Region;
use crate::secrets::Secret;
use crate::store::Store;
use crate::store::oauth_states::TakenState;
use crate::tokens::TokenCipher;

pub struct ConnectService {
    pub store: Store,
    pub cipher: Arc<TokenCipher>,
    pub lwa: Arc<Lwa>,
    pub ads: Arc<AdsApi>,
    pub returns: Arc<ReturnPolicy>,
    /// What an organization's roles may do (`ORGANIZATION_ROLE_PERMISSIONS`).
    pub roles: Arc<RolePermissions>,
}

fn verifier_context(hash: &str) -> String {
    format!("pkce|{hash}")
}

impl ConnectService {
    /// Creates the single-use state and the consent URL; with `reauthorize`,
    /// the consent renews that connection. A `return_to` must be on an
    /// allowed origin ([`ReturnPolicy::check`]).
    pub async fn begin(
        &self,
        acting: &Acting,
        region: Region,
        return_to: Option<&str>,
        reauthorize: Option<ConnectionId>,
    ) -> Result<ConsentStart, BeginError> {
        let return_to = return_to
            .map(|url| {
                self.returns
                    .check(url)
                    .ok_or(BeginError::ReturnToNotAllowed)
            })
            .transpose()?;
        let token: [u8; STATE_BYTES] = rand::random();
        let state_value = URL_SAFE_NO_PAD.encode(token);
        let hash = state_hash(&state_value);
        let pkce = Pkce::new();
        let verifier = self
            .cipher
            .seal(pkce.verifier.expose().as_bytes(), &verifier_context(&hash))
            .await?;
        let expires_at = Utc::now() + STATE_LIFETIME;
        let record = StateRecord {
            user_id: acting.user_id.clone(),
            org_id: acting.owner.org().cloned(),
            region,
            return_to: return_to.map(String::from),
            reauthorize,
            verifier,
            expires_at,
        };
        self.store.oauth_states().put_state(&hash, &record).await?;
        Ok(ConsentStart {
            authorization_url: self
                .lwa
                .authorization_url(region, &state_value, pkce.challenge),
            state: state_value,
            expires_at,
        })
    }

    /// Amazon's redirect: the state checked and spent, the code exchanged.
    /// Nothing is connected here: the browser that follows Amazon's
    /// redirect may not be the one that started (RFC 9700 §4.7.1).
    pub async fn callback(&self, redirect: Redirect) -> Callback {
        let fail = |return_to: Url, failure| Callback {
            return_to,
            outcome: Err(failure),
        };
        let default_url = self.returns.default_url().clone();
        let Some(state_value) = redirect
            .state
            .filter(|s| s.len() == STATE_LENGTH && URL_SAFE_NO_PAD.decode(s).is_ok())
        else {
            return fail(default_url, Failure::InvalidState);
        };
        let hash = state_hash(&state_value);
        let record = match self
            .store
            .oauth_states()
            .take_state(&hash, Utc::now())
            .await
        {
            Ok(TakenState::Valid(record)) => record,
            Ok(TakenState::Expired(record)) => {
                return fail(self.return_url(&record), Failure::ExpiredState);
            }
            Ok(TakenState::Unknown) => return fail(default_url, Failure::InvalidState),
            Err(e) => {
                tracing::error!(error = %e, "state could not be read");
                return fail(default_url, Failure::StorageUnavailable);
            }
        };
        let return_to = self.return_url(&record);
        if let Some(error) = redirect.error {
            return fail(return_to, consent_refused(&error));
        }
        let Some(code) = redirect.code.filter(|c| !c.is_empty()) else {
            return fail(return_to, Failure::MissingCode);
        };
        let granted: Vec<String> = redirect
            .scope
            .iter()
            .flat_map(|s| s.split_whitespace())
            .filter(|s| {
                s.len() <= 100
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b":_-.".contains(&b))
            })
            .map(str::to_owned)
            .collect();
        Callback {
            return_to,
            outcome: self.exchange(&record, &hash, &code, granted).await,
        }
    }

    fn return_url(&self, record: &StateRecord) -> Url {
        record
            .return_to
            .as_deref()
            .and_then(|url| self.returns.check(url))
            .unwrap_or_else(|| self.returns.default_url().clone())
    }

    /// Exchanges the code (once: a code works once) and keeps the tokens as
    /// a pending grant for the user who started; the completion returned
    /// is the browser's handle to it.
    async fn exchange(
        &self,
        record: &StateRecord,
        hash: &str,
        code: &str,
        granted_scopes: Vec<String>,
    ) -> Result<String, Failure> {
        let verifier = self
            .cipher
            .open(&record.verifier, &verifier_context(hash))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "PKCE verifier could not be opened");
                Failure::StorageUnavailable
            })?;
        let verifier =
            Secret::new(String::from_utf8(verifier).map_err(|_| Failure::StorageUnavailable)?);
        let grant = self
            .lwa
            .exchange_code(code, &verifier)
            .await
            .map_err(exchange_failure)?;
        let Some(refresh_token) = grant.refresh_token else {
            tracing::error!("LWA returned no refresh token");
            return Err(Failure::TokenExchangeFailed);
        };
        let now = Utc::now();
        let completion = URL_SAFE_NO_PAD.encode(rand::random::<[u8; STATE_BYTES]>());
        let grant_hash = state_hash(&completion);
        let tokens = TokenPair {
            access_token: grant.access_token,
            refresh_token,
        }
        .seal_for(&self.cipher, &grant_context(&record.user_id, &grant_hash))
        .await
        .map_err(storage_failure)?;
        let pending = PendingGrant {
            user_id: record.user_id.clone(),
            org_id: record.org_id.clone(),
            region: record.region,
            reauthorize: record.reauthorize.clone(),
            // LWA's token response usually omits `scope`; the redirect carries it.
            scopes: if grant.scopes.is_empty() {
                granted_scopes
            } else {
                grant.scopes
            },
            access_expires_at: now
                + Duration::from_std(grant.expires_in).unwrap_or(Duration::hours(1)),
            tokens,
            expires_at: now + GRANT_LIFETIME,
        };
        self.store
            .oauth_states()
            .put_grant(&grant_hash, &pending)
            .await
            .map_err(storage_failure)?;
        Ok(completion)
    }

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
        let acting = grant.acting();
        let owner = &acting.owner;
        let partition = self
            .store
            .partitions()
            .read(owner)
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
            None => (connection_id_for(owner, &identity), identity),
        };
        let existing = partition
            .connections
            .iter()
            .find(|c| c.connection_id == connection_id);
        let now = Utc::now();
        let sealed = tokens
            .seal(&self.cipher, owner, &connection_id)
            .await
            .map_err(storage_failure)?;
        let lwa = discovery.lwa_profile.as_ref();
        let (connection, event) = lifecycle::connected(
            existing,
            Consent {
                acting: acting.clone(),
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
        let new_default = first_default(&partition, &acting, &accounts);
        let saved = saving::save(
            &self.store,
            Saving {
                connection: &connection,
                event: &event,
                accounts,
                stored: &partition.accounts,
                new_default: new_default.as_ref(),
                actor: &acting.user_id,
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
    identity: &AmazonIdentity,
    accounts: &[AccountRecord],
    discovery: &Discovery,
) -> bool {
    if &connection.amazon_identity == identity {
        return true;
    }
    connection.amazon_identity.is_by_profiles()
        && identity.is_by_profiles()
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
