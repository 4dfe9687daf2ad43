use super::*;

#[tokio::test]
async fn an_organizations_connection_is_its_members_and_nobody_elses() {
    let Agencies {
        stack,
        acme,
        globex,
        personal,
    } = agencies().await;
    let (acme_connection, acme_accounts) = &acme;
    // Every member of Acme with Acme active sees Acme's connection and
    // accounts, and only those.
    for session in [ADMIN_AT_ACME, MEMBER_AT_ACME, BOTH_AT_ACME] {
        let listed = stack.get("/api/v1/connections", session).await;
        assert_eq!(listed.status, 200, "{session}: {:?}", listed.body);
        assert_eq!(
            ids(&listed.body, "connections", "id"),
            vec![acme_connection.clone()],
            "{session}"
        );
        let accounts = stack.get("/api/v1/accounts", session).await;
        assert_eq!(
            ids(&accounts.body, "accounts", "account_id"),
            *acme_accounts,
            "{session}"
        );
        let one = stack
            .get(&format!("/api/v1/connections/{acme_connection}"), session)
            .await;
        assert_eq!(one.status, 200, "{session}");
    }
    // Globex's sessions, and Acme's admin on their own, see none of it.
    for (session, own) in [
        (GLOBEX_ADMIN, &globex),
        (BOTH_AT_GLOBEX, &globex),
        (ADMIN, &personal),
    ] {
        let listed = stack.get("/api/v1/connections", session).await;
        assert_eq!(
            ids(&listed.body, "connections", "id"),
            vec![own.0.clone()],
            "{session}"
        );
        assert_unknown(&stack, session, acme_connection, &acme_accounts[0]).await;
    }
    // And Acme's sessions see neither Globex's nor the admin's own.
    for session in [ADMIN_AT_ACME, MEMBER_AT_ACME, BOTH_AT_ACME] {
        assert_unknown(&stack, session, &globex.0, &globex.1[0]).await;
        assert_unknown(&stack, session, &personal.0, &personal.1[0]).await;
    }
}

/// Every read of `connection` and `account` answers exactly what an id
/// that never existed does.
async fn assert_unknown(stack: &Stack, session: &str, connection: &str, account: &str) {
    for (path, code) in [
        (
            format!("/api/v1/connections/{connection}"),
            "CONNECTION_NOT_FOUND",
        ),
        (
            format!("/api/v1/connections/{connection}/events"),
            "CONNECTION_NOT_FOUND",
        ),
        (format!("/api/v1/accounts/{account}"), "ACCOUNT_NOT_FOUND"),
    ] {
        let answer = stack.get(&path, session).await;
        assert_eq!(answer.status, 404, "{session} {path}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["code"], code, "{session} {path}");
    }
    let proxied = stack.proxy(&campaigns_list(account), session).await;
    assert_eq!(proxied.status, 404, "{session}: {:?}", proxied.body);
}

#[tokio::test]
async fn a_member_of_two_organizations_sees_the_active_ones_connections() {
    let Agencies {
        stack,
        acme,
        globex,
        ..
    } = agencies().await;
    stack
        .amazon
        .add_login("bea", na_login("bea", &[(401, "Bea US")]));
    let (own, _) = stack.connected(BOTH, "bea").await;
    for (session, expected) in [
        (BOTH_AT_ACME, &acme.0),
        (BOTH_AT_GLOBEX, &globex.0),
        (BOTH, &own),
        (BOTH_AT_ACME, &acme.0),
    ] {
        let listed = stack.get("/api/v1/connections", session).await;
        assert_eq!(
            ids(&listed.body, "connections", "id"),
            vec![expected.clone()],
            "{session}"
        );
    }
}

#[tokio::test]
async fn a_removed_member_loses_access_with_their_next_session_token() {
    let Agencies { stack, acme, .. } = agencies().await;
    // While the token still names Acme, the member reads.
    let before = stack
        .get(&format!("/api/v1/connections/{}", acme.0), MEMBER_AT_ACME)
        .await;
    assert_eq!(before.status, 200);
    // Removed in Clerk: the next token names no organization (or another).
    for session in [MEMBER, "user_2max@org_2globex:member"] {
        assert_unknown(&stack, session, &acme.0, &acme.1[0]).await;
        let listed = stack.get("/api/v1/accounts", session).await;
        let seen = ids(&listed.body, "accounts", "account_id");
        assert!(
            acme.1.iter().all(|a| !seen.contains(a)),
            "{session}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn the_same_amazon_login_in_two_workspaces_is_two_connections() {
    let Agencies { stack, acme, .. } = agencies().await;
    // Acme's admin connects the client's login for themself too.
    let (own, own_accounts) = stack.connected(ADMIN, "client").await;
    assert_ne!(own, acme.0);
    assert!(own_accounts.iter().all(|a| !acme.1.contains(a)));
    // Disconnecting one leaves the other whole.
    let removed = stack
        .send(
            &stack.users,
            &Request::new("DELETE", &format!("/api/v1/connections/{own}")),
            Some(ADMIN),
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    let still = stack.get("/api/v1/accounts", MEMBER_AT_ACME).await;
    assert_eq!(ids(&still.body, "accounts", "account_id"), acme.1);
    let proxied = stack
        .proxy(&campaigns_list(&acme.1[0]), MEMBER_AT_ACME)
        .await;
    assert_eq!(proxied.status, 200, "{:?}", proxied.body);
}
