//! Amazon's throttling handled once for everyone: a 429 (or a duplicate
//! report's 425) records a cooldown on the connection item for the unit
//! (region × API family) that every instance reads anyway; callers wait for
//! their slot within their budget or get a 429 at once, Amazon not asked;
//! server failures are retried only for idempotent methods.

use std::time::Duration;

use axum::Router;
use wiremock::ResponseTemplate;

use super::kinds::{AGENCY_USER, agency_stack};
use super::*;

fn never(request: Request) -> Request {
    request.header("AdsConnect-Wait", "never")
}

/// The throttle recorded for `unit` on `USER`'s connection: (until, step) ms.
async fn recorded(stack: &Stack, unit: &str) -> Option<(i64, i64)> {
    let item = connection_item(stack, USER).await;
    let entry = item.get("throttles")?.as_m().ok()?.get(unit)?.as_m().ok()?;
    let ms = |name: &str| entry[name].as_n().unwrap().parse::<i64>().unwrap();
    Some((ms("until_ms"), ms("step_ms")))
}

fn throttled_by(answer: &Response) -> Option<&str> {
    answer
        .headers
        .get("adsconnect-throttled-by")
        .map(|v| v.to_str().unwrap())
}

fn retry_after(answer: &Response) -> u64 {
    answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The proxy's own 429: Amazon is throttling, the caller's wait is over.
fn assert_cooldown_refusal(answer: &Response, longest: u64) {
    assert_eq!(answer.status, 429, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "AMAZON_THROTTLED");
    assert_eq!(throttled_by(answer), Some("cooldown"));
    assert!((1..=longest).contains(&retry_after(answer)));
}

/// Amazon throttles campaigns (one call per 1.5 s, `Retry-After: 2`):
/// through `router`, the first call opens Amazon's window, a caller that
/// will not wait gets Amazon's 429, which is recorded.
async fn throttled(stack: &Stack, router: &Router, us: &str) {
    let every = Duration::from_millis(1500);
    stack.amazon.throttle(Endpoint::Campaigns, every, Some(2));
    let admitted = stack.send(router, &campaigns_list(us), Some(USER)).await;
    assert_eq!(admitted.status, 200, "{:?}", admitted.body);
    let amazons = stack
        .send(router, &never(campaigns_list(us)), Some(USER))
        .await;
    assert_eq!(amazons.status, 429, "{:?}", amazons.body);
    assert_eq!(amazons.body["code"], "TOO_MANY_REQUESTS", "Amazon's own");
    assert_eq!(throttled_by(&amazons), Some("amazon"));
    assert_eq!(retry_after(&amazons), 2);
}

#[tokio::test]
async fn a_waiting_caller_gets_its_slot_and_an_impatient_or_short_one_a_429_at_once() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    throttled(&stack, &stack.proxy, us).await;
    let (_, step) = recorded(&stack, "na/sp").await.expect("recorded");
    // Amazon's Retry-After, slots spaced a little wider (50 ms).
    assert_eq!(step, 2050, "Amazon's Retry-After");
    let asked = stack.amazon.calls(Endpoint::Campaigns);

    let impatient = stack.proxy(&never(campaigns_list(us)), USER).await;
    assert_cooldown_refusal(&impatient, 2);
    let (short, _) = stack
        .send_within(
            &stack.proxy,
            &campaigns_list(us),
            Some(USER),
            Duration::from_secs(3),
        )
        .await;
    assert_cooldown_refusal(&short, 2);
    let bad = campaigns_list(us).header("AdsConnect-Wait", "forever");
    let bad = stack.proxy(&bad, USER).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), "INVALID_HEADER");
    assert_eq!(stack.amazon.calls(Endpoint::Campaigns), asked, "not asked");

    let waited = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(waited.status, 200, "{:?}", waited.body);
    assert_eq!(waited.body["campaigns"][0]["campaignId"], "500101");
    assert_eq!(throttled_by(&waited), Some("cooldown"));
    assert_eq!(stack.amazon.calls(Endpoint::Campaigns), asked + 1);
    assert_eq!(
        recorded(&stack, "na/sp").await,
        None,
        "Amazon answers again"
    );
}

