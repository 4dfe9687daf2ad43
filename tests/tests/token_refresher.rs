//! `token-refresher`: exactly-once refreshes, failure classification,
//! deadlines and health, against moto and the LWA stand-in.

use std::time::{Duration as StdDuration, Instant};

use adsconnect::connections::refresh::{Outcome, RefreshConfig};
use adsconnect::model::connection::ConnectionStatus;
use adsconnect_dev::amazon_stub::{Endpoint, Login};
use adsconnect_tests::*;
use chrono::{Duration, Utc};
use serde_json::json;
use wiremock::ResponseTemplate;

const USER: &str = "user_2refresher";

fn far() -> Instant {
    Instant::now() + StdDuration::from_secs(600)
}

async fn stack_with_user() -> Stack {
    let stack = Stack::new().await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(USER, "r@example.com", 1_000),
        ))
        .await;
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
            &format!("USER#{}", record.user_id),
            &format!("CONN#{}", record.connection_id),
        )
        .await
        .unwrap();
    item.contains_key("refresh_shard") && item.contains_key("refresh_due_at")
}

#[tokio::test]
async fn one_refresh_costs_the_index_queries_a_claim_two_puts_and_two_kms_calls() {
    let stack = stack_with_user().await;
    let due = stack
        .seed_connection(USER, "seller", Duration::minutes(5))
        .await;
    let refresher = stack.refresher(RefreshConfig::default());
    let summary = refresher.run(Utc::now(), far()).await.unwrap();
    assert_eq!(summary.refreshed, 1, "{summary:?}");
    let mut expected = vec!["Query"; 16];
    expected.extend(["UpdateItem", "PutItem", "PutItem"]);
    assert_eq!(stack.calls.take(), expected, "shards, claim, write, event");
    // A process of its own: the seal's data key and the sealed pair's key.
    let mut kms = stack.kms_calls.take();
    kms.sort();
    assert_eq!(kms, ["Decrypt", "GenerateDataKey"]);
    assert_eq!(stack.connection(&due).await.refresh_count, 1);
}

#[tokio::test]
async fn overlapping_runs_refresh_each_due_connection_exactly_once() {
    let stack = stack_with_user().await;
    let mut due = Vec::new();
    for user in 0..4 {
        let user_id = format!("user_2owner{user}");
        for login in 0..50 {
            due.push(
                stack
                    .seed_connection(
                        &user_id,
                        &format!("login-{user}-{login}"),
                        Duration::minutes(5),
                    )
                    .await,
            );
        }
    }
    let later = stack
        .seed_connection(USER, "later", Duration::hours(2))
        .await;
    stack.amazon.set_token_delay(StdDuration::from_millis(20));
    let (a, b) = (
        stack.refresher(RefreshConfig::default()),
        stack.refresher(RefreshConfig::default()),
    );
    stack.kms_calls.take();
    let (first, second) = tokio::join!(a.run(Utc::now(), far()), b.run(Utc::now(), far()));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        first.refreshed + second.refreshed,
        200,
        "{first:?} {second:?}"
    );
    assert_eq!(
        stack.amazon.calls(Endpoint::Token),
        200,
        "LWA asked once per connection"
    );
    for connection in &due {
        let record = stack.connection(connection).await;
        assert_eq!(record.refresh_count, 1);
        assert_eq!(record.status, ConnectionStatus::Active);
        assert!(record.access_expires_at > Utc::now() + Duration::minutes(55));
        assert!(record.lease_owner.is_none());
    }
    assert_eq!(
        stack.connection(&later).await.refresh_count,
        0,
        "not due yet"
    );
    // Per run: one Decrypt (the callback's data key) and one data key for
    // re-sealing, however many connections it refreshed.
    let mut kms = stack.kms_calls.take();
    kms.sort();
    assert_eq!(
        kms,
        ["Decrypt", "Decrypt", "GenerateDataKey", "GenerateDataKey"]
    );
    // A run right after finds nothing due.
    let again = a.run(Utc::now(), far()).await.unwrap();
    assert_eq!((again.due, again.refreshed), (0, 0));
}

