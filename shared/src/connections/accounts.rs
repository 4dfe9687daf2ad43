//! A connection's accounts after a discovery, and which account is the
//! user's default (an account of any kind).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::hex;
use crate::amazon::discovery::Discovery;
use crate::ids::{AccountId, UserId};
use crate::model::account::{AccountKind, AccountRecord, AccountStatus, NativeIds};
use crate::model::connection::ConnectionRecord;
use crate::model::user::UserRecord;

/// Stable per (user, kind, native id): reconnecting keeps account ids. Ads
/// profiles keep the form they had before accounts had kinds.
pub fn account_id_for(user_id: &UserId, native: &NativeIds) -> AccountId {
    let key = match native.kind() {
        AccountKind::SponsoredAds => format!("{user_id}|{}", native.native_id()),
        kind => format!("{user_id}|{}|{}", kind.as_str(), native.native_id()),
    };
    let digest = Sha256::digest(key.as_bytes());
    AccountId::parse(&format!("acct_{}", &hex(&digest)[..24]))
        .unwrap_or_else(|_| unreachable!("hex is a valid id"))
}

/// The account items to write after `discovery` for `connection`: every
/// discovered account (`connected_at` kept), and this connection's accounts
/// that a listing which answered in full no longer lists, marked disabled
/// rather than deleted.
pub fn merge(
    existing: &[AccountRecord],
    connection: &ConnectionRecord,
    discovery: &Discovery,
    now: DateTime<Utc>,
) -> Vec<AccountRecord> {
    let before = |id: &AccountId| existing.iter().find(|a| &a.account_id == id);
    let mut accounts: Vec<AccountRecord> = discovery
        .accounts
        .iter()
        .map(|found| {
            let account_id = account_id_for(&connection.user_id, &found.native);
            AccountRecord {
                connection_id: connection.connection_id.clone(),
                name: found.name.clone(),
                native: found.native.clone(),
                region: found.region,
                country_code: found.country_code.clone(),
                currency_code: found.currency_code.clone(),
                timezone: found.timezone.clone(),
                marketplace_id: found.marketplace_id.clone(),
                marketplace_name: found.marketplace_name.clone(),
                account_type: found.account_type.clone(),
                status: found.status,
                source_status: found.source_status.clone(),
                role: found.role,
                connected_at: before(&account_id).map_or(now, |a| a.connected_at),
                last_synced_at: Some(now),
                account_id,
            }
        })
        .collect();
    let listed_in_full =
        |account: &AccountRecord| discovery.listed_completely(account.kind(), account.region);
    let vanished: Vec<AccountRecord> = existing
        .iter()
        .filter(|a| {
            a.connection_id == connection.connection_id
                && listed_in_full(a)
                && !accounts.iter().any(|n| n.account_id == a.account_id)
        })
        .map(|a| AccountRecord {
            status: AccountStatus::Disabled,
            last_synced_at: Some(now),
            ..a.clone()
        })
        .collect();
    accounts.extend(vanished);
    accounts
}

/// The user's default account: what their settings name, if it exists.
pub fn default_account<'a>(
    profile: Option<&UserRecord>,
    accounts: &'a [AccountRecord],
) -> Option<&'a AccountRecord> {
    let id = profile?.settings.default_account_id.as_ref()?;
    accounts.iter().find(|a| &a.account_id == id)
}

/// A default to choose when the user (who has a profile to hold it) has
/// none yet: the first active account among `accounts`.
pub fn first_default(
    profile: Option<&UserRecord>,
    accounts: &[AccountRecord],
) -> Option<AccountId> {
    let profile = profile?;
    if profile.settings.default_account_id.is_some() {
        return None;
    }
    accounts
        .iter()
        .find(|a| a.status == AccountStatus::Active)
        .map(|a| a.account_id.clone())
}
