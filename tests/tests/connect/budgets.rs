//! Time budgets: with Amazon answering just under each call's own timeout
//! on every call, the callback and the completion still answer inside
//! `oauth-callback`'s budget — connected when the flow fits, else a
//! retryable answer well before Lambda's deadline — and what is stored is
//! consistent (all of a connection or none, a retryable grant kept).

use std::time::Duration;

use adsconnect::amazon::http::REQUEST_TIMEOUT;
use adsconnect::budget::timeouts::OAUTH_CALLBACK;

use super::*;

/// Just under each Amazon call's own timeout.
const SLOW: Duration = Duration::from_millis(REQUEST_TIMEOUT.as_millis() as u64 - 300);

fn callback_request(query: &str) -> Request {
    Request::new("GET", &format!("/api/v1/amazon/callback?{query}"))
}

fn complete_request(completion: &str) -> Request {
    Request::new("POST", "/api/v1/amazon/complete").json(&json!({ "completion": completion }))
}

fn grants(items: &[Item]) -> usize {
    items
        .iter()
        .filter(|i| attr_s(i, "pk").is_some_and(|pk| pk.starts_with("GRANT#")))
        .count()
}

#[tokio::test]
async fn a_slow_amazon_on_every_call_still_connects_inside_the_callbacks_budget() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    let query = stack.consented(USER, "busy").await;
    stack.amazon.set_latency(SLOW);

    let (callback, took) = stack
        .send_within(
            &stack.callback,
            &callback_request(&query),
            None,
            OAUTH_CALLBACK,
        )
        .await;
    assert!(took < OAUTH_CALLBACK, "callback took {took:?}");
    let completion = query_of(&callback.location())["completion"].clone();

    // LWA profile and three regions at once, then two pages of accounts.
    let (done, took) = stack
        .send_within(
            &stack.callback,
            &complete_request(&completion),
            Some(USER),
            OAUTH_CALLBACK,
        )
        .await;
    assert!(took < OAUTH_CALLBACK, "completion took {took:?}");
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["connection"]["account_count"], 4);
    assert_eq!(done.body["connection"]["sync_warnings"], json!([]));
}

/// A deadline too close for the flow: each call gets only what is left,
/// the answer comes before the deadline, and nothing half-done is stored.
#[tokio::test]
async fn a_deadline_too_close_for_a_slow_amazon_gets_a_retryable_answer_in_time() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    let short = Duration::from_secs(4);

    // The callback: the exchange gets 2.5 s, Amazon takes 4.7 s.
    let query = stack.consented(USER, "busy").await;
    stack.amazon.set_latency(SLOW);
    let (callback, took) = stack
        .send_within(&stack.callback, &callback_request(&query), None, short)
        .await;
    assert!(took < short, "callback took {took:?}");
    assert_eq!(query_of(&callback.location())["reason"], "lwa_unavailable");
    assert_eq!(grants(&stack.items().await), 0);
    assert_eq!(
        stack.amazon.calls(Endpoint::Token),
        1,
        "a code is sent once"
    );

    // The completion: discovery gets 2.5 s of Amazon's 4.7.
    stack.amazon.set_latency(Duration::ZERO);
    let completion = query_of(&stack.authorize_flow(USER, "busy").await)["completion"].clone();
    stack.amazon.set_latency(SLOW);
    let before = stack.snapshot().await;
    let (done, took) = stack
        .send_within(
            &stack.callback,
            &complete_request(&completion),
            Some(USER),
            short,
        )
        .await;
    assert!(took < short, "completion took {took:?}");
    assert_eq!(done.status, 503, "{:?}", done.body);
    assert!(
        ["LWA_UNAVAILABLE", "ADS_UNAVAILABLE"].contains(&done.error_code()),
        "{:?}",
        done.body
    );
    assert!(done.headers.contains_key("retry-after"));
    assert_eq!(
        stack.snapshot().await,
        before,
        "the grant kept, nothing else"
    );

    // Amazon fast again: the same completion connects.
    stack.amazon.set_latency(Duration::ZERO);
    let again = stack.complete(USER, &completion).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(grants(&stack.items().await), 0);
}

/// `Retry-After` longer than what is left is not waited for.
#[tokio::test]
async fn a_retry_after_past_the_deadline_is_handed_back_not_waited_for() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    let completion = query_of(&stack.authorize_flow(USER, "busy").await)["completion"].clone();
    let busy = || wiremock::ResponseTemplate::new(429).insert_header("retry-after", "4");
    for region in ["na", "eu", "fe"] {
        stack
            .amazon
            .script(Endpoint::Profiles(region), vec![busy(), busy(), busy()]);
    }
    let short = Duration::from_secs(4);
    let (done, took) = stack
        .send_within(
            &stack.callback,
            &complete_request(&completion),
            Some(USER),
            short,
        )
        .await;
    assert!(
        took < Duration::from_secs(2),
        "waited {took:?} for a Retry-After"
    );
    assert_eq!(done.status, 503, "{:?}", done.body);
    assert_eq!(done.error_code(), "ADS_UNAVAILABLE");
    assert_eq!(
        stack.amazon.calls(Endpoint::Profiles("na")),
        1,
        "no second attempt it could not wait for"
    );
}

/// The callback always redirects in time: a stalled table (the state
/// cannot be read) is a redirect with `reason=timed_out` before the
/// deadline, never JSON, never Lambda's timeout.
#[tokio::test]
async fn a_callback_whose_table_stalls_still_redirects_before_the_deadline() {
    use adsconnect_tests::proxy::Fault;

    let (stack, proxy) = proxied_stack().await;
    stack.create_user(USER, "a@example.com").await;
    stack.amazon.add_login("busy", busy_login());
    let query = stack.consented(USER, "busy").await;
    proxy.fail_after("DynamoDB", 0, Fault::Stall);
    let budget = Duration::from_secs(2);
    let (callback, took) = stack
        .send_within(&stack.callback, &callback_request(&query), None, budget)
        .await;
    proxy.heal();
    assert!(took < budget, "took {took:?}");
    let location = callback.location();
    assert!(
        location.as_str().starts_with(DEFAULT_RETURN_URL),
        "{location}"
    );
    assert_eq!(query_of(&location)["reason"], "timed_out");
    assert_eq!(stack.amazon.calls(Endpoint::Token), 0);
}