#[tokio::test]
async fn invalid_grant_needs_reauth_at_once_and_destroys_the_tokens() {
    logs::capture();
    let stack = stack_with_user().await;
    let connection = stack
        .seed_connection(USER, "seller", Duration::minutes(1))
        .await;
    stack.amazon.revoke("seller");
    let summary = stack
        .refresher(RefreshConfig::default())
        .run(Utc::now(), far())
        .await
        .unwrap();
    assert_eq!(summary.needs_reauth, 1);
    let record = stack.connection(&connection).await;
    assert_eq!(record.status, ConnectionStatus::NeedsReauth);
    assert_eq!(record.last_error_code.as_deref(), Some("invalid_grant"));
    assert!(record.tokens.is_none(), "dead tokens destroyed");
    assert!(
        !has_index_entry(&stack, &record).await,
        "out of the schedule"
    );
    // Never retried.
    let calls = stack.amazon.calls(Endpoint::Token);
    stack
        .refresher(RefreshConfig::default())
        .run(Utc::now() + Duration::hours(3), far())
        .await
        .unwrap();
    assert_eq!(stack.amazon.calls(Endpoint::Token), calls);
    let full = stack.get("/api/v1/users/me/full", USER).await.body;
    assert_eq!(full["connections"][0]["health"], "needs_reauth");
    let (events, _) = stack
        .store
        .events_page(&connection.user_id, &connection.connection_id, 10, None)
        .await
        .unwrap();
    assert_eq!(
        events[0].kind,
        adsconnect::model::event::EventKind::NeedsReauth
    );
    assert_eq!(events[0].detail.as_deref(), Some("invalid_grant"));
    // No token in the table or the logs.
    let dump = format!("{:?}", stack.items().await);
    let logs = logs::text();
    for secret in stack.amazon.seen_secrets() {
        assert!(
            !dump.contains(&secret) && !logs.contains(&secret),
            "leaked {secret}"
        );
    }
}

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

#[tokio::test]
async fn near_the_deadline_the_run_stops_claiming_and_leaves_no_lease_behind() {
    let stack = stack_with_user().await;
    let mut seeded = Vec::new();
    for login in 0..10 {
        seeded.push(
            stack
                .seed_connection(USER, &format!("slow{login}"), Duration::minutes(1))
                .await,
        );
    }
    stack.amazon.set_token_delay(StdDuration::from_millis(300));
    let config = RefreshConfig {
        concurrency: 1,
        deadline_margin: StdDuration::from_millis(500),
        ..RefreshConfig::default()
    };
    let refresher = stack.refresher(config);
    let summary = refresher
        .run(Utc::now(), Instant::now() + StdDuration::from_millis(1500))
        .await
        .unwrap();
    assert!(summary.stopped_at_deadline);
    assert!(
        summary.refreshed >= 1 && summary.refreshed < 10,
        "{summary:?}"
    );
    for connection in &seeded {
        assert!(
            stack.connection(connection).await.lease_owner.is_none(),
            "no lease left behind"
        );
    }
    let rest = refresher.run(Utc::now(), far()).await.unwrap();
    assert_eq!(summary.refreshed + rest.refreshed, 10);
    assert_eq!(stack.amazon.calls(Endpoint::Token), 10);
}

#[tokio::test]
async fn expired_consent_needs_reauth_without_asking_amazon() {
    let stack = stack_with_user().await;
    let connection = stack
        .seed_connection(USER, "old", Duration::minutes(1))
        .await;
    let summary = stack
        .refresher(RefreshConfig::default())
        .run(Utc::now() + Duration::days(366), far())
        .await
        .unwrap();
    assert_eq!(summary.needs_reauth, 1);
    assert_eq!(stack.amazon.calls(Endpoint::Token), 0);
    let record = stack.connection(&connection).await;
    assert_eq!(record.last_error_code.as_deref(), Some("consent_expired"));
    assert!(record.tokens.is_none());
}

