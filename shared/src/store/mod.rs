//! DynamoDB single-table storage. Key design and access patterns are in the
//! README ("Data model"); every user-scoped key is built from a validated
//! [`UserId`](crate::ids::UserId) of the caller.

pub mod accounts;
pub mod connections;
pub mod events;
pub mod management;
pub mod oauth_states;
pub mod users;

pub(crate) use users::build_error;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::config::{self, ConfigError};
use crate::ids::UserId;

pub type Item = HashMap<String, AttributeValue>;

/// Attribute and key names shared by every item.
pub mod keys {
    use crate::ids::UserId;

    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    /// The table's TTL attribute (epoch seconds).
    pub const TTL: &str = "ttl";

    pub const PROFILE: &str = "PROFILE";
    pub const TOMBSTONE: &str = "TOMBSTONE";
    pub const ACCOUNT_PREFIX: &str = "ACCT#";
    pub const DELIVERY: &str = "DELIVERY";
    pub const CONNECTION_PREFIX: &str = "CONN#";
    pub const STATE: &str = "STATE";

    pub fn user(user_id: &UserId) -> String {
        format!("USER#{user_id}")
    }

    pub fn delivery(id: &str) -> String {
        format!("DELIVERY#{id}")
    }

    /// Audit events live in a partition of their own, so that reading a
    /// user's profile, connections and accounts never pages through them.
    pub fn events(user_id: &UserId) -> String {
        format!("EVENTS#{user_id}")
    }

    pub fn state(hash: &str) -> String {
        format!("STATE#{hash}")
    }

    pub fn account(id: &crate::ids::AccountId) -> String {
        format!("{ACCOUNT_PREFIX}{id}")
    }

    pub fn connection(id: &crate::ids::ConnectionId) -> String {
        format!("{CONNECTION_PREFIX}{id}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB failed or could not be reached (after the SDK's retries).
    #[error("DynamoDB request failed: {0}")]
    Unavailable(String),
    /// An item that does not map onto our types: a bug or manual edit.
    #[error("stored item is invalid: {0}")]
    Corrupt(String),
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(error: SdkError<E, R>) -> Self {
        Self::Unavailable(DisplayErrorContext(&error).to_string())
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(error: serde_dynamo::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}

/// Outcome of a conditional write that may legitimately not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Applied,
    /// This webhook delivery was already applied.
    Duplicate,
    /// A newer version is already stored.
    Stale,
    /// The user was deleted; nothing may be written for them again.
    UserDeleted,
    /// The item the write depends on does not exist.
    Missing,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: Arc<str>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_from_env() -> Result<String, ConfigError> {
        config::required("TABLE_NAME")
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn key(pk: String, sk: &str) -> Item {
        HashMap::from([
            (keys::PK.to_owned(), AttributeValue::S(pk)),
            (keys::SK.to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }

    /// Every item in a user's partition, in sort-key order: one Query (more
    /// only for a partition over 1 MB).
    pub async fn user_partition(&self, user_id: &UserId) -> Result<Vec<Item>, StoreError> {
        self.query_partition(keys::user(user_id), None).await
    }

    /// The items of partition `pk` whose sort key starts with `prefix`.
    pub(crate) async fn query_partition(
        &self,
        pk: String,
        prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(self.table())
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk));
        query = match prefix {
            Some(prefix) => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
            None => query.key_condition_expression("#pk = :pk"),
        };
        all_items(query).await
    }
}

/// Every item a query returns, over as many pages as it takes.
pub(crate) async fn all_items(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    let pages = query
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.items.unwrap_or_default())
        .collect())
}

pub(crate) fn partition_key(item: &Item) -> &str {
    match item.get(keys::PK) {
        Some(AttributeValue::S(pk)) => pk,
        _ => "",
    }
}

pub(crate) fn sort_key(item: &Item) -> &str {
    match item.get(keys::SK) {
        Some(AttributeValue::S(sk)) => sk,
        _ => "",
    }
}

/// Builds `SET #n0 = :v0, …` with placeholder names, so any attribute name
/// (including reserved words) is safe. Returns the clauses; names and values
/// are added to the maps.
pub(crate) fn set_clauses(
    prefix: &str,
    path_prefix: &str,
    values: Item,
    names: &mut HashMap<String, String>,
    expression_values: &mut Item,
) -> Vec<String> {
    let mut clauses = Vec::with_capacity(values.len());
    for (index, (name, value)) in values.into_iter().enumerate() {
        let name_key = format!("#{prefix}{index}");
        let value_key = format!(":{prefix}{index}");
        clauses.push(format!("{path_prefix}{name_key} = {value_key}"));
        names.insert(name_key, name);
        expression_values.insert(value_key, value);
    }
    clauses
}
