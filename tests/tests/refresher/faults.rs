//! LWA refusing, throttling, failing or answering garbage, and AWS failing
//! at every call of a refresh: never mistaken for a revocation, never
//! without tokens, retried later.

use adsconnect::model::connection::ConnectionRecord;
use adsconnect::store::connections::REFRESH_SHARDS;
use adsconnect_tests::proxy::Fault;
use serde_json::Value;

use adsconnect::amazon::lwa::LwaError;
use adsconnect::secrets::Secret;
use adsconnect_dev::provision;

use super::*;

#[tokio::test]
async fn a_refused_client_stops_the_run_and_leaves_connections_untouched() {
    let stack = stack_with_user().await;
    let mut seeded = Vec::new();
    for login in 0..5 {
        seeded.push(
            stack
                .seed_connection(USER, &format!("seller{login}"), Duration::minutes(1))
                .await,
        );
    }
    let before: Vec<_> =
        futures::future::join_all(seeded.iter().map(|c| stack.connection(c))).await;
    stack.amazon.script(
        Endpoint::Token,
        vec![ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        )],
    );
    let config = RefreshConfig {
        concurrency: 1,
        ..RefreshConfig::default()
    };
    let summary = stack
        .refresher(config)
        .run(Utc::now(), far())
        .await
        .unwrap();
    assert!(summary.circuit_open);
    assert_eq!(summary.refreshed, 0);
    assert_eq!(
        stack.amazon.calls(Endpoint::Token),
        1,
        "LWA is not hammered"
    );
    for (connection, old) in seeded.iter().zip(before) {
        let now = stack.connection(connection).await;
        assert_eq!(now.status, ConnectionStatus::Active);
        assert_eq!(now.failure_count, 0);
        assert_eq!(now.tokens, old.tokens);
        assert_eq!(now.refresh_due_at, old.refresh_due_at);
    }
}

