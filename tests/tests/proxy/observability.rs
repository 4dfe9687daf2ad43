//! A connection's traffic is visible: one log line per proxied call with
//! whose call it was (user, account, connection), what was called (method,
//! path without its query, API family), how it ended (status, Amazon's
//! request id, Amazon calls, who throttled) and where its time went — and
//! never a token, a query value or a body.

use std::collections::HashMap;
use std::time::Duration;

use adsconnect_tests::logs::Capture;

use super::*;

const MESSAGE: &str = "Ads API call proxied";

/// The fields of each "Ads API call proxied" line, quotes removed.
fn call_lines(text: &str) -> Vec<HashMap<String, String>> {
    text.lines()
        .filter(|line| line.contains(MESSAGE))
        .map(|line| {
            line.split_whitespace()
                .filter_map(|token| token.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn each_call_logs_one_line_with_its_ids_and_outcome() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let connection = attr_s(&connection_item(&stack, USER).await, "connection_id")
        .unwrap()
        .to_owned();
    let logs = Capture::start();
    let request = Request::new(
        "POST",
        &format!("/api/v1/accounts/{us}/ads/sp/campaigns/list?nextToken=QUERYVALUE7"),
    )
    .header("content-type", CAMPAIGNS_MEDIA_TYPE)
    .body(br#"{"nameFilter":"BODYMARKER9"}"#.to_vec());
    let answer = stack.proxy(&request, USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let request_id = answer.headers["x-amzn-requestid"].to_str().unwrap();

    let lines = call_lines(&logs.text());
    assert_eq!(lines.len(), 1, "{}", logs.text());
    let line = &lines[0];
    for (field, value) in [
        ("user_id", USER),
        ("account_id", us),
        ("connection_id", connection.as_str()),
        ("account_kind", "sponsored_ads"),
        ("method", "POST"),
        ("path", "/sp/campaigns/list"),
        ("api_family", "sp"),
        ("status", "200"),
        ("amazon_request_id", request_id),
        ("amazon_calls", "1"),
        ("waited_ms", "0"),
    ] {
        assert_eq!(line.get(field).map(String::as_str), Some(value), "{field}");
    }
    for field in ["upstream_ms", "total_ms"] {
        assert!(line[field].parse::<u64>().is_ok(), "{field}");
    }
    assert!(!line.contains_key("throttled_by"));
    let text = logs.text();
    for secret in ["QUERYVALUE7", "BODYMARKER9", "nextToken"] {
        assert!(!text.contains(secret), "{secret} logged");
    }
}

#[tokio::test]
async fn throttled_calls_say_who_throttled_and_how_long_they_waited() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    stack
        .amazon
        .throttle(Endpoint::Campaigns, Duration::from_millis(1900), Some(2));
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
    let logs = Capture::start();
    let never = || campaigns_list(us).header("AdsConnect-Wait", "never");
    let amazons = stack.proxy(&never(), USER).await;
    assert_eq!(amazons.status, 429);
    assert_eq!(stack.proxy(&never(), USER).await.status, 429);
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);

    let lines = call_lines(&logs.text());
    assert_eq!(lines.len(), 3, "{}", logs.text());
    let field = |line: usize, name: &str| lines[line].get(name).map(String::as_str);
    // Amazon's 429, with its request id.
    assert_eq!(field(0, "throttled_by"), Some("amazon"));
    assert_eq!(field(0, "status"), Some("429"));
    assert_eq!(
        field(0, "amazon_request_id"),
        amazons.headers["x-amzn-requestid"].to_str().ok()
    );
    // The cooldown's 429: Amazon not asked.
    assert_eq!(field(1, "throttled_by"), Some("cooldown"));
    assert_eq!(field(1, "status"), Some("429"));
    assert_eq!(field(1, "amazon_calls"), Some("0"));
    assert_eq!(field(1, "amazon_request_id"), None);
    // The call that waited for its slot.
    assert_eq!(field(2, "throttled_by"), Some("cooldown"));
    assert_eq!(field(2, "status"), Some("200"));
    assert_eq!(field(2, "amazon_calls"), Some("1"));
    let waited: u64 = field(2, "waited_ms").unwrap().parse().unwrap();
    assert!(waited > 0, "it waited for its slot");
}

#[tokio::test]
async fn no_token_or_secret_reaches_a_proxy_log_line_through_renewals_and_refusals() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let logs = Capture::start();
    stack.amazon.expire_access_tokens();
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![wiremock::ResponseTemplate::new(401).set_body_json(
            json!({"code": "UNAUTHORIZED", "details": "Not authorized to access scope"}),
        )],
    );
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 401);
    let owned = campaigns_list(us).header("Amazon-Advertising-API-ClientId", "OWNEDVALUE3");
    assert_eq!(stack.proxy(&owned, USER).await.status, 400);

    let text = logs.text();
    assert_eq!(call_lines(&text).len(), 2, "one line per proxied call");
    let secrets = stack.amazon.seen_secrets();
    assert!(secrets.len() >= 4, "the grant's and the renewal's tokens");
    for secret in secrets
        .iter()
        .map(String::as_str)
        .chain([adsconnect_dev::amazon_stub::CLIENT_SECRET, "OWNEDVALUE3"])
    {
        assert!(!text.contains(secret), "a secret in the logs");
    }
    assert!(!text.contains("Atza|") && !text.contains("Atzr|"));
}
