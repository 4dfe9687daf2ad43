//! Lifecycle events: committed audit events reach EventBridge exactly as
//! committed, with the user's notification settings; a poisoned stream
//! record blocks nothing; a failed publish is delivered again.

use super::*;

fn detail_types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect()
}

/// The audit events in the table, by id: their kind.
async fn audit_kinds(stack: &Stack) -> std::collections::BTreeMap<String, String> {
    stack
        .items()
        .await
        .iter()
        .filter(|i| attr_s(i, "pk").is_some_and(|pk| pk.starts_with("EVENTS#")))
        .map(|i| {
            (
                attr_s(i, "event_id").unwrap().to_owned(),
                attr_s(i, "kind").unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_connections_life_reaches_eventbridge_as_committed() {
    let stack = Stack::with_stream(USER, "p@example.com").await;
    let mut tap = stack.event_tap().await;
    stack.amazon.add_login("seller", seller());
    let (connection, accounts) = stack.connected(USER, "seller").await;
    // Published within moments of the write, with the settings of then.
    let mut events = tap.published().await;
    stack.connected(USER, "seller").await;
    let patch =
        Request::new("PATCH", "/api/v1/settings").json(&json!({"email_notifications": false}));
    assert_eq!(
        stack.send(&stack.users, &patch, Some(USER)).await.status,
        200
    );
    // The grant is revoked; the next use finds out.
    stack.amazon.revoke("seller");
    stack.amazon.expire_access_tokens();
    let account = &accounts[0];
    assert_eq!(
        stack.proxy(&campaigns_list(account), USER).await.status,
        409
    );
    let gone = Request::new("DELETE", &format!("/api/v1/connections/{connection}"));
    assert_eq!(
        stack.send(&stack.users, &gone, Some(USER)).await.status,
        200
    );

    events.extend(tap.published().await);
    assert_eq!(
        detail_types(&events),
        [
            "Connection Connected",
            "Connection Reauthorized",
            "Connection Needs Reauthorization",
            "Connection Disconnected"
        ]
    );
    let committed = audit_kinds(&stack).await;
    for event in &events {
        assert_eq!(event["source"], "adsconnect");
        let detail = &event["detail"];
        let id = detail["event_id"].as_str().unwrap();
        assert_eq!(
            committed[id],
            detail["kind"].as_str().unwrap(),
            "as committed"
        );
        assert_eq!(detail["user_id"], USER);
        assert_eq!(detail["connection_id"], connection.as_str());
        assert_eq!(detail["notifications_enabled"], true);
        assert!(!event.to_string().contains("Atz"), "no token: {event}");
        // No personal data on a bus many may read: not the Amazon login's address.
        assert!(!event.to_string().contains('@'), "no e-mail: {event}");
    }
    assert_eq!(events[0]["detail"]["email_notifications"], true);
    assert_eq!(events[1]["detail"]["email_notifications"], false);
    assert_eq!(events[2]["detail"]["email_notifications"], false);
    assert_eq!(events[2]["detail"]["reason"], "invalid_grant");
    let listed: Vec<&str> = events[0]["detail"]["account_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 3);
    // Nothing new, nothing published again.
    assert!(tap.published().await.is_empty());
}

#[tokio::test]
async fn a_poisoned_record_is_skipped_and_blocks_nothing() {
    let stack = Stack::with_stream(USER, "p@example.com").await;
    let mut tap = stack.event_tap().await;
    stack.amazon.add_login("seller", seller());
    stack.connected(USER, "seller").await;
    let mut batch = tap.pump.next_batch().await.unwrap();
    let records = batch["Records"].as_array_mut().unwrap();
    let real = records.len();
    records.insert(
        0,
        json!({
            "eventID": "poison", "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": "1", "NewImage": {"entity": {"S": "event"}, "kind": {"N": "12"}}}
        }),
    );
    records.insert(
        1,
        json!({"eventID": "garbage", "eventName": "INSERT", "dynamodb": 42}),
    );
    let answer = tap.publisher.handle(&batch).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{real} records");
    let events = tap.published().await;
    assert_eq!(detail_types(&events), ["Connection Connected"]);
}

#[tokio::test]
async fn a_failed_publish_is_reported_and_delivered_again() {
    let stack = Stack::with_stream(USER, "p@example.com").await;
    let mut tap = stack.event_tap().await;
    stack.amazon.add_login("seller", seller());
    stack.connected(USER, "seller").await;
    let unreachable = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&stack.sdk)
            .endpoint_url("http://127.0.0.1:9")
            .build(),
    );
    let failing = adsconnect::entrypoints::stream::Publisher {
        store: stack.store.clone(),
        events: unreachable,
        bus: tap.publisher.bus.clone(),
    };
    let batch = tap.pump.next_batch().await.unwrap();
    let answer = failing.handle(&batch).await;
    let failures = answer["batchItemFailures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{answer}");
    // Lambda delivers the batch again; this time EventBridge answers.
    assert_eq!(
        tap.publisher.handle(&batch).await["batchItemFailures"],
        json!([])
    );
    assert_eq!(
        detail_types(&tap.published().await),
        ["Connection Connected"]
    );
}

#[tokio::test]
async fn a_consent_expiring_within_thirty_days_is_announced_once() {
    let stack = Stack::with_stream(USER, "p@example.com").await;
    stack.amazon.add_login("seller", seller());
    stack.connected(USER, "seller").await;
    let accounts = Accounts::of(&stack, USER).await;
    let mut tap = stack.event_tap().await;
    connection_time_in(&stack, "consent_expires_at", chrono::Duration::days(20)).await;
    let us = accounts.of_profile("5001");
    // Amazon refuses the token: one refresh; then it expires: another.
    stack.amazon.expire_access_tokens();
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
    connection_time_in(&stack, "access_expires_at", chrono::Duration::minutes(-1)).await;
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
    assert_eq!(stack.amazon.refresh_requests().len(), 2);
    let events = tap.published().await;
    let types = detail_types(&events);
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "Consent Expiring Soon")
            .count(),
        1,
        "{types:?}"
    );
    let warning = events
        .iter()
        .find(|e| e["detail-type"] == "Consent Expiring Soon")
        .unwrap();
    assert!(warning["detail"]["consent_expires_at"].is_string());
}
