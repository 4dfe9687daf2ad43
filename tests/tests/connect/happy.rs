//! The connect flow as users go through it.

use adsconnect::connections::tokens::token_context;
use adsconnect::model::sealed::Sealed;
use base64::Engine as _;

use super::*;

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
    assert_eq!(q["amazon"], "authorized");
    assert!(!location.as_str().contains("code=") && !location.as_str().contains("Atz"));
    // start: PutItem; callback: DeleteItem (state), PutItem (pending grant).
    assert_eq!(stack.calls.take(), ["PutItem", "DeleteItem", "PutItem"]);
    // Nothing is connected until the user who started completes it.
    assert_eq!(stack.amazon.calls(Endpoint::AdsAccounts), 0);
    let pending = stack.items().await;
    assert!(
        pending
            .iter()
            .all(|i| !attr_s(i, "sk").unwrap().starts_with("CONN#"))
    );
    let done = stack.complete(USER, &q["completion"]).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let connection_id = done.body["connection_id"].as_str().unwrap().to_owned();
    assert_eq!(done.body["connection"]["id"], connection_id.as_str());
    assert_eq!(done.body["connection"]["status"], "active");
    assert_eq!(done.body["connection"]["account_count"], 4);
    // completion: DeleteItem (grant), Query (partition), TransactWriteItems.
    assert_eq!(
        stack.calls.take(),
        ["DeleteItem", "Query", "TransactWriteItems"]
    );
    // start seals the verifier, the callback unwraps it and seals the
    // grant; the completion opens and reseals with that cached data key.
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
    let user = adsconnect::ids::OwnerId::parse(USER).unwrap();
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
    let first = stack.connect_flow(USER, "busy").await;
    let accounts_before = stack.get("/api/v1/users/me/accounts", USER).await.body;
    let second = stack.connect_flow(USER, "busy").await;
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
async fn a_deleted_user_gets_no_connection() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    let started = stack.connect(USER, &json!({})).await;
    stack.post_event(&deleted_event(USER)).await;
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    let location = stack.amazon_redirect(&query).await.location();
    assert_eq!(
        stack.finish(USER, &location).await["reason"],
        "user_not_found"
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
            stack.connect_flow(USER, &format!("login{i}")).await["amazon"],
            "connected"
        );
    }
    let mut kms = stack.kms_calls.take();
    kms.sort();
    // oauth-start: one data key; oauth-callback: one unwrap of it and one data key.
    assert_eq!(kms, ["Decrypt", "GenerateDataKey", "GenerateDataKey"]);
    assert_eq!(
        stack.calls.take().len(),
        50 * 6,
        "PutItem; DeleteItem, PutItem; DeleteItem, Query, TransactWriteItems per connect"
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
async fn deleting_a_user_removes_connections_accounts_and_tokens_and_leaves_events_to_expire() {
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
    let partition = |pk: String| {
        items
            .iter()
            .filter(|i| attr_s(i, "pk") == Some(pk.as_str()))
            .collect::<Vec<_>>()
    };
    let left = partition(format!("USER#{USER}"));
    assert_eq!(left.len(), 1, "only the tombstone is left: {left:?}");
    assert!(!format!("{items:?}").contains("wrapped_key"));
    // The audit trail (ids, kinds and times) is not read back: it expires by
    // TTL within 90 days, and nothing serves it any more.
    let horizon = (chrono::Utc::now() + chrono::Duration::days(90)).timestamp() + 60;
    for event in partition(format!("EVENTS#{USER}")) {
        let ttl: i64 = event["ttl"].as_n().unwrap().parse().unwrap();
        assert!(ttl <= horizon, "{event:?}");
    }
}

/// The stand-in's consent page, as a browser meets it: with several logins
/// it asks which one consents (each a link that consents as it), and its
/// cancel link redirects as Amazon does when the user denies access.
#[tokio::test]
async fn the_stand_ins_consent_page_lets_the_user_choose_a_login_or_cancel() {
    let stack = Stack::with_user(USER, "a@example.com").await;
    stack
        .amazon
        .add_login("seller", na_seller("seller", &[9301]));
    stack.amazon.add_login("other", na_seller("other", &[9302]));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = stack.connect(USER, &json!({"region": "na"})).await;
    let url = started.body["authorization_url"].as_str().unwrap();
    let page = http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Continue as other") && html.contains("Continue as seller"));
    let link = |label: &str| -> String {
        let at = html.find(label).unwrap();
        let href = html[..at].rfind("href=\"").unwrap() + 6;
        let end = html[href..].find('"').unwrap();
        html[href..href + end].replace("&amp;", "&")
    };
    let base = stack.amazon_server.uri();
    let chosen = http
        .get(format!("{base}{}", link("Continue as other")))
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), 302);
    let callback = chosen.headers()["location"].to_str().unwrap().to_owned();
    let query = callback.split_once('?').unwrap().1;
    let location = stack.amazon_redirect(query).await.location();
    let done = stack.finish(USER, &location).await;
    assert_eq!(done["amazon"], "connected", "{done:?}");
    let accounts = stack.get("/api/v1/accounts", USER).await.body;
    assert_eq!(
        accounts["accounts"][0]["profile_id"], "9302",
        "the chosen login's"
    );

    let again = stack.connect(USER, &json!({"region": "na"})).await;
    let html = http
        .get(again.body["authorization_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("Cancel").unwrap();
    let href = html[..at].rfind("href=\"").unwrap() + 6;
    let cancel = html[href..href + html[href..].find('"').unwrap()].replace("&amp;", "&");
    let denied = http.get(format!("{base}{cancel}")).send().await.unwrap();
    assert_eq!(denied.status(), 302);
    let callback = denied.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.contains("error=access_denied"), "{callback}");
    let location = stack
        .amazon_redirect(callback.split_once('?').unwrap().1)
        .await
        .location();
    let refused = query_of(&location);
    assert_eq!(
        (refused["amazon"].as_str(), refused["reason"].as_str()),
        ("error", "access_denied")
    );
    assert!(!refused.contains_key("completion"));
}
