//! What the API shows of stored records: never a token, never a key, and
//! times as RFC 3339 (the table keeps epoch milliseconds).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::connections::accounts::default_account;
use crate::connections::health::{Health, HealthWarning, assess};
use crate::ids::UserId;
use crate::ids::{AccountId, ConnectionId};
use crate::model::account::{AccountKind, AccountRecord, AccountRole, AccountStatus, NativeIds};
use crate::model::connection::{ConnectionRecord, ConnectionStatus, SyncWarning};
use crate::model::event::{AuditEvent, EventKind, ReportDay};
use crate::model::region::Region;
use crate::model::throttle::running_in;
use crate::model::user::UserRecord;
use crate::store::partition::OwnerPartition;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub image_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<&UserRecord> for UserView {
    fn from(record: &UserRecord) -> Self {
        let p = &record.profile;
        Self {
            id: p.user_id.to_string(),
            email: p.email.clone(),
            email_verified: p.email_verified,
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            username: p.username.clone(),
            image_url: p.image_url.clone(),
            created_at: p.clerk_created_at,
            updated_at: p.clerk_updated_at,
            last_sign_in_at: p.last_sign_in_at,
            last_login_at: record.last_login_at,
        }
    }
}

/// Accounts per kind.
#[derive(Debug, Serialize, PartialEq, Eq, Default, utoipa::ToSchema)]
pub struct KindCounts {
    pub sponsored_ads: usize,
    pub dsp_advertiser: usize,
    pub amc_instance: usize,
}

impl KindCounts {
    pub fn of(kinds: impl IntoIterator<Item = AccountKind>) -> Self {
        let mut counts = Self::default();
        for kind in kinds {
            *match kind {
                AccountKind::SponsoredAds => &mut counts.sponsored_ads,
                AccountKind::DspAdvertiser => &mut counts.dsp_advertiser,
                AccountKind::AmcInstance => &mut counts.amc_instance,
            } += 1;
        }
        counts
    }
}

/// Account counts (the original system's `/users/me/stats`).
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AccountStats {
    pub total_accounts: usize,
    pub active_accounts: usize,
    pub by_kind: KindCounts,
    pub default_account_id: Option<AccountId>,
}

impl AccountStats {
    pub fn of(partition: &OwnerPartition, member: &UserId) -> Self {
        let accounts = &partition.accounts;
        Self {
            total_accounts: accounts.len(),
            active_accounts: accounts
                .iter()
                .filter(|a| a.status == AccountStatus::Active)
                .count(),
            by_kind: KindCounts::of(accounts.iter().map(AccountRecord::kind)),
            default_account_id: default_account(partition, member).map(|a| a.account_id.clone()),
        }
    }
}

/// A connected Amazon login, without its tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: ConnectionId,
    pub amazon_user_id: Option<String>,
    pub amazon_name: Option<String>,
    pub amazon_email: Option<String>,
    pub region: Region,
    pub status: ConnectionStatus,
    pub scopes: Vec<String>,
    pub access_expires_at: DateTime<Utc>,
    pub consent_at: DateTime<Utc>,
    pub consent_expires_at: DateTime<Utc>,
    pub refresh_count: u64,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub failure_count: u32,
    pub last_error_code: Option<String>,
    /// Parts of the last discovery that failed (e.g. one region).
    pub sync_warnings: Vec<SyncWarning>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub account_count: usize,
    pub health: Health,
    pub warnings: Vec<HealthWarning>,
    pub created_at: DateTime<Utc>,
}

impl ConnectionView {
    pub fn of(
        connection: &ConnectionRecord,
        accounts: &[AccountRecord],
        now: DateTime<Utc>,
    ) -> Self {
        let (health, warnings) = assess(connection, now);
        Self {
            health,
            warnings,
            id: connection.connection_id.clone(),
            amazon_user_id: connection.amazon_user_id.clone(),
            amazon_name: connection.amazon_name.clone(),
            amazon_email: connection.amazon_email.clone(),
            region: connection.region,
            status: connection.status,
            scopes: connection.scopes.clone(),
            access_expires_at: connection.access_expires_at,
            consent_at: connection.consent_at,
            consent_expires_at: connection.consent_expires_at,
            refresh_count: connection.refresh_count,
            last_refresh_at: connection.last_refresh_at,
            failure_count: connection.failure_count,
            last_error_code: connection.last_error_code.clone(),
            sync_warnings: connection.sync_warnings.clone(),
            last_synced_at: connection.last_synced_at,
            account_count: accounts
                .iter()
                .filter(|a| a.connection_id == connection.connection_id)
                .count(),
            created_at: connection.created_at,
        }
    }
}

