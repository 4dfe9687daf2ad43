//! `oauth-start` and `oauth-callback` against moto (DynamoDB, KMS) and the
//! Amazon stub (LWA and the three Ads API hosts).

use adsconnect::connections::tokens::token_context;
use adsconnect::tokens::{CipherError, Sealed};
use adsconnect_dev::amazon_stub::{Endpoint, Login, ads_account, profile};
use adsconnect_tests::*;
use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

const USER: &str = "user_2amazonA";
const OTHER: &str = "user_2amazonB";

/// A login with profiles in all three regions and 150 Ads accounts (two
/// pages of `/adsAccounts/list`), three of them behind those profiles.
fn busy_login() -> Login {
    let mut ads: Vec<Value> = (0..147)
        .map(|i| ads_account(&format!("amzn1.ads-account.g.filler{i}"), "CREATED", &[]))
        .collect();
    ads.insert(
        10,
        ads_account(
            "amzn1.ads-account.g.us",
            "CREATED",
            &[(1001, "US"), (1002, "CA")],
        ),
    );
    ads.insert(
        120,
        ads_account(
            "amzn1.ads-account.g.de",
            "PARTIALLY_CREATED",
            &[(2001, "DE")],
        ),
    );
    ads.push(ads_account(
        "amzn1.ads-account.g.jp",
        "PENDING",
        &[(3001, "JP")],
    ));
    Login {
        lwa_profile: Some(
            json!({"user_id": "amzn1.account.BUSY", "name": "Busy Seller", "email": "busy@example.com"}),
        ),
        profiles: [
            (
                "na",
                vec![
                    profile(1001, "US", "Acme US", "seller"),
                    profile(1002, "CA", "Acme CA", "vendor"),
                ],
            ),
            ("eu", vec![profile(2001, "DE", "Acme DE", "seller")]),
            ("fe", vec![profile(3001, "JP", "Acme JP", "agency")]),
        ]
        .into_iter()
        .collect(),
        ads_accounts: ads,
    }
}

fn small_login(user_id: &str, profile_id: u64) -> Login {
    Login {
        lwa_profile: Some(
            json!({"user_id": user_id, "name": "Small", "email": "small@example.com"}),
        ),
        profiles: [("na", vec![profile(profile_id, "US", "Small US", "seller")])]
            .into_iter()
            .collect(),
        ads_accounts: vec![],
    }
}

async fn stack_with_user(user: &str) -> Stack {
    let stack = Stack::new().await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(user, "a@example.com", 1_000),
        ))
        .await;
    stack
}

#[tokio::test]
async fn connect_start_returns_a_pkce_consent_url_bound_to_a_fresh_state() {
    let stack = stack_with_user(USER).await;
    stack.calls.take();
    let started = stack
        .connect(
            USER,
            &json!({"region": "eu", "return_to": format!("{APP_ORIGIN}/after")}),
        )
        .await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    let url = reqwest::Url::parse(started.body["authorization_url"].as_str().unwrap()).unwrap();
    assert!(url.path().ends_with("/eu/ap/oa"), "EU consent host: {url}");
    let q = query_of(&url);
    assert_eq!(q["client_id"], adsconnect_dev::amazon_stub::CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["scope"], "advertising::campaign_management profile");
    let state = started.body["state"].as_str().unwrap();
    assert_eq!(q["state"], state);
    assert_eq!(state.len(), 43, "256 bits, base64url");
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(started.body["expires_at"].as_str().unwrap()).unwrap();
    let lifetime = expires_at
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    assert!((590..=600).contains(&lifetime), "{lifetime}");
    assert_eq!(stack.calls.take(), ["PutItem"]);
    // The state is stored under a hash; neither it nor the verifier is readable.
    let dump = format!("{:?}", stack.items().await);
    assert!(!dump.contains(state));

    // Both fields are optional.
    let empty = stack
        .send(
            &stack.start,
            &Request::new("POST", "/api/v1/amazon/connect"),
            Some(USER),
        )
        .await;
    assert_eq!(empty.status, 200);
    assert!(
        empty.body["authorization_url"]
            .as_str()
            .unwrap()
            .contains("/na/ap/oa")
    );
}

