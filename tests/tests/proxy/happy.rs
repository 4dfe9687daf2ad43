//! A proxied call reaches the account's region with the account's
//! credentials, carries what the caller sent and nothing else of theirs,
//! and brings Amazon's answer back.

use super::*;

#[tokio::test]
async fn a_call_reaches_the_accounts_region_with_its_credentials_only() {
    let (stack, accounts) = connected_stack().await;
    let de = accounts.of_profile("5101");
    let request = Request::new(
        "POST",
        &format!("/api/v1/accounts/{de}/ads/sp/campaigns/list?includeExtendedDataFields=true"),
    )
    .header("content-type", CAMPAIGNS_MEDIA_TYPE)
    .header("accept", CAMPAIGNS_MEDIA_TYPE)
    .header("authorization", "Bearer the-callers-clerk-session")
    .header("cookie", "__session=the-callers-cookie")
    .header("connection", "keep-alive")
    .header("x-forwarded-for", "203.0.113.9")
    // An owned header repeated with the account's own value is fine.
    .header("amazon-advertising-api-scope", "5101")
    .body(br#"{"stateFilter":{"include":["ENABLED"]}}"#.to_vec());
    let answer = stack.proxy(&request, USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["campaigns"][0]["campaignId"], "510101");
    assert_eq!(answer.headers["content-type"], CAMPAIGNS_MEDIA_TYPE);
    assert!(answer.headers.contains_key("x-amzn-requestid"));
    assert_eq!(answer.headers["cache-control"], "no-store");

    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.path, "/eu/sp/campaigns/list", "the EU host");
    assert_eq!(
        call.query.as_deref(),
        Some("includeExtendedDataFields=true")
    );
    assert_eq!(call.body, br#"{"stateFilter":{"include":["ENABLED"]}}"#);
    assert_eq!(call.header("amazon-advertising-api-scope"), Some("5101"));
    assert_eq!(
        call.header("amazon-advertising-api-clientid"),
        Some(adsconnect_dev::amazon_stub::CLIENT_ID)
    );
    assert!(
        call.header("authorization")
            .unwrap()
            .starts_with("Bearer Atza|")
    );
    assert_eq!(call.header("content-type"), Some(CAMPAIGNS_MEDIA_TYPE));
    assert_eq!(call.header("accept"), Some(CAMPAIGNS_MEDIA_TYPE));
    assert_eq!(call.header("cookie"), None);
    assert_eq!(call.header("connection"), None);
    assert_eq!(call.header("x-forwarded-for"), None);
    assert_eq!(
        call.headers
            .iter()
            .filter(|(n, _)| n == "amazon-advertising-api-scope")
            .count(),
        1
    );
}

#[tokio::test]
async fn other_methods_and_media_types_pass_through() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let report = Request::new(
        "POST",
        &format!("/api/v1/accounts/{us}/ads/reporting/reports"),
    )
    .header("content-type", REPORT_MEDIA_TYPE)
    .body(br#"{"name":"daily","configuration":{"adProduct":"SPONSORED_PRODUCTS"}}"#.to_vec());
    let answer = stack.proxy(&report, USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "PENDING");
    assert_eq!(answer.headers["content-type"], REPORT_MEDIA_TYPE);
    // Amazon's own refusal (a wrong media type) comes back as it is.
    let wrong = Request::new(
        "POST",
        &format!("/api/v1/accounts/{us}/ads/sp/campaigns/list"),
    )
    .json(&json!({}));
    let refused = stack.proxy(&wrong, USER).await;
    assert_eq!(refused.status, 415);
    assert_eq!(refused.body["code"], "UNSUPPORTED_MEDIA_TYPE");
    // A path Amazon does not have: its 404, not ours.
    let missing = stack
        .proxy(
            &Request::new("GET", &format!("/api/v1/accounts/{us}/ads/v9/nothing")),
            USER,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_ne!(missing.error_code(), "ACCOUNT_NOT_FOUND");
}

/// A warm proxy reads the table once per call (account and connection in
/// one BatchGetItem) and asks KMS nothing: the data key is cached.
#[tokio::test]
async fn a_warm_call_costs_one_dynamodb_read_one_quota_write_and_no_kms_call() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    // The quota is counted while the account is read (side by side).
    let sorted = |mut calls: Vec<String>| {
        calls.sort();
        calls
    };
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
    assert_eq!(
        sorted(stack.calls.take()),
        ["GetItem", "GetItem", "UpdateItem"],
        "cold: account, then connection; the quota (one conditional write)"
    );
    assert_eq!(stack.kms_calls.take(), ["Decrypt"]);
    for _ in 0..5 {
        assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
        assert_eq!(sorted(stack.calls.take()), ["BatchGetItem", "UpdateItem"]);
        assert!(stack.kms_calls.take().is_empty());
    }
    // The other NA profile is another account of the same connection.
    let ca = accounts.of_profile("5002");
    let answer = stack.proxy(&campaigns_list(ca), USER).await;
    assert_eq!(answer.body["campaigns"][0]["campaignId"], "500201");
    assert!(stack.kms_calls.take().is_empty());
}
