use super::*;

#[tokio::test]
async fn every_change_to_an_organizations_connection_names_who_made_it() {
    let Agencies { stack, acme, .. } = agencies().await;
    let second_admin = "user_2bea@org_2acme:admin";
    let synced = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{}/sync", acme.0)),
            Some(second_admin),
        )
        .await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let events = stack
        .get(
            &format!("/api/v1/connections/{}/events", acme.0),
            MEMBER_AT_ACME,
        )
        .await;
    assert_eq!(events.status, 200, "{:?}", events.body);
    let trail: Vec<(String, String)> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        vec![
            ("synced".to_owned(), BOTH.to_owned()),
            ("connected".to_owned(), ADMIN.to_owned()),
        ]
    );
    // Stored with the organization as owner and the acting user beside it.
    let stored = stack.items().await;
    let event = stored
        .iter()
        .find(|item| {
            item.get("pk").and_then(|v| v.as_s().ok()) == Some(&format!("EVENTS#{ACME}"))
                && item
                    .get("kind")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("synced")
        })
        .expect("the sync's event in the organization's partition");
    assert_eq!(event["owner"].as_s().unwrap(), ACME);
    assert_eq!(event["actor"].as_s().unwrap(), BOTH);
}

#[tokio::test]
async fn a_deleted_user_leaves_their_organizations_connections_in_place() {
    let Agencies {
        stack,
        acme,
        personal,
        ..
    } = agencies().await;
    let deleted = stack.post_event(&deleted_event(ADMIN)).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    // Their own connection is gone with them …
    let items = stack.items().await;
    assert!(
        !items
            .iter()
            .any(|item| format!("{item:?}").contains(&personal.0)
                && item
                    .get("entity")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("connection")),
        "the deleted user's own connection is still stored"
    );
    // … Acme's, which they connected, lives on for its members.
    let listed = stack.get("/api/v1/connections", MEMBER_AT_ACME).await;
    assert_eq!(ids(&listed.body, "connections", "id"), vec![acme.0.clone()]);
    let proxied = stack
        .proxy(&campaigns_list(&acme.1[0]), MEMBER_AT_ACME)
        .await;
    assert_eq!(proxied.status, 200, "{:?}", proxied.body);
}

fn organization_deleted(org_id: &str) -> Value {
    serde_json::json!({"type": "organization.deleted", "object": "event",
        "data": {"object": "organization", "id": org_id, "deleted": true}})
}

#[tokio::test]
async fn a_deleted_organization_disconnects_everything_it_owns_once() {
    let Agencies {
        stack,
        acme,
        globex,
        personal,
    } = agencies().await;
    stack
        .amazon
        .add_login("second", na_login("second", &[(601, "Second US")]));
    let (second, _) = stack.connected(ADMIN_AT_ACME, "second").await;
    let deleted = stack
        .post_event_as(&organization_deleted(ACME), "msg_acme_gone")
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let after = stack.snapshot().await;
    // Nothing of Acme's but its tombstone and the audit trail: no sealed
    // token, no account, no member's default.
    let acme_items: Vec<&String> = after
        .iter()
        .filter(|item| item.contains(&format!("ORG#{ACME}")))
        .collect();
    assert_eq!(acme_items.len(), 1, "{acme_items:#?}");
    assert!(acme_items[0].contains("TOMBSTONE"));
    for connection in [&acme.0, &second] {
        let events = stack
            .items()
            .await
            .into_iter()
            .filter(|item| {
                item.get("connection_id").and_then(|v| v.as_s().ok()) == Some(connection)
                    && item
                        .get("kind")
                        .and_then(|v| v.as_s().ok())
                        .map(String::as_str)
                        == Some("disconnected")
            })
            .count();
        assert_eq!(events, 1, "{connection}");
    }
    // The others' connections are whole.
    for (session, own) in [(GLOBEX_ADMIN, &globex.0), (ADMIN, &personal.0)] {
        let listed = stack.get("/api/v1/connections", session).await;
        assert_eq!(ids(&listed.body, "connections", "id"), vec![own.clone()]);
    }
    // A replay, or the same event delivered again under a new id, changes
    // nothing; nor does a consent completing in the deleted organization.
    assert_eq!(
        stack
            .post_event_as(&organization_deleted(ACME), "msg_acme_gone")
            .await
            .status,
        200
    );
    assert_eq!(
        stack.post_event(&organization_deleted(ACME)).await.status,
        200
    );
    let late = stack.connect_flow(ADMIN_AT_ACME, "client").await;
    assert_ne!(
        late.get("amazon").map(String::as_str),
        Some("connected"),
        "{late:?}"
    );
    let mut now = stack.snapshot().await;
    now.retain(|item| {
        !item.contains("DELIVERY#") && !item.contains("STATE#") && !item.contains("GRANT#")
    });
    let mut then = after.clone();
    then.retain(|item| {
        !item.contains("DELIVERY#") && !item.contains("STATE#") && !item.contains("GRANT#")
    });
    assert_eq!(now, then);
    let listed = stack.get("/api/v1/connections", MEMBER_AT_ACME).await;
    assert_eq!(listed.body["connections"], serde_json::json!([]));
}
