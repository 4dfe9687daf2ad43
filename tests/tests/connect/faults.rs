//! Faults in the connect flow: AWS failing at any call of a callback, KMS
//! refusing, LWA and the Ads API answering garbage, failures or nothing.
//! Every fault must end in a redirect with a reason within a bounded time and
//! leave the table fully before or fully after the callback.

use std::time::{Duration as StdDuration, Instant};

use adsconnect::connections::refresh::RefreshConfig;
use adsconnect::model::connection::ConnectionStatus;
use adsconnect_tests::proxy::Fault;
use wiremock::ResponseTemplate;

use super::*;

const USER: &str = "user_2faults";

/// The callback and the completion, served by one `oauth-callback` process
/// (cold caches), with every AWS call from the n-th on failing: the user's
/// data is all there or not at all, and a completion whose grant survived
/// connects once everything is healthy again.
#[tokio::test]
async fn a_connect_failing_at_any_aws_call_stores_everything_or_nothing() {
    let (stack, proxy) = proxied_stack().await;
    stack.amazon.add_login("seller", seller());
    let nothing = kinds(&[("PROFILE", 1)]);
    let everything = kinds(&[("PROFILE", 1), ("CONN", 1), ("ACCT", 3), ("EVENT", 1)]);
    for fault in [Fault::ServerError, Fault::LoseAnswer] {
        for failing_at in 0.. {
            assert!(failing_at < 20, "the connect never completed");
            let user = format!("user_2sweep{failing_at}{fault:?}");
            stack.create_user(&user, "f@example.com").await;
            let query = stack.consented(&user, "seller").await;
            let callback = stack.cold_callback();
            proxy.take_calls();
            proxy.fail_after("", failing_at, fault);
            let request = Request::new("GET", &format!("/api/v1/amazon/callback?{query}"));
            let location = stack.send(&callback, &request, None).await.location();
            let outcome = stack.finish_on(&callback, &user, &location).await;
            proxy.heal();
            let calls = proxy.take_calls();
            let owned_now = owned(&stack, &user).await;
            let what = format!("{fault:?} from call {failing_at} of {calls:?}");
            if outcome["amazon"] == "connected" {
                assert_eq!(owned_now, everything, "{what}");
                assert!(failing_at >= 7, "{what}: a fault went unnoticed");
                break;
            }
            assert!(
                [
                    "storage_unavailable",
                    "invalid_state",
                    "dependency_unavailable",
                    "completion_not_found"
                ]
                .contains(&outcome["reason"].as_str()),
                "{what}: {outcome:?}"
            );
            // A lost answer may hide a write that happened: then all of it.
            match fault {
                Fault::LoseAnswer => assert!(
                    owned_now == nothing || owned_now == everything,
                    "{what}: {owned_now:?}"
                ),
                _ => assert_eq!(owned_now, nothing, "{what}"),
            }
            // Healthy again: a grant that survived connects, all of it.
            if query_of(&location)["amazon"] == "authorized" {
                let again = stack.finish_on(&callback, &user, &location).await;
                let owned_after = owned(&stack, &user).await;
                // A write whose answer was lost happened: connected again,
                // its audit trail says so twice.
                let expected = if owned_now == everything {
                    kinds(&[("PROFILE", 1), ("CONN", 1), ("ACCT", 3), ("EVENT", 2)])
                } else {
                    everything.clone()
                };
                match again["amazon"].as_str() {
                    "connected" => assert_eq!(owned_after, expected, "{what}"),
                    _ => {
                        assert_eq!(again["reason"], "completion_not_found", "{what}");
                        assert_eq!(owned_after, owned_now, "{what}");
                    }
                }
            }
        }
    }
}

/// Asserts that no code, verifier or token the Amazon stub handed out or
/// received is stored in plain text.
async fn no_plaintext_tokens(stack: &Stack) {
    let dump = format!("{:?}", stack.items().await);
    for secret in stack.amazon.seen_secrets() {
        assert!(!dump.contains(&secret), "{secret} is stored in plain text");
    }
}

