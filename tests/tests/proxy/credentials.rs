//! The credentials function: a token valid for at least five minutes with
//! everything a backend needs to call the Ads API for the account, and
//! typed errors. Every payload is proven by a session of a listed role
//! (`callers` has the refusals).

use std::time::SystemTime;

use adsconnect::aws_identity::sts::Sts;
use adsconnect::entrypoints::credentials::{CredentialsServices, vend};
use adsconnect_dev::backend_proof::{GET_CALLER_IDENTITY, assume_role, sign_proof};

use super::*;

/// The role `CREDENTIALS_CALLERS` lists (a path, which its sessions' ARNs drop).
pub const LISTED: &str = "arn:aws:iam::111122223333:role/services/reporting";

/// `stack`'s credentials function, serving sessions of [`LISTED`], its STS moto's.
pub fn function(stack: &Stack) -> CredentialsServices {
    stack.startup.credentials(
        stack.access(),
        vec![LISTED.parse().unwrap()],
        Sts::new(&moto_endpoint()).unwrap(),
    )
}

/// The proof of a fresh session of `role`, bound to `binding`, for `body`, signed at `at`.
pub async fn proof(role: &str, binding: &str, body: &str, at: SystemTime) -> Value {
    let session = assume_role(&moto_endpoint(), role).await.unwrap();
    sign_proof(session, &moto_endpoint(), binding, body, at).unwrap()
}

/// A payload for `owner`'s `account`, proven by a session of [`LISTED`].
pub async fn payload(owner: &str, account: &str) -> Value {
    let proof = proof(
        LISTED,
        &format!("{owner}/{account}"),
        GET_CALLER_IDENTITY,
        SystemTime::now(),
    )
    .await;
    json!({"owner_id": owner, "account_id": account, "proof": proof})
}

#[tokio::test]
async fn a_backend_gets_what_a_call_for_the_account_needs() {
    let (stack, accounts) = connected_stack().await;
    let de = accounts.of_profile("5101");
    let function = function(&stack);
    let granted = vend(&function, payload(USER, de).await)
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
    // What the login may do with it (`roles` has a Viewer's).
    assert!(
        matches!(
            as_json["role"].as_str(),
            Some("admin" | "editor" | "viewer" | "unknown")
        ),
        "{as_json}"
    );
    assert!(as_json.get("refresh_token").is_none());
    assert!(!as_json.to_string().contains("Atzr|"), "no refresh token");
}

#[tokio::test]
async fn a_personal_owner_may_still_be_named_user_id() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let mut payload = payload(USER, us).await;
    let proof = payload["proof"].take();
    let granted = vend(
        &function(&stack),
        json!({"user_id": USER, "account_id": us, "proof": proof}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(granted.profile_id.as_deref(), Some("5001"));
}

#[tokio::test]
async fn failures_are_typed() {
    let (stack, accounts) = connected_stack().await;
    stack.create_user(OTHER, "b@example.com").await;
    let us = accounts.of_profile("5001");
    let function = function(&stack);
    let code = |payload: Value| {
        let function = &function;
        async move { vend(function, payload).await.err().map(|e| e.code) }
    };
    assert_eq!(code(payload(OTHER, us).await).await, Some("not_found"));
    // The user's account is not an organization's.
    assert_eq!(
        code(payload("org_2agency", us).await).await,
        Some("not_found")
    );
    let proof = payload(USER, us).await["proof"].clone();
    for payload in [
        json!({"user_id": USER}),
        json!({"user_id": USER, "account_id": us}),
        json!({"user_id": USER, "account_id": us, "proof": proof, "scope": "5002"}),
        json!({"user_id": "not a user", "account_id": us, "proof": proof}),
        json!({"owner_id": "team_1", "account_id": us, "proof": proof}),
        json!({"owner_id": USER, "user_id": USER, "account_id": us, "proof": proof}),
        json!({"user_id": USER, "account_id": us, "proof": "signed"}),
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
    let failure = vend(&function, payload(USER, us).await)
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
    let function = function(&stack);
    let granted = vend(&function, payload(USER, accounts.of_profile("5001")).await)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(granted.expires_at > chrono::Utc::now() + chrono::Duration::minutes(30));
    assert_eq!(stack.amazon.refresh_requests().len(), 1);
}

#[tokio::test]
async fn an_organizations_account_is_served_for_the_organization_only() {
    let stack = Stack::new().await;
    stack.create_user(USER, "a@example.com").await;
    stack
        .amazon
        .add_login("agency", na_login("agency", &[(7001, "Agency US")]));
    let (_, accounts) = stack
        .connected(&format!("{USER}@org_2agency:admin"), "agency")
        .await;
    let account = &accounts[0];
    let function = function(&stack);
    let granted = vend(&function, payload("org_2agency", account).await)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(granted.profile_id.as_deref(), Some("7001"));
    // Not the admin's own account, nor another organization's.
    for owner in [USER, "org_2other"] {
        let refused = vend(&function, payload(owner, account).await).await;
        assert_eq!(refused.err().map(|e| e.code), Some("not_found"), "{owner}");
    }
}
