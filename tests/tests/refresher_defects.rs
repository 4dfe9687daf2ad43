//! Regression tests for refresher defects (each fails on the code it was
//! written against): leases timed from the start of the run (a), the due
//! list worked shard by shard instead of soonest first (b), tokens destroyed
//! when the key cannot open them (c), a granted refresh thrown away when the
//! write after it fails (f), and a huge `Retry-After` (g).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use adsconnect::amazon::lwa::LwaError;
use adsconnect::connections::connection_id_for;
use adsconnect::connections::refresh::{RefreshConfig, Refresher};
use adsconnect::connections::tokens::token_context;
use adsconnect::ids::UserId;
use adsconnect::model::connection::{ConnectionRecord, ConnectionStatus, DueConnection};
use adsconnect::secrets::Secret;
use adsconnect::store::connections::refresh_shard;
use adsconnect::tokens::{Sealed, TokenCipher};
use adsconnect_dev::amazon_stub::Endpoint;
use adsconnect_dev::provision;
use adsconnect_tests::proxy::{Fault, MotoProxy};
use adsconnect_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use wiremock::ResponseTemplate;

const USER: &str = "user_2defects";

fn far() -> Instant {
    Instant::now() + StdDuration::from_secs(600)
}

fn one_at_a_time() -> RefreshConfig {
    RefreshConfig {
        concurrency: 1,
        ..RefreshConfig::default()
    }
}

/// A stack whose AWS calls cross a fault-injecting proxy; the SDK retries
/// as in production (3 attempts), with short back-offs.
async fn proxied_stack() -> (Stack, MotoProxy) {
    let proxy = MotoProxy::start(&moto_endpoint()).await;
    let sdk = adsconnect::startup::with_timeouts(provision::emulator_config(&proxy.endpoint))
        .into_builder()
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_initial_backoff(StdDuration::from_millis(10)),
        )
        .build();
    (Stack::with_sdk(sdk).await, proxy)
}

/// The stack's refresher, but sealing and opening with KMS key `key_id`.
fn refresher_with_key(stack: &Stack, config: RefreshConfig, key_id: &str) -> Refresher {
    let mut refresher = stack.refresher(config);
    refresher.cipher = Arc::new(TokenCipher::new(stack.kms.clone(), key_id.to_owned()));
    refresher
}

fn scheduled(record: &ConnectionRecord) -> bool {
    record.refresh_due_at.is_some()
}

