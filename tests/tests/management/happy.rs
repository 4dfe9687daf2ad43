//! Connections, accounts and settings as their owner uses them.

use super::*;

#[tokio::test]
async fn disconnect_shreds_the_tokens_and_removes_the_accounts() {
    let (stack, a, _b) = two_users().await;
    let connection = stack.get(&format!("/api/v1/connections/{a}"), A).await;
    assert_eq!(connection.status, 200);
    assert_eq!(connection.body["account_count"], 2);
    assert_eq!(connection.body["amazon_name"], "alice");
    assert!(connection.body.get("tokens").is_none());
    stack.calls.take();
    stack.kms_calls.take();
    let gone = stack
        .send(
            &stack.users,
            &Request::new("DELETE", &format!("/api/v1/connections/{a}")),
            Some(A),
        )
        .await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    // It says what is gone, what remains, and where to revoke at Amazon.
    assert_eq!(gone.body["connection_id"], a.as_str());
    assert_eq!(
        gone.body["amazon_app_removal_url"],
        "https://www.amazon.com/ap/adam"
    );
    let said = gone.body.to_string();
    assert!(said.contains("tokens") && said.contains("35 days") && said.contains("90 days"));
    // The quota, the partition, then one transaction; no KMS.
    assert_eq!(
        stack.calls.take(),
        ["UpdateItem", "Query", "TransactWriteItems"]
    );
    assert!(stack.kms_calls.take().is_empty());
    let items = stack.items().await;
    let alice: Vec<_> = items
        .iter()
        .filter(|i| attr_s(i, "pk") == Some(&format!("USER#{A}")))
        .collect();
    assert!(
        alice.iter().all(|i| attr_s(i, "sk") == Some("PROFILE")),
        "only the profile is left: {alice:?}"
    );
    assert!(
        !format!("{alice:?}").contains("wrapped_key")
            && !format!("{alice:?}").contains("ciphertext")
    );
    let full = stack.get("/api/v1/users/me/full", A).await.body;
    assert_eq!(full["accounts"], json!([]));
    assert_eq!(full["settings"]["default_account_id"], json!(null));
    // The audit trail stays.
    let user = adsconnect::ids::OwnerId::parse(A).unwrap();
    let conn = adsconnect::ids::ConnectionId::parse(&a).unwrap();
    let (events, _) = stack
        .store
        .events()
        .page(&user, &conn, 10, None)
        .await
        .unwrap();
    assert_eq!(
        events[0].kind,
        adsconnect::model::event::EventKind::Disconnected
    );
    assert_eq!(
        stack
            .get(&format!("/api/v1/connections/{a}"), A)
            .await
            .status,
        404
    );
    // Bob is untouched.
    assert_eq!(account_ids(&stack, B).await.len(), 1);
}

#[tokio::test]
async fn reauthorize_renews_the_connection_in_place_and_keeps_account_ids() {
    let (stack, a, _b) = two_users().await;
    let ids_before = account_ids(&stack, A).await;
    let started = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{a}/reauthorize"))
                .json(&json!({"return_to": format!("{APP_ORIGIN}/back")})),
            Some(A),
        )
        .await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    assert!(
        started.body["authorization_url"]
            .as_str()
            .unwrap()
            .contains("code_challenge=")
    );
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "alice")
        .unwrap();
    let done = stack.amazon_redirect(&query).await.location();
    assert_eq!(done.path(), "/back");
    assert_eq!(stack.finish(A, &done).await["connection_id"], a);
    assert_eq!(account_ids(&stack, A).await, ids_before);
    let connection = stack.get(&format!("/api/v1/connections/{a}"), A).await.body;
    assert_eq!(connection["status"], "active");
    let bad = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{a}/reauthorize"))
                .json(&json!({"return_to": "https://evil.example/"})),
            Some(A),
        )
        .await;
    assert_eq!(bad.status, 400);
    let unknown = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{a}/reauthorize"))
                .json(&json!({"scope": "x"})),
            Some(A),
        )
        .await;
    assert_eq!(unknown.status, 400);
}

#[tokio::test]
async fn sync_adds_updates_and_disables_and_runs_at_most_once_a_minute() {
    let (stack, a, _b) = two_users().await;
    stack.amazon.update_login("alice", |login| {
        login.profiles.insert(
            "na",
            vec![
                profile(102, "CA", "Alice Canada", "seller"),
                profile(103, "MX", "Alice MX", "seller"),
            ],
        );
    });
    let synced = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{a}/sync")),
            Some(A),
        )
        .await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let accounts = stack.get("/api/v1/accounts?status=disabled", A).await.body["accounts"].clone();
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    assert_eq!(
        accounts[0]["profile_id"], "101",
        "vanished, kept as disabled"
    );
    let all = stack
        .get("/api/v1/accounts?limit=100&status=active", A)
        .await
        .body["accounts"]
        .clone();
    let by_profile = |id: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|a| a["profile_id"] == id)
            .cloned()
    };
    assert_eq!(
        by_profile("102").unwrap()["name"],
        "Alice Canada",
        "updated"
    );
    assert!(by_profile("103").is_some(), "added");
    let again = stack
        .send(
            &stack.users,
            &Request::new("POST", &format!("/api/v1/connections/{a}/sync")),
            Some(A),
        )
        .await;
    assert_eq!((again.status, again.error_code()), (429, "RATE_LIMITED"));
    let wait: u64 = again.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The events of the connection, newest first, in pages.
    let page = stack
        .get(&format!("/api/v1/connections/{a}/events?limit=1"), A)
        .await
        .body;
    assert_eq!(page["events"][0]["kind"], "synced");
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = stack
        .get(
            &format!("/api/v1/connections/{a}/events?limit=5&cursor={cursor}"),
            A,
        )
        .await
        .body;
    assert_eq!(next["events"][0]["kind"], "connected");
    assert_eq!(next["next_cursor"], json!(null));
}

