//! DSP seats of a `dsp_advertiser` account: the snapshot, a refresh that
//! reads every page with the advertiser's headers, at most once a minute
//! (also when asked at once), the history newest first, Amazon's error
//! codes passed on unchanged, other kinds and bad input refused.

use adsconnect_dev::amazon_stub::Endpoint;
use wiremock::ResponseTemplate;

use super::*;

const SEATS_USER: &str = "user_2seats";

/// `SEATS_USER` connected the agency login: its first NA advertiser's
/// account id (25 seats at Amazon, served only with `parentEntityId`).
async fn agency_stack() -> (Stack, String) {
    let stack = Stack::with_user(SEATS_USER, "seats@example.com").await;
    stack.amazon.add_login("agency", agency_login());
    stack.connected(SEATS_USER, "agency").await;
    let advertiser = first_advertiser(AGENCY_NA);
    let mut cursor = String::new();
    loop {
        let page = stack
            .get(
                &format!("/api/v1/accounts?kind=dsp_advertiser&limit=100{cursor}"),
                SEATS_USER,
            )
            .await
            .body;
        if let Some(found) = page["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["advertiser_id"] == advertiser.as_str())
        {
            stack.amazon.forget_ads_calls();
            return (stack, found["account_id"].as_str().unwrap().to_owned());
        }
        cursor = format!("&cursor={}", page["next_cursor"].as_str().unwrap());
    }
}

fn refresh(account: &str) -> Request {
    Request::new("POST", &format!("/api/v1/accounts/{account}/seats/refresh"))
}

/// Lets the account's next refresh start at once (as a minute passing would).
async fn age_refresh_slot(stack: &Stack, account: &str) {
    stack
        .set_number(
            &format!("SEATS#{SEATS_USER}"),
            &format!("{account}#CLAIM"),
            "claimed_at",
            0,
        )
        .await;
}

#[tokio::test]
async fn a_refresh_reads_every_page_with_the_advertisers_headers_and_is_kept() {
    let (stack, account) = agency_stack().await;
    let seats_path = format!("/api/v1/accounts/{account}/seats");
    let before = stack.get(&seats_path, SEATS_USER).await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    assert_eq!(before.body["taken_at"], Value::Null);
    assert_eq!(before.body["seats"], json!([]));

    let refreshed = stack
        .send(&stack.users, &refresh(&account), Some(SEATS_USER))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert_eq!(refreshed.body["seats"].as_array().unwrap().len(), 25);
    assert_eq!(refreshed.body["exchange_count"], 25);
    assert_eq!(
        refreshed.body["seats"][0],
        json!({"exchange_id": "1", "exchange_name": "Exchange 1",
               "deal_creation_id": "deal-1", "spend_tracking_id": "spend-1"})
    );
    // Three pages (the stand-in's 10 at a time), each with the advertiser's
    // account id and its entity id from the manager accounts.
    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(call.path, "/na/dsp/v1/seats/advertisers/current/list");
        assert_eq!(
            call.header("amazon-ads-accountid"),
            Some(first_advertiser(AGENCY_NA).as_str())
        );
        assert_eq!(call.header("parententityid"), Some(FIRST_ADVERTISER_ENTITY));
    }
    let kept = stack.get(&seats_path, SEATS_USER).await.body;
    assert_eq!(kept["seats"], refreshed.body["seats"]);
    assert_eq!(kept["taken_at"], refreshed.body["taken_at"]);
    assert_eq!(kept["advertiser_id"], first_advertiser(AGENCY_NA));

    // A filtered refresh, a minute later: only those exchanges, recorded so.
    age_refresh_slot(&stack, &account).await;
    let filtered = stack
        .send(
            &stack.users,
            &refresh(&account).json(&json!({"exchange_ids": ["3", "1", "3"]})),
            Some(SEATS_USER),
        )
        .await;
    assert_eq!(filtered.status, 200, "{:?}", filtered.body);
    assert_eq!(filtered.body["exchange_ids"], json!(["1", "3"]));
    assert_eq!(filtered.body["seats"].as_array().unwrap().len(), 2);
    let sent: Value = serde_json::from_slice(&stack.amazon.ads_calls()[3].body).unwrap();
    assert_eq!(sent["exchangeIdFilter"], json!(["1", "3"]));

    // The history, newest first, one page at a time.
    let history = format!("/api/v1/accounts/{account}/seats/history");
    let first = stack
        .get(&format!("{history}?limit=1"), SEATS_USER)
        .await
        .body;
    let entry = &first["refreshes"][0];
    assert_eq!(
        (
            &entry["outcome"],
            &entry["seat_count"],
            &entry["exchange_ids"]
        ),
        (&json!("succeeded"), &json!(2), &json!(["1", "3"]))
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = stack
        .get(&format!("{history}?limit=1&cursor={cursor}"), SEATS_USER)
        .await
        .body;
    assert_eq!(second["refreshes"][0]["seat_count"], 25);
    assert_eq!(second["refreshes"][0]["error_code"], Value::Null);
    let third = stack
        .get(
            &format!(
                "{history}?limit=1&cursor={}",
                second["next_cursor"].as_str().unwrap_or_default()
            ),
            SEATS_USER,
        )
        .await
        .body;
    assert_eq!(third["refreshes"].as_array().map_or(0, Vec::len), 0);
}

#[tokio::test]
async fn refreshes_asked_at_once_call_amazon_once_and_the_rest_wait_with_retry_after() {
    let (stack, account) = agency_stack().await;
    let request = refresh(&account);
    let answers = futures::future::join_all(
        (0..6).map(|_| stack.send(&stack.users, &request, Some(SEATS_USER))),
    )
    .await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let waiting: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(
        (ok, waiting.len()),
        (1, 5),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for answer in waiting {
        assert_eq!(answer.error_code(), "RATE_LIMITED");
        let wait: u64 = answer.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    assert_eq!(
        stack.amazon.calls(Endpoint::Seats),
        3,
        "one refresh's three pages"
    );
    let history = stack
        .get(
            &format!("/api/v1/accounts/{account}/seats/history"),
            SEATS_USER,
        )
        .await
        .body;
    assert_eq!(history["refreshes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn amazons_error_codes_reach_the_user_and_the_history_unchanged() {
    let (stack, account) = agency_stack().await;
    // As Amazon refused the original system until it sent parentEntityId.
    stack.amazon.script(
        Endpoint::Seats,
        vec![ResponseTemplate::new(400).set_body_json(json!({
            "code": "NO_PARENT_ENTITY_ID_OR_ADVERTISER_ID_FOR_ADVERTISER_CONTEXT",
            "message": "When calling as an advertiser 'parentEntityId' header must be provided along with 'Amazon-Ads-AccountId'"
        }))],
    );
    let refused = stack
        .send(&stack.users, &refresh(&account), Some(SEATS_USER))
        .await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (502, "AMAZON_REFUSED")
    );
    assert_eq!(
        refused.body["error"]["amazon_code"],
        "NO_PARENT_ENTITY_ID_OR_ADVERTISER_ID_FOR_ADVERTISER_CONTEXT"
    );
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(
        stack.amazon.calls(Endpoint::Seats),
        1,
        "a refusal is not retried"
    );

    // Amazon down: every attempt fails, the user is told to come back.
    age_refresh_slot(&stack, &account).await;
    stack
        .amazon
        .script(Endpoint::Seats, vec![ResponseTemplate::new(503); 3]);
    let down = stack
        .send(&stack.users, &refresh(&account), Some(SEATS_USER))
        .await;
    assert_eq!((down.status, down.error_code()), (502, "ADS_UNAVAILABLE"));
    assert_eq!(down.headers["retry-after"], "60");

    let history = stack
        .get(
            &format!("/api/v1/accounts/{account}/seats/history"),
            SEATS_USER,
        )
        .await
        .body;
    let codes: Vec<&Value> = history["refreshes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["error_code"])
        .collect();
    assert_eq!(
        codes,
        [
            &json!("unavailable"),
            &json!("NO_PARENT_ENTITY_ID_OR_ADVERTISER_ID_FOR_ADVERTISER_CONTEXT")
        ]
    );
    assert!(
        history["refreshes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "failed")
    );
    let seats = stack
        .get(&format!("/api/v1/accounts/{account}/seats"), SEATS_USER)
        .await
        .body;
    assert_eq!(seats["taken_at"], Value::Null, "no snapshot from a failure");
}

#[tokio::test]
async fn other_kinds_and_bad_input_are_refused_and_change_nothing() {
    let (stack, account) = agency_stack().await;
    let sponsored = stack
        .get("/api/v1/accounts?kind=sponsored_ads", SEATS_USER)
        .await
        .body["accounts"][0]["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let instance = stack
        .get("/api/v1/accounts?kind=amc_instance", SEATS_USER)
        .await
        .body["accounts"][0]["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = stack.snapshot().await;
    for other in [&sponsored, &instance] {
        for request in [
            Request::new("GET", &format!("/api/v1/accounts/{other}/seats")),
            refresh(other),
            Request::new("GET", &format!("/api/v1/accounts/{other}/seats/history")),
        ] {
            let answer = stack.send(&stack.users, &request, Some(SEATS_USER)).await;
            assert_eq!(
                (answer.status, answer.error_code()),
                (404, "ACCOUNT_NOT_FOUND"),
                "{other}"
            );
        }
    }
    let too_many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
    for (body, field) in [
        (json!({"exchange_ids": too_many}), Some("exchange_ids")),
        (json!({"exchange_ids": ["a b"]}), Some("exchange_ids")),
        (json!({"exchange_ids": [""]}), Some("exchange_ids")),
        (json!({"exchange_ids": "1"}), None),
        (json!({"exchangeIds": ["1"]}), None),
    ] {
        let answer = stack
            .send(
                &stack.users,
                &refresh(&account).json(&body),
                Some(SEATS_USER),
            )
            .await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
        if let Some(field) = field {
            assert_eq!(answer.body["error"]["field"], field, "{body}");
        }
    }
    let history = format!("/api/v1/accounts/{account}/seats/history");
    for query in [
        "limit=0",
        "limit=101",
        "cursor=%FF",
        "unknown=1",
        &format!(
            "cursor={}",
            base64_url(&format!("{sponsored}#H#1733000000000#abc"))
        ),
    ] {
        let answer = stack.get(&format!("{history}?{query}"), SEATS_USER).await;
        assert_eq!(answer.status, 400, "{query}: {:?}", answer.body);
    }
    assert_eq!(stack.snapshot().await, before, "nothing changed");
    assert!(stack.amazon.ads_calls().is_empty(), "Amazon was not asked");
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
