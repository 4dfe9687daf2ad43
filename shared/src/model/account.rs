//! Advertising accounts: one per Amazon Ads profile a user reaches through
//! one of their connections.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, ConnectionId};

/// Amazon's account status, mapped as the original system did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// CREATED
    Active,
    /// PARTIALLY_CREATED
    Partial,
    /// PENDING
    Pending,
    /// DISABLED, or no longer returned by Amazon.
    Disabled,
}

/// Which account is the user's default is not stored here: the profile's
/// `default_account_id` setting is the one place that says it, so two
/// accounts can never both claim it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: AccountId,
    pub connection_id: ConnectionId,
    pub name: String,
    /// Amazon Ads profile id (unique per marketplace).
    pub profile_id: String,
    /// Amazon Ads account id (`amzn1.ads-account…`), when Amazon lists one.
    pub ads_account_id: Option<String>,
    pub region: String,
    pub country_code: Option<String>,
    pub currency_code: Option<String>,
    pub timezone: Option<String>,
    pub marketplace_id: Option<String>,
    pub account_type: Option<String>,
    pub status: AccountStatus,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub connected_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_synced_at: Option<DateTime<Utc>>,
}
