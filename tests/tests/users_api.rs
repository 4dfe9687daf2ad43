//! `users`: profile, session and settings routes, scoped to the caller.

use adsconnect_tests::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const USER: &str = "user_2usersApi";

async fn stack_with_user() -> Stack {
    let stack = Stack::new().await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(USER, "ada@example.com", 1_000),
        ))
        .await;
    stack.calls.take();
    stack
}

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
async fn without_authorizer_context_every_user_route_is_401() {
    let stack = stack_with_user().await;
    for (verb, route) in [
        ("GET", "/api/v1/users/me"),
        ("GET", "/api/v1/users/me/full"),
        ("GET", "/api/v1/users/me/accounts"),
        ("GET", "/api/v1/users/session"),
        ("GET", "/api/v1/settings"),
        ("PATCH", "/api/v1/settings"),
        ("POST", "/api/v1/settings/reset"),
        ("GET", "/api/v1/settings/defaults"),
    ] {
        let request = Request::new(verb, route).json(&json!({}));
        let response = stack.send(&stack.users, &request, None).await;
        assert_eq!(response.status, 401, "{verb} {route}");
        assert_eq!(response.error_code(), "UNAUTHENTICATED");
    }
    // A context whose user id is not a Clerk user id is no identity either.
    let response = stack
        .send(
            &stack.users,
            &Request::new("GET", "/api/v1/users/me"),
            Some("mch_1"),
        )
        .await;
    assert_eq!(response.status, 401);
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
async fn clerk_unknown_user_is_404_and_clerk_outage_is_503_with_nothing_stored() {
    let stack = Stack::new().await;
    Mock::given(method("GET"))
        .and(path("/v1/users/user_gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&stack.clerk)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users/user_down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&stack.clerk)
        .await;
    let gone = stack.get("/api/v1/users/me", "user_gone").await;
    assert_eq!((gone.status, gone.error_code()), (404, "USER_NOT_FOUND"));
    let down = stack.get("/api/v1/users/me", "user_down").await;
    assert_eq!(
        (down.status, down.error_code()),
        (503, "DEPENDENCY_UNAVAILABLE")
    );
    assert!(down.headers.contains_key("retry-after"));
    // Retried (GET is safe to repeat), then given up.
    let attempts = stack.clerk.received_requests().await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .filter(|r| r.url.path() == "/v1/users/user_down")
            .count(),
        3
    );
    assert!(stack.items().await.is_empty());
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
async fn settings_default_then_patch_then_reset() {
    let stack = stack_with_user().await;
    let defaults = stack.get("/api/v1/settings/defaults", USER).await.body;
    assert_eq!(stack.get("/api/v1/settings", USER).await.body, defaults);
    assert_eq!(defaults["timezone"], "UTC");
    stack.calls.take();

    let patch = Request::new("PATCH", "/api/v1/settings")
        .json(&json!({"theme": "dark", "items_per_page": 50, "timezone": "Europe/Berlin", "refresh_interval_hours": 24}));
    let patched = stack.send(&stack.users, &patch, Some(USER)).await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(patched.body["theme"], "dark");
    assert_eq!(patched.body["items_per_page"], 50);
    assert_eq!(
        patched.body["date_format"], "MM/DD/YYYY",
        "untouched fields keep their defaults"
    );
    assert_eq!(stack.calls.take(), ["UpdateItem"]);
    assert_eq!(stack.get("/api/v1/settings", USER).await.body, patched.body);

    let reset = stack
        .send(
            &stack.users,
            &Request::new("POST", "/api/v1/settings/reset"),
            Some(USER),
        )
        .await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.body, defaults);
    assert_eq!(stack.get("/api/v1/settings", USER).await.body, defaults);
}

#[tokio::test]
async fn invalid_settings_patches_are_400_naming_the_field_and_change_nothing() {
    let stack = stack_with_user().await;
    let before = stack.item(&format!("USER#{USER}"), "PROFILE").await;
    for (body, field) in [
        (json!({"colour": "red"}), None),
        (json!({"theme": "dark", "extra": 1}), None),
        (
            json!({"notifications_enabled": "yes"}),
            Some("notifications_enabled"),
        ),
        (
            json!({"refresh_interval_hours": 0}),
            Some("refresh_interval_hours"),
        ),
        (
            json!({"refresh_interval_hours": 25}),
            Some("refresh_interval_hours"),
        ),
        (json!({"items_per_page": 101}), Some("items_per_page")),
        (json!({"timezone": "Not/AZone"}), Some("timezone")),
        (
            json!({"dashboard_layout": "grid", "theme": "purple"}),
            Some("theme"),
        ),
        (json!({"time_format": null}), Some("time_format")),
        (json!([1, 2]), None),
    ] {
        let response = stack
            .send(
                &stack.users,
                &Request::new("PATCH", "/api/v1/settings").json(&body),
                Some(USER),
            )
            .await;
        assert_eq!(response.status, 400, "{body}: {:?}", response.body);
        let message = response.body["error"]["message"].as_str().unwrap();
        match field {
            Some(field) => {
                assert_eq!(response.body["error"]["field"], field, "{body}");
                assert!(message.contains(field), "{message}");
            }
            None => assert!(
                message.contains("unknown field") || message.contains("invalid type"),
                "{message}"
            ),
        }
    }
    let not_json = Request::new("PATCH", "/api/v1/settings").raw_json(b"{theme:".to_vec());
    let response = stack.send(&stack.users, &not_json, Some(USER)).await;
    assert_eq!(
        (response.status, response.error_code()),
        (400, "INVALID_JSON")
    );
    let mut wrong_type = Request::new("PATCH", "/api/v1/settings");
    wrong_type.body = br#"{"theme":"dark"}"#.to_vec();
    let wrong_type = wrong_type.header("content-type", "text/plain");
    assert_eq!(
        stack
            .send(&stack.users, &wrong_type, Some(USER))
            .await
            .status,
        415
    );
    let huge =
        Request::new("PATCH", "/api/v1/settings").json(&json!({"timezone": "x".repeat(20_000)}));
    assert_eq!(
        stack.send(&stack.users, &huge, Some(USER)).await.status,
        413
    );
    assert_eq!(stack.item(&format!("USER#{USER}"), "PROFILE").await, before);
}

#[tokio::test]
async fn default_account_must_be_one_of_the_callers_accounts() {
    let stack = stack_with_user().await;
    let patch = Request::new("PATCH", "/api/v1/settings")
        .json(&json!({"default_account_id": "acct_notmine"}));
    let response = stack.send(&stack.users, &patch, Some(USER)).await;
    assert_eq!(
        (response.status, response.error_code()),
        (422, "ACCOUNT_NOT_FOUND")
    );
    let clear =
        Request::new("PATCH", "/api/v1/settings").json(&json!({"default_account_id": null}));
    let response = stack.send(&stack.users, &clear, Some(USER)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["default_account_id"], json!(null));
}

#[tokio::test]
async fn settings_of_one_user_are_invisible_to_another() {
    let stack = stack_with_user().await;
    let other = "user_2someoneElse";
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(other, "b@example.com", 1_000),
        ))
        .await;
    let patch = Request::new("PATCH", "/api/v1/settings").json(&json!({"theme": "light"}));
    stack.send(&stack.users, &patch, Some(other)).await;
    assert_eq!(
        stack.get("/api/v1/settings", USER).await.body["theme"],
        "system"
    );
    assert_eq!(
        stack.get("/api/v1/users/me", USER).await.body["email"],
        "ada@example.com"
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
