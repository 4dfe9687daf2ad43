//! A connection: one per (user, Amazon login), holding the sealed tokens and
//! where the connection is in its life. How it changes is decided in
//! `crate::connections`, never here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::region::Region;
use super::sealed::Sealed;
use super::throttle::Throttles;
use crate::ids::{ConnectionId, OwnerId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    /// Only the user can fix it, by consenting again.
    NeedsReauth,
    /// Refreshing keeps failing; still retried.
    Error,
    Disconnected,
}

impl ConnectionStatus {
    /// The statuses whose tokens are believed alive: such a connection is
    /// refreshed (when its user lets it be), synced and used.
    pub const LIVE: [Self; 2] = [Self::Active, Self::Error];

    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

/// A part of discovery that failed or was cut short; the rest is still used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncWarning {
    /// The listing: `profiles_<region>`, `dsp_advertisers_<region>`,
    /// `amc_instances_<region>`, `manager_accounts_<region>`, `ads_accounts`
    /// or `lwa_profile`.
    pub source: String,
    /// Amazon's error code, `incomplete` (the time budget ended it),
    /// `page_limit` (Amazon's or our last page reached with more left),
    /// `link_limit` (a manager account links more than Amazon lists) or
    /// `links_without_profile` (links past those name no profile to call
    /// with; `listed` counts them).
    pub reason: String,
    /// How far the listing got: the items it received before it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<u32>,
}

/// What identifies the Amazon login behind a connection: its Login with
/// Amazon user id when the `profile` scope is granted, else a hash of the
/// Ads profiles it reaches. Stored as `lwa:<id>` or `profiles:<hash>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AmazonIdentity(String);

impl AmazonIdentity {
    const BY_PROFILES: &str = "profiles:";

    /// The login whose Login with Amazon user id is `user_id`.
    pub fn lwa(user_id: &str) -> Self {
        Self(format!("lwa:{user_id}"))
    }

    /// A login known only by the profiles it reaches (`hash` of their ids).
    pub fn by_profiles(hash: &str) -> Self {
        Self(format!("{}{hash}", Self::BY_PROFILES))
    }

    /// Whether only the profiles tell who the login is.
    pub fn is_by_profiles(&self) -> bool {
        self.0.starts_with(Self::BY_PROFILES)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub connection_id: ConnectionId,
    /// Whose it is. Items written before organizations existed name their
    /// user as `user_id`: read as that user's own (personal) connection.
    #[serde(alias = "user_id")]
    pub owner: OwnerId,
    pub amazon_identity: AmazonIdentity,
    pub amazon_user_id: Option<String>,
    pub amazon_name: Option<String>,
    pub amazon_email: Option<String>,
    /// The region whose consent page was used.
    pub region: Region,
    pub status: ConnectionStatus,
    pub scopes: Vec<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub access_expires_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub consent_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub consent_expires_at: DateTime<Utc>,
    pub refresh_count: u64,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub failure_count: u32,
    pub last_error_code: Option<String>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Optimistic concurrency: every write expects the version it read.
    pub version: u64,
    #[serde(default)]
    pub sync_warnings: Vec<SyncWarning>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_synced_at: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    /// Sealed token pair (`crate::connections::tokens`); absent once destroyed.
    pub tokens: Option<Sealed>,
    /// When the refresher should next look at it (epoch seconds); `None`
    /// keeps it off the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_due_at: Option<i64>,
    /// The user's `auto_refresh_tokens` setting, mirrored: when false the
    /// connection stays off the schedule.
    #[serde(default = "yes")]
    pub auto_refresh: bool,
    /// When a manual sync last started (epoch seconds): one per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_requested_at: Option<i64>,
    /// Who holds the refresh lease, and until when (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<i64>,
    /// When the consent-expiring event was recorded (once per consent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "chrono::serde::ts_milliseconds_option"
    )]
    pub consent_warned_at: Option<DateTime<Utc>>,
    /// Where Amazon throttles this connection's calls. A hint shared by
    /// every instance, written without a version (`crate::store::throttles`):
    /// a whole-record write may put back what it read.
    #[serde(default, skip_serializing_if = "Throttles::is_empty")]
    pub throttles: Throttles,
}

fn yes() -> bool {
    true
}

impl ConnectionRecord {
    pub fn key(&self) -> DueConnection {
        DueConnection {
            owner: self.owner.clone(),
            connection_id: self.connection_id.clone(),
        }
    }
}

/// A connection's key: whose it is and which one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DueConnection {
    pub owner: OwnerId,
    pub connection_id: ConnectionId,
}
