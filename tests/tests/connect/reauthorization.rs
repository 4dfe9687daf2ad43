//! Regression test for defect e: re-authorizing a connection with consent
//! from another Amazon login must not turn the connection into that login.

use adsconnect::connections::connection_id_for;
use adsconnect::connections::tokens::token_context;
use adsconnect::model::connection::AmazonIdentity;
use adsconnect::model::connection::ConnectionRecord;
use adsconnect::tokens::TokenCipher;
use adsconnect_tests::*;
use serde_json::{Value, json};

const USER: &str = "user_2reauth";

/// The user's items (profile, connections, accounts) as sorted JSON.
async fn user_items(stack: &Stack) -> Vec<String> {
    let mut items: Vec<String> = stack
        .items()
        .await
        .into_iter()
        .filter(|i| attr_s(i, "pk") == Some(&format!("USER#{USER}")))
        .map(|i| serde_dynamo::from_item::<_, Value>(i).unwrap().to_string())
        .collect();
    items.sort();
    items
}

/// Every token pair stored anywhere, opened by a process of its own.
async fn stored_token_pairs(stack: &Stack) -> Vec<String> {
    let cipher = TokenCipher::new(stack.kms.clone(), stack.kms_key_id.clone());
    let mut pairs = Vec::new();
    for item in stack.items().await {
        if attr_s(&item, "entity") != Some("connection") {
            continue;
        }
        let record: ConnectionRecord = serde_dynamo::from_item(item).unwrap();
        if let Some(sealed) = &record.tokens {
            let context = token_context(&record.owner, &record.connection_id);
            let plaintext = cipher.open(sealed, &context).await.unwrap();
            pairs.push(String::from_utf8(plaintext).unwrap());
        }
    }
    pairs
}

/// `POST /connections/{X}/reauthorize` for X (login `first`), consent given
/// by login `second`: refused with `wrong_amazon_login`; X, its tokens, its
/// identity and its accounts unchanged; nothing stored for `second`. An
/// ordinary connect of `first` works afterwards.
#[tokio::test]
async fn reauthorizing_with_another_amazon_login_is_refused_and_changes_nothing() {
    let stack = Stack::new().await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(USER, "r@example.com", 1_000),
        ))
        .await;
    stack
        .amazon
        .add_login("first", na_seller("first", &[401, 402]));
    stack
        .amazon
        .add_login("second", na_seller("second", &[501]));
    let x = stack.connect_flow(USER, "first").await["connection_id"].clone();
    let connection_key = (format!("USER#{USER}"), format!("CONN#{x}"));
    let stored_before = stack
        .item(&connection_key.0, &connection_key.1)
        .await
        .unwrap();
    let view_before = stack
        .get(&format!("/api/v1/connections/{x}"), USER)
        .await
        .body;
    let accounts_before = stack.get("/api/v1/accounts?limit=100", USER).await.body;
    let items_before = user_items(&stack).await;
    let secrets_before = stack.amazon.seen_secrets().len();

    let started = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{x}/reauthorize")),
            Some(USER),
        )
        .await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    let (_, query) = stack
        .amazon
        .consent(
            started.body["authorization_url"].as_str().unwrap(),
            "second",
        )
        .unwrap();
    let done = stack.amazon_redirect(&query).await.location();
    let completion = query_of(&done)["completion"].clone();
    let answer = stack.complete(USER, &completion).await;
    assert_eq!(answer.status, 409, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "WRONG_AMAZON_LOGIN");
    // Refused for good: the grant is gone.
    assert_eq!(stack.complete(USER, &completion).await.status, 404);

    // X as it was: the stored item (identity, sealed tokens, version) and
    // what the API shows; its accounts still there and active.
    assert_eq!(
        stack
            .item(&connection_key.0, &connection_key.1)
            .await
            .unwrap(),
        stored_before,
        "connection {x} changed"
    );
    let mut view_after = stack
        .get(&format!("/api/v1/connections/{x}"), USER)
        .await
        .body;
    view_after["health"] = view_before["health"].clone();
    assert_eq!(view_after, view_before);
    assert_eq!(
        stack.get("/api/v1/accounts?limit=100", USER).await.body,
        accounts_before,
        "accounts changed"
    );
    assert_eq!(
        user_items(&stack).await,
        items_before,
        "the user's items changed"
    );
    // Nothing for `second`: no connection, and its tokens stored nowhere.
    let second = connection_id_for(
        &adsconnect::ids::OwnerId::parse(USER).unwrap(),
        &AmazonIdentity::lwa("amzn1.account.second"),
    );
    assert!(
        stack
            .item(&connection_key.0, &format!("CONN#{second}"))
            .await
            .is_none()
    );
    let listed = stack.get("/api/v1/connections", USER).await.body;
    assert_eq!(
        listed["connections"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    let issued: Vec<String> = stack.amazon.seen_secrets()[secrets_before..].to_vec();
    assert!(!issued.is_empty(), "the code was exchanged");
    let dump = format!("{:?}", stack.items().await);
    for pair in stored_token_pairs(&stack).await {
        for secret in &issued {
            assert!(
                !pair.contains(secret) && !dump.contains(secret),
                "a token of `second` is stored"
            );
        }
    }

    // An ordinary connect of `first` still works, on the same connection.
    let again = stack.connect_flow(USER, "first").await;
    assert_eq!(again.get("amazon").map(String::as_str), Some("connected"));
    assert_eq!(again["connection_id"], x);
    let connection = stack
        .get(&format!("/api/v1/connections/{x}"), USER)
        .await
        .body;
    assert_eq!(
        (
            &connection["status"],
            &connection["amazon_name"],
            &connection["account_count"]
        ),
        (&json!("active"), &json!("first"), &json!(2))
    );
    let accounts = stack
        .get("/api/v1/accounts?limit=100&status=active", USER)
        .await
        .body;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 2);
}