#[tokio::test]
async fn kms_refusing_fails_connects_cleanly_and_refreshes_are_retried_later() {
    let (stack, proxy) = proxied_stack().await;
    stack.create_user(USER, "f@example.com").await;
    stack.amazon.add_login("seller", seller());
    // What KMS answers for a disabled key, and for one pending deletion;
    // moto answers neither, so the proxy does.
    let disabled = Fault::Error(400, "DisabledException");
    let pending_deletion = Fault::Error(400, "KMSInvalidStateException");
    let states = |items: &[Item]| {
        items
            .iter()
            .filter(|i| attr_s(i, "pk").unwrap().starts_with("STATE#"))
            .count()
    };

    // Start: no data key for the verifier, no state.
    proxy.fail_after("TrentService.", 0, disabled);
    let started = stack.connect(USER, &json!({"region": "na"})).await;
    proxy.heal();
    assert_eq!(started.status, 503, "{:?}", started.body);
    assert_eq!(started.error_code(), "DEPENDENCY_UNAVAILABLE");
    assert_eq!(states(&stack.items().await), 0);

    // Callback: the verifier does not open, or the tokens cannot be sealed
    // (after the code was exchanged): nothing stored, a reason to show.
    for (target, fault) in [
        ("TrentService.Decrypt", pending_deletion),
        ("TrentService.GenerateDataKey", disabled),
    ] {
        let query = stack.consented(USER, "seller").await;
        let callback = stack.cold_callback();
        proxy.fail_after(target, 0, fault);
        let request = Request::new("GET", &format!("/api/v1/amazon/callback?{query}"));
        let done = stack.send(&callback, &request, None).await;
        proxy.heal();
        assert_eq!(
            query_of(&done.location())["reason"],
            "storage_unavailable",
            "{target}"
        );
        assert_eq!(
            owned(&stack, USER).await,
            kinds(&[("PROFILE", 1)]),
            "{target}"
        );
        assert_eq!(states(&stack.items().await), 0, "{target}");
    }
    no_plaintext_tokens(&stack).await;

    // Refresher: a token key KMS refuses (disabled, pending deletion) is an
    // operator's problem: the run stops touching tokens, the connection is
    // left exactly as it was (never taken for a revocation), and once the
    // key is back the same connection refreshes.
    let due = stack
        .seed_connection(USER, "seller", chrono::Duration::minutes(1))
        .await;
    let before = stack.connection(&due).await;
    let mut at = chrono::Utc::now();
    for (round, (target, fault)) in [
        ("TrentService.Decrypt", disabled),
        ("TrentService.GenerateDataKey", pending_deletion),
    ]
    .into_iter()
    .enumerate()
    {
        proxy.fail_after(target, 0, fault);
        let summary = stack
            .refresher(RefreshConfig::default())
            .run(at, far())
            .await
            .unwrap();
        proxy.heal();
        assert_eq!(
            (summary.transient_failures, summary.needs_reauth),
            (0, 0),
            "{target}"
        );
        assert!(summary.key_unusable, "{target}: {summary:?}");
        let record = stack.connection(&due).await;
        assert_eq!(record.status, ConnectionStatus::Active, "{target}");
        assert_eq!(record.failure_count, 0, "{target}: round {round}");
        assert_eq!(record.last_error_code, None, "{target}");
        assert_eq!(record.tokens, before.tokens, "{target}: tokens kept");
        assert_eq!(record.refresh_due_at, before.refresh_due_at, "{target}");
        assert_eq!(record.lease_owner, None, "{target}: lease released");
        at += chrono::Duration::seconds(1);
    }
    let summary = stack
        .refresher(RefreshConfig::default())
        .run(at, far())
        .await
        .unwrap();
    assert_eq!(summary.refreshed, 1, "KMS back: the retry refreshes");
    assert_eq!(stack.connection(&due).await.failure_count, 0);

    // On demand (a sync, whether or not its access token is about to expire
    // and must be refreshed first): 503, the refused key being our own
    // dependency's fault, not Amazon's; nothing changes.
    let expiring = stack
        .seed_connection(USER, "expiring", chrono::Duration::seconds(30))
        .await;
    let fresh = stack
        .seed_connection(USER, "fresh", chrono::Duration::hours(1))
        .await;
    for (connection, status) in [(&expiring, 503), (&fresh, 503)] {
        let before = stack.connection(connection).await;
        proxy.fail_after("TrentService.", 0, disabled);
        let path = format!("/api/v1/connections/{}/sync", connection.connection_id);
        let response = stack
            .send(&stack.users, &Request::new("POST", &path), Some(USER))
            .await;
        proxy.heal();
        assert_eq!(response.status, status, "{:?}", response.body);
        let after = stack.connection(connection).await;
        assert_eq!(after.status, ConnectionStatus::Active);
        assert_eq!(after.tokens, before.tokens);
    }
    no_plaintext_tokens(&stack).await;
}