#[tokio::test]
async fn the_cooldown_is_shared_by_every_running_instance_at_no_extra_read() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let (first, second) = (stack.proxy_allowing(&[]), stack.proxy_allowing(&[]));
    for warm in [&first, &second] {
        let answer = stack.send(warm, &campaigns_list(us), Some(USER)).await;
        assert_eq!(answer.status, 200);
    }
    throttled(&stack, &first, us).await;
    let asked = stack.amazon.calls(Endpoint::Campaigns);
    stack.calls.take();
    let refused = stack
        .send(&second, &never(campaigns_list(us)), Some(USER))
        .await;
    assert_cooldown_refusal(&refused, 2);
    let mut calls = stack.calls.take();
    calls.sort();
    assert_eq!(
        calls,
        ["BatchGetItem", "UpdateItem"],
        "the read and the quota it makes anyway"
    );
    assert_eq!(stack.amazon.calls(Endpoint::Campaigns), asked);
    let waited = stack.send(&second, &campaigns_list(us), Some(USER)).await;
    assert_eq!(waited.status, 200, "{:?}", waited.body);
    assert_eq!(throttled_by(&waited), Some("cooldown"));
    assert_eq!(stack.amazon.calls(Endpoint::Campaigns), asked + 1);
}

#[tokio::test]
async fn a_429_without_retry_after_is_retried_two_seconds_later() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    stack
        .amazon
        .throttle(Endpoint::Campaigns, Duration::from_millis(1900), None);
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
    // Refused by Amazon, not processed: retried in its slot, for the caller.
    let retried = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(throttled_by(&retried), Some("amazon"));
    assert_eq!(stack.amazon.calls(Endpoint::Campaigns), 3);
    let amazons = stack.proxy(&never(campaigns_list(us)), USER).await;
    assert_eq!(amazons.status, 429);
    assert_eq!(retry_after(&amazons), 2, "the first back-off step");
    let (_, step) = recorded(&stack, "na/sp").await.expect("recorded");
    assert_eq!(step, 2050, "2 s, slots spaced 50 ms wider");
}

#[tokio::test]
async fn a_duplicate_reports_425_comes_back_and_holds_report_creation_only() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let report = || {
        Request::new(
            "POST",
            &format!("/api/v1/accounts/{us}/ads/reporting/reports"),
        )
        .header("content-type", REPORT_MEDIA_TYPE)
        .body(br#"{"name":"daily","configuration":{"adProduct":"SPONSORED_PRODUCTS"}}"#.to_vec())
    };
    let created = stack.proxy(&report(), USER).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let duplicate = stack.proxy(&report(), USER).await;
    assert_eq!(duplicate.status, 425, "{:?}", duplicate.body);
    let pending = created.body["reportId"].as_str().unwrap();
    assert!(duplicate.body["detail"].as_str().unwrap().contains(pending));
    assert_eq!(stack.amazon.calls(Endpoint::Reports), 2, "not retried");
    let (_, step) = recorded(&stack, "na/reporting.reports-create")
        .await
        .expect("recorded");
    assert_eq!(step, 2050, "2 s, slots spaced 50 ms wider");

    let refused = stack.proxy(&never(report()), USER).await;
    assert_cooldown_refusal(&refused, 2);
    assert_eq!(stack.amazon.calls(Endpoint::Reports), 2);
    // Other calls of the API family are not held back.
    let campaigns = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(campaigns.status, 200);
    assert_eq!(throttled_by(&campaigns), None);

    stack.amazon.finish_reports();
    let again = stack.proxy(&report(), USER).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(throttled_by(&again), Some("cooldown"));
    assert_ne!(again.body["reportId"], created.body["reportId"]);
    assert_eq!(stack.amazon.calls(Endpoint::Reports), 3);
}

