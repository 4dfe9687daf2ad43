//! DynamoDB single-table storage: a handle per item kind (profiles,
//! connections with their refresh index, accounts, audit events, DSP seats,
//! OAuth states, report jobs and their stored days, the service's own records), each in its own module with
//! that kind's key layout, item mapping and operations; one transaction
//! helper (`tx`) through which every write spanning kinds goes; one
//! claim-slot helper (`slot`). Key design and access patterns: the data
//! model in `docs/`. Nothing outside this module sees an attribute name;
//! every owner-scoped key is built from a validated
//! [`OwnerId`](crate::ids::OwnerId) taken from the caller's verified token.

pub mod accounts;
pub mod connections;
pub mod defaults;
pub mod deliveries;
pub mod events;
pub mod oauth_states;
pub mod partition;
pub mod profiles;
pub mod proofs;
pub mod quotas;
pub mod report_days;
pub mod reports;
pub mod schedules;
pub mod seats;
pub mod service;
pub mod slot;
pub mod throttles;
pub mod tx;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type Item = HashMap<String, AttributeValue>;

/// Key and attribute names shared by every item kind.
pub(crate) mod keys {
    use crate::ids::{AccountId, ConnectionId, OwnerId, UserId};

    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    /// The table's TTL attribute (epoch seconds).
    pub const TTL: &str = "ttl";
    pub const ENTITY: &str = "entity";

    pub const PROFILE: &str = "PROFILE";
    pub const TOMBSTONE: &str = "TOMBSTONE";
    pub const ACCOUNT_PREFIX: &str = "ACCT#";
    pub const CONNECTION_PREFIX: &str = "CONN#";
    pub const USER_PREFIX: &str = "USER#";
    pub const ORG_PREFIX: &str = "ORG#";

    pub fn user(user_id: &UserId) -> String {
        format!("{USER_PREFIX}{user_id}")
    }

    /// The partition of an owner's connections and accounts: a user's own
    /// (`USER#`, beside their profile, where every item written before
    /// organizations existed already is) or an organization's (`ORG#`).
    pub fn owner(owner: &OwnerId) -> String {
        match owner {
            OwnerId::User(user_id) => user(user_id),
            OwnerId::Org(org_id) => format!("{ORG_PREFIX}{org_id}"),
        }
    }

    /// The owner whose partition key is `pk`.
    pub fn owner_of(pk: &str) -> Option<OwnerId> {
        let id = pk
            .strip_prefix(USER_PREFIX)
            .or_else(|| pk.strip_prefix(ORG_PREFIX))?;
        let owner = OwnerId::parse(id).ok()?;
        (self::owner(&owner) == pk).then_some(owner)
    }

    /// Audit events live in a partition of their own, so that reading an
    /// owner's connections and accounts never pages through them.
    pub fn events(owner: &OwnerId) -> String {
        format!("EVENTS#{owner}")
    }

    pub fn account(id: &AccountId) -> String {
        format!("{ACCOUNT_PREFIX}{id}")
    }

    pub fn connection(id: &ConnectionId) -> String {
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

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(error: aws_sdk_dynamodb::error::BuildError) -> Self {
        Self::Corrupt(error.to_string())
    }
}

/// The table, handing out one handle per item kind.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: Arc<str>,
}

/// A read of one item, as an item kind's handle builds it: its key and how
/// it maps onto a record.
pub struct Read<T> {
    key: Item,
    from_item: fn(Item) -> Result<T, StoreError>,
}

impl<T> Read<T> {
    /// Whether `item` is the one this read asks for.
    fn asks_for(&self, item: &Item) -> bool {
        [keys::PK, keys::SK]
            .iter()
            .all(|name| item.get(*name) == self.key.get(*name))
    }
}

