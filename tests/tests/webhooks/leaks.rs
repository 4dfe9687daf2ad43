//! Secrets never leak from the webhook flows: with every log line of the
//! deliveries (good, replayed, forged) and the deletions captured at TRACE
//! level, the table, the logs and every answer hold no secret.

use adsconnect_tests::leaks::{DOOMED, Secrets, Transcript, USER, assert_none_leaked, now};

use super::*;

#[tokio::test]
async fn no_secret_appears_in_the_table_the_logs_or_any_answer() {
    let (logs, stack, proxy) = adsconnect_tests::leaks::stack().await;
    let t = Transcript::new(&stack);

    // Clerk's webhooks: create, update, sign in and out, a replay, a forged
    // signature.
    let created = user_event("user.created", &clerk_user(USER, "s@example.com", 1_000));
    assert_eq!(t.event(&created).await.status, 200);
    let updated = user_event("user.updated", &clerk_user(USER, "s2@example.com", 2_000));
    let replayed = {
        let body = updated.to_string().into_bytes();
        let request = signed_webhook(&body, "msg_2replayed", now());
        t.send(&stack.webhook, request.clone(), None).await;
        t.send(&stack.webhook, request, None).await
    };
    assert_eq!(replayed.body["outcome"], "duplicate");
    t.event(&session_event(
        "session.created",
        USER,
        "sess_2secrets",
        1_800_000_000_000,
    ))
    .await;
    t.event(&session_event(
        "session.ended",
        USER,
        "sess_2secrets",
        1_800_000_000_000,
    ))
    .await;
    let mut forged_delivery = signed_webhook(created.to_string().as_bytes(), "msg_2forged", now());
    forged_delivery
        .headers
        .retain(|(name, _)| name != "svix-signature");
    let forged_delivery = forged_delivery.header("svix-signature", "v1,bm90IGEgc2lnbmF0dXJl");
    assert_eq!(
        t.send(&stack.webhook, forged_delivery, None).await.status,
        401
    );
    t.event(&user_event(
        "user.created",
        &clerk_user(DOOMED, "d@example.com", 1_000),
    ))
    .await;
    // A connection with tokens, for the deletion to shred.
    stack
        .seed_connection(USER, "fine", chrono::Duration::minutes(1))
        .await;
    t.dump().await;

    // Deleting users.
    t.event(&deleted_event(DOOMED)).await;
    t.dump().await;
    t.event(&deleted_event(USER)).await;
    t.dump().await;

    // What must appear nowhere.
    let mut secrets = Secrets::new(&t.jwt);
    secrets.amazon(&stack, 2);
    secrets.data_keys(&proxy, 1);
    assert_none_leaked(&secrets, &[], &logs.text(), &t);
}