/// An account with the health of the connection it comes through. Which
/// native ids are set depends on `kind` (see "Account kinds" in
/// docs/connections.md).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub account_id: AccountId,
    pub connection_id: ConnectionId,
    pub kind: AccountKind,
    pub name: String,
    /// The Ads profile: a `sponsored_ads` account's own, a
    /// `dsp_advertiser`'s agency profile; none for `amc_instance`, nor for
    /// a `dsp_advertiser` run by Amazon's managed service (reached only
    /// through a manager account; calls name it by `Amazon-Ads-AccountId`).
    pub profile_id: Option<String>,
    /// `sponsored_ads`: the Ads account (`amzn1.ads-account…`), when listed.
    pub ads_account_id: Option<String>,
    /// `dsp_advertiser`: the DSP advertiser id.
    pub advertiser_id: Option<String>,
    /// `amc_instance`: the instance id (`amcr1…`).
    pub instance_id: Option<String>,
    /// `amc_instance`: its AMC account (`ENTITY…`).
    pub amc_account_id: Option<String>,
    /// `amc_instance`: STANDARD or SANDBOX.
    pub instance_type: Option<String>,
    pub region: String,
    pub country_code: Option<String>,
    pub currency_code: Option<String>,
    pub timezone: Option<String>,
    pub marketplace_id: Option<String>,
    pub marketplace_name: Option<String>,
    pub account_type: Option<String>,
    /// What this login may do with the account, as Amazon reports it:
    /// `viewer` reads and creates reports only (the proxy refuses its
    /// writes with 403 `READ_ONLY_ACCOUNT`); see "Access levels" in
    /// docs/connections.md.
    pub role: AccountRole,
    pub status: AccountStatus,
    /// The source's own status (an Ads account's, an AMC `creationStatus`).
    pub source_status: Option<String>,
    pub is_default: bool,
    pub connected_at: DateTime<Utc>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub health: Health,
    pub warnings: Vec<HealthWarning>,
    /// Where Amazon throttles this account's calls right now: each API
    /// family of its connection in its region, and when the cooldown ends
    /// (proxied calls wait for it or are answered 429 until then).
    pub throttling: Vec<ThrottleView>,
}

/// Amazon throttling one API family of an account's connection.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThrottleView {
    /// The API family (`sp`, `reporting`, `adsApi.campaigns`, …).
    pub api: String,
    pub until: DateTime<Utc>,
}

impl AccountView {
    /// Every account of the partition, with its health and whether it is
    /// `member`'s default in the workspace.
    pub fn all(partition: &OwnerPartition, member: &UserId, now: DateTime<Utc>) -> Vec<Self> {
        let default = default_account(partition, member).map(|a| a.account_id.clone());
        partition
            .accounts
            .iter()
            .cloned()
            .map(|account| {
                let connection = partition
                    .connections
                    .iter()
                    .find(|c| c.connection_id == account.connection_id);
                let (health, warnings) =
                    connection.map_or((Health::NeedsReauth, Vec::new()), |c| assess(c, now));
                let throttling = connection
                    .map(|c| running_in(&c.throttles, account.region, now))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(api, until)| ThrottleView { api, until })
                    .collect();
                let (mut ads_account_id, mut advertiser_id) = (None, None);
                let (mut instance_id, mut amc_account_id, mut instance_type) = (None, None, None);
                let profile_id = account.native.profile_id().map(str::to_owned);
                let kind = account.kind();
                match account.native {
                    NativeIds::SponsoredAds {
                        ads_account_id: ads,
                        ..
                    } => ads_account_id = ads,
                    NativeIds::DspAdvertiser {
                        advertiser_id: id, ..
                    } => advertiser_id = Some(id),
                    NativeIds::AmcInstance {
                        instance_id: id,
                        amc_account_id: amc,
                        instance_type: kind,
                    } => (instance_id, amc_account_id, instance_type) = (Some(id), Some(amc), kind),
                }
                Self {
                    is_default: default.as_ref() == Some(&account.account_id),
                    kind,
                    account_id: account.account_id,
                    connection_id: account.connection_id,
                    name: account.name,
                    profile_id,
                    ads_account_id,
                    advertiser_id,
                    instance_id,
                    amc_account_id,
                    instance_type,
                    region: account.region.to_string(),
                    country_code: account.country_code,
                    currency_code: account.currency_code,
                    timezone: account.timezone,
                    marketplace_id: account.marketplace_id,
                    marketplace_name: account.marketplace_name,
                    account_type: account.account_type,
                    role: account.role,
                    status: account.status,
                    source_status: account.source_status,
                    connected_at: account.connected_at,
                    last_synced_at: account.last_synced_at,
                    health,
                    warnings,
                    throttling,
                }
            })
            .collect()
    }
}

/// One entry of a connection's audit trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub event_id: String,
    pub connection_id: ConnectionId,
    pub kind: EventKind,
    /// An error code (never a message from upstream); for `moved`, the other
    /// side of the move: `<owner id>/<connection id>`.
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
    /// The user who made the change; absent for what AdsConnect did on its
    /// own (a scheduled refresh, a webhook from Clerk).
    pub actor: Option<UserId>,
    /// For `report_ready` and `report_restated`: the account's day, its
    /// numbers, and for a restatement the numbers before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportDay>,
}

impl From<AuditEvent> for EventView {
    fn from(event: AuditEvent) -> Self {
        Self {
            event_id: event.event_id,
            connection_id: event.connection_id,
            kind: event.kind,
            detail: event.detail,
            at: event.at,
            actor: event.actor,
            report: event.report,
        }
    }
}
