//! LWA refusing, throttling, failing or answering garbage, and AWS failing
//! at every call of a refresh: never mistaken for a revocation, never
//! without tokens, retried later.

use adsconnect::store::connections::{ConnectionRecord, REFRESH_SHARDS};
use adsconnect_tests::proxy::Fault;
use serde_json::Value;

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
    assert!(has_index_entry(&record), "still retried");
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
    assert!(has_index_entry(&record));
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
    let plaintext = cipher.open(sealed, &record.token_context()).await.unwrap();
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
    for (case, answers, _, calls, code) in token_endpoint_faults() {
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