#[tokio::test]
async fn pages_return_every_account_once_and_cursors_stay_in_the_callers_partition() {
    let (stack, _a, _b) = two_users().await;
    let many: Vec<(u64, String)> = (0..25).map(|i| (1000 + i, format!("Shop {i}"))).collect();
    let refs: Vec<(u64, &str)> = many.iter().map(|(id, name)| (*id, name.as_str())).collect();
    stack
        .amazon
        .add_login("alice-big", na_login("alice-big", &refs));
    stack.connect_flow(A, "alice-big").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/accounts?limit=10&cursor={c}"),
            None => "/api/v1/accounts?limit=10".to_owned(),
        };
        let page = stack.get(&path, A).await.body;
        seen.extend(
            page["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["account_id"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 27);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 27, "no account twice");
    // A cursor naming Bob's account is only a place in Alice's list: her
    // accounts after it, none of his.
    let bob_account = account_ids(&stack, B).await[0].clone();
    use base64::Engine as _;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        json!({"sort": "name", "after": {"name": "", "account_id": bob_account}}).to_string(),
    );
    let page = stack
        .get(&format!("/api/v1/accounts?cursor={forged}"), A)
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert!(!page.body.to_string().contains(&bob_account));
    assert!(!page.body["accounts"].as_array().unwrap().is_empty());
    for bad in [
        "cursor=!!!",
        "limit=0",
        "limit=101",
        "colour=red",
        "status=expired",
    ] {
        assert_eq!(
            stack
                .get(&format!("/api/v1/accounts?{bad}"), A)
                .await
                .status,
            400,
            "{bad}"
        );
    }
    // Default page size follows the user's items_per_page.
    let patch = Request::new("PATCH", "/api/v1/settings").json(&json!({"items_per_page": 5}));
    stack.send(&stack.users, &patch, Some(A)).await;
    assert_eq!(
        stack.get("/api/v1/accounts", A).await.body["accounts"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn deleting_accounts_and_the_health_summary() {
    let (stack, a, _b) = two_users().await;
    let ids = account_ids(&stack, A).await;
    let health = stack.get("/api/v1/accounts/health", A).await.body;
    assert_eq!(health["total"], 2);
    assert_eq!(health["counts"]["healthy"], 2);
    assert_eq!(health["needs_action"], json!([]));
    assert!(health["soonest_consent_expiry"].is_string());
    // One of two: just that account.
    let first = stack
        .send(
            &stack.users,
            &Request::new("DELETE", &format!("/api/v1/accounts/{}", ids[0])),
            Some(A),
        )
        .await;
    assert_eq!(first.status, 204);
    assert_eq!(
        stack.get(&format!("/api/v1/connections/{a}"), A).await.body["account_count"],
        1
    );
    // The last one: the connection goes too.
    let last = stack
        .send(
            &stack.users,
            &Request::new("DELETE", &format!("/api/v1/accounts/{}", ids[1])),
            Some(A),
        )
        .await;
    assert_eq!(last.status, 204);
    assert_eq!(
        stack
            .get(&format!("/api/v1/connections/{a}"), A)
            .await
            .status,
        404
    );
    assert_eq!(
        stack.get("/api/v1/settings", A).await.body["default_account_id"],
        json!(null)
    );
}

#[tokio::test]
async fn settings_default_then_patch_then_reset() {
    let stack = stack_with_user().await;
    let defaults = stack.get("/api/v1/settings/defaults", USER).await.body;
    assert_eq!(stack.get("/api/v1/settings", USER).await.body, defaults);
    assert_eq!(defaults["timezone"], "UTC");
    stack.calls.take();

    let patch = Request::new("PATCH", "/api/v1/settings")
        .json(&json!({"theme": "dark", "items_per_page": 50, "timezone": "Europe/Berlin", "refresh_interval_hours": 24}));
    let patched = stack.send(&stack.users, &patch, Some(USER)).await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(patched.body["theme"], "dark");
    assert_eq!(patched.body["items_per_page"], 50);
    assert_eq!(
        patched.body["date_format"], "MM/DD/YYYY",
        "untouched fields keep their defaults"
    );
    // The quota, then the one write.
    assert_eq!(stack.calls.take(), ["UpdateItem", "UpdateItem"]);
    assert_eq!(stack.get("/api/v1/settings", USER).await.body, patched.body);

    let reset = stack
        .send(
            &stack.users,
            &Request::new("POST", "/api/v1/settings/reset"),
            Some(USER),
        )
        .await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.body, defaults);
    assert_eq!(stack.get("/api/v1/settings", USER).await.body, defaults);
}