#[tokio::test]
async fn a_failed_get_is_retried_and_a_failed_post_is_not() {
    let (stack, [_, _, instance]) = agency_stack().await;
    let instances = Request::new(
        "GET",
        &format!("/api/v1/accounts/{instance}/ads/amc/instances"),
    )
    .header("content-type", "application/json");
    let failure = || ResponseTemplate::new(503).set_body_json(json!({"code": "503"}));
    stack.amazon.script(Endpoint::AmcInstances, vec![failure()]);
    let answer = stack.proxy(&instances, AGENCY_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(stack.amazon.ads_calls_to("/amc/instances").len(), 2);
    // Unless the caller will not wait.
    stack.amazon.script(Endpoint::AmcInstances, vec![failure()]);
    let answer = stack.proxy(&never(instances), AGENCY_USER).await;
    assert_eq!(answer.status, 503);
    assert_eq!(stack.amazon.ads_calls_to("/amc/instances").len(), 3);

    // Amazon may have started the audience: never sent twice.
    stack.amazon.script(
        Endpoint::AmcAudiences,
        vec![ResponseTemplate::new(500).set_body_json(json!({"code": "500"}))],
    );
    let create = Request::new(
        "POST",
        &format!("/api/v1/accounts/{instance}/ads/amc/audiences/query"),
    )
    .header("Amazon-Advertising-API-EntityId", AMC_ACCOUNT)
    .header("Amazon-Marketing-Cloud-Audience-InstanceId", "amcr1inst000")
    .json(&json!({"audienceName": "a", "query": "SELECT 1"}));
    let answer = stack.proxy(&create, AGENCY_USER).await;
    assert_eq!(answer.status, 500);
    assert_eq!(stack.amazon.ads_calls_to("/amc/audiences/query").len(), 1);
}

#[tokio::test]
async fn a_storm_on_a_throttled_unit_costs_amazon_one_call_per_window() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    // Ten running instances, warm.
    let proxies: Vec<Router> = (0..10).map(|_| stack.proxy_allowing(&[])).collect();
    for proxy in &proxies {
        let answer = stack.send(proxy, &campaigns_list(us), Some(USER)).await;
        assert_eq!(answer.status, 200);
    }
    throttled(&stack, &stack.proxy, us).await;
    let asked = stack.amazon.calls(Endpoint::Campaigns);
    // A 6 s budget holds the first slot (2 s away), not the third (6 s);
    // the second (4 s) only for a caller slowed by a busy table.
    let budget = Duration::from_secs(6);
    let request = campaigns_list(us);
    let answers = futures::future::join_all(
        proxies
            .iter()
            .map(|proxy| stack.send_within(proxy, &request, Some(USER), budget)),
    )
    .await;
    let mut served = 0;
    for (answer, _) in &answers {
        if answer.status == 200 {
            served += 1;
            assert_eq!(throttled_by(answer), Some("cooldown"));
        } else {
            assert_cooldown_refusal(answer, 6);
        }
    }
    assert!((1..=2).contains(&served), "{served} served");
    assert_eq!(
        stack.amazon.calls(Endpoint::Campaigns),
        asked + served,
        "Amazon sees only the calls whose slot came"
    );
}

#[tokio::test]
async fn the_accounts_list_shows_where_amazon_throttles_now() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![ResponseTemplate::new(429).insert_header("retry-after", "60")],
    );
    let amazons = stack.proxy(&never(campaigns_list(us)), USER).await;
    assert_eq!(amazons.status, 429);
    let listed = stack
        .get("/api/v1/accounts?kind=sponsored_ads&limit=100", USER)
        .await
        .body;
    let throttling = |profile: &str| {
        listed["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["profile_id"] == profile)
            .unwrap()["throttling"]
            .clone()
    };
    let soon = chrono::Utc::now() + chrono::Duration::seconds(50);
    // The connection's NA accounts share the unit; its EU account does not.
    for profile in ["5001", "5002"] {
        let running = throttling(profile);
        assert_eq!(running[0]["api"], "sp", "{profile}: {running}");
        let until: chrono::DateTime<chrono::Utc> =
            running[0]["until"].as_str().unwrap().parse().unwrap();
        assert!(until > soon, "{until}");
    }
    assert_eq!(throttling("5101"), json!([]));
    let de = stack
        .proxy(&campaigns_list(accounts.of_profile("5101")), USER)
        .await;
    assert_eq!(de.status, 200);
    assert_eq!(throttled_by(&de), None);
    let refused = stack.proxy(&never(campaigns_list(us)), USER).await;
    assert_cooldown_refusal(&refused, 60);
    assert!(retry_after(&refused) > 50);
}