#[tokio::test]
async fn throttling_backs_off_as_told_and_server_errors_back_off_then_succeed() {
    let stack = stack_with_user().await;
    let throttled = stack
        .seed_connection(USER, "throttled", Duration::minutes(1))
        .await;
    let refresher = stack.refresher(RefreshConfig {
        concurrency: 1,
        ..RefreshConfig::default()
    });
    let now = Utc::now();
    stack.amazon.script(
        Endpoint::Token,
        vec![ResponseTemplate::new(429).insert_header("retry-after", "600")],
    );
    let summary = refresher.run(now, far()).await.unwrap();
    assert_eq!(summary.transient_failures, 1);
    let record = stack.connection(&throttled).await;
    assert_eq!(record.failure_count, 1);
    assert_eq!(record.last_error_code.as_deref(), Some("lwa_unavailable"));
    // Stored in milliseconds: compare at that precision.
    assert!(
        record.next_retry_at.unwrap() >= now + Duration::seconds(599),
        "Retry-After honoured: {record:?}"
    );
    assert_eq!(record.status, ConnectionStatus::Active);
    assert!(has_index_entry(&stack, &record).await, "still retried");
    assert_eq!(
        stack.amazon.calls(Endpoint::Token),
        1,
        "a long Retry-After is not waited for in-run"
    );
    // Not before its retry time…
    assert_eq!(
        refresher
            .run(now + Duration::seconds(60), far())
            .await
            .unwrap()
            .due,
        0
    );
    // …then refreshed, and the failure count resets.
    let later = refresher
        .run(now + Duration::minutes(11), far())
        .await
        .unwrap();
    assert_eq!(later.refreshed, 1);
    let record = stack.connection(&throttled).await;
    assert_eq!((record.failure_count, record.refresh_count), (0, 1));
    assert!(record.last_error_code.is_none());

    // 5xx: retried in-run, then backed off; after five failed runs the
    // status is `error`, still scheduled; a success restores it.
    let flaky = stack
        .seed_connection(USER, "flaky", Duration::minutes(1))
        .await;
    let mut at = Utc::now();
    for run in 1..=5 {
        stack.amazon.script(
            Endpoint::Token,
            vec![
                ResponseTemplate::new(500),
                ResponseTemplate::new(502),
                ResponseTemplate::new(503),
            ],
        );
        let summary = refresher.run(at, far()).await.unwrap();
        assert_eq!(summary.transient_failures, 1, "run {run}");
        let record = stack.connection(&flaky).await;
        assert_eq!(record.failure_count, run);
        at = record.next_retry_at.unwrap() + Duration::seconds(1);
    }
    let record = stack.connection(&flaky).await;
    assert_eq!(record.status, ConnectionStatus::Error);
    assert!(has_index_entry(&stack, &record).await);
    let full = stack.get("/api/v1/users/me/full", USER).await.body;
    let view = full["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == flaky.connection_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(view["health"], "error");
    assert!(
        view["warnings"]
            .as_array()
            .unwrap()
            .contains(&json!("refresh_failing"))
    );
    assert_eq!(refresher.run(at, far()).await.unwrap().refreshed, 1);
    assert_eq!(
        stack.connection(&flaky).await.status,
        ConnectionStatus::Active
    );
}

/// The token pair a connection's sealed tokens hold, opened by a process
/// of its own (no cached keys).
async fn tokens_of(stack: &Stack, record: &ConnectionRecord) -> Option<Value> {
    let cipher = stack.cipher();
    let sealed = record.tokens.as_ref()?;
    let context =
        adsconnect::connections::tokens::token_context(&record.owner, &record.connection_id);
    let plaintext = cipher.open(sealed, &context).await.unwrap();
    Some(serde_json::from_slice(&plaintext).unwrap())
}

#[tokio::test]
async fn a_refresh_failing_at_any_aws_call_loses_nothing_and_is_retried_later() {
    let (stack, proxy) = proxied_stack().await;
    stack.create_user(USER, "f@example.com").await;
    // The run's index Queries go out at once: failing any of them is
    // failing the first.
    let shards = usize::from(REFRESH_SHARDS);
    for failing_at in std::iter::once(0).chain(shards..) {
        assert!(failing_at < 40, "the refresh never completed");
        let due = stack
            .seed_connection(
                USER,
                &format!("refresh{failing_at}"),
                chrono::Duration::minutes(1),
            )
            .await;
        let before = stack.connection(&due).await;
        let refresh_token = tokens_of(&stack, &before).await.unwrap()["refresh_token"].clone();
        proxy.take_calls();
        proxy.fail_after("", failing_at, Fault::ServerError);
        let run = stack
            .refresher(RefreshConfig::default())
            .run(chrono::Utc::now(), far())
            .await;
        proxy.heal();
        let calls = proxy.take_calls();
        let what = format!("failing from call {failing_at} of {calls:?}: {run:?}");
        let after = stack.connection(&due).await;
        // Never mistaken for a revocation, never without tokens.
        assert_eq!(after.status, ConnectionStatus::Active, "{what}");
        let tokens = tokens_of(&stack, &after).await.expect(&what);
        assert_eq!(tokens["refresh_token"], refresh_token, "{what}");
        if after.refresh_count == 1 {
            assert_eq!(run.unwrap().refreshed, 1, "{what}");
            assert!(after.lease_owner.is_none(), "{what}");
            assert!(failing_at >= 20, "{what}: a fault went unnoticed");
            break;
        }
        // Unchanged, or still leased by the failed run: either way the next
        // run once the lease has expired refreshes it.
        let mut unchanged = before.clone();
        unchanged.version = after.version;
        unchanged.lease_owner = after.lease_owner.clone();
        unchanged.lease_until = after.lease_until;
        assert_eq!(after, unchanged, "{what}");
        if after.lease_until.is_some() {
            let key = (
                format!("USER#{USER}"),
                format!("CONN#{}", due.connection_id),
            );
            stack.set_number(&key.0, &key.1, "lease_until", 0).await;
        }
        let next = stack
            .refresher(RefreshConfig::default())
            .run(chrono::Utc::now(), far())
            .await
            .unwrap();
        assert_eq!(next.refreshed, 1, "{what}: {next:?}");
        assert_eq!(stack.connection(&due).await.refresh_count, 1, "{what}");
    }
}

#[tokio::test]
async fn lwa_garbage_or_failure_in_a_refresh_is_retried_later_never_a_revocation() {
    let stack = Stack::new().await;
    stack.create_user(USER, "f@example.com").await;
    for (case, answers, _, _, calls, code) in token_endpoint_faults() {
        let due = stack
            .seed_connection(USER, case, chrono::Duration::minutes(1))
            .await;
        let before = stack.connection(&due).await;
        let calls_before = stack.amazon.calls(Endpoint::Token);
        stack.amazon.script(Endpoint::Token, answers);
        let summary = stack
            .refresher(RefreshConfig::default())
            .run(chrono::Utc::now(), far())
            .await
            .unwrap();
        assert_eq!(
            (summary.transient_failures, summary.needs_reauth),
            (1, 0),
            "{case}"
        );
        assert_eq!(
            stack.amazon.calls(Endpoint::Token) - calls_before,
            calls,
            "{case}"
        );
        let after = stack.connection(&due).await;
        assert_eq!(after.status, ConnectionStatus::Active, "{case}");
        assert_eq!(after.tokens, before.tokens, "{case}: tokens kept");
        assert_eq!(after.last_error_code.as_deref(), Some(code), "{case}");
        assert_eq!(after.failure_count, 1, "{case}");
        assert!(
            after.refresh_due_at > before.refresh_due_at,
            "{case}: retried later"
        );
        assert!(after.lease_owner.is_none(), "{case}");
    }
}

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
            assert!(
                has_index_entry(&stack, &now).await,
                "{kind}: still scheduled: {now:?}"
            );
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
                &token_context(&seeded.owner, &seeded.connection_id),
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
