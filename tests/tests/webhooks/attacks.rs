//! Deliveries that must not get in: bad, missing or stale signatures, a
//! secret rotated out, bodies too large or not JSON.

use std::sync::Arc;

use adsconnect::clerk::svix::SvixVerifier;
use adsconnect::entrypoints::http as api;
use adsconnect::entrypoints::http::WebhookServices;
use adsconnect::secrets::Secret;

use super::*;

#[tokio::test]
async fn bad_missing_or_stale_signatures_are_refused_and_store_nothing() {
    let stack = Stack::new().await;
    let body = user_event("user.created", &clerk_user(USER, "a@example.com", 1))
        .to_string()
        .into_bytes();
    let now = chrono::Utc::now().timestamp();

    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let forged = signed_webhook(&body, "msg_1", now);
    let forged = Request {
        body: tampered,
        ..forged
    };
    let stale = signed_webhook(&body, "msg_2", now - 400);
    let future = signed_webhook(&body, "msg_3", now + 400);
    let unsigned = Request::new("POST", "/webhooks/clerk").raw_json(body.clone());
    let mut wrong_secret = signed_webhook(&body, "msg_4", now);
    wrong_secret.headers.retain(|(n, _)| n != "svix-signature");
    let wrong_secret = wrong_secret.header(
        "svix-signature",
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
    );

    for request in [forged, stale, future, unsigned, wrong_secret] {
        let response = stack.send(&stack.webhook, &request, None).await;
        assert_eq!(response.status, 401, "{:?}", response.body);
        assert_eq!(response.error_code(), "INVALID_SIGNATURE");
        assert!(response.body["error"]["request_id"].is_string());
    }
    assert!(stack.items().await.is_empty());
}

#[tokio::test]
async fn oversized_body_is_413_and_non_json_after_a_valid_signature_is_400() {
    let stack = Stack::new().await;
    let now = chrono::Utc::now().timestamp();
    let huge = vec![b'a'; 1024 * 1024 + 1];
    let response = stack
        .send(&stack.webhook, &signed_webhook(&huge, "msg_big", now), None)
        .await;
    assert_eq!(response.status, 413);
    assert_eq!(response.error_code(), "PAYLOAD_TOO_LARGE");

    let response = stack
        .send(
            &stack.webhook,
            &signed_webhook(b"not json", "msg_text", now),
            None,
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.error_code(), "INVALID_PAYLOAD");

    let bad_user = json!({"type": "user.created", "data": {"id": "mch_123"}});
    let response = stack.post_event(&bad_user).await;
    assert_eq!(response.status, 400);
    assert!(stack.items().await.is_empty());
}

// ---------------------------------------------------------------------------
// Secret rotation.
// ---------------------------------------------------------------------------

/// Secrets before and after a rotation (`whsec_` + base64).
const OLD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const NEW_SECRET: &str = "whsec_YWRzY29ubmVjdC1yb3RhdGlvbi1uZXcta2V5IQ==";

/// A request signed with `secrets` now.
fn signed_with(secrets: &[&str], body: &[u8], id: &str) -> Request {
    signed_webhook_with(secrets, body, id, chrono::Utc::now().timestamp())
}

/// `request` with header `name` set to `value` instead.
fn replace_header(mut request: Request, name: &str, value: &str) -> Request {
    for (n, v) in &mut request.headers {
        if n == name {
            *v = value.to_owned();
        }
    }
    request
}

#[tokio::test]
async fn a_secret_rotated_out_no_longer_signs_anything() {
    let stack = Stack::new().await;
    let receiver = |secrets: &str| {
        api::webhook_router(WebhookServices {
            store: stack.store.clone(),
            verifier: Arc::new(SvixVerifier::new(&Secret::new(secrets)).unwrap()),
        })
    };
    let user = "user_2rotation";
    let created = user_event(
        "user.created",
        &clerk_user(user, "first@example.com", 1_000),
    )
    .to_string()
    .into_bytes();

    // While both secrets are configured, either one signs.
    let rotating = receiver(&format!("{NEW_SECRET} {OLD_SECRET}"));
    let reply = stack
        .send(
            &rotating,
            &signed_with(&[OLD_SECRET], &created, "msg_rot_1"),
            None,
        )
        .await;
    assert_eq!((reply.status, outcome(&reply).as_str()), (200, "applied"));

    // Once the old one is removed, nothing it signs gets in: not an update,
    // not a deletion, not next to a bogus entry.
    let rotated = receiver(NEW_SECRET);
    let update = user_event(
        "user.updated",
        &clerk_user(user, "second@example.com", 2_000),
    )
    .to_string()
    .into_bytes();
    let deletion = deleted_event(user).to_string().into_bytes();
    let old_signed = signed_with(&[OLD_SECRET], &update, "msg_rot_3");
    let old_signature = old_signed
        .headers
        .iter()
        .find(|(n, _)| n == "svix-signature")
        .unwrap()
        .1
        .clone();
    let new_signed_other_id = signed_with(&[NEW_SECRET], &update, "msg_rot_4");
    let refused = [
        (
            "update signed with the old secret",
            signed_with(&[OLD_SECRET], &update, "msg_rot_2"),
        ),
        (
            "deletion signed with the old secret",
            signed_with(&[OLD_SECRET], &deletion, "msg_rot_2"),
        ),
        (
            "old signature after a bogus entry",
            replace_header(
                old_signed,
                "svix-signature",
                &format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {old_signature}"),
            ),
        ),
        (
            // A replay under a fresh id would dodge de-duplication.
            "new secret's signature moved to another delivery id",
            replace_header(new_signed_other_id, "svix-id", "msg_rot_5"),
        ),
    ];
    let before = stack.snapshot().await;
    for (name, request) in &refused {
        let reply = stack.send(&rotated, request, None).await;
        assert_eq!(reply.status, 401, "{name}: {:?}", reply.body);
        assert_eq!(reply.error_code(), "INVALID_SIGNATURE", "{name}");
        assert_eq!(stack.snapshot().await, before, "{name}: nothing stored");
    }
    let me = stack.get("/api/v1/users/me", user).await;
    assert_eq!(me.body["email"], "first@example.com");

    // The same receiver takes the new secret, alone or next to the old one.
    for (name, secrets, id) in [
        ("new secret", &[NEW_SECRET][..], "msg_rot_6"),
        ("old and new", &[OLD_SECRET, NEW_SECRET][..], "msg_rot_7"),
    ] {
        let reply = stack
            .send(&rotated, &signed_with(secrets, &update, id), None)
            .await;
        assert_eq!(reply.status, 200, "{name}: {:?}", reply.body);
    }
    let me = stack.get("/api/v1/users/me", user).await;
    assert_eq!(me.body["email"], "second@example.com");
}