#[tokio::test]
async fn lwa_garbage_or_failure_in_the_code_exchange_ends_in_a_reason_and_stores_nothing() {
    let stack = Stack::new().await;
    stack.amazon.add_login("seller", seller());
    let mut cases = token_endpoint_faults();
    cases.push((
        "no refresh token",
        vec![raw(
            200,
            JSON,
            r#"{"access_token": "Atza|alone", "token_type": "bearer", "expires_in": 3600}"#,
        )],
        "token_exchange_failed",
        1,
        1,
        "",
    ));
    for (number, (case, answers, reason, calls, _, _)) in cases.into_iter().enumerate() {
        let user = format!("user_2lwa{number}");
        stack.create_user(&user, "f@example.com").await;
        let before = stack.amazon.calls(Endpoint::Token);
        // As many answers as the exchange will ask for: the rest would be
        // served to the next case.
        stack
            .amazon
            .script(Endpoint::Token, answers.into_iter().take(calls).collect());
        let started = Instant::now();
        let done = stack.connect_flow(&user, "seller").await;
        assert_eq!(done["reason"], reason, "{case}: {done:?}");
        assert!(started.elapsed() < StdDuration::from_secs(8), "{case}");
        assert_eq!(
            stack.amazon.calls(Endpoint::Token) - before,
            calls,
            "{case}: sent again only when Amazon certainly did not process it"
        );
        assert_eq!(
            owned(&stack, &user).await,
            kinds(&[("PROFILE", 1)]),
            "{case}"
        );
    }
    no_plaintext_tokens(&stack).await;
}

/// LWA answering with an expiry no date can hold, for tokens that work.
fn absurd_expiry(stack: &Stack) -> ResponseTemplate {
    let (access, refresh) = stack.amazon.grant("seller");
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "refresh_token": refresh, "token_type": "bearer",
        "expires_in": 9_000_000_000_000_u64,
    }))
}

#[tokio::test]
async fn an_expiry_no_date_can_hold_is_not_believed() {
    let stack = Stack::new().await;
    stack.create_user(USER, "f@example.com").await;
    stack.amazon.add_login("seller", seller());
    let sane = chrono::Utc::now() + chrono::Duration::days(1);
    stack
        .amazon
        .script(Endpoint::Token, vec![absurd_expiry(&stack)]);
    let done = stack.connect_flow(USER, "seller").await;
    assert_eq!(done["amazon"], "connected", "{done:?}");
    let due = adsconnect::model::connection::DueConnection {
        owner: adsconnect::ids::OwnerId::parse(USER).unwrap(),
        connection_id: adsconnect::ids::ConnectionId::parse(&done["connection_id"]).unwrap(),
    };
    assert!(stack.connection(&due).await.access_expires_at < sane);

    let due = stack
        .seed_connection(USER, "seller", chrono::Duration::minutes(1))
        .await;
    stack
        .amazon
        .script(Endpoint::Token, vec![absurd_expiry(&stack)]);
    let summary = stack
        .refresher(RefreshConfig::default())
        .run(chrono::Utc::now(), far())
        .await
        .unwrap();
    assert_eq!(summary.refreshed, 1, "{summary:?}");
    assert!(stack.connection(&due).await.access_expires_at < sane);
}

