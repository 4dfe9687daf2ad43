//! Advertising accounts a user reaches through one of their connections, of
//! three kinds: Ads profiles, DSP advertisers and AMC instances.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::region::Region;
use crate::ids::{AccountId, ConnectionId};

/// Every account's status, mapped from its source's own (see "Account kinds"
/// in docs/connections.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Usable: an Ads account CREATED, a DSP advertiser listed, an AMC
    /// instance SUCCEEDED or COMPLETED.
    Active,
    /// PARTIALLY_CREATED (some countries usable).
    Partial,
    /// PENDING, or an AMC instance still being created.
    Pending,
    /// DISABLED, an AMC instance that FAILED, or no longer returned by Amazon.
    Disabled,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// An Amazon Ads profile (`/v2/profiles`).
    SponsoredAds,
    /// A DSP advertiser: under an agency profile (`/dsp/advertisers`), or
    /// linked to a manager account (a managed-service one).
    DspAdvertiser,
    /// An Amazon Marketing Cloud instance (`/amc/instances`).
    AmcInstance,
}

impl AccountKind {
    pub const ALL: [Self; 3] = [Self::SponsoredAds, Self::DspAdvertiser, Self::AmcInstance];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SponsoredAds => "sponsored_ads",
            Self::DspAdvertiser => "dsp_advertiser",
            Self::AmcInstance => "amc_instance",
        }
    }
}

/// What the login may do with an account, as Amazon reports it (see
/// "Access levels" in docs/connections.md for where each comes from).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Owns the account (an account link's ADMIN).
    Admin,
    /// May read and change it: an Editor link, or an Ads profile
    /// `/v2/profiles` lists (it lists only accounts that granted Editor, and
    /// the login's own).
    Editor,
    /// May read it and create reports, not change it: a Viewer link, or an
    /// advertiser reached only through Amazon's managed service (ADSP
    /// Reports). Amazon answers its edits with 401.
    Viewer,
    /// Amazon did not say (accounts from before roles, DSP advertisers under
    /// an agency profile, AMC instances): nothing is refused on our side.
    #[default]
    Unknown,
}

impl AccountRole {
    /// Whether Amazon refuses this account's writes.
    pub fn is_read_only(self) -> bool {
        self == Self::Viewer
    }
}

/// The ids Amazon knows an account by, per kind: what a call for the account
/// must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NativeIds {
    SponsoredAds {
        /// Unique per marketplace; the `Amazon-Advertising-API-Scope`.
        profile_id: String,
        /// `amzn1.ads-account…`, when `/adsAccounts/list` lists one.
        #[serde(default)]
        ads_account_id: Option<String>,
    },
    DspAdvertiser {
        /// A long digit string, kept as text.
        advertiser_id: String,
        /// The agency profile it was listed under; none for an advertiser
        /// run by Amazon's managed service, reached only through a manager
        /// account: calls name it by `Amazon-Ads-AccountId` alone.
        #[serde(default)]
        profile_id: Option<String>,
        /// Its entity id where a manager account links it, else the
        /// agency's (its profile's `accountInfo.id`): what the seats API
        /// wants as `parentEntityId`.
        #[serde(default)]
        parent_entity_id: Option<String>,
    },
    AmcInstance {
        instance_id: String,
        /// The AMC account (`ENTITY…`): the `AdvertiserId` header.
        amc_account_id: String,
        /// STANDARD or SANDBOX.
        #[serde(default)]
        instance_type: Option<String>,
    },
}

impl NativeIds {
    pub fn kind(&self) -> AccountKind {
        match self {
            Self::SponsoredAds { .. } => AccountKind::SponsoredAds,
            Self::DspAdvertiser { .. } => AccountKind::DspAdvertiser,
            Self::AmcInstance { .. } => AccountKind::AmcInstance,
        }
    }

    /// The id that is unique within the kind.
    pub fn native_id(&self) -> &str {
        match self {
            Self::SponsoredAds { profile_id, .. } => profile_id,
            Self::DspAdvertiser { advertiser_id, .. } => advertiser_id,
            Self::AmcInstance { instance_id, .. } => instance_id,
        }
    }

    /// The Ads profile behind the account: its own, or the agency's.
    pub fn profile_id(&self) -> Option<&str> {
        match self {
            Self::SponsoredAds { profile_id, .. } => Some(profile_id),
            Self::DspAdvertiser { profile_id, .. } => profile_id.as_deref(),
            Self::AmcInstance { .. } => None,
        }
    }
}

/// Which account is the user's default is not stored here: the profile's
/// `default_account_id` setting is the one place that says it, so two
/// accounts can never both claim it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: AccountId,
    pub connection_id: ConnectionId,
    pub name: String,
    #[serde(flatten)]
    pub native: NativeIds,
    /// The region whose host lists (and serves) the account.
    pub region: Region,
    pub country_code: Option<String>,
    pub currency_code: Option<String>,
    pub timezone: Option<String>,
    pub marketplace_id: Option<String>,
    /// e.g. `Amazon.com`, for the marketplaces Amazon Ads serves.
    #[serde(default)]
    pub marketplace_name: Option<String>,
    /// A profile's `accountInfo.type` (seller, vendor, agency).
    pub account_type: Option<String>,
    pub status: AccountStatus,
    /// The source's own status, unmapped (e.g. AMC `creationStatus`).
    #[serde(default)]
    pub source_status: Option<String>,
    /// Items from before roles read as `unknown`.
    #[serde(default)]
    pub role: AccountRole,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub connected_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_synced_at: Option<DateTime<Utc>>,
}

impl AccountRecord {
    pub fn kind(&self) -> AccountKind {
        self.native.kind()
    }
}
