//! Account items (the owner's partition / `ACCT#<account id>`), one per account (of
//! any kind) a user reaches, written with their connection.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put};

use super::tx::Write;
use super::{Item, Read, Store, StoreError, keys, string_attribute};
use crate::ids::{AccountId, OwnerId};
use crate::model::account::{AccountKind, AccountRecord};

/// The account items of the table.
#[derive(Clone, Copy)]
pub struct Accounts<'a>(pub(super) &'a Store);

fn account_key(owner: &OwnerId, account_id: &AccountId) -> Item {
    Store::key(keys::owner(owner), &keys::account(account_id))
}

impl Accounts<'_> {
    /// The caller's account (strongly consistent).
    pub async fn get(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
    ) -> Result<Option<AccountRecord>, StoreError> {
        let output = self
            .0
            .client
            .get_item()
            .table_name(self.0.table())
            .set_key(Some(account_key(owner, account_id)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(account_from_item).transpose()
    }

    /// The account, to be read with an item of another kind
    /// ([`Store::get_pair`]).
    pub fn read(&self, owner: &OwnerId, account_id: &AccountId) -> Read<AccountRecord> {
        Read {
            key: account_key(owner, account_id),
            from_item: account_from_item,
        }
    }

    /// The write of `account` (whatever was stored under its id).
    pub fn write(&self, owner: &OwnerId, account: &AccountRecord) -> Result<Write, StoreError> {
        let item = Store::item(
            account,
            keys::owner(owner),
            &keys::account(&account.account_id),
            "account",
        )?;
        Ok(Put::builder()
            .table_name(self.0.table())
            .set_item(Some(item))
            .build()?
            .into())
    }

    /// The delete of one account; `must_exist` makes a vanished one refuse
    /// the transaction.
    pub fn delete(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        must_exist: bool,
    ) -> Result<Write, StoreError> {
        let mut delete = Delete::builder()
            .table_name(self.0.table())
            .set_key(Some(account_key(owner, account_id)));
        if must_exist {
            delete = delete
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK);
        }
        Ok(delete.build()?.into())
    }

    /// A check that the account exists in the user's partition.
    pub fn exists(&self, owner: &OwnerId, account_id: &AccountId) -> Result<Write, StoreError> {
        Ok(ConditionCheck::builder()
            .table_name(self.0.table())
            .set_key(Some(account_key(owner, account_id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?
            .into())
    }
}

pub(super) fn is_account(item: &Item) -> bool {
    string_attribute(item, keys::SK).starts_with(keys::ACCOUNT_PREFIX)
}

/// An account item as a record. Items written before accounts had kinds
/// are Ads profiles.
pub(super) fn account_from_item(mut item: Item) -> Result<AccountRecord, StoreError> {
    item.entry(KIND.to_owned())
        .or_insert_with(|| AttributeValue::S(AccountKind::SponsoredAds.as_str().to_owned()));
    Ok(serde_dynamo::from_item(item)?)
}

const KIND: &str = "kind";

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::ids::ConnectionId;
    use crate::model::account::{AccountRole, AccountStatus, NativeIds};
    use crate::model::region::Region;

    fn record(native: NativeIds) -> AccountRecord {
        AccountRecord {
            account_id: AccountId::parse("acct_1").unwrap(),
            connection_id: ConnectionId::parse("conn_1").unwrap(),
            name: "A".into(),
            native,
            region: Region::Eu,
            country_code: None,
            currency_code: None,
            timezone: None,
            marketplace_id: Some("A1PA6795UKMFR9".into()),
            marketplace_name: Some("Amazon.de".into()),
            account_type: None,
            status: AccountStatus::Pending,
            source_status: Some("IN_PROGRESS".into()),
            role: AccountRole::Viewer,
            connected_at: Utc.timestamp_millis_opt(1_733_000_000_000).unwrap(),
            last_synced_at: None,
        }
    }

    #[test]
    fn every_kind_round_trips_through_an_item_with_flat_attributes() {
        for native in [
            NativeIds::SponsoredAds {
                profile_id: "1".into(),
                ads_account_id: None,
            },
            NativeIds::DspAdvertiser {
                advertiser_id: "592207944055236095".into(),
                profile_id: Some("2".into()),
                parent_entity_id: Some("ENTITY9".into()),
            },
            NativeIds::AmcInstance {
                instance_id: "amcr1aaaa1a".into(),
                amc_account_id: "ENTITY1".into(),
                instance_type: Some("STANDARD".into()),
            },
        ] {
            let account = record(native);
            let item: Item = serde_dynamo::to_item(&account).unwrap();
            assert_eq!(
                item.get(KIND)
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str),
                Some(account.kind().as_str())
            );
            assert_eq!(account_from_item(item).unwrap(), account);
        }
    }

    #[test]
    fn an_item_from_before_kinds_is_an_ads_profile() {
        let mut item: Item = serde_dynamo::to_item(record(NativeIds::SponsoredAds {
            profile_id: "101".into(),
            ads_account_id: Some("amzn1.ads-account.g.1".into()),
        }))
        .unwrap();
        item.remove(KIND);
        item.remove("marketplace_name");
        item.remove("source_status");
        let account = account_from_item(item).unwrap();
        assert_eq!(account.kind(), AccountKind::SponsoredAds);
        assert_eq!(account.native.native_id(), "101");
        assert_eq!(account.marketplace_name, None);
    }
}
