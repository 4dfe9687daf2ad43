//! A connection's accounts after a discovery, and which account is the
//! user's default (an account of any kind).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::hex;
use crate::amazon::discovery::Discovery;
use crate::ids::{AccountId, OwnerId, UserId};
use crate::model::account::{AccountKind, AccountRecord, AccountStatus, NativeIds};
use crate::model::acting::Acting;
use crate::model::connection::ConnectionRecord;
use crate::store::partition::OwnerPartition;

/// Stable per (user, kind, native id): reconnecting keeps account ids. Ads
/// profiles keep the form they had before accounts had kinds.
pub fn account_id_for(owner: &OwnerId, native: &NativeIds) -> AccountId {
    let key = match native.kind() {
        AccountKind::SponsoredAds => format!("{owner}|{}", native.native_id()),
        kind => format!("{owner}|{}|{}", kind.as_str(), native.native_id()),
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
            let account_id = account_id_for(&connection.owner, &found.native);
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

/// A member's default account in a workspace: what they chose
/// ([`OwnerPartition::default_account`]), if it still exists.
pub fn default_account<'a>(
    partition: &'a OwnerPartition,
    member: &UserId,
) -> Option<&'a AccountRecord> {
    let id = partition.default_account(member)?;
    partition.accounts.iter().find(|a| &a.account_id == id)
}

/// A default to choose when the acting user has none yet in the workspace
/// (and, for their own connections, a profile to hold it): the first
/// active account among `accounts`.
pub fn first_default(
    partition: &OwnerPartition,
    acting: &Acting,
    accounts: &[AccountRecord],
) -> Option<AccountId> {
    let has_place = match acting.owner {
        OwnerId::User(_) => partition.profile.is_some(),
        OwnerId::Org(_) => true,
    };
    if !has_place || partition.default_account(&acting.user_id).is_some() {
        return None;
    }
    accounts
        .iter()
        .find(|a| a.status == AccountStatus::Active)
        .map(|a| a.account_id.clone())
}
