//! The completion: a consent connects only when the signed-in user who
//! started it presents the callback's completion, once. Another user's
//! attempt destroys the pending grant; unknown, used and expired
//! completions all get the same 404; the pending grant holds nothing in
//! plain text and lives at most ten minutes.

use super::*;

const INTRUDER: &str = "user_2oauthIntruder";

/// A started, consented and redirected flow of [`USER`]: the completion
/// the redirect carries.
async fn authorized(stack: &Stack) -> String {
    let location = stack.authorize_flow(USER, LOGIN).await;
    let query = query_of(&location);
    assert_eq!(query["amazon"], "authorized", "{location}");
    query["completion"].clone()
}

async fn grants(stack: &Stack) -> Vec<Item> {
    stack
        .items()
        .await
        .into_iter()
        .filter(|i| attr_s(i, "pk").is_some_and(|pk| pk.starts_with("GRANT#")))
        .collect()
}

fn assert_not_found(what: &str, response: &Response) {
    assert_eq!(response.status, 404, "{what}: {:?}", response.body);
    assert_eq!(response.error_code(), "COMPLETION_NOT_FOUND", "{what}");
    assert_eq!(
        response.body["error"]["message"],
        "no pending consent with this completion for you: unknown, used or expired",
        "{what}: every 404 reads the same"
    );
}

/// User A sends his consent link to someone else; their Amazon login
/// consents and their browser, signed in as another app user, follows the
/// redirect: nothing is connected to anyone, and the grant is gone.
#[tokio::test]
async fn a_consent_completed_by_another_user_connects_nobody_and_is_destroyed() {
    let stack = stack().await;
    stack.create_user(INTRUDER, "b@example.com").await;
    let completion = authorized(&stack).await;
    assert_eq!(
        connections(&stack).await,
        0,
        "the callback connects nothing"
    );
    assert_eq!(grants(&stack).await.len(), 1);

    assert_not_found("another user", &stack.complete(INTRUDER, &completion).await);
    assert_eq!(grants(&stack).await.len(), 0, "destroyed by the attempt");
    assert_not_found("then the starter", &stack.complete(USER, &completion).await);
    assert_eq!(connections(&stack).await, 0);
    for user in [USER, INTRUDER] {
        let full = stack.get("/api/v1/users/me/full", user).await.body;
        assert_eq!(full["connections"], json!([]), "{user}");
        assert_eq!(full["accounts"], json!([]), "{user}");
    }
    // Without a session it is not even looked at.
    let anonymous = stack
        .send(
            &stack.callback,
            &Request::new("POST", "/api/v1/amazon/complete")
                .json(&json!({ "completion": completion })),
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn the_starter_connects_with_the_completion_once() {
    let stack = stack().await;
    let completion = authorized(&stack).await;
    let done = stack.complete(USER, &completion).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["connection"]["account_count"], 1);
    assert_eq!(connections(&stack).await, 1);
    assert_eq!(grants(&stack).await.len(), 0);
    let before = stack.snapshot().await;
    assert_not_found("used", &stack.complete(USER, &completion).await);
    assert_eq!(stack.snapshot().await, before);
}

#[tokio::test]
async fn eight_concurrent_completions_connect_once() {
    let stack = stack().await;
    let completion = authorized(&stack).await;
    let answers =
        futures::future::join_all((0..8).map(|_| stack.complete(USER, &completion))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 404, 404, 404, 404, 404, 404, 404]);
    assert_eq!(connections(&stack).await, 1);
    let events = stack
        .items()
        .await
        .into_iter()
        .filter(|i| attr_s(i, "pk").is_some_and(|pk| pk.starts_with("EVENTS#")))
        .count();
    assert_eq!(events, 1, "one connected event");
}

#[tokio::test]
async fn unknown_expired_and_malformed_completions_change_nothing() {
    let stack = stack().await;
    let before = stack.snapshot().await;
    assert_not_found("never issued", &stack.complete(USER, &"A".repeat(43)).await);
    for (what, completion) in [
        ("too short", "A".repeat(42)),
        ("too long", "A".repeat(44)),
        ("not base64url", format!("{}+", "A".repeat(42))),
        ("empty", String::new()),
    ] {
        let answer = stack.complete(USER, &completion).await;
        assert_eq!(answer.status, 400, "{what}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["field"], "completion", "{what}");
    }
    for body in [
        json!({}),
        json!({"completion": "A".repeat(43), "user_id": USER}),
        json!({"completion": 42}),
    ] {
        let request = Request::new("POST", "/api/v1/amazon/complete").json(&body);
        let answer = stack.send(&stack.callback, &request, Some(USER)).await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
    }
    assert_eq!(stack.snapshot().await, before);

    // Expired (the table's TTL has not swept it yet): 404, and gone.
    let completion = authorized(&stack).await;
    let grant = grants(&stack).await.remove(0);
    let pk = attr_s(&grant, "pk").unwrap().to_owned();
    let past_ms = chrono::Utc::now().timestamp_millis() - 1_000;
    stack.set_number(&pk, "GRANT", "expires_at", past_ms).await;
    assert_not_found("expired", &stack.complete(USER, &completion).await);
    assert_eq!(grants(&stack).await.len(), 0);
    assert_eq!(connections(&stack).await, 0);
}

/// The pending grant: under a hash of the completion, its tokens sealed,
/// gone by TTL within ten minutes; the redirect carries neither a code nor
/// a token.
#[tokio::test]
async fn a_pending_grant_holds_nothing_in_plain_text_and_lives_ten_minutes() {
    let stack = stack().await;
    let location = stack.authorize_flow(USER, LOGIN).await;
    let completion = query_of(&location)["completion"].clone();
    let dump = format!("{:?}", stack.items().await);
    let secrets = stack.amazon.seen_secrets();
    assert!(secrets.len() >= 3, "code, verifier and tokens: {secrets:?}");
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "{secret} stored in plain text"
        );
        assert!(
            !location.as_str().contains(secret.as_str()),
            "{secret} in {location}"
        );
    }
    assert!(
        !dump.contains(&completion),
        "the completion is stored by hash only"
    );
    let grant = grants(&stack).await.remove(0);
    assert_eq!(
        attr_s(&grant, "pk").unwrap(),
        format!("GRANT#{}", state_hash(&completion))
    );
    let number = |name: &str| match &grant[name] {
        AttributeValue::N(n) => n.parse::<i64>().unwrap(),
        other => panic!("{name}: {other:?}"),
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert!(number("expires_at") <= now_ms + 600_000);
    assert!(number("expires_at") > now_ms + 590_000);
    assert_eq!(number("ttl"), number("expires_at") / 1000);
}
