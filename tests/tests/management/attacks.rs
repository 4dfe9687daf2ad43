//! Another user's ids, settings and accounts are out of reach; invalid
//! settings and forged or oversized cursors change nothing.

use super::*;

#[tokio::test]
async fn every_route_answers_404_for_another_users_ids_and_changes_nothing() {
    let (stack, _a, b) = two_users().await;
    let b_account = account_ids(&stack, B).await[0].clone();
    // Bob also reaches a DSP advertiser, whose seats are his.
    stack.amazon.update_login("bob", with_dsp_advertiser);
    let synced = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{b}/sync")),
            Some(B),
        )
        .await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let b_advertiser = dsp_account_ids(&stack, B).await[0].clone();
    let refreshed = stack
        .send(
            &stack.users,
            &Request::new(
                "POST",
                &format!("/api/v1/accounts/{b_advertiser}/seats/refresh"),
            ),
            Some(B),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let before = stack.snapshot().await;
    let routes = [
        ("GET", format!("/api/v1/connections/{b}")),
        ("DELETE", format!("/api/v1/connections/{b}")),
        ("POST", format!("/api/v1/connections/{b}/reauthorize")),
        ("POST", format!("/api/v1/connections/{b}/sync")),
        ("GET", format!("/api/v1/connections/{b}/events")),
        ("GET", format!("/api/v1/accounts/{b_account}")),
        ("DELETE", format!("/api/v1/accounts/{b_account}")),
        ("PUT", format!("/api/v1/accounts/{b_account}/default")),
        ("GET", format!("/api/v1/accounts/{b_advertiser}/seats")),
        (
            "POST",
            format!("/api/v1/accounts/{b_advertiser}/seats/refresh"),
        ),
        (
            "GET",
            format!("/api/v1/accounts/{b_advertiser}/seats/history"),
        ),
    ];
    for (verb, path) in &routes {
        let as_a = stack
            .send(&stack.users, &Request::new(verb, path), Some(A))
            .await;
        assert_eq!(as_a.status, 404, "{verb} {path}: {:?}", as_a.body);
        // Exactly as for an id that does not exist, or is not even well formed.
        for missing in [
            path.replace(&b, "conn_000000000000000000000000")
                .replace(&b_account, "acct_000000000000000000000000")
                .replace(&b_advertiser, "acct_000000000000000000000000"),
            path.replace(&b, "nonsense")
                .replace(&b_account, "x")
                .replace(&b_advertiser, "x"),
        ] {
            let response = stack
                .send(&stack.users, &Request::new(verb, &missing), Some(A))
                .await;
            assert_eq!(
                (response.status, response.error_code()),
                (404, as_a.error_code()),
                "{verb} {missing}"
            );
        }
    }
    assert_eq!(stack.snapshot().await, before, "nothing changed");
    let listed = stack.get("/api/v1/connections", A).await.body;
    assert!(!listed.to_string().contains(&b));
    assert!(!account_ids(&stack, A).await.contains(&b_account));
    // Bob's own requests still work.
    assert_eq!(
        stack
            .get(&format!("/api/v1/connections/{b}"), B)
            .await
            .status,
        200
    );
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

/// Cursors are checked for length and shape before they reach DynamoDB: an
/// oversized or forged one is a 400 naming `cursor` (the oversized event
/// cursor became a DynamoDB ValidationException, answered 503, before), and
/// nothing changes.
#[tokio::test]
async fn oversized_or_forged_cursors_are_a_400_never_a_dynamodb_error() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (stack, a, _b) = two_users().await;
    let before = stack.snapshot().await;
    let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
    let oversized = encode(&format!("{a}#{}", "9".repeat(2_000)));
    let cases = [
        (
            "events",
            format!("/api/v1/connections/{a}/events?cursor={oversized}"),
        ),
        (
            "events",
            format!(
                "/api/v1/connections/{a}/events?cursor={}",
                encode(&format!("{a}#not-a-time#x"))
            ),
        ),
        (
            "events",
            format!(
                "/api/v1/connections/{a}/events?cursor={}",
                encode(&format!("{a}#1796000000000#{}", "x".repeat(500)))
            ),
        ),
        ("accounts", format!("/api/v1/accounts?cursor={oversized}")),
        (
            "accounts",
            format!("/api/v1/accounts?cursor={}", encode("acct_../../x")),
        ),
        ("accounts", "/api/v1/accounts?cursor=%FF%FE".to_owned()),
    ];
    for (what, path) in &cases {
        let response = stack.get(path, A).await;
        assert_eq!(response.status, 400, "{what} {path}: {:?}", response.body);
        assert_eq!(
            response.body["error"]["field"], "cursor",
            "{what}: {:?}",
            response.body
        );
    }
    assert_eq!(stack.snapshot().await, before);
}
