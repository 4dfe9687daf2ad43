//! Advertising accounts: one item per Amazon Ads profile a user can reach,
//! under the user's partition (`ACCT#<account id>`), written by the Amazon
//! connection flow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Item, StoreError, keys, sort_key};
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub is_default: bool,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub connected_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_synced_at: Option<DateTime<Utc>>,
}

/// The accounts among a partition's items, in sort-key order.
pub fn accounts_in(items: &[Item]) -> Result<Vec<AccountRecord>, StoreError> {
    items
        .iter()
        .filter(|item| sort_key(item).starts_with(keys::ACCOUNT_PREFIX))
        .map(|item| Ok(serde_dynamo::from_item(item.clone())?))
        .collect()
}
