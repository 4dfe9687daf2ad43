use super::*;

/// Every route of a workspace, with the permission it needs: `(method,
/// path, permission)`.
fn routes(connection: &str, account: &str) -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("GET", "/api/v1/connections".into(), "read"),
        ("GET", format!("/api/v1/connections/{connection}"), "read"),
        (
            "GET",
            format!("/api/v1/connections/{connection}/events"),
            "read",
        ),
        ("GET", "/api/v1/accounts".into(), "read"),
        ("GET", "/api/v1/accounts/health".into(), "read"),
        ("GET", format!("/api/v1/accounts/{account}"), "read"),
        ("GET", format!("/api/v1/accounts/{account}/seats"), "read"),
        (
            "GET",
            format!("/api/v1/accounts/{account}/seats/history"),
            "read",
        ),
        ("GET", "/api/v1/users/me/full".into(), "read"),
        ("GET", "/api/v1/users/me/accounts".into(), "read"),
        (
            "POST",
            format!("/api/v1/connections/{connection}/sync"),
            "manage",
        ),
        (
            "PUT",
            format!("/api/v1/accounts/{account}/default"),
            "manage",
        ),
        (
            "POST",
            format!("/api/v1/accounts/{account}/seats/refresh"),
            "manage",
        ),
        ("DELETE", format!("/api/v1/accounts/{account}"), "manage"),
        (
            "DELETE",
            format!("/api/v1/connections/{connection}"),
            "manage",
        ),
        (
            "POST",
            format!("/api/v1/connections/{connection}/reauthorize"),
            "connect",
        ),
        ("POST", "/api/v1/amazon/connect".into(), "connect"),
        (
            "POST",
            format!("/api/v1/accounts/{account}/ads/sp/campaigns/list"),
            "use",
        ),
    ]
}

async fn call(stack: &Stack, method: &str, path: &str, session: &str) -> Response {
    let request = Request::new(method, path);
    if path.contains("/ads/") {
        let account = path.split('/').nth(4).unwrap();
        stack.proxy(&campaigns_list(account), session).await
    } else if path == "/api/v1/amazon/connect" {
        stack.send(&stack.start, &request, Some(session)).await
    } else {
        stack.send(&stack.users, &request, Some(session)).await
    }
}

/// Each session and the permissions it holds in Acme.
const SESSIONS: [(&str, &[&str]); 5] = [
    (MEMBER_AT_ACME, &["read", "use"]),
    // Custom permissions win over the role, even an admin's.
    ("user_2max@org_2acme:admin+read", &["read"]),
    (
        "user_2max@org_2acme:member+read,manage",
        &["read", "manage"],
    ),
    ("user_2max@org_2acme:admin+", &[]),
    // A role the mapping does not know holds nothing.
    ("user_2max@org_2acme:billing", &[]),
];

#[tokio::test]
async fn a_member_without_the_permission_gets_403_and_nothing_changes() {
    let Agencies { stack, acme, .. } = agencies().await;
    let (connection, accounts) = &acme;
    for (session, held) in SESSIONS {
        for (method, path, needs) in routes(connection, &accounts[1]) {
            if held.contains(&needs) {
                continue;
            }
            let before = stack.snapshot().await;
            let answer = call(&stack, method, &path, session).await;
            assert_eq!(
                answer.status, 403,
                "{session} {method} {path}: {:?}",
                answer.body
            );
            assert_eq!(answer.body["error"]["code"], "PERMISSION_REQUIRED");
            let message = answer.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(needs), "{message}");
            assert_eq!(stack.snapshot().await, before, "{session} {method} {path}");
        }
    }
}

