//! AWS failing at every call of a user's deletion: tokens are shredded
//! first, and Svix's retry of the unacknowledged delivery finishes it.

use adsconnect_tests::proxy::Fault;
use aws_sdk_dynamodb::types::AttributeValue;

use super::*;

/// `count` account items written straight into `user`'s partition.
async fn seed_accounts(stack: &Stack, user: &str, count: usize) {
    let items = (0..count)
        .map(|i| {
            [
                ("pk", format!("USER#{user}")),
                ("sk", format!("ACCT#acct_{i:024x}")),
                ("entity", "account".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
            .collect()
        })
        .collect();
    batch_put(stack, items).await;
}

#[tokio::test]
async fn a_user_deletion_failing_part_way_shreds_tokens_first_and_the_svix_retry_finishes_it() {
    let (stack, proxy) = proxied_stack().await;
    // More items than one transaction holds: the deletion takes two.
    let before = kinds(&[("PROFILE", 1), ("CONN", 1), ("ACCT", 98), ("EVENT", 1)]);
    for failing_at in 0.. {
        assert!(failing_at < 10, "the deletion never completed");
        let user = format!("user_2gone{failing_at}");
        stack.create_user(&user, "f@example.com").await;
        let connection = stack
            .seed_connection(
                &user,
                &format!("gone{failing_at}"),
                chrono::Duration::hours(1),
            )
            .await;
        seed_accounts(&stack, &user, 98).await;
        stack
            .store
            .events()
            .put(&adsconnect::model::event::AuditEvent::new(
                &stack.connection(&connection).await,
                adsconnect::model::event::EventKind::Connected,
                None,
                None,
                chrono::Utc::now(),
            ))
            .await
            .unwrap();
        stack
            .clerk_has_user(&clerk_user(&user, "f@example.com", 1_000))
            .await;
        assert_eq!(owned(&stack, &user).await, before);

        let delivery = format!("msg_gone{failing_at}");
        proxy.take_calls();
        proxy.fail_after("", failing_at, Fault::ServerError);
        let answer = stack.post_event_as(&deleted_event(&user), &delivery).await;
        proxy.heal();
        let calls = proxy.take_calls();
        let what = format!("failing from call {failing_at} of {calls:?}");
        let owned_now = owned(&stack, &user).await;
        if answer.status == 200 {
            // The audit event is left to its TTL (see users/erasure.rs).
            assert_eq!(
                owned_now,
                kinds(&[("EVENT", 1), ("TOMBSTONE", 1)]),
                "{what}"
            );
            assert!(failing_at >= 4, "{what}: a fault went unnoticed");
            break;
        }
        // Svix retries what is not acknowledged.
        assert_eq!(answer.status, 503, "{what}: {:?}", answer.body);
        assert_eq!(answer.error_code(), "DEPENDENCY_UNAVAILABLE");
        if owned_now.contains_key("TOMBSTONE") {
            // Part-way: the user is gone for good, tokens and profile first.
            assert!(!owned_now.contains_key("CONN"), "{what}: {owned_now:?}");
            assert!(!owned_now.contains_key("PROFILE"), "{what}: {owned_now:?}");
            assert_eq!(stack.get("/api/v1/users/me", &user).await.status, 404);
        } else {
            assert_eq!(owned_now, before, "{what}");
        }
        let again = stack.post_event_as(&deleted_event(&user), &delivery).await;
        assert_eq!(again.status, 200, "{what}: {:?}", again.body);
        assert_eq!(again.body["outcome"], "applied", "{what}");
        assert_eq!(
            owned(&stack, &user).await,
            kinds(&[("EVENT", 1), ("TOMBSTONE", 1)]),
            "{what}"
        );
    }
}
