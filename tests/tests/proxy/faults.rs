//! Amazon refusing the token, throttling, failing, silent or answering too
//! much; a connection that needs re-authorization.

use std::time::Duration;

use wiremock::ResponseTemplate;

use super::*;

#[tokio::test]
async fn a_401_refreshes_through_the_lease_once_and_retries_once() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let before = number(&connection_item(&stack, USER).await, "refresh_count");
    // Amazon stops taking the access token (revoked early, or expired).
    stack.amazon.expire_access_tokens();
    let answer = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        stack.amazon.ads_calls().len(),
        2,
        "the refused call and its retry"
    );
    assert_eq!(stack.amazon.refresh_requests().len(), 1);
    let item = connection_item(&stack, USER).await;
    assert_eq!(number(&item, "refresh_count"), before + 1);
    assert!(!item.contains_key("lease_owner") || attr_s(&item, "lease_owner").is_none());

    // Refused again within the minute, the token not expired: the refusal
    // is not about the token. Amazon's 401 is the answer, LWA not asked.
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![ResponseTemplate::new(401).set_body_json(json!({"code": "UNAUTHORIZED"}))],
    );
    let answer = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body["code"], "UNAUTHORIZED");
    assert_eq!(stack.amazon.ads_calls().len(), 3);
    assert_eq!(stack.amazon.refresh_requests().len(), 1);
}

#[tokio::test]
async fn a_caller_that_will_not_wait_gets_amazons_429_and_a_failed_post_is_not_repeated() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(json!({"code": "THROTTLED"})),
            ResponseTemplate::new(503).insert_header("retry-after", "2"),
        ],
    );
    let impatient = campaigns_list(us).header("adsconnect-wait", "never");
    let throttled = stack.proxy(&impatient, USER).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.headers["retry-after"], "7");
    assert_eq!(throttled.headers["adsconnect-throttled-by"], "amazon");
    assert_eq!(throttled.body["code"], "THROTTLED");
    // `sp/campaigns/list` is a POST: Amazon may have done it, so a 5xx is
    // handed back, never sent again. (Its unit is throttled: the failing
    // call is another account's, in another region.)
    let de = accounts.of_profile("5101");
    let failed = stack.proxy(&campaigns_list(de), USER).await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.headers["retry-after"], "2");
    assert_eq!(
        stack.amazon.ads_calls().len(),
        2,
        "never repeated by the proxy"
    );
}

#[tokio::test]
async fn a_connection_needing_reauthorization_is_a_409_naming_it() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let connection = attr_s(&connection_item(&stack, USER).await, "connection_id")
        .unwrap()
        .to_owned();
    // The grant is revoked at Amazon; the token expires and the refresh finds out.
    stack.amazon.revoke("seller");
    stack.amazon.expire_access_tokens();
    let answer = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(answer.status, 409, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "NEEDS_REAUTH");
    assert_eq!(answer.body["error"]["connection_id"], connection.as_str());
    let calls = stack.amazon.ads_calls().len();
    // From now on Amazon is not even asked.
    let again = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(again.status, 409);
    assert_eq!(stack.amazon.ads_calls().len(), calls);
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_the_call() {
    let (stack, accounts) = connected_stack().await;
    let soon = connection_time_in(&stack, "access_expires_at", chrono::Duration::minutes(1)).await;
    let answer = stack
        .proxy(&campaigns_list(accounts.of_profile("5001")), USER)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(stack.amazon.refresh_requests().len(), 1);
    assert_eq!(stack.amazon.ads_calls().len(), 1, "no refused call first");
    let after = connection_item(&stack, USER).await;
    assert!(number(&after, "access_expires_at") > soon + 30 * 60_000);
}

#[tokio::test]
async fn a_silent_amazon_is_a_502_inside_the_budget_and_a_huge_answer_a_clear_502() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    stack.amazon.set_latency(Duration::from_secs(8));
    let budget = Duration::from_secs(4);
    let (answer, took) = stack
        .send_within(&stack.proxy, &campaigns_list(us), Some(USER), budget)
        .await;
    assert!(took < budget, "took {took:?}");
    assert_eq!(answer.status, 502, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "ADS_UNAVAILABLE");
    assert!(answer.headers.contains_key("retry-after"));
    stack.amazon.set_latency(Duration::ZERO);

    let huge = "x".repeat(adsconnect::amazon::proxy::MAX_RESPONSE_BYTES + 1);
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![ResponseTemplate::new(200).set_body_raw(huge, CAMPAIGNS_MEDIA_TYPE)],
    );
    let answer = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.error_code(), "UPSTREAM_RESPONSE_TOO_LARGE");
}
