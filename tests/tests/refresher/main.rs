//! Refresher: `token-refresher` against moto and the LWA stand-in:
//! exactly-once refreshes, failure classification, deadlines and health.
//!
//! - `happy`: revocations, deadlines, consent expiry, deletion during a
//!   refresh, on-demand refreshes, auto-refresh off, soonest due first;
//! - `storms`: overlapping runs over 200 due connections, and a run still
//!   holding what it claimed long after it started;
//! - `faults`: LWA refusing the client, throttling and failing, answering
//!   garbage, a huge `Retry-After`; AWS failing at every call of a refresh,
//!   a granted refresh whose write fails; a token key KMS refuses;
//! - `leaks`: no secret of these flows in the table, the logs or any answer.

mod faults;
mod happy;
mod leaks;
mod storms;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use adsconnect::connections::connection_id_for;
use adsconnect::connections::refresh::{RefreshConfig, Refresher};
use adsconnect::connections::tokens::token_context;
use adsconnect::ids::OwnerId;
use adsconnect::model::connection::{AmazonIdentity, ConnectionStatus, DueConnection};
use adsconnect::model::sealed::Sealed;
use adsconnect::store::connections::refresh_shard;
use adsconnect::tokens::TokenCipher;
use adsconnect_dev::amazon_stub::{Endpoint, Login};
use adsconnect_tests::proxy::MotoProxy;
use adsconnect_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use serde_json::json;
use wiremock::ResponseTemplate;

const USER: &str = "user_2refresher";

/// A stack where `USER` has signed up, with a `seller` login at Amazon.
async fn stack_with_user() -> Stack {
    let stack = Stack::with_user(USER, "r@example.com").await;
    stack.amazon.add_login("seller", Login::default());
    stack
}

/// Whether the connection's item is in the sparse `refresh-due` index
/// (both of its keys present).
async fn has_index_entry(
    stack: &Stack,
    record: &adsconnect::model::connection::ConnectionRecord,
) -> bool {
    let item = stack
        .item(
            &format!("USER#{}", record.owner),
            &format!("CONN#{}", record.connection_id),
        )
        .await
        .unwrap();
    item.contains_key("refresh_shard") && item.contains_key("refresh_due_at")
}

fn one_at_a_time() -> RefreshConfig {
    RefreshConfig {
        concurrency: 1,
        ..RefreshConfig::default()
    }
}

/// The stack's refresher, but sealing and opening with KMS key `key_id`.
fn refresher_with_key(stack: &Stack, config: RefreshConfig, key_id: &str) -> Refresher {
    let mut refresher = stack.refresher(config);
    refresher.cipher = Arc::new(TokenCipher::new(stack.kms.clone(), key_id.to_owned()));
    refresher
}

/// Re-seals a seeded connection's tokens under a data key of its own (the
/// seeded ones all share the callback process's data key).
async fn reseal_with_own_data_key(stack: &Stack, due: &DueConnection) {
    let record = stack.connection(due).await;
    let context = token_context(&record.owner, &record.connection_id);
    let plaintext = stack
        .amazon_callback
        .cipher
        .open(record.tokens.as_ref().unwrap(), &context)
        .await
        .unwrap();
    let own = TokenCipher::new(stack.kms.clone(), stack.kms_key_id.clone());
    let sealed: Sealed = own.seal(&plaintext, &context).await.unwrap();
    stack
        .dynamo
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(format!("USER#{}", due.owner)))
        .key(
            "sk",
            AttributeValue::S(format!("CONN#{}", due.connection_id)),
        )
        .update_expression("SET #t = :t")
        .expression_attribute_names("#t", "tokens")
        .expression_attribute_values(":t", serde_dynamo::to_attribute_value(&sealed).unwrap())
        .send()
        .await
        .unwrap();
    stack.calls.take();
}

/// Logins of `USER` whose connections land on strictly increasing
/// `refresh-due` shards, `count` of them.
fn logins_on_increasing_shards(prefix: &str, count: usize) -> Vec<(String, String)> {
    let user = OwnerId::parse(USER).unwrap();
    let mut picked: Vec<(String, String)> = Vec::new();
    for i in 0.. {
        let login = format!("{prefix}-{i}");
        let shard = refresh_shard(&connection_id_for(&user, &AmazonIdentity::lwa(&login)));
        if !picked.iter().any(|(s, _)| *s == shard) {
            picked.push((shard, login));
        }
        if picked.len() == count {
            break;
        }
    }
    picked.sort();
    picked
}

/// Heals `proxy` once `count` calls to `target` have been failed.
fn heal_after(
    proxy: &MotoProxy,
    target: &'static str,
    count: usize,
) -> tokio::task::JoinHandle<()> {
    let proxy = proxy.clone();
    tokio::spawn(async move {
        let mut seen = 0;
        for _ in 0..10_000 {
            seen += proxy.take_calls().iter().filter(|t| *t == target).count();
            if seen >= count {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(2)).await;
        }
        proxy.heal();
    })
}

const PUT_ITEM: &str = "DynamoDB_20120810.PutItem";
/// The SDK's attempts per call (standard retry mode).
const SDK_ATTEMPTS: usize = 3;
