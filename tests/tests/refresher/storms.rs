//! Runs at once over many due connections.

use std::collections::BTreeMap;

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