/// Re-seals a seeded connection's tokens under a data key of its own (the
/// seeded ones all share the callback process's data key).
async fn reseal_with_own_data_key(stack: &Stack, due: &DueConnection) {
    let record = stack.connection(due).await;
    let context = token_context(&record.user_id, &record.connection_id);
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
        .key("pk", AttributeValue::S(format!("USER#{}", due.user_id)))
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
    let user = UserId::parse(USER).unwrap();
    let mut picked: Vec<(String, String)> = Vec::new();
    for i in 0.. {
        let login = format!("{prefix}-{i}");
        let shard = refresh_shard(&connection_id_for(&user, &format!("lwa:{login}")));
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

// (a) ---------------------------------------------------------------------

/// A lease must run from the moment of the claim: a run that started
/// longer than `lease` ago still holds what it just claimed, so a second,
/// overlapping run never refreshes the same connection again.
#[tokio::test]
async fn a_claim_made_late_in_a_run_is_still_leased_for_an_overlapping_run() {
    let stack = Stack::new().await;
    let mut seeded = Vec::new();
    for i in 0..8 {
        seeded.push(
            stack
                .seed_connection(USER, &format!("lease-{i}"), Duration::minutes(5))
                .await,
        );
    }
    stack.amazon.set_token_delay(StdDuration::from_secs(1));
    let config = RefreshConfig {
        lease: Duration::seconds(3),
        concurrency: 1,
        ..RefreshConfig::default()
    };
    let (first, second) = (stack.refresher(config.clone()), stack.refresher(config));
    let late = async {
        tokio::time::sleep(StdDuration::from_millis(4500)).await;
        second.run(Utc::now(), far()).await
    };
    let (one, two) = tokio::join!(first.run(Utc::now(), far()), late);
    let (one, two) = (one.unwrap(), two.unwrap());
    let requests = stack.amazon.refresh_requests();
    let mut per_login: BTreeMap<&str, usize> = BTreeMap::new();
    for login in &requests {
        *per_login.entry(login).or_default() += 1;
    }
    let twice: Vec<_> = per_login.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty() && requests.len() == seeded.len(),
        "each connection refreshed once: LWA got {} refresh requests for {} connections, \
         these more than once: {twice:?} (runs: {one:?} / {two:?})",
        requests.len(),
        seeded.len(),
    );
    assert_eq!(
        one.refreshed + two.refreshed,
        seeded.len(),
        "{one:?} {two:?}"
    );
    for due in &seeded {
        let record = stack.connection(due).await;
        assert_eq!(record.refresh_count, 1, "{record:?}");
        assert!(record.lease_owner.is_none(), "{record:?}");
    }
}

// (b) ---------------------------------------------------------------------

/// The soonest-due connection is refreshed first, whatever index shard it
/// is on: here due times run opposite to shard order.
#[tokio::test]
async fn due_connections_are_refreshed_soonest_due_first_across_shards() {
    let stack = Stack::new().await;
    let picked = logins_on_increasing_shards("due", 6);
    // The lowest shard is due last, the highest first.
    for (rank, (_, login)) in picked.iter().enumerate() {
        stack
            .seed_connection(USER, login, Duration::minutes(6 - rank as i64))
            .await;
    }
    let soonest_first: Vec<String> = picked.iter().rev().map(|(_, l)| l.clone()).collect();
    let summary = stack
        .refresher(one_at_a_time())
        .run(Utc::now(), far())
        .await
        .unwrap();
    assert_eq!(summary.refreshed, 6, "{summary:?}");
    assert_eq!(
        stack.amazon.refresh_requests(),
        soonest_first,
        "LWA must see the refreshes soonest due first (login, shard: {picked:?}, \
         the highest shard due first)"
    );
}

// (c) ---------------------------------------------------------------------

/// A refresher whose KMS key cannot open the tokens (it was configured with
/// another key; KMS answers IncorrectKeyException, or InvalidCiphertext)
/// is an operator problem: no connection is marked `needs_reauth`, no
/// token is destroyed, LWA is not asked, the run says `key_unusable`; once
/// the key is right the same connections refresh normally.
///
/// moto answers a Decrypt whose KeyId is not the ciphertext's with
/// AccessDeniedException, where AWS answers IncorrectKeyException: the
/// proxy answers as AWS does.
#[tokio::test]
async fn a_key_that_cannot_open_the_tokens_destroys_nothing() {
    for kind in ["IncorrectKeyException", "InvalidCiphertextException"] {
        let (stack, proxy) = proxied_stack().await;
        let mut seeded = Vec::new();
        for i in 0..4 {
            seeded.push(
                stack
                    .seed_connection(USER, &format!("keyed-{i}"), Duration::minutes(1 + i))
                    .await,
            );
        }
        let before: Vec<ConnectionRecord> =
            futures::future::join_all(seeded.iter().map(|c| stack.connection(c))).await;
        let other_key =
            provision::ensure_kms_key(&stack.kms, &format!("alias/{}-other", stack.table))
                .await
                .unwrap();
        let wrong = refresher_with_key(&stack, one_at_a_time(), &other_key);
        proxy.fail_after("TrentService.Decrypt", 0, Fault::Error(400, kind));
        let summary = wrong.run(Utc::now(), far()).await.unwrap();
        proxy.heal();
        for (due, old) in seeded.iter().zip(&before) {
            let now = stack.connection(due).await;
            assert_eq!(
                now.status,
                ConnectionStatus::Active,
                "{kind}: a key problem is not the user's: {now:?} ({summary:?})"
            );
            assert_eq!(now.tokens, old.tokens, "{kind}: sealed tokens kept");
            assert!(scheduled(&now), "{kind}: still scheduled: {now:?}");
            assert_eq!(now.refresh_count, 0, "{kind}");
        }
        assert_eq!(
            stack.amazon.calls(Endpoint::Token),
            0,
            "{kind}: LWA not asked"
        );
        assert!(
            summary.key_unusable,
            "{kind}: the run reports key_unusable: {summary:?}"
        );
        // The right key: the same connections refresh.
        let right = stack
            .refresher(one_at_a_time())
            .run(Utc::now(), far())
            .await
            .unwrap();
        assert_eq!(right.refreshed, 4, "{kind}: {right:?}");
        for due in &seeded {
            let record = stack.connection(due).await;
            assert_eq!(
                (record.status, record.refresh_count),
                (ConnectionStatus::Active, 1),
                "{kind}"
            );
        }
    }
}

/// The first key failure stops the run touching tokens: a connection after
/// it whose data key is already cached (so it could be opened) is not
/// refreshed either, and the connection that failed keeps its tokens.
#[tokio::test]
async fn the_first_key_failure_stops_the_run_touching_tokens() {
    let (stack, proxy) = proxied_stack().await;
    // Due (and, so that the order does not depend on defect b, shard) order
    // A, B, C. A and C share the callback's data key; B has its own.
    let picked = logins_on_increasing_shards("stop", 3);
    let mut seeded = Vec::new();
    for (rank, (_, login)) in picked.iter().enumerate() {
        seeded.push(
            stack
                .seed_connection(USER, login, Duration::minutes(1 + rank as i64))
                .await,
        );
    }
    reseal_with_own_data_key(&stack, &seeded[1]).await;
    let before: Vec<ConnectionRecord> =
        futures::future::join_all(seeded.iter().map(|c| stack.connection(c))).await;
    // A's data key unwraps; B's does not (IncorrectKeyException); C's is A's.
    proxy.fail_after(
        "TrentService.Decrypt",
        1,
        Fault::Error(400, "IncorrectKeyException"),
    );
    let summary = stack
        .refresher(one_at_a_time())
        .run(Utc::now(), far())
        .await
        .unwrap();
    proxy.heal();
    let after: Vec<ConnectionRecord> =
        futures::future::join_all(seeded.iter().map(|c| stack.connection(c))).await;
    assert_eq!(
        (after[1].status, &after[1].tokens),
        (ConnectionStatus::Active, &before[1].tokens),
        "B, whose key failed, keeps its tokens: {:?} ({summary:?})",
        after[1]
    );
    assert_eq!(
        after[0].refresh_count, 1,
        "A, before the failure, refreshed"
    );
    assert_eq!(
        stack.amazon.refresh_requests(),
        vec![picked[0].1.clone()],
        "no refresh request after the key failure ({summary:?})"
    );
    assert_eq!(
        (after[2].status, after[2].refresh_count, &after[2].tokens),
        (ConnectionStatus::Active, 0, &before[2].tokens),
        "C untouched"
    );
    assert!(summary.key_unusable, "{summary:?}");
    let next = stack
        .refresher(one_at_a_time())
        .run(Utc::now(), far())
        .await
        .unwrap();
    assert_eq!(next.refreshed, 2, "B and C, the key working: {next:?}");
}

// (f) ---------------------------------------------------------------------

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

/// LWA granted the refresh, then the conditional write of the refreshed
/// connection failed (every SDK attempt of it: DynamoDB had a bad moment):
/// the run writes it again while it holds the lease.
#[tokio::test]
async fn a_granted_refresh_whose_write_fails_once_is_written_again() {
    let (stack, proxy) = proxied_stack().await;
    let due = stack
        .seed_connection(USER, "written", Duration::minutes(1))
        .await;
    proxy.take_calls();
    proxy.fail_after(PUT_ITEM, 0, Fault::ServerError);
    let healer = heal_after(&proxy, PUT_ITEM, SDK_ATTEMPTS);
    let summary = stack
        .refresher(RefreshConfig::default())
        .run(Utc::now(), far())
        .await
        .unwrap();
    healer.abort();
    proxy.heal();
    let record = stack.connection(&due).await;
    assert_eq!(
        record.refresh_count, 1,
        "the refresh LWA granted was stored: {record:?} ({summary:?})"
    );
    assert!(record.access_expires_at > Utc::now() + Duration::minutes(55));
    assert!(record.lease_owner.is_none(), "lease released");
    assert_eq!(summary.refreshed, 1, "{summary:?}");
    assert_eq!(stack.amazon.calls(Endpoint::Token), 1, "LWA asked once");
}

/// Same, with LWA rotating the refresh token: the retried write stores the
/// new one, so the next refresh still works (the stub refuses the old one).
#[tokio::test]
async fn a_rotated_refresh_token_survives_a_failed_write() {
    let (stack, proxy) = proxied_stack().await;
    stack.amazon.rotate_refresh_tokens(true);
    let due = stack
        .seed_connection(USER, "rotating", Duration::minutes(1))
        .await;
    let seeded = stack.connection(&due).await;
    let old_pair: serde_json::Value = serde_json::from_slice(
        &stack
            .amazon_callback
            .cipher
            .open(
                seeded.tokens.as_ref().unwrap(),
                &token_context(&seeded.user_id, &seeded.connection_id),
            )
            .await
            .unwrap(),
    )
    .unwrap();
    proxy.take_calls();
    proxy.fail_after(PUT_ITEM, 0, Fault::ServerError);
    let healer = heal_after(&proxy, PUT_ITEM, SDK_ATTEMPTS);
    let first = stack
        .refresher(RefreshConfig::default())
        .run(Utc::now(), far())
        .await
        .unwrap();
    healer.abort();
    proxy.heal();
    // Two hours on, the hour-long access token is due again.
    let next = stack
        .refresher(RefreshConfig::default())
        .run(Utc::now() + Duration::hours(2), far())
        .await
        .unwrap();
    let record = stack.connection(&due).await;
    assert_eq!(
        record.status,
        ConnectionStatus::Active,
        "the next refresh must use the rotated token; LWA saw refreshes for {:?} \
         ('?' = a retired token): {record:?} (runs: {first:?} / {next:?})",
        stack.amazon.refresh_requests()
    );
    assert_eq!(record.refresh_count, 2, "{record:?}");
    assert_eq!(next.refreshed, 1, "{next:?}");
    assert!(
        stack.amazon.refresh_requests().iter().all(|l| l != "?"),
        "{:?}",
        stack.amazon.refresh_requests()
    );
    // The stub did rotate: the seeded refresh token is refused.
    let old = Secret::new(old_pair["refresh_token"].as_str().unwrap().to_owned());
    let refused = stack
        .refresher(RefreshConfig::default())
        .lwa
        .refresh(&old)
        .await;
    assert!(
        matches!(refused, Err(LwaError::InvalidGrant)),
        "{refused:?}"
    );
}

// (g) ---------------------------------------------------------------------

/// A `Retry-After` from LWA, however large, neither panics the run nor
/// schedules the retry more than an hour away.
#[tokio::test]
async fn a_huge_retry_after_neither_panics_nor_postpones_past_an_hour() {
    let mut failures = Vec::new();
    // u64::MAX seconds; ~285 million years (fits a chrono Duration, not a
    // date); 10 days.
    for value in ["18446744073709551615", "9000000000000000", "864000"] {
        let stack = Stack::new().await;
        let due = stack
            .seed_connection(USER, "throttled", Duration::minutes(1))
            .await;
        stack.amazon.script(
            Endpoint::Token,
            vec![ResponseTemplate::new(503).insert_header("retry-after", value)],
        );
        let refresher = stack.refresher(one_at_a_time());
        let run = std::panic::AssertUnwindSafe(refresher.run(Utc::now(), far()));
        let summary = match futures::FutureExt::catch_unwind(run).await {
            Ok(summary) => summary.unwrap(),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
                failures.push(format!(
                    "Retry-After {value}: the run panicked: {message:?}"
                ));
                continue;
            }
        };
        let cap = Utc::now() + Duration::hours(1) + Duration::seconds(5);
        let record = stack.connection(&due).await;
        if summary.transient_failures != 1 {
            failures.push(format!(
                "Retry-After {value}: not a transient failure: {summary:?}"
            ));
        }
        match record.next_retry_at {
            Some(at) if at <= cap => {}
            other => failures.push(format!(
                "Retry-After {value}: next retry at {other:?}, later than {cap}"
            )),
        }
        if record.status != ConnectionStatus::Active || record.tokens.is_none() {
            failures.push(format!("Retry-After {value}: {record:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
