//! The authorizer passing a valid session token on, and the routes that
//! answer who the caller is.

use super::*;

#[tokio::test]
async fn a_valid_session_token_passes_user_session_and_organization_on() {
    let verifier = pem_verifier(&[APP]);
    let org = json!({"id": "org_2acme", "slg": "acme", "rol": "admin", "per": "", "fpm": ""});
    let token = with_claims(unix_now(), |c| c["o"] = org);
    let response = authorize(&verifier, &[("Authorization", &format!("Bearer {token}"))]).await;
    assert!(response.is_authorized);
    assert_eq!(
        Value::Object(response.context),
        json!({"user_id": USER, "session_id": "sess_2abc", "org_id": "org_2acme", "org_slug": "acme", "org_role": "admin"})
    );
    // The simple-response shape API Gateway expects.
    let wire = serde_json::to_value(
        authorize(&verifier, &[("Authorization", &format!("Bearer {token}"))]).await,
    )
    .unwrap();
    assert_eq!(wire["isAuthorized"], true);
}

#[tokio::test]
async fn the_session_cookie_works_when_there_is_no_header() {
    let verifier = pem_verifier(&[]);
    let token = valid(unix_now());
    let response = authorize(
        &verifier,
        &[("Cookie", &format!("theme=dark; __session={token}"))],
    )
    .await;
    assert!(response.is_authorized);
    let response = authorize(&verifier, &[]).await;
    assert!(!response.is_authorized);
    assert!(response.context.is_empty());
}

// ---------------------------------------------------------------------------
// `/users/me`, `/users/session`, just-in-time provisioning.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn me_and_me_full_cost_one_dynamodb_call_each() {
    let stack = stack_with_user().await;
    let me = stack.get("/api/v1/users/me", USER).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], USER);
    assert_eq!(stack.calls.take(), ["GetItem"]);

    let full = stack.get("/api/v1/users/me/full", USER).await;
    assert_eq!(full.status, 200, "{:?}", full.body);
    assert_eq!(full.body["user"]["email"], "ada@example.com");
    assert_eq!(full.body["settings"]["items_per_page"], 20);
    assert_eq!(full.body["accounts"], json!([]));
    assert_eq!(full.body["stats"]["total_accounts"], 0);
    assert_eq!(stack.calls.take(), ["Query"]);

    let accounts = stack.get("/api/v1/users/me/accounts", USER).await;
    assert_eq!(accounts.body, json!({"accounts": []}));
}

#[tokio::test]
async fn a_signed_in_user_unknown_here_is_fetched_from_clerk_once_and_stored() {
    let stack = Stack::new().await;
    let fresh = "user_2justSignedUp";
    stack
        .clerk_has_user(&clerk_user(fresh, "new@example.com", 5_000))
        .await;
    let me = stack.get("/api/v1/users/me", fresh).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["email"], "new@example.com");
    assert_eq!(stack.clerk.received_requests().await.unwrap().len(), 1);
    // From now on it is served from DynamoDB alone.
    stack.calls.take();
    assert_eq!(stack.get("/api/v1/users/me", fresh).await.status, 200);
    assert_eq!(stack.calls.take(), ["GetItem"]);
    assert_eq!(stack.clerk.received_requests().await.unwrap().len(), 1);
    // The late user.created webhook with the same version changes nothing.
    let late = stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(fresh, "new@example.com", 5_000),
        ))
        .await;
    assert_eq!(late.body["outcome"], "stale");
}

#[tokio::test]
async fn session_reports_the_session_and_organization_from_the_authorizer() {
    let stack = stack_with_user().await;
    let mut context = authorizer_context(USER);
    context.insert("org_id".into(), json!("org_2acme"));
    context.insert("org_role".into(), json!("org:admin"));
    let event =
        Request::new("GET", "/api/v1/users/session").http_api_event("$default", Some(&context));
    let response = tower::ServiceExt::oneshot(
        stack.users.clone(),
        adsconnect_dev::apigw::to_lambda_request(&event).unwrap(),
    )
    .await
    .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["authenticated"], true);
    assert_eq!(body["session_id"], "sess_test");
    assert_eq!(body["user"]["id"], USER);
    assert_eq!(
        body["organization"],
        json!({"id": "org_2acme", "slug": null, "role": "org:admin"})
    );
}

#[tokio::test]
async fn health_is_public_and_unknown_routes_use_the_error_envelope() {
    let stack = Stack::new().await;
    let health = stack
        .send(&stack.users, &Request::new("GET", "/api/v1/health"), None)
        .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["version"], env!("CARGO_PKG_VERSION"));
    // A new stack: the table answers, the refresher has not run yet.
    assert_eq!(health.body["checks"]["table"], "ok");
    assert_eq!(health.body["checks"]["refresher"]["status"], "not_run_yet");
    assert_eq!(health.headers["cache-control"], "no-store");
    let missing = stack
        .send(&stack.users, &Request::new("GET", "/api/v1/nope"), None)
        .await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, "ROUTE_NOT_FOUND")
    );
    let wrong_method = stack
        .send(
            &stack.users,
            &Request::new("DELETE", "/api/v1/settings"),
            Some(USER),
        )
        .await;
    assert_eq!(wrong_method.status, 405);
    let request_id = missing.body["error"]["request_id"].as_str().unwrap();
    assert_eq!(missing.headers["x-request-id"], request_id);
}
