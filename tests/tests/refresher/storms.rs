//! Runs at once over many due connections.

use super::*;

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