/// The same answer from every region's `/v2/profiles`.
fn every_region(answer: ResponseTemplate) -> Vec<(Endpoint, Vec<ResponseTemplate>)> {
    ["na", "eu", "fe"]
        .map(|region| (Endpoint::Profiles(region), vec![answer.clone()]))
        .to_vec()
}

#[tokio::test]
async fn ads_api_garbage_becomes_a_warning_or_ads_unavailable_never_half_a_connection() {
    let stack = Stack::new().await;
    stack.amazon.add_login("seller", seller());
    let unavailable = None;
    // A region's failed profiles kept none of that region's accounts.
    let warned = |source: &str, reason: &str, accounts: usize| {
        let mut warning = json!({"source": source, "reason": reason});
        if source.starts_with("profiles_") {
            warning["listed"] = json!(0);
        }
        Some((json!([warning]), accounts))
    };
    let cases = vec![
        (
            "an HTML page from every region",
            every_region(raw(200, "text/html", HTML)),
            unavailable.clone(),
        ),
        (
            "truncated JSON from every region",
            every_region(raw(200, JSON, r#"[{"profileId": 1"#)),
            unavailable.clone(),
        ),
        (
            "an object instead of a list",
            every_region(raw(200, JSON, r#"{"profiles": []}"#)),
            unavailable.clone(),
        ),
        (
            "profile ids of the wrong type",
            every_region(raw(200, JSON, r#"[{"profileId": {"id": 1}}]"#)),
            unavailable.clone(),
        ),
        (
            "401 from every region",
            every_region(raw(401, JSON, r#"{"code": "UNAUTHORIZED"}"#)),
            unavailable.clone(),
        ),
        (
            "garbage from one region",
            vec![(Endpoint::Profiles("eu"), vec![raw(200, JSON, "not json")])],
            warned("profiles_eu", "invalid_response", 2),
        ),
        (
            "a region that keeps failing",
            vec![(
                Endpoint::Profiles("eu"),
                vec![raw(502, "text/html", HTML); 3],
            )],
            warned("profiles_eu", "unavailable", 2),
        ),
        (
            "garbage account lists",
            vec![(
                Endpoint::AdsAccounts,
                vec![raw(200, JSON, r#"{"adsAccounts": "none"}"#)],
            )],
            warned("ads_accounts", "invalid_response", 3),
        ),
    ];
    for (number, (case, scripts, expected)) in cases.into_iter().enumerate() {
        let user = format!("user_2ads{number}");
        stack.create_user(&user, "f@example.com").await;
        for (endpoint, answers) in scripts {
            stack.amazon.script(endpoint, answers);
        }
        let done = stack.connect_flow(&user, "seller").await;
        let owned = owned(&stack, &user).await;
        match expected {
            None => {
                assert_eq!(done["reason"], "ads_unavailable", "{case}: {done:?}");
                assert_eq!(owned, kinds(&[("PROFILE", 1)]), "{case}");
            }
            Some((warnings, accounts)) => {
                assert_eq!(done["amazon"], "connected", "{case}: {done:?}");
                let all = [
                    ("PROFILE", 1),
                    ("CONN", 1),
                    ("ACCT", accounts),
                    ("EVENT", 1),
                ];
                assert_eq!(owned, kinds(&all), "{case}");
                let connection =
                    &stack.get("/api/v1/connections", &user).await.body["connections"][0];
                assert_eq!(connection["sync_warnings"], warnings, "{case}");
            }
        }
    }
    no_plaintext_tokens(&stack).await;
}

#[tokio::test]
async fn an_unreadable_lwa_profile_never_splits_a_login_into_two_connections() {
    let stack = Stack::new().await;
    stack.create_user(USER, "f@example.com").await;
    stack.amazon.add_login("seller", seller());
    let first = stack.connect_flow(USER, "seller").await;
    assert_eq!(first["amazon"], "connected");
    // Reconnecting while Amazon's profile endpoint answers garbage, or
    // keeps failing: the login cannot be recognised, so nothing is written
    // rather than a second connection for it.
    for answers in [
        vec![raw(200, "text/html", HTML)],
        vec![raw(500, JSON, "{}"); 3],
    ] {
        stack.amazon.script(Endpoint::UserProfile, answers);
        let again = stack.connect_flow(USER, "seller").await;
        assert_ne!(again["amazon"], "connected", "{again:?}");
        let connections = stack.get("/api/v1/connections", USER).await.body["connections"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(connections, 1, "{again:?}");
    }
    let again = stack.connect_flow(USER, "seller").await;
    assert_eq!(again["connection_id"], first["connection_id"]);
}

#[tokio::test]
async fn lwa_never_answering_is_given_up_on_within_the_timeouts() {
    let stack = Stack::new().await;
    stack.create_user(USER, "f@example.com").await;
    stack.amazon.add_login("seller", seller());
    let due = stack
        .seed_connection(USER, "seller", chrono::Duration::minutes(1))
        .await;
    let before = stack.connection(&due).await;
    // None answered within the 5 s per attempt: the callback's code is sent
    // once (a silent attempt may have been redeemed), the refresher's
    // request three times.
    let silent = ResponseTemplate::new(200).set_delay(StdDuration::from_secs(30));
    stack.amazon.script(Endpoint::Token, vec![silent; 4]);
    let refresher = stack.refresher(RefreshConfig::default());
    let started = Instant::now();
    let (done, run) = tokio::join!(
        stack.connect_flow(USER, "seller"),
        refresher.run(chrono::Utc::now(), far())
    );
    let took = started.elapsed();
    assert_eq!(done["reason"], "lwa_unavailable");
    assert_eq!(run.unwrap().transient_failures, 1);
    assert_eq!(stack.amazon.calls(Endpoint::Token), 4);
    assert!(took < StdDuration::from_secs(19), "{took:?}");
    let after = stack.connection(&due).await;
    assert_eq!(after.last_error_code.as_deref(), Some("lwa_unavailable"));
    assert_eq!(after.tokens, before.tokens);
    assert_eq!(
        owned(&stack, USER).await,
        kinds(&[("PROFILE", 1), ("CONN", 1), ("EVENT", 1)]),
        "only the refresher's failure event"
    );
}

#[tokio::test]
async fn ads_api_never_answering_is_given_up_on_within_the_timeouts() {
    let stack = Stack::new().await;
    stack.create_user(USER, "f@example.com").await;
    stack.amazon.add_login("seller", seller());
    let silent = ResponseTemplate::new(200).set_delay(StdDuration::from_secs(30));
    for endpoint in [
        Endpoint::Profiles("na"),
        Endpoint::Profiles("eu"),
        Endpoint::Profiles("fe"),
        Endpoint::AdsAccounts,
        Endpoint::UserProfile,
    ] {
        stack.amazon.script(endpoint, vec![silent.clone(); 3]);
    }
    let started = Instant::now();
    let done = stack.connect_flow(USER, "seller").await;
    let took = started.elapsed();
    assert_eq!(done["reason"], "ads_unavailable");
    assert!(took < StdDuration::from_secs(19), "{took:?}");
    assert_eq!(owned(&stack, USER).await, kinds(&[("PROFILE", 1)]));
    no_plaintext_tokens(&stack).await;
}

#[tokio::test]
async fn token_endpoint_failures_are_classified() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());

    stack.amazon.script(Endpoint::Token, vec![ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : code"}))]);
    assert_eq!(
        stack.connect_flow(USER, "busy").await["reason"],
        "invalid_grant"
    );

    stack.amazon.script(
        Endpoint::Token,
        vec![ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"}))],
    );
    assert_eq!(
        stack.connect_flow(USER, "busy").await["reason"],
        "client_rejected"
    );

    // LWA throttles, then answers: a 429 was not processed, so the code is
    // sent again within the callback.
    let calls = stack.amazon.calls(Endpoint::Token);
    stack
        .amazon
        .script(Endpoint::Token, vec![ResponseTemplate::new(429)]);
    assert_eq!(
        stack.connect_flow(USER, "busy").await["amazon"],
        "connected"
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), calls + 2);

    // A 503 may have come after the code was redeemed: it is never sent
    // twice (a second use may revoke what the first issued).
    let calls = stack.amazon.calls(Endpoint::Token);
    stack
        .amazon
        .script(Endpoint::Token, vec![ResponseTemplate::new(503)]);
    assert_eq!(
        stack.connect_flow(USER, "busy").await["reason"],
        "lwa_unavailable"
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), calls + 1);
}

#[tokio::test]
async fn ads_throttling_is_waited_out_and_a_failing_region_loses_nothing_else() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());
    stack.amazon.script(
        Endpoint::Profiles("eu"),
        vec![ResponseTemplate::new(429).insert_header("retry-after", "1")],
    );
    stack.amazon.script(
        Endpoint::Profiles("fe"),
        vec![
            ResponseTemplate::new(500),
            ResponseTemplate::new(502),
            ResponseTemplate::new(503),
        ],
    );
    let started = std::time::Instant::now();
    let done = stack.connect_flow(USER, "busy").await;
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(done["amazon"], "connected");
    assert_eq!(stack.amazon.calls(Endpoint::Profiles("eu")), 2);
    let full = stack.get("/api/v1/users/me/full", USER).await.body;
    let regions: Vec<&str> = full["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions.iter().filter(|r| **r == "na").count(), 2);
    assert_eq!(regions.iter().filter(|r| **r == "eu").count(), 1);
    assert!(!regions.contains(&"fe"));
    assert_eq!(
        full["connections"][0]["sync_warnings"],
        json!([{"source": "profiles_fe", "reason": "unavailable", "listed": 0}])
    );

    // Every region down: nothing to connect to.
    for region in ["na", "eu", "fe"] {
        stack.amazon.script(
            Endpoint::Profiles(region),
            vec![ResponseTemplate::new(503); 3],
        );
    }
    assert_eq!(
        stack.connect_flow(USER, "busy").await["reason"],
        "ads_unavailable"
    );
}

/// A login that granted the `profile` scope is known by its LWA user id. A
/// profile lookup refused for any reason (expired token, a bad moment at
/// Amazon) fails the connect; it is never taken for a missing scope, which
/// would file the same login under a second identity (a second connection).
#[tokio::test]
async fn a_refused_profile_lookup_never_gives_the_login_a_second_identity() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("seller", seller());
    let first = stack.connect_flow(USER, "seller").await;
    assert_eq!(first["amazon"], "connected", "{first:?}");
    for status in [400, 401, 403] {
        stack
            .amazon
            .script(Endpoint::UserProfile, vec![ResponseTemplate::new(status)]);
        let again = stack.connect_flow(USER, "seller").await;
        assert_eq!(again["amazon"], "error", "{status}: {again:?}");
        assert_eq!(again["reason"], "lwa_unavailable", "{status}");
    }
    let connections = stack.get("/api/v1/connections", USER).await.body;
    assert_eq!(
        connections["connections"].as_array().unwrap().len(),
        1,
        "one login, one connection: {connections}"
    );
}
