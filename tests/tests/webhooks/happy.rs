//! One delivery at a time: what each event does.

use super::*;

#[tokio::test]
async fn user_created_stores_the_full_profile_in_one_write() {
    let stack = Stack::new().await;
    let response = stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(USER, "ada@example.com", 1_700_000_100_000),
        ))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["outcome"], "applied");
    assert_eq!(stack.calls.take(), ["TransactWriteItems"]);

    let me = stack.get("/api/v1/users/me", USER).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "ada@example.com");
    assert_eq!(me.body["email_verified"], true);
    assert_eq!(me.body["first_name"], "Ada");
    assert_eq!(me.body["image_url"], "https://img.clerk.com/ada.png");
    assert_eq!(me.body["updated_at"], "2023-11-14T22:15:00Z");
}

#[tokio::test]
async fn older_updates_lose_to_newer_ones_whatever_the_arrival_order() {
    let stack = Stack::new().await;
    let newer = user_event("user.updated", &clerk_user(USER, "new@example.com", 2_000));
    let older = user_event("user.updated", &clerk_user(USER, "old@example.com", 1_000));
    assert_eq!(stack.post_event(&newer).await.body["outcome"], "applied");
    assert_eq!(stack.post_event(&older).await.body["outcome"], "stale");
    assert_eq!(
        stack.get("/api/v1/users/me", USER).await.body["email"],
        "new@example.com"
    );
}

#[tokio::test]
async fn user_deleted_removes_everything_and_stays_deleted() {
    let stack = Stack::new().await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(USER, "a@example.com", 1_000),
        ))
        .await;
    let patch = Request::new("PATCH", "/api/v1/settings").json(&json!({"theme": "dark"}));
    assert_eq!(
        stack.send(&stack.users, &patch, Some(USER)).await.status,
        200
    );

    let response = stack.post_event(&deleted_event(USER)).await;
    assert_eq!(response.body["outcome"], "applied");
    let items = stack.items().await;
    let user_items: Vec<_> = items
        .iter()
        .filter(|i| attr_s(i, "pk") == Some(&format!("USER#{USER}")))
        .collect();
    assert_eq!(
        user_items.len(),
        1,
        "only the tombstone is left: {user_items:?}"
    );
    assert_eq!(attr_s(user_items[0], "sk"), Some("TOMBSTONE"));

    // A late or replayed create/update cannot bring the user back…
    let late = stack
        .post_event(&user_event(
            "user.updated",
            &clerk_user(USER, "a@example.com", 9_000),
        ))
        .await;
    assert_eq!(late.body["outcome"], "user_deleted");
    // …and neither can a request with a still-valid token (no Clerk call made).
    stack
        .clerk_has_user(&clerk_user(USER, "a@example.com", 9_000))
        .await;
    let me = stack.get("/api/v1/users/me", USER).await;
    assert_eq!(me.status, 404);
    assert_eq!(me.error_code(), "USER_NOT_FOUND");
    assert_eq!(stack.get("/api/v1/users/me/full", USER).await.status, 404);
    assert!(
        stack
            .item(&format!("USER#{USER}"), "PROFILE")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn session_created_advances_last_login_and_never_moves_it_back() {
    let stack = Stack::new().await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(USER, "a@example.com", 1_000),
        ))
        .await;
    stack.calls.take();
    let later = stack
        .post_event(&session_event(
            "session.created",
            USER,
            "sess_2",
            1_800_000_000_000,
        ))
        .await;
    assert_eq!(later.body["outcome"], "applied");
    assert_eq!(stack.calls.take(), ["TransactWriteItems"]);
    let earlier = stack
        .post_event(&session_event(
            "session.created",
            USER,
            "sess_1",
            1_700_000_000_000,
        ))
        .await;
    assert_eq!(earlier.body["outcome"], "stale");
    let me = stack.get("/api/v1/users/me", USER).await;
    assert_eq!(me.body["last_login_at"], "2027-01-15T08:00:00Z");
}

#[tokio::test]
async fn session_endings_and_unknown_types_are_acknowledged() {
    let stack = Stack::new().await;
    for kind in ["session.ended", "session.removed", "session.revoked"] {
        let response = stack
            .post_event(&session_event(kind, USER, "sess_1", 1))
            .await;
        assert_eq!(response.status, 200, "{kind}");
        assert_eq!(response.body["outcome"], "acknowledged");
    }
    let other = json!({"type": "organization.created", "data": {"id": "org_1"}});
    assert_eq!(stack.post_event(&other).await.status, 200);
    assert!(stack.items().await.is_empty());
}

#[tokio::test]
async fn users_without_email_or_without_verified_email_are_stored() {
    let stack = Stack::new().await;
    let mut no_email = clerk_user("user_noEmail", "x@example.com", 1_000);
    no_email["email_addresses"] = json!([]);
    no_email["primary_email_address_id"] = json!(null);
    let mut unverified = clerk_user("user_unverified", "u@example.com", 1_000);
    unverified["email_addresses"][0]["verification"] = json!(null);
    for user in [&no_email, &unverified] {
        assert_eq!(
            stack
                .post_event(&user_event("user.created", user))
                .await
                .status,
            200
        );
    }
    let me = stack.get("/api/v1/users/me", "user_noEmail").await;
    assert_eq!(me.body["email"], json!(null));
    let me = stack.get("/api/v1/users/me", "user_unverified").await;
    assert_eq!(me.body["email"], "u@example.com");
    assert_eq!(me.body["email_verified"], false);
}

#[tokio::test]
async fn standard_webhook_headers_are_accepted() {
    let stack = Stack::new().await;
    let body = user_event("user.created", &clerk_user(USER, "a@example.com", 1))
        .to_string()
        .into_bytes();
    let mut request = signed_webhook(&body, "msg_std", chrono::Utc::now().timestamp());
    for (name, _) in &mut request.headers {
        if let Some(rest) = name.strip_prefix("svix-") {
            *name = format!("webhook-{rest}");
        }
    }
    assert_eq!(stack.send(&stack.webhook, &request, None).await.status, 200);
}
