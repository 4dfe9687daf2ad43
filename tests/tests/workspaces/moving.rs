use serde_json::json;

use super::*;

async fn move_to(stack: &Stack, connection: &str, to: &str, session: &str) -> Response {
    stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{connection}/move"))
                .json(&json!({ "to": to })),
            Some(session),
        )
        .await
}

#[tokio::test]
async fn a_personal_connection_moves_into_the_organization_and_back() {
    let Agencies {
        stack, personal, ..
    } = agencies().await;
    let moved = move_to(&stack, &personal.0, "organization", ADMIN_AT_ACME).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["owner_id"], ACME);
    let in_acme = moved.body["connection"]["id"].as_str().unwrap().to_owned();
    assert_ne!(in_acme, personal.0);
    let acme_accounts = ids(&moved.body, "accounts", "account_id");
    assert_eq!(acme_accounts.len(), personal.1.len());

    // The members see it and use it; the admin's own workspace no longer has it.
    let listed = stack.get("/api/v1/connections", MEMBER_AT_ACME).await;
    assert!(ids(&listed.body, "connections", "id").contains(&in_acme));
    let proxied = stack
        .proxy(&campaigns_list(&acme_accounts[0]), MEMBER_AT_ACME)
        .await;
    assert_eq!(proxied.status, 200, "{:?}", proxied.body);
    let own = stack.get("/api/v1/connections", ADMIN).await;
    assert_eq!(own.body["connections"], json!([]));
    for path in [
        format!("/api/v1/connections/{}", personal.0),
        format!("/api/v1/accounts/{}", personal.1[0]),
    ] {
        for session in [ADMIN, ADMIN_AT_ACME] {
            assert_eq!(
                stack.get(&path, session).await.status,
                404,
                "{session} {path}"
            );
        }
    }
    // Audited where it arrived, with who moved it and from where.
    let trail = stack
        .get(
            &format!("/api/v1/connections/{in_acme}/events"),
            MEMBER_AT_ACME,
        )
        .await;
    let first = &trail.body["events"][0];
    assert_eq!(first["kind"], "moved");
    assert_eq!(first["actor"], ADMIN);
    assert_eq!(first["detail"], format!("{ADMIN}/{}", personal.0));

    // A member may not take it out; the admin may.
    let refused = move_to(&stack, &in_acme, "personal", MEMBER_AT_ACME).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert_eq!(refused.body["error"]["code"], "PERMISSION_REQUIRED");
    let back = move_to(&stack, &in_acme, "personal", ADMIN_AT_ACME).await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    // Ids are the owner's: back home it has its first ids again.
    assert_eq!(back.body["connection"]["id"], personal.0.as_str());
    assert_eq!(ids(&back.body, "accounts", "account_id"), personal.1);
    let proxied = stack.proxy(&campaigns_list(&personal.1[0]), ADMIN).await;
    assert_eq!(proxied.status, 200, "{:?}", proxied.body);
    let gone = stack.get("/api/v1/connections", MEMBER_AT_ACME).await;
    assert!(!ids(&gone.body, "connections", "id").contains(&in_acme));
}

#[tokio::test]
async fn a_move_that_may_not_happen_changes_nothing() {
    let Agencies {
        stack,
        acme,
        personal,
        globex,
    } = agencies().await;
    // The admin's own "client" login is already Acme's.
    let (own_client, _) = stack.connected(ADMIN, "client").await;
    let before = stack.snapshot().await;
    for (connection, to, session, status, code) in [
        // Into Acme without `connect` there.
        (
            &personal.0,
            "organization",
            "user_2ada@org_2acme:admin+read,manage",
            403,
            "PERMISSION_REQUIRED",
        ),
        // No organization active.
        (
            &personal.0,
            "organization",
            ADMIN,
            422,
            "NO_ACTIVE_ORGANIZATION",
        ),
        // Another owner's connection, from either side.
        (
            &globex.0,
            "organization",
            ADMIN_AT_ACME,
            404,
            "CONNECTION_NOT_FOUND",
        ),
        (
            &globex.0,
            "personal",
            ADMIN_AT_ACME,
            404,
            "CONNECTION_NOT_FOUND",
        ),
        (
            &acme.0,
            "organization",
            ADMIN_AT_ACME,
            404,
            "CONNECTION_NOT_FOUND",
        ),
        // The same Amazon login is connected at the destination.
        (
            &own_client,
            "organization",
            ADMIN_AT_ACME,
            409,
            "ALREADY_CONNECTED",
        ),
    ] {
        let answer = move_to(&stack, connection, to, session).await;
        assert_eq!(answer.status, status, "{session} {to}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["code"], code, "{session} {to}");
    }
    for body in [
        json!({}),
        json!({"to": "team"}),
        json!({"to": "personal", "owner_id": ACME}),
    ] {
        let answer = stack
            .send(
                &stack.users,
                &Request::new("POST", &format!("/api/v1/connections/{}/move", personal.0))
                    .json(&body),
                Some(ADMIN_AT_ACME),
            )
            .await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
    }
    assert_eq!(stack.snapshot().await, before);
}