#[tokio::test]
async fn a_member_may_do_what_their_permissions_allow() {
    let Agencies { stack, acme, .. } = agencies().await;
    let (connection, accounts) = &acme;
    for (session, held) in SESSIONS {
        for (method, path, needs) in routes(connection, &accounts[1]) {
            // Reads only: the writes are the admin's test below.
            if !held.contains(&needs) || !matches!(needs, "read" | "use") {
                continue;
            }
            let answer = call(&stack, method, &path, session).await;
            assert!(
                answer.status != 403,
                "{session} {method} {path}: {:?}",
                answer.body
            );
            // Seats are a DSP advertiser's: this one is not.
            let expected = if path.contains("/seats") { 404 } else { 200 };
            assert_eq!(
                answer.status, expected,
                "{session} {method} {path}: {:?}",
                answer.body
            );
        }
    }
}

#[tokio::test]
async fn an_admin_manages_and_connects_for_the_organization() {
    let Agencies { stack, acme, .. } = agencies().await;
    let (connection, accounts) = &acme;
    let send = |method: &'static str, path: String| {
        let stack = &stack;
        async move {
            stack
                .send(
                    &stack.users,
                    &Request::new(method, &path),
                    Some(ADMIN_AT_ACME),
                )
                .await
        }
    };
    let synced = send("POST", format!("/api/v1/connections/{connection}/sync")).await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let default = send("PUT", format!("/api/v1/accounts/{}/default", accounts[1])).await;
    assert_eq!(default.status, 200, "{:?}", default.body);
    assert_eq!(default.body["is_default"], true);
    let started = stack.connect(ADMIN_AT_ACME, &serde_json::json!({})).await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    let removed = send("DELETE", format!("/api/v1/accounts/{}", accounts[0])).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let gone = send("DELETE", format!("/api/v1/connections/{connection}")).await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    let listed = stack.get("/api/v1/connections", MEMBER_AT_ACME).await;
    assert_eq!(listed.body["connections"], serde_json::json!([]));
}

#[tokio::test]
async fn the_default_account_is_per_user_and_per_workspace() {
    let Agencies {
        stack,
        acme,
        personal,
        ..
    } = agencies().await;
    let is_default = |list: &Value| -> Vec<String> {
        list["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["is_default"] == true)
            .map(|a| a["account_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let chosen = stack
        .send(
            &stack.users,
            &Request::new("PUT", &format!("/api/v1/accounts/{}/default", acme.1[1])),
            Some(ADMIN_AT_ACME),
        )
        .await;
    assert_eq!(chosen.status, 200, "{:?}", chosen.body);
    let in_acme = stack.get("/api/v1/accounts", ADMIN_AT_ACME).await.body;
    assert_eq!(is_default(&in_acme), vec![acme.1[1].clone()]);
    // The admin's own default is untouched (their first account), and the
    // member's choice in Acme is their own.
    let own = stack.get("/api/v1/accounts", ADMIN).await.body;
    assert_eq!(is_default(&own), vec![personal.1[0].clone()]);
    let settings = stack.get("/api/v1/settings", ADMIN).await.body;
    assert_eq!(settings["default_account_id"], personal.1[0].as_str());
    let member = stack.get("/api/v1/accounts", MEMBER_AT_ACME).await.body;
    assert!(!is_default(&member).contains(&acme.1[1]), "{member}");
}

#[tokio::test]
async fn the_session_says_whose_connections_and_what_the_caller_may_do() {
    let stack = Stack::new().await;
    stack.create_user(MEMBER, "max@example.com").await;
    for (session, owner, permissions) in [
        (MEMBER, MEMBER, vec!["connect", "manage", "use", "read"]),
        (MEMBER_AT_ACME, ACME, vec!["use", "read"]),
        ("user_2max@org_2acme:admin+read", ACME, vec!["read"]),
    ] {
        let answer = stack.get("/api/v1/users/session", session).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.body["owner_id"], owner, "{session}");
        let mut expected = permissions.clone();
        expected.sort();
        let mut held: Vec<String> =
            serde_json::from_value(answer.body["permissions"].clone()).unwrap();
        held.sort();
        assert_eq!(held, expected, "{session}");
    }
}
