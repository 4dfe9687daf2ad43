//! Items the version before organizations wrote name their user as
//! `user_id` (connections, audit events) and live in the user's partition.
//! They are personal as they stand: nothing to migrate before or after the
//! deploy, and every write from then on stores the new shape.

use aws_sdk_dynamodb::types::AttributeValue;

use super::*;

const OLD_TIMER: &str = "user_2oldtimer";

/// Rewrites every connection and event item of `user` as the previous
/// version stored it: `user_id` where `owner` now is, no `actor`.
async fn as_the_previous_version_wrote(stack: &Stack, user: &str) -> usize {
    let mut rewritten = 0;
    for mut item in stack.items().await {
        let pk = item["pk"].as_s().unwrap().clone();
        if pk != format!("USER#{user}") && pk != format!("EVENTS#{user}") {
            continue;
        }
        let Some(owner) = item.remove("owner") else {
            continue;
        };
        item.remove("actor");
        item.insert("user_id".into(), owner);
        stack
            .dynamo
            .put_item()
            .table_name(&stack.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        rewritten += 1;
    }
    stack.calls.take();
    rewritten
}

#[tokio::test]
async fn connections_written_before_owners_existed_are_their_users_own() {
    let stack = Stack::new().await;
    stack.create_user(OLD_TIMER, "old@example.com").await;
    stack.amazon.add_login(
        "legacy",
        na_login("legacy", &[(501, "Legacy US"), (502, "Legacy UK")]),
    );
    let (connection, accounts) = stack.connected(OLD_TIMER, "legacy").await;
    // The connection and its `connected` event.
    assert_eq!(as_the_previous_version_wrote(&stack, OLD_TIMER).await, 2);
    let connection_item = || async {
        stack
            .item(&format!("USER#{OLD_TIMER}"), &format!("CONN#{connection}"))
            .await
            .unwrap()
    };
    assert!(connection_item().await.contains_key("user_id"));

    let listed = stack.get("/api/v1/connections", OLD_TIMER).await;
    assert_eq!(
        ids(&listed.body, "connections", "id"),
        vec![connection.clone()]
    );
    let events = stack
        .get(
            &format!("/api/v1/connections/{connection}/events"),
            OLD_TIMER,
        )
        .await;
    assert_eq!(events.body["events"][0]["kind"], "connected");
    assert_eq!(events.body["events"][0]["actor"], Value::Null);
    // The sealed tokens open as before: the proxy calls Amazon with them.
    let proxied = stack.proxy(&campaigns_list(&accounts[0]), OLD_TIMER).await;
    assert_eq!(proxied.status, 200, "{:?}", proxied.body);
    // Nobody else, in no workspace, sees it.
    for session in [MEMBER, "user_2oldtimer@org_2acme:admin"] {
        let other = stack
            .get(&format!("/api/v1/connections/{connection}"), session)
            .await;
        assert_eq!(other.status, 404, "{session}");
    }
    // The next write stores the new shape.
    let synced = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{connection}/sync")),
            Some(OLD_TIMER),
        )
        .await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let item = connection_item().await;
    assert_eq!(
        item.get("owner"),
        Some(&AttributeValue::S(OLD_TIMER.into()))
    );
    assert!(!item.contains_key("user_id"));
}