impl Store {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn defaults(&self) -> defaults::Defaults<'_> {
        defaults::Defaults(self)
    }

    pub fn profiles(&self) -> profiles::Profiles<'_> {
        profiles::Profiles(self)
    }

    pub fn connections(&self) -> connections::Connections<'_> {
        connections::Connections(self)
    }

    pub fn throttles(&self) -> throttles::Throttles<'_> {
        throttles::Throttles(self)
    }

    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts(self)
    }

    pub fn events(&self) -> events::Events<'_> {
        events::Events(self)
    }

    pub fn seats(&self) -> seats::Seats<'_> {
        seats::Seats(self)
    }

    pub fn oauth_states(&self) -> oauth_states::OAuthStates<'_> {
        oauth_states::OAuthStates(self)
    }

    pub fn proofs(&self) -> proofs::Proofs<'_> {
        proofs::Proofs(self)
    }

    pub fn quotas(&self) -> quotas::Quotas<'_> {
        quotas::Quotas(self)
    }

    pub fn schedules(&self) -> schedules::Schedules<'_> {
        schedules::Schedules(self)
    }

    pub fn reports(&self) -> reports::Reports<'_> {
        reports::Reports(self)
    }

    pub fn report_days(&self) -> report_days::ReportDays<'_> {
        report_days::ReportDays(self)
    }

    pub fn service(&self) -> service::ServiceRecords<'_> {
        service::ServiceRecords(self)
    }

    pub fn partitions(&self) -> partition::Partitions<'_> {
        partition::Partitions(self)
    }

    /// Two items, of any kinds, in one BatchGetItem, strongly consistent;
    /// either may be missing (the caller checks they belong together).
    pub async fn get_pair<A, B>(
        &self,
        first: Read<A>,
        second: Read<B>,
    ) -> Result<(Option<A>, Option<B>), StoreError> {
        let keys = KeysAndAttributes::builder()
            .keys(first.key.clone())
            .keys(second.key.clone())
            .consistent_read(true)
            .build()?;
        let mut request = HashMap::from([(self.table().to_owned(), keys)]);
        let mut found = (None, None);
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
                if first.asks_for(&item) {
                    found.0 = Some((first.from_item)(item)?);
                } else if second.asks_for(&item) {
                    found.1 = Some((second.from_item)(item)?);
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

    /// The item at (`pk`, `sk`) as a `T`, strongly consistent.
    async fn get_typed<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }

    /// The items of a sparse, sharded due index whose due time is at or
    /// before `horizon` (epoch seconds), read from all shards at once.
    async fn due_items(&self, index: &DueIndex, horizon: i64) -> Result<Vec<Item>, StoreError> {
        let shards = futures::future::join_all((0..index.shards).map(|shard| {
            let query = self
                .client
                .query()
                .table_name(self.table())
                .index_name(index.name)
                .key_condition_expression("#shard = :shard AND #due <= :horizon")
                .expression_attribute_names("#shard", index.shard_attribute)
                .expression_attribute_names("#due", index.due_attribute)
                .expression_attribute_values(":shard", AttributeValue::S(format!("{shard:02}")))
                .expression_attribute_values(":horizon", number(horizon));
            all_items(query)
        }))
        .await;
        let mut items = Vec::new();
        for shard in shards {
            items.extend(shard?);
        }
        Ok(items)
    }

    fn key(pk: String, sk: &str) -> Item {
        HashMap::from([
            (keys::PK.to_owned(), AttributeValue::S(pk)),
            (keys::SK.to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }

    /// `value`'s fields with the item's key and entity name.
    fn item(
        value: &impl Serialize,
        pk: String,
        sk: &str,
        entity: &str,
    ) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(value)?;
        item.extend(Self::key(pk, sk));
        item.insert(keys::ENTITY.into(), AttributeValue::S(entity.into()));
        Ok(item)
    }

    /// The items of partition `pk` (whose sort key starts with `prefix`),
    /// over as many pages as it takes; `consistent` for read-after-write.
    async fn query_partition(
        &self,
        pk: String,
        prefix: Option<&str>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(self.table())
            .consistent_read(consistent)
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

    /// One page of partition `pk`'s items under `prefix`, newest (highest
    /// sort key) first, from after the sort key `after`; and the sort key to
    /// continue after, when there is more.
    async fn newest_first<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        prefix: String,
        limit: i32,
        after: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(self.table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix))
            .scan_index_forward(false)
            .limit(limit);
        if let Some(after) = after {
            query = query.set_exclusive_start_key(Some(Self::key(pk, after)));
        }
        let output = query.send().await?;
        let next = output
            .last_evaluated_key()
            .and_then(|key| key.get(keys::SK))
            .and_then(|sk| sk.as_s().ok())
            .cloned();
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .collect::<Result<_, StoreError>>()?;
        Ok((items, next))
    }
}

/// A sparse GSI of items with a due time, spread over `shards` partitions
/// (`"00"`, `"01"`, …) so neither its reads nor its writes pile onto one.
struct DueIndex {
    name: &'static str,
    shards: u8,
    shard_attribute: &'static str,
    due_attribute: &'static str,
}

/// Every item a query returns, over as many pages as it takes.
async fn all_items(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
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

fn string_attribute<'a>(item: &'a Item, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value,
        _ => "",
    }
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn millis(at: chrono::DateTime<chrono::Utc>) -> AttributeValue {
    number(at.timestamp_millis())
}

/// Whether a single-item write was refused by its condition.
fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(error, SdkError::ServiceError(e) if e.err().code() == Some("ConditionalCheckFailedException"))
}
