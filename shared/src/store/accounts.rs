//! Account items (`USER#<id>` / `ACCT#<account id>`), one per account (of
//! any kind) a user reaches, written with their connection.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem};

use super::connections::{connection_from_item, connection_key};
use super::{Item, Store, StoreError, keys, string_attribute};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::model::account::{AccountKind, AccountRecord};
use crate::model::connection::ConnectionRecord;

/// An account and the connection it was asked with (either may be gone).
pub struct AccountAndConnection {
    pub account: Option<AccountRecord>,
    pub connection: Option<ConnectionRecord>,
}

impl Store {
    /// The caller's account (strongly consistent).
    pub async fn get_account(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
    ) -> Result<Option<AccountRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(Self::key(
                keys::user(user_id),
                &keys::account(account_id),
            )))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(account_from_item).transpose()
    }

    /// The account and the connection believed to be its: one
    /// BatchGetItem, strongly consistent (the caller checks they belong
    /// together).
    pub async fn get_account_and_connection(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        connection_id: &ConnectionId,
    ) -> Result<AccountAndConnection, StoreError> {
        let keys = KeysAndAttributes::builder()
            .keys(Self::key(keys::user(user_id), &keys::account(account_id)))
            .keys(connection_key(user_id, connection_id))
            .consistent_read(true)
            .build()?;
        let mut request = std::collections::HashMap::from([(self.table().to_owned(), keys)]);
        let mut found = AccountAndConnection {
            account: None,
            connection: None,
        };
        // Two keys always fit one call; unprocessed keys (throttling) are asked again.
        for _ in 0..3 {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await?;
            for item in output
                .responses
                .and_then(|mut r| r.remove(self.table()))
                .unwrap_or_default()
            {
                if is_account(&item) {
                    found.account = Some(account_from_item(item)?);
                } else {
                    found.connection = Some(connection_from_item(item)?);
                }
            }
            match output.unprocessed_keys.filter(|k| !k.is_empty()) {
                Some(unprocessed) => request = unprocessed,
                None => return Ok(found),
            }
        }
        Err(StoreError::Unavailable(
            "BatchGetItem kept leaving keys unprocessed".into(),
        ))
    }

    pub(crate) fn account_put(
        &self,
        user_id: &UserId,
        account: &AccountRecord,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = Self::item(
            account,
            keys::user(user_id),
            &keys::account(&account.account_id),
            "account",
        )?;
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The delete of one account; `must_exist` makes a vanished one refuse
    /// the transaction.
    pub(crate) fn account_delete(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        must_exist: bool,
    ) -> Result<Delete, StoreError> {
        let mut delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(Self::key(
                keys::user(user_id),
                &keys::account(account_id),
            )));
        if must_exist {
            delete = delete
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK);
        }
        Ok(delete.build()?)
    }
}

pub(crate) fn is_account(item: &Item) -> bool {
    string_attribute(item, keys::SK).starts_with(keys::ACCOUNT_PREFIX)
}

/// An account item as a record. Items written before accounts had kinds
/// are Ads profiles.
pub(crate) fn account_from_item(mut item: Item) -> Result<AccountRecord, StoreError> {
    item.entry(KIND.to_owned())
        .or_insert_with(|| AttributeValue::S(AccountKind::SponsoredAds.as_str().to_owned()));
    Ok(serde_dynamo::from_item(item)?)
}

const KIND: &str = "kind";

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::account::{AccountStatus, NativeIds};
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
                profile_id: "2".into(),
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
