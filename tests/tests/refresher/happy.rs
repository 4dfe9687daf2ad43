//! Scheduled and on-demand refreshes, and what they make of a connection.

use std::time::Instant;

use adsconnect::connections::refresh::Outcome;

use super::*;

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
        .events()
        .page(&connection.owner, &connection.connection_id, 10, None)
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
    // Amazon's answer is what takes the time, on any machine: the table's
    // calls are a small part of the 3.5 s left before the margin, so at least
    // one refresh fits and not all ten do.
    stack.amazon.set_token_delay(StdDuration::from_secs(1));
    let config = RefreshConfig {
        concurrency: 1,
        deadline_margin: StdDuration::from_millis(1500),
        ..RefreshConfig::default()
    };
    let refresher = stack.refresher(config);
    let summary = refresher
        .run(Utc::now(), Instant::now() + StdDuration::from_secs(5))
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
    stack.amazon.set_token_delay(StdDuration::ZERO);
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
            .connections()
            .get(&connection.owner, &connection.connection_id)
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

/// Every scheduled run records itself; `GET /api/v1/health` reads that
/// record with its one table read, and says `degraded` (503) once no run has
/// succeeded for three schedule intervals.
#[tokio::test]
async fn every_run_is_recorded_and_health_says_when_the_refresher_went_stale() {
    let stack = stack_with_user().await;
    stack
        .seed_connection(USER, "seller", Duration::minutes(5))
        .await;
    let deadline = (Utc::now() + Duration::minutes(5)).timestamp_millis() as u64;
    let refresher = stack.refresher(RefreshConfig::default());
    refresher.scheduled(deadline).await.unwrap();
    let health = || async {
        stack
            .send(&stack.users, &Request::new("GET", "/api/v1/health"), None)
            .await
    };
    let fresh = health().await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    let check = &fresh.body["checks"]["refresher"];
    assert_eq!(check["status"], "ok");
    assert_eq!(
        (&check["last_run"]["due"], &check["last_run"]["refreshed"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(check["last_success_at"], check["last_run_at"]);
    assert_eq!(check["schedule_interval_seconds"], 300);

    // Three intervals (15 minutes) and more without a successful run.
    let long_ago = (Utc::now() - Duration::minutes(16)).timestamp_millis();
    stack
        .set_number("SERVICE#refresher", "RUNS", "last_success_at", long_ago)
        .await;
    let stale = health().await;
    assert_eq!(stale.status, 503);
    assert_eq!(
        (
            &stale.body["status"],
            &stale.body["checks"]["table"],
            &stale.body["checks"]["refresher"]["status"]
        ),
        (&json!("degraded"), &json!("ok"), &json!("stale"))
    );
    // The next successful run makes it healthy again.
    refresher.scheduled(deadline).await.unwrap();
    assert_eq!(health().await.status, 200);
}
