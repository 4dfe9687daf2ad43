//! Clerk failing: its JWKS down or answering garbage (cold and warm key
//! caches), its Backend API failing while a user is provisioned.

use std::time::{Duration, Duration as StdDuration, Instant};

use super::*;

const USER: &str = "user_2faults";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_down_on_a_cold_cache_denies_with_a_clear_reason_and_is_asked_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_delay(Duration::from_millis(300)))
        .mount(&server)
        .await;
    let verifier = Arc::new(jwks_verifier(&server, &[]));
    let now = unix_now();
    let mut tokens = unknown_kids(now, 0);
    tokens.push(valid(now));
    let results = verify_all(&verifier, tokens, now).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().err() == Some(&Denial::KeysUnavailable)),
        "{results:?}"
    );
    // A failed fetch counts against the rate limit too: Clerk is not hammered.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

fn session_token(kid: &str) -> String {
    let key = signing_key();
    let mut header = key.session_header();
    header["kid"] = json!(kid);
    let claims = adsconnect_dev::keys::session_claims(ISSUER, USER, "sess_2faults", 60);
    key.sign(&header, &claims)
}

#[tokio::test]
async fn cached_jwks_keys_keep_working_while_clerk_is_down() {
    let clerk = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(signing_key().jwks()))
        .mount(&clerk)
        .await;
    let verifier = jwks_verifier_at(&format!("{}/.well-known/jwks.json", clerk.uri()), &[]);
    let token = session_token(&signing_key().kid);
    assert!(verifier.verify(&token).await.is_ok());

    // Clerk answers 503s.
    clerk.reset().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&clerk)
        .await;
    for _ in 0..3 {
        assert!(verifier.verify(&token).await.is_ok());
    }
    // An unknown key id asks Clerk, in vain: that token is refused as
    // unknown, and the failed fetch keeps the known keys.
    let unknown = session_token("ins_rotated_in");
    assert_eq!(verifier.verify(&unknown).await, Err(Denial::UnknownKid));
    assert!(verifier.verify(&token).await.is_ok());
    // Clerk gone altogether.
    drop(clerk);
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn a_cold_jwks_cache_denies_with_a_clear_reason_whatever_clerk_answers() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let cases = [
        (
            "an HTML page",
            Some(raw(200, "text/html", HTML)),
            Denial::KeysUnavailable,
        ),
        (
            "truncated JSON",
            Some(raw(200, JSON, r#"{"keys": [{"kty": "RSA""#)),
            Denial::KeysUnavailable,
        ),
        (
            "keys of the wrong type",
            Some(raw(200, JSON, r#"{"keys": "none"}"#)),
            Denial::KeysUnavailable,
        ),
        ("a 500", Some(raw(500, JSON, "{}")), Denial::KeysUnavailable),
        (
            "no answer",
            Some(ResponseTemplate::new(200).set_delay(StdDuration::from_secs(30))),
            Denial::KeysUnavailable,
        ),
        ("nobody listening", None, Denial::KeysUnavailable),
        // No usable key is no key set: nothing was loaded.
        (
            "an empty key set",
            Some(raw(200, JSON, r#"{"keys": []}"#)),
            Denial::KeysUnavailable,
        ),
        // An answer, but not the key: the token's key is unknown.
        (
            "another instance's key set",
            Some(raw(
                200,
                JSON,
                &signing_key()
                    .jwks()
                    .to_string()
                    .replace(&signing_key().kid, "ins_other_instance"),
            )),
            Denial::UnknownKid,
        ),
    ];
    let token = session_token(&signing_key().kid);
    let checks = cases.into_iter().map(|(case, answer, denial)| {
        let token = &token;
        async move {
            let mut server = None;
            let url = match answer {
                Some(answer) => {
                    let clerk = wiremock::MockServer::start().await;
                    wiremock::Mock::given(wiremock::matchers::any())
                        .respond_with(answer)
                        .mount(&clerk)
                        .await;
                    let url = format!("{}/.well-known/jwks.json", clerk.uri());
                    server = Some(clerk);
                    url
                }
                None => format!("http://127.0.0.1:{closed_port}/.well-known/jwks.json"),
            };
            let verifier = jwks_verifier_at(&url, &[]);
            let started = Instant::now();
            assert_eq!(verifier.verify(token).await, Err(denial), "{case}");
            assert!(started.elapsed() < StdDuration::from_secs(5), "{case}");
            drop(server);
        }
    });
    futures::future::join_all(checks).await;
}

#[tokio::test]
async fn clerk_unknown_user_is_404_and_clerk_outage_is_503_with_nothing_stored() {
    let stack = Stack::new().await;
    Mock::given(method("GET"))
        .and(path("/v1/users/user_gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&stack.clerk)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users/user_down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&stack.clerk)
        .await;
    let gone = stack.get("/api/v1/users/me", "user_gone").await;
    assert_eq!((gone.status, gone.error_code()), (404, "USER_NOT_FOUND"));
    let down = stack.get("/api/v1/users/me", "user_down").await;
    assert_eq!(
        (down.status, down.error_code()),
        (503, "DEPENDENCY_UNAVAILABLE")
    );
    assert!(down.headers.contains_key("retry-after"));
    // Retried (GET is safe to repeat), then given up.
    let attempts = stack.clerk.received_requests().await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .filter(|r| r.url.path() == "/v1/users/user_down")
            .count(),
        3
    );
    assert!(stack.items().await.is_empty());
}

#[tokio::test]
async fn clerk_garbage_or_silence_while_provisioning_is_a_clean_5xx_and_stores_nothing() {
    let stack = Stack::new().await;
    let cases = [
        ("an HTML page", raw(200, "text/html", HTML), 502),
        (
            "truncated JSON",
            raw(200, JSON, r#"{"object": "user", "id": "us"#),
            502,
        ),
        (
            "wrong types",
            raw(
                200,
                JSON,
                r#"{"object": "user", "id": 7, "email_addresses": "none"}"#,
            ),
            502,
        ),
        ("an array", raw(200, JSON, "[]"), 502),
        ("a 400 page", raw(400, "text/html", HTML), 502),
        ("500 pages", raw(500, "text/html", HTML), 503),
        (
            "no answer",
            ResponseTemplate::new(200).set_delay(StdDuration::from_secs(30)),
            503,
        ),
    ];
    let checks = cases
        .into_iter()
        .enumerate()
        .map(|(number, (case, answer, status))| {
            let stack = &stack;
            async move {
                let user = format!("user_2clerk{number}");
                wiremock::Mock::given(wiremock::matchers::path(format!("/v1/users/{user}")))
                    .respond_with(answer)
                    .mount(&stack.clerk)
                    .await;
                let started = Instant::now();
                let response = stack.get("/api/v1/users/me", &user).await;
                assert_eq!(response.status, status, "{case}: {:?}", response.body);
                assert!(!response.error_code().is_empty(), "{case}");
                // Three attempts of at most 3 s for what may pass.
                assert!(started.elapsed() < StdDuration::from_secs(12), "{case}");
                assert!(owned(stack, &user).await.is_empty(), "{case}");
            }
        });
    futures::future::join_all(checks).await;
}

/// A JWKS answer that parses but holds no key we could use.
fn unusable_key_sets() -> Vec<(&'static str, Value)> {
    let edited = |field: &str, value: Value| {
        let mut jwk = signing_key().jwk();
        jwk[field] = value;
        json!({ "keys": [jwk] })
    };
    vec![
        ("no keys", json!({ "keys": [] })),
        ("only a key of another type", edited("kty", json!("EC"))),
        (
            "only a key for another algorithm",
            edited("alg", json!("RS384")),
        ),
        ("only an encryption key", edited("use", json!("enc"))),
        ("only a key that is no RSA key", edited("n", json!("AA"))),
        (
            "only an EC key as JWKS spell it",
            json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": signing_key().kid,
                               "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] }),
        ),
    ]
}

#[tokio::test]
async fn a_jwks_answer_without_usable_keys_never_replaces_the_known_keys() {
    let token = session_token(&signing_key().kid);
    let rotated_in = session_token("ins_rotated_in");
    for (case, answer) in unusable_key_sets() {
        let clerk = clerk_jwks().await;
        // No 30 s wait between fetches: every unknown kid asks Clerk.
        let verifier = jwks_verifier(&clerk, &[]).with_min_refetch_interval(Duration::ZERO);
        assert!(verifier.verify(&token).await.is_ok(), "{case}");

        clerk.reset().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
            .mount(&clerk)
            .await;
        // An unknown kid makes the cache fetch that answer…
        assert_eq!(
            verifier.verify(&rotated_in).await,
            Err(Denial::UnknownKid),
            "{case}"
        );
        // …which the known key outlives, asked again or not.
        for _ in 0..2 {
            assert!(verifier.verify(&token).await.is_ok(), "{case}");
        }
        assert!(
            !clerk.received_requests().await.unwrap().is_empty(),
            "{case}: the answer was never fetched"
        );
    }
}

#[tokio::test]
async fn a_rotated_key_set_replaces_the_known_keys_even_among_unusable_keys() {
    let clerk = clerk_jwks().await;
    let verifier = jwks_verifier(&clerk, &[]).with_min_refetch_interval(Duration::ZERO);
    let token = session_token(&signing_key().kid);
    assert!(verifier.verify(&token).await.is_ok());

    // Clerk rotates: the same key material under a new kid, next to keys of
    // other kinds.
    let mut rotated = signing_key().jwk();
    rotated["kid"] = json!("ins_rotated_in");
    let mut keys: Vec<Value> = unusable_key_sets()
        .into_iter()
        .flat_map(|(_, set)| set["keys"].as_array().unwrap().clone())
        .collect();
    keys.push(rotated);
    clerk.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": keys })))
        .mount(&clerk)
        .await;
    assert!(
        verifier
            .verify(&session_token("ins_rotated_in"))
            .await
            .is_ok()
    );
    // The old kid went with the old set.
    assert_eq!(verifier.verify(&token).await, Err(Denial::UnknownKid));
}