#[tokio::test]
async fn connect_refuses_bad_bodies_and_foreign_return_urls_without_storing_a_state() {
    let stack = stack_with_user(USER).await;
    let before = stack.items().await.len();
    for (body, field) in [
        (
            json!({"return_to": "https://evil.example/steal"}),
            "return_to",
        ),
        (json!({"return_to": "//evil.example/x"}), "return_to"),
        (
            json!({"return_to": "https://app.example.test@evil.example/"}),
            "return_to",
        ),
        (
            json!({"return_to": "https://user:pw@app.example.test/"}),
            "return_to",
        ),
        (
            json!({"return_to": "http://app.example.test/"}),
            "return_to",
        ),
        (json!({"return_to": "javascript:alert(1)"}), "return_to"),
        (
            json!({"return_to": "https://app.example.test.evil.example/"}),
            "return_to",
        ),
        (json!({"region": "us"}), "region"),
        (json!({"region": "na", "scope": "everything"}), ""),
    ] {
        let response = stack.connect(USER, &body).await;
        assert_eq!(response.status, 400, "{body}: {:?}", response.body);
        if !field.is_empty() {
            assert_eq!(response.body["error"]["field"], field, "{body}");
        }
    }
    // Case and IDNA spellings of the allowed origin are that origin.
    let upper = stack
        .connect(USER, &json!({"return_to": "HTTPS://APP.EXAMPLE.TEST/x"}))
        .await;
    assert_eq!(upper.status, 200);
    assert_eq!(stack.items().await.len(), before + 1);
    let anonymous = stack
        .send(
            &stack.start,
            &Request::new("POST", "/api/v1/amazon/connect"),
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn full_connect_discovers_every_region_and_page_and_stores_tokens_sealed() {
    logs::capture();
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    stack.calls.take();
    let started = stack
        .connect(
            USER,
            &json!({"return_to": format!("{APP_ORIGIN}/done?tab=ads")}),
        )
        .await;
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    let done = stack.amazon_redirect(&query).await;
    assert_eq!(done.status, 302);
    assert_eq!(done.headers["referrer-policy"], "no-referrer");
    let location = reqwest::Url::parse(done.headers["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/done");
    let q = query_of(&location);
    assert_eq!(q["tab"], "ads");
    assert_eq!(q["amazon"], "connected");
    let connection_id = q["connection_id"].clone();
    assert!(!location.as_str().contains("code=") && !location.as_str().contains("Atz"));
    // start: PutItem; callback: DeleteItem (state), Query (partition), TransactWriteItems.
    assert_eq!(
        stack.calls.take(),
        ["PutItem", "DeleteItem", "Query", "TransactWriteItems"]
    );
    // start seals the verifier, callback unwraps it and seals the tokens.
    let mut kms = stack.kms_calls.take();
    kms.sort();
    assert_eq!(kms, ["Decrypt", "GenerateDataKey", "GenerateDataKey"]);
    assert_eq!(
        stack.amazon.calls(Endpoint::AdsAccounts),
        2,
        "both pages read"
    );

    let full = stack.get("/api/v1/users/me/full", USER).await;
    let accounts = full.body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 4);
    let by_profile = |id: &str| {
        accounts
            .iter()
            .find(|a| a["profile_id"] == id)
            .unwrap()
            .clone()
    };
    let us = by_profile("1001");
    assert_eq!(us["region"], "na");
    assert_eq!(us["country_code"], "US");
    assert_eq!(us["currency_code"], "USD");
    assert_eq!(us["timezone"], "America/Los_Angeles");
    assert_eq!(us["marketplace_id"], "ATVPDKIKX0DER");
    assert_eq!(us["name"], "Acme US");
    assert_eq!(us["account_type"], "seller");
    assert_eq!(us["ads_account_id"], "amzn1.ads-account.g.us");
    assert_eq!(us["status"], "active");
    assert_eq!(us["connection_id"], connection_id.as_str());
    assert_eq!(by_profile("2001")["status"], "partial");
    assert_eq!(by_profile("2001")["region"], "eu");
    assert_eq!(by_profile("3001")["status"], "pending");
    assert_eq!(by_profile("3001")["region"], "fe");
    let defaults: Vec<&Value> = accounts
        .iter()
        .filter(|a| a["is_default"] == true)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(
        full.body["settings"]["default_account_id"],
        defaults[0]["account_id"]
    );
    let connection = &full.body["connections"][0];
    assert_eq!(connection["id"], connection_id.as_str());
    assert_eq!(connection["amazon_name"], "Busy Seller");
    assert_eq!(connection["amazon_email"], "busy@example.com");
    assert_eq!(connection["status"], "active");
    assert_eq!(connection["sync_warnings"], json!([]));
    assert_eq!(
        connection["scopes"],
        json!(["advertising::campaign_management", "profile"])
    );
    assert!(connection.get("tokens").is_none());

    // The tokens open only as this connection's, and were stored sealed.
    let item = stack
        .item(&format!("USER#{USER}"), &format!("CONN#{connection_id}"))
        .await
        .unwrap();
    let sealed: Sealed = serde_dynamo::from_attribute_value(item["tokens"].clone()).unwrap();
    let user = adsconnect::ids::UserId::parse(USER).unwrap();
    let conn = adsconnect::ids::ConnectionId::parse(&connection_id).unwrap();
    let opened = stack
        .amazon_callback
        .cipher
        .open(&sealed, &token_context(&user, &conn))
        .await
        .unwrap();
    let tokens: Value = serde_json::from_slice(&opened).unwrap();
    assert!(
        tokens["access_token"]
            .as_str()
            .unwrap()
            .starts_with("Atza|")
    );
    assert!(
        tokens["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("Atzr|")
    );

    // Nothing secret in any item or any log line.
    let dump = format!("{:?}", stack.items().await);
    let logs = logs::text();
    let mut secrets = stack.amazon.seen_secrets();
    secrets.push(adsconnect_dev::amazon_stub::CLIENT_SECRET.to_owned());
    assert!(secrets.len() >= 4);
    for secret in &secrets {
        assert!(!dump.contains(secret.as_str()), "table holds {secret}");
        assert!(!logs.contains(secret.as_str()), "logs hold {secret}");
    }
    // …nor the data key that sealed the tokens (unwrapped here through KMS).
    let wrapped = base64::engine::general_purpose::STANDARD
        .decode(&sealed.wrapped_key)
        .unwrap();
    let data_key = stack
        .kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(wrapped))
        .encryption_context("purpose", "adsconnect-token-envelope")
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    for encoded in [
        base64::engine::general_purpose::STANDARD.encode(data_key.as_ref()),
        data_key
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    ] {
        assert!(
            !dump.contains(&encoded) && !logs.contains(&encoded),
            "data key leaked"
        );
    }
    for marker in ["Atza|", "Atzr|", "ANstub"] {
        assert!(!dump.contains(marker) && !logs.contains(marker), "{marker}");
    }
}

#[tokio::test]
async fn reconnecting_the_same_login_updates_its_connection_and_keeps_account_ids() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    let first = query_of(&stack.connect_flow(USER, "busy").await);
    let accounts_before = stack.get("/api/v1/users/me/accounts", USER).await.body;
    let second = query_of(&stack.connect_flow(USER, "busy").await);
    assert_eq!(
        first.get("connection_id"),
        second.get("connection_id"),
        "{second:?}"
    );
    let full = stack.get("/api/v1/users/me/full", USER).await.body;
    assert_eq!(full["connections"].as_array().unwrap().len(), 1);
    assert_eq!(
        stack.get("/api/v1/users/me/accounts", USER).await.body["accounts"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let ids = |v: &Value| {
        let mut ids: Vec<String> = v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["account_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(&accounts_before),
        ids(&stack.get("/api/v1/users/me/accounts", USER).await.body)
    );
    let item = stack
        .item(
            &format!("USER#{USER}"),
            &format!("CONN#{}", first["connection_id"]),
        )
        .await
        .unwrap();
    assert_eq!(
        item["version"],
        aws_sdk_dynamodb::types::AttributeValue::N("2".into())
    );
}

#[tokio::test]
async fn amazon_refusal_replayed_and_expired_states_redirect_with_reasons_and_store_nothing() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());

    // The user clicks "Cancel" at Amazon (with markup in the description).
    let started = stack.connect(USER, &json!({})).await;
    let state = started.body["state"].as_str().unwrap().to_owned();
    let denied = stack
        .amazon_redirect(&format!("error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}"))
        .await;
    let location = denied.headers["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(DEFAULT_RETURN_URL));
    assert_eq!(
        query_of(&reqwest::Url::parse(&location).unwrap())["reason"],
        "access_denied"
    );
    assert!(!location.contains("script"));

    // A state works once.
    let started = stack.connect(USER, &json!({})).await;
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    assert_eq!(
        query_of(&stack.amazon_redirect(&query).await.location())["amazon"],
        "connected"
    );
    let replay = stack.amazon_redirect(&query).await;
    assert_eq!(query_of(&replay.location())["reason"], "invalid_state");
    assert_eq!(
        stack.amazon.calls(Endpoint::Token),
        1,
        "the replay never reached Amazon"
    );

    // Unknown and malformed states.
    for query in [
        "code=x&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "code=x",
        "code=x&state=short",
        "code=x&state=v1%3Aother-deployment%3Aabc",
    ] {
        assert_eq!(
            query_of(&stack.amazon_redirect(query).await.location())["reason"],
            "invalid_state",
            "{query}"
        );
    }

    // An expired state.
    let started = stack.connect(USER, &json!({})).await;
    let state = started.body["state"].as_str().unwrap().to_owned();
    let hash = adsconnect::store::oauth_states::state_hash(&state);
    stack
        .set_number(&format!("STATE#{hash}"), "STATE", "expires_at", 1000)
        .await;
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    assert_eq!(
        query_of(&stack.amazon_redirect(&query).await.location())["reason"],
        "expired_state"
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), 1);

    // Missing code.
    let started = stack.connect(USER, &json!({})).await;
    let state = started.body["state"].as_str().unwrap().to_owned();
    assert_eq!(
        query_of(
            &stack
                .amazon_redirect(&format!("state={state}"))
                .await
                .location()
        )["reason"],
        "missing_code"
    );
    assert_eq!(
        stack.get("/api/v1/users/me/full", USER).await.body["connections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_state_started_by_user_a_only_ever_connects_user_a() {
    let stack = stack_with_user(USER).await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(OTHER, "b@example.com", 1_000),
        ))
        .await;
    stack.amazon.add_login("busy", busy_login());
    let started = stack.connect(USER, &json!({})).await;
    // Whoever's browser completes it (the callback is public), it is A's.
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    assert_eq!(
        query_of(&stack.amazon_redirect(&query).await.location())["amazon"],
        "connected"
    );
    assert_eq!(
        stack.get("/api/v1/users/me/full", USER).await.body["connections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let other = stack.get("/api/v1/users/me/full", OTHER).await.body;
    assert_eq!(other["connections"], json!([]));
    assert_eq!(other["accounts"], json!([]));
}

#[tokio::test]
async fn token_endpoint_failures_are_classified() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());

    stack.amazon.script(Endpoint::Token, vec![ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : code"}))]);
    assert_eq!(
        query_of(&stack.connect_flow(USER, "busy").await)["reason"],
        "invalid_grant"
    );

    stack.amazon.script(
        Endpoint::Token,
        vec![ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"}))],
    );
    assert_eq!(
        query_of(&stack.connect_flow(USER, "busy").await)["reason"],
        "client_rejected"
    );

    // LWA has a bad moment, then answers: retried within the callback.
    let calls = stack.amazon.calls(Endpoint::Token);
    stack
        .amazon
        .script(Endpoint::Token, vec![ResponseTemplate::new(503)]);
    assert_eq!(
        query_of(&stack.connect_flow(USER, "busy").await)["amazon"],
        "connected"
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), calls + 2);

    stack.amazon.script(
        Endpoint::Token,
        vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(503),
            ResponseTemplate::new(503),
        ],
    );
    assert_eq!(
        query_of(&stack.connect_flow(USER, "busy").await)["reason"],
        "lwa_unavailable"
    );
}

#[tokio::test]
async fn ads_throttling_is_waited_out_and_a_failing_region_loses_nothing_else() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    stack.amazon.script(
        Endpoint::Profiles("eu"),
        vec![ResponseTemplate::new(429).insert_header("retry-after", "1")],
    );
    stack.amazon.script(
        Endpoint::Profiles("fe"),
        vec![
            ResponseTemplate::new(500),
            ResponseTemplate::new(502),
            ResponseTemplate::new(503),
        ],
    );
    let started = std::time::Instant::now();
    let done = query_of(&stack.connect_flow(USER, "busy").await);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(done["amazon"], "connected");
    assert_eq!(stack.amazon.calls(Endpoint::Profiles("eu")), 2);
    let full = stack.get("/api/v1/users/me/full", USER).await.body;
    let regions: Vec<&str> = full["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions.iter().filter(|r| **r == "na").count(), 2);
    assert_eq!(regions.iter().filter(|r| **r == "eu").count(), 1);
    assert!(!regions.contains(&"fe"));
    assert_eq!(
        full["connections"][0]["sync_warnings"],
        json!([{"source": "profiles_fe", "reason": "unavailable"}])
    );

    // Every region down: nothing to connect to.
    for region in ["na", "eu", "fe"] {
        stack.amazon.script(
            Endpoint::Profiles(region),
            vec![ResponseTemplate::new(503); 3],
        );
    }
    assert_eq!(
        query_of(&stack.connect_flow(USER, "busy").await)["reason"],
        "ads_unavailable"
    );
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_connection_does_not_open() {
    let stack = stack_with_user(USER).await;
    stack
        .amazon
        .add_login("one", small_login("amzn1.account.ONE", 11));
    stack
        .amazon
        .add_login("two", small_login("amzn1.account.TWO", 22));
    let one = query_of(&stack.connect_flow(USER, "one").await)["connection_id"].clone();
    let two = query_of(&stack.connect_flow(USER, "two").await)["connection_id"].clone();
    assert_ne!(one, two);
    let sealed_of = |item: &Item| -> Sealed {
        serde_dynamo::from_attribute_value(item["tokens"].clone()).unwrap()
    };
    let item_one = stack
        .item(&format!("USER#{USER}"), &format!("CONN#{one}"))
        .await
        .unwrap();
    let user = adsconnect::ids::UserId::parse(USER).unwrap();
    let conn_two = adsconnect::ids::ConnectionId::parse(&two).unwrap();
    let result = stack
        .amazon_callback
        .cipher
        .open(&sealed_of(&item_one), &token_context(&user, &conn_two))
        .await;
    assert!(matches!(result, Err(CipherError::Corrupt)), "{result:?}");
    let other_user = adsconnect::ids::UserId::parse(OTHER).unwrap();
    let conn_one = adsconnect::ids::ConnectionId::parse(&one).unwrap();
    let result = stack
        .amazon_callback
        .cipher
        .open(
            &sealed_of(&item_one),
            &token_context(&other_user, &conn_one),
        )
        .await;
    assert!(matches!(result, Err(CipherError::Corrupt)));
}

#[tokio::test]
async fn a_deleted_user_gets_no_connection() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    let started = stack.connect(USER, &json!({})).await;
    stack.post_event(&deleted_event(USER)).await;
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    assert_eq!(
        query_of(&stack.amazon_redirect(&query).await.location())["reason"],
        "user_deleted"
    );
    let items = stack.items().await;
    assert_eq!(
        items
            .iter()
            .filter(|i| attr_s(i, "pk") == Some(&format!("USER#{USER}")))
            .count(),
        1,
        "only the tombstone"
    );
}

#[tokio::test]
async fn kms_calls_do_not_grow_with_the_number_of_connections() {
    let stack = stack_with_user(USER).await;
    for i in 0..50 {
        stack.amazon.add_login(
            &format!("login{i}"),
            small_login(&format!("amzn1.account.L{i}"), 5000 + i),
        );
    }
    stack.calls.take();
    stack.kms_calls.take();
    for i in 0..50 {
        assert_eq!(
            query_of(&stack.connect_flow(USER, &format!("login{i}")).await)["amazon"],
            "connected"
        );
    }
    let mut kms = stack.kms_calls.take();
    kms.sort();
    // oauth-start: one data key; oauth-callback: one unwrap of it and one data key.
    assert_eq!(kms, ["Decrypt", "GenerateDataKey", "GenerateDataKey"]);
    assert_eq!(
        stack.calls.take().len(),
        50 * 4,
        "PutItem, DeleteItem, Query, TransactWriteItems per connect"
    );
    assert_eq!(
        stack.get("/api/v1/users/me/full", USER).await.body["connections"]
            .as_array()
            .unwrap()
            .len(),
        50
    );

    // 1,000 token sets sealed and opened in one process: still one data key.
    let cipher = adsconnect::tokens::TokenCipher::new(stack.kms.clone(), stack.kms_key_id.clone());
    let mut sealed = Vec::new();
    for i in 0..1000 {
        sealed.push(
            cipher
                .seal(
                    format!("Atza|{i}").as_bytes(),
                    &format!("tokens|{USER}|conn_{i}"),
                )
                .await
                .unwrap(),
        );
    }
    for (i, s) in sealed.iter().enumerate() {
        assert_eq!(
            cipher
                .open(s, &format!("tokens|{USER}|conn_{i}"))
                .await
                .unwrap(),
            format!("Atza|{i}").into_bytes()
        );
    }
    assert_eq!(stack.kms_calls.take(), ["GenerateDataKey"]);
    // Another process (a cold Lambda) opening all 1,000: one Decrypt.
    let other = adsconnect::tokens::TokenCipher::new(stack.kms.clone(), stack.kms_key_id.clone());
    for (i, s) in sealed.iter().enumerate() {
        other
            .open(s, &format!("tokens|{USER}|conn_{i}"))
            .await
            .unwrap();
    }
    assert_eq!(stack.kms_calls.take(), ["Decrypt"]);
}

#[tokio::test]
async fn deleting_a_user_removes_connections_accounts_tokens_and_events() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    stack.connect_flow(USER, "busy").await;
    let owned = |items: &[Item]| {
        items
            .iter()
            .filter(|i| {
                attr_s(i, "pk").is_some_and(|pk| {
                    pk == format!("USER#{USER}") || pk == format!("EVENTS#{USER}")
                })
            })
            .count()
    };
    assert!(
        owned(&stack.items().await) > 5,
        "profile, connection, accounts, event"
    );
    assert_eq!(
        stack.post_event(&deleted_event(USER)).await.body["outcome"],
        "applied"
    );
    let items = stack.items().await;
    assert_eq!(owned(&items), 1, "only the tombstone is left");
    assert!(!format!("{items:?}").contains("wrapped_key"));
}
