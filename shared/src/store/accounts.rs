//! Account items (`USER#<id>` / `ACCT#<account id>`), one per advertising
//! profile a user reaches, written with their connection.

use aws_sdk_dynamodb::types::{Delete, KeysAndAttributes, Put, TransactWriteItem};

use super::connections::{connection_from_item, connection_key};
use super::{Item, Store, StoreError, keys, string_attribute};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::model::account::AccountRecord;
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

pub(crate) fn account_from_item(item: Item) -> Result<AccountRecord, StoreError> {
    Ok(serde_dynamo::from_item(item)?)
}
