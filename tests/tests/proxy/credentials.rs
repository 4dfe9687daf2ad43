//! The credentials function: a token valid for at least five minutes with
//! everything a backend needs to call the Ads API for the account, and
//! typed errors.

use adsconnect::entrypoints::credentials::vend;

use super::*;

#[tokio::test]
async fn a_backend_gets_what_a_call_for_the_account_needs() {
    let (stack, accounts) = connected_stack().await;
    let de = accounts.of_profile("5101");
    let function = stack.access();
    let granted = vend(&function, json!({"user_id": USER, "account_id": de}))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(granted.expires_at > chrono::Utc::now() + chrono::Duration::minutes(5));
    assert_eq!(granted.region, "eu");
    assert_eq!(granted.profile_id.as_deref(), Some("5101"));
    assert!(granted.api_host.ends_with("/eu"));
    assert_eq!(granted.client_id, adsconnect_dev::amazon_stub::CLIENT_ID);
    assert_eq!(
        granted.headers["Authorization"],
        format!("Bearer {}", granted.access_token)
    );
    assert_eq!(granted.headers["Amazon-Advertising-API-Scope"], "5101");
    // The answer is enough to call Amazon directly.
    let mut call = reqwest::Client::new()
        .post(format!("{}/sp/campaigns/list", granted.api_host))
        .header("content-type", CAMPAIGNS_MEDIA_TYPE)
        .body("{}");
    for (name, value) in &granted.headers {
        call = call.header(*name, value);
    }
    let answer = call.send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let as_json = serde_json::to_value(&granted).unwrap();
    assert!(as_json.get("refresh_token").is_none());
    assert!(!as_json.to_string().contains("Atzr|"), "no refresh token");
}

#[tokio::test]
async fn failures_are_typed() {
    let (stack, accounts) = connected_stack().await;
    stack.create_user(OTHER, "b@example.com").await;
    let us = accounts.of_profile("5001");
    let function = stack.access();
    let code = |payload: Value| {
        let function = &function;
        async move { vend(function, payload).await.err().map(|e| e.code) }
    };
    assert_eq!(
        code(json!({"user_id": OTHER, "account_id": us})).await,
        Some("not_found")
    );
    for payload in [
        json!({"user_id": USER}),
        json!({"user_id": USER, "account_id": us, "scope": "5002"}),
        json!({"user_id": "not a user", "account_id": us}),
        json!([USER, us]),
    ] {
        assert_eq!(
            code(payload.clone()).await,
            Some("invalid_request"),
            "{payload}"
        );
    }
    stack.amazon.revoke("seller");
    connection_time_in(&stack, "access_expires_at", chrono::Duration::minutes(1)).await;
    let failure = vend(&function, json!({"user_id": USER, "account_id": us}))
        .await
        .err()
        .unwrap();
    assert_eq!(failure.code, "needs_reauth");
    assert!(failure.message.contains("conn_"));
}

#[tokio::test]
async fn a_token_with_less_than_five_minutes_left_is_refreshed_first() {
    let (stack, accounts) = connected_stack().await;
    connection_time_in(&stack, "access_expires_at", chrono::Duration::minutes(4)).await;
    let function = stack.access();
    let granted = vend(
        &function,
        json!({"user_id": USER, "account_id": accounts.of_profile("5001")}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(granted.expires_at > chrono::Utc::now() + chrono::Duration::minutes(30));
    assert_eq!(stack.amazon.refresh_requests().len(), 1);
}
