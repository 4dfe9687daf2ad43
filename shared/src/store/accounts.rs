//! Account items (`USER#<id>` / `ACCT#<account id>`), one per advertising
//! profile a user reaches, written with their connection.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::{Item, Store, StoreError, keys, string_attribute};
use crate::ids::{AccountId, UserId};
use crate::model::account::AccountRecord;

impl Store {
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
