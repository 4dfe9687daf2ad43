//! Scheduled and on-demand refreshes, and what they make of a connection.

use std::time::Instant;

use adsconnect::refresh::Outcome;

use super::*;

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
    assert!(!has_index_entry(&record), "out of the schedule");
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
        adsconnect::store::events::EventKind::NeedsReauth
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
    assert!(!record.auto_refresh && !has_index_entry(&record));
    let refresher = stack.refresher(RefreshConfig::default());
    assert_eq!(refresher.run(Utc::now(), far()).await.unwrap().due, 0);
    // Refreshed on demand instead, and it stays off the schedule.
    assert_eq!(
        refresher.refresh_now(&connection).await.unwrap(),
        Outcome::Refreshed
    );
    assert!(!has_index_entry(&stack.connection(&connection).await));
    let on = Request::new("POST", "/api/v1/settings/reset");
    assert_eq!(stack.send(&stack.users, &on, Some(USER)).await.status, 200);
    let record = stack.connection(&connection).await;
    assert!(record.auto_refresh && has_index_entry(&record));
}