#[tokio::test]
async fn consent_expiring_within_30_days_is_a_warning() {
    let stack = stack_with_user().await;
    let connection = stack
        .seed_connection(USER, "aging", Duration::minutes(50))
        .await;
    let soon = (Utc::now() + Duration::days(20)).timestamp_millis();
    stack
        .set_number(
            &format!("USER#{USER}"),
            &format!("CONN#{}", connection.connection_id),
            "consent_expires_at",
            soon,
        )
        .await;
    let full = stack.get("/api/v1/users/me/full", USER).await.body;
    assert_eq!(full["connections"][0]["health"], "warning");
    assert_eq!(
        full["connections"][0]["warnings"],
        json!(["consent_expires_soon"])
    );
}

#[tokio::test]
async fn a_connection_deleted_during_its_refresh_stays_deleted() {
    let stack = stack_with_user().await;
    let connection = stack
        .seed_connection(USER, "leaving", Duration::minutes(1))
        .await;
    stack.amazon.set_token_delay(StdDuration::from_millis(400));
    let refresher = stack.refresher(RefreshConfig::default());
    let run = refresher.run(Utc::now(), far());
    let delete = async {
        tokio::time::sleep(StdDuration::from_millis(150)).await;
        stack
            .delete(
                &format!("USER#{USER}"),
                &format!("CONN#{}", connection.connection_id),
            )
            .await;
    };
    let (summary, ()) = tokio::join!(run, delete);
    assert_eq!(summary.unwrap().skipped, 1);
    assert!(
        stack
            .store
            .get_connection(&connection.user_id, &connection.connection_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn on_demand_refresh_shares_the_lease_with_scheduled_runs() {
    let stack = stack_with_user().await;
    let connection = stack
        .seed_connection(USER, "busy", Duration::minutes(1))
        .await;
    stack.amazon.set_token_delay(StdDuration::from_millis(400));
    let scheduled = stack.refresher(RefreshConfig::default());
    let api = stack.refresher(RefreshConfig::default());
    // Asked once the run holds the lease and waits on Amazon, however slow
    // the machine is at getting there.
    let on_demand = async {
        while stack.amazon.calls(Endpoint::Token) == 0 {
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
        api.refresh_now(&connection).await.unwrap()
    };
    let (summary, outcome) = tokio::join!(scheduled.run(Utc::now(), far()), on_demand);
    assert_eq!(summary.unwrap().refreshed, 1);
    assert_eq!(outcome, Outcome::Skipped, "the run holds the lease");
    assert_eq!(stack.amazon.calls(Endpoint::Token), 1);
    // Not due, but on demand it refreshes anyway.
    assert_eq!(
        api.refresh_now(&connection).await.unwrap(),
        Outcome::Refreshed
    );
    assert_eq!(stack.connection(&connection).await.refresh_count, 2);
}

#[tokio::test]
async fn auto_refresh_off_takes_a_users_connections_off_the_schedule() {
    let stack = stack_with_user().await;
    let connection = stack
        .seed_connection(USER, "manual", Duration::minutes(1))
        .await;
    let off =
        Request::new("PATCH", "/api/v1/settings").json(&json!({"auto_refresh_tokens": false}));
    assert_eq!(stack.send(&stack.users, &off, Some(USER)).await.status, 200);
    let record = stack.connection(&connection).await;
    assert!(!record.auto_refresh && !has_index_entry(&stack, &record).await);
    let refresher = stack.refresher(RefreshConfig::default());
    assert_eq!(refresher.run(Utc::now(), far()).await.unwrap().due, 0);
    // Refreshed on demand instead, and it stays off the schedule.
    assert_eq!(
        refresher.refresh_now(&connection).await.unwrap(),
        Outcome::Refreshed
    );
    assert!(!has_index_entry(&stack, &stack.connection(&connection).await).await);
    let on = Request::new("POST", "/api/v1/settings/reset");
    assert_eq!(stack.send(&stack.users, &on, Some(USER)).await.status, 200);
    let record = stack.connection(&connection).await;
    assert!(record.auto_refresh && has_index_entry(&stack, &record).await);
}
