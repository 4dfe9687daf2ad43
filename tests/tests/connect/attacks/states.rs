//! Forged, replayed, expired, concurrent and cross-user states, and PKCE
//! substitutions at the callback.

use super::*;

/// Makes a forged state, given the real one.
type Forge = fn(&Started) -> String;

/// A `state` that is not one this deployment issued.
const FOREIGN_STATES: &[(&str, Forge)] = &[
    ("well-formed but never issued", |_| "A".repeat(43)),
    ("another deployment's prefixed format", |_| {
        "v1:other-deployment:9f8e7d".into()
    }),
    ("a JWT", |_| {
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzJvYXV0aEF0dGFja3MifQ.c2ln".into()
    }),
    ("the stored hash instead of the state", Started::hash),
    ("the state with padding", |s| format!("{}=", s.state)),
    ("the state in the standard base64 alphabet", |s| {
        format!("+{}", &s.state[1..])
    }),
    ("the state with its case flipped", |s| {
        s.state
            .chars()
            .map(|c| {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect()
    }),
    ("the state truncated", |s| s.state[..42].to_owned()),
    ("the state with a trailing newline", |s| {
        format!("{}\n", s.state)
    }),
    ("the state twice", |s| format!("{0}{0}", s.state)),
    ("markup", |_| "<script>alert(1)</script>".into()),
    ("empty", |_| String::new()),
];

#[tokio::test]
async fn foreign_states_are_refused_before_the_code_is_exchanged() {
    let stack = stack().await;
    let started = start(&stack, &json!({"return_to": format!("{APP_ORIGIN}/after")})).await;
    let code_query = consent(&stack, &started.authorization_url);
    let code = code_of(&code_query);
    let before = stack.snapshot().await;
    for (name, forge) in FOREIGN_STATES {
        let forged = forge(&started);
        let response = stack
            .amazon_redirect(&format!("code={code}&state={}", enc(&forged)))
            .await;
        assert_refused_to(name, &response, DEFAULT_RETURN_URL, "invalid_state");
        assert_eq!(stack.snapshot().await, before, "{name}");
    }
    // Two `state`s: the first one counts (never the second).
    let response = stack
        .amazon_redirect(&format!("code={code}&state=x&state={}", started.state))
        .await;
    assert_refused_to(
        "a second state",
        &response,
        DEFAULT_RETURN_URL,
        "invalid_state",
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), 0);
    // None of that burnt the real state: it still works, once.
    let done = stack.amazon_redirect(&code_query).await;
    assert_eq!(outcome("the real state", &done).1["amazon"], "authorized");
    assert_eq!(stack.amazon.calls(Endpoint::Token), 1);
}

/// Attacks on a state that was issued.
#[derive(Debug, Clone, Copy)]
enum StateAttack {
    /// The callback URL replayed after it connected.
    ReplayedAfterSuccess,
    /// The state of a refused consent, reused with a fresh code.
    ReusedAfterAmazonError,
    /// The state of a callback that arrived too late, replayed.
    ReplayedAfterExpiry,
    /// A second before the deadline passed.
    ExpiredBySecond,
    /// Past the deadline and its TTL, not yet swept by DynamoDB.
    ExpiredLongAgo,
}

impl StateAttack {
    const ALL: [Self; 5] = [
        Self::ReplayedAfterSuccess,
        Self::ReusedAfterAmazonError,
        Self::ReplayedAfterExpiry,
        Self::ExpiredBySecond,
        Self::ExpiredLongAgo,
    ];

    /// `(reason, base URL)` of the refusal.
    fn expected(self) -> (&'static str, String) {
        match self {
            Self::ExpiredBySecond | Self::ExpiredLongAgo => {
                ("expired_state", format!("{APP_ORIGIN}/after"))
            }
            _ => ("invalid_state", DEFAULT_RETURN_URL.to_owned()),
        }
    }

    async fn expire(stack: &Stack, started: &Started, expires_at_ms: i64) {
        stack
            .set_number(
                &format!("STATE#{}", started.hash()),
                "STATE",
                "expires_at",
                expires_at_ms,
            )
            .await;
        stack
            .set_number(
                &format!("STATE#{}", started.hash()),
                "STATE",
                "ttl",
                expires_at_ms / 1000,
            )
            .await;
    }

    /// Runs what comes before the attack; returns the attack's query.
    async fn prepare(self, stack: &Stack, started: &Started) -> String {
        let now_ms = chrono::Utc::now().timestamp_millis();
        match self {
            Self::ReplayedAfterSuccess => {
                let query = consent(stack, &started.authorization_url);
                let done = stack.amazon_redirect(&query).await;
                let outcome = stack.finish(USER, &done.location()).await;
                assert_eq!(outcome["amazon"], "connected", "first use");
                query
            }
            Self::ReusedAfterAmazonError => {
                let denied = stack
                    .amazon_redirect(&format!("error=access_denied&state={}", started.state))
                    .await;
                assert_eq!(outcome("refusal", &denied).1["reason"], "access_denied");
                consent(stack, &started.authorization_url)
            }
            Self::ReplayedAfterExpiry => {
                Self::expire(stack, started, now_ms - 1_000).await;
                let query = consent(stack, &started.authorization_url);
                let late = stack.amazon_redirect(&query).await;
                assert_eq!(outcome("late", &late).1["reason"], "expired_state");
                query
            }
            Self::ExpiredBySecond => {
                Self::expire(stack, started, now_ms - 1_000).await;
                consent(stack, &started.authorization_url)
            }
            Self::ExpiredLongAgo => {
                Self::expire(stack, started, now_ms - 86_400_000).await;
                consent(stack, &started.authorization_url)
            }
        }
    }
}

#[tokio::test]
async fn replayed_reused_and_expired_states_never_reach_amazon() {
    let stack = stack().await;
    for attack in StateAttack::ALL {
        let name = format!("{attack:?}");
        let started = start(&stack, &json!({"return_to": format!("{APP_ORIGIN}/after")})).await;
        let query = attack.prepare(&stack, &started).await;
        let before = stack.snapshot().await;
        let tokens = stack.amazon.calls(Endpoint::Token);
        let response = stack.amazon_redirect(&query).await;
        let (reason, base) = attack.expected();
        assert_refused_to(&name, &response, &base, reason);
        assert_eq!(stack.amazon.calls(Endpoint::Token), tokens, "{name}");
        let after = stack.snapshot().await;
        // An expired state is used up by the attempt; nothing else changes.
        let state_key = format!("STATE#{}", started.hash());
        let before: Vec<String> = before
            .into_iter()
            .filter(|i| !i.contains(&state_key))
            .collect();
        assert_eq!(after, before, "{name}");
    }
    // Only the legitimate first use connected.
    assert_eq!(connections(&stack).await, 1);
}

#[tokio::test]
async fn one_callback_url_opened_eight_times_at_once_connects_once() {
    let stack = stack().await;
    let started = start(&stack, &json!({})).await;
    let query = consent(&stack, &started.authorization_url);
    let replies = futures::future::join_all((0..8).map(|_| stack.amazon_redirect(&query))).await;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for reply in &replies {
        let (_, q) = outcome("concurrent", reply);
        let key = q.get("reason").unwrap_or(&q["amazon"]).clone();
        *outcomes.entry(key).or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("authorized".to_owned(), 1),
            ("invalid_state".to_owned(), 7)
        ])
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), 1);
    let authorized = replies
        .iter()
        .map(Response::location)
        .find(|l| query_of(l)["amazon"] == "authorized")
        .unwrap();
    assert_eq!(stack.finish(USER, &authorized).await["amazon"], "connected");
    assert_eq!(connections(&stack).await, 1);
}

#[tokio::test]
async fn amazon_refusal_replayed_and_expired_states_redirect_with_reasons_and_store_nothing() {
    let stack = stack_with_user(USER).await;
    stack.amazon.add_login("busy", busy_login());

    // The user clicks "Cancel" at Amazon (with markup in the description).
    let started = stack.connect(USER, &json!({})).await;
    let state = started.body["state"].as_str().unwrap().to_owned();
    let denied = stack
        .amazon_redirect(&format!("error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}"))
        .await;
    let location = denied.headers["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(DEFAULT_RETURN_URL));
    assert_eq!(
        query_of(&reqwest::Url::parse(&location).unwrap())["reason"],
        "access_denied"
    );
    assert!(!location.contains("script"));

    // A state works once.
    let started = stack.connect(USER, &json!({})).await;
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    let first = stack.amazon_redirect(&query).await.location();
    assert_eq!(stack.finish(USER, &first).await["amazon"], "connected");
    let replay = stack.amazon_redirect(&query).await;
    assert_eq!(query_of(&replay.location())["reason"], "invalid_state");
    assert_eq!(
        stack.amazon.calls(Endpoint::Token),
        1,
        "the replay never reached Amazon"
    );

    // Unknown and malformed states.
    for query in [
        "code=x&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "code=x",
        "code=x&state=short",
        "code=x&state=v1%3Aother-deployment%3Aabc",
    ] {
        assert_eq!(
            query_of(&stack.amazon_redirect(query).await.location())["reason"],
            "invalid_state",
            "{query}"
        );
    }

    // An expired state.
    let started = stack.connect(USER, &json!({})).await;
    let state = started.body["state"].as_str().unwrap().to_owned();
    let hash = adsconnect::model::oauth::state_hash(&state);
    stack
        .set_number(&format!("STATE#{hash}"), "STATE", "expires_at", 1000)
        .await;
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    assert_eq!(
        query_of(&stack.amazon_redirect(&query).await.location())["reason"],
        "expired_state"
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), 1);

    // Missing code.
    let started = stack.connect(USER, &json!({})).await;
    let state = started.body["state"].as_str().unwrap().to_owned();
    assert_eq!(
        query_of(
            &stack
                .amazon_redirect(&format!("state={state}"))
                .await
                .location()
        )["reason"],
        "missing_code"
    );
    assert_eq!(
        stack.get("/api/v1/users/me/full", USER).await.body["connections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---------------------------------------------------------------------------
// PKCE

/// Attacks on the code/verifier binding.
#[derive(Debug, Clone, Copy)]
enum PkceAttack {
    /// An attacker's code (bound to their challenge) injected into the
    /// victim's callback, with the victim's state.
    CodeOfAnotherState,
    /// The consent URL's challenge replaced by one the attacker can answer.
    SubstitutedChallenge,
    /// The state record lost its sealed verifier.
    VerifierMissing,
    /// The sealed verifier was altered.
    VerifierCorrupted,
    /// Another state's sealed verifier copied into this one.
    VerifierOfAnotherState,
    /// A sealed verifier in a format this deployment does not know.
    VerifierUnknownFormat,
}

impl PkceAttack {
    const ALL: [Self; 6] = [
        Self::CodeOfAnotherState,
        Self::SubstitutedChallenge,
        Self::VerifierMissing,
        Self::VerifierCorrupted,
        Self::VerifierOfAnotherState,
        Self::VerifierUnknownFormat,
    ];

    /// `(reason, whether the token endpoint is asked at all)`.
    fn expected(self) -> (&'static str, bool) {
        match self {
            Self::CodeOfAnotherState | Self::SubstitutedChallenge => ("invalid_grant", true),
            // The verifier cannot be opened: nothing is sent to Amazon.
            _ => ("storage_unavailable", false),
        }
    }

    /// Works on `victim` (started last) with `other` (an earlier state of
    /// the same deployment) at hand; returns the callback query.
    async fn prepare(self, stack: &Stack, victim: &Started, other: &Started) -> String {
        let key = |s: &Started| (format!("STATE#{}", s.hash()), "STATE".to_owned());
        let update = |expression: &str| {
            let (pk, sk) = key(victim);
            stack
                .dynamo
                .update_item()
                .table_name(&stack.table)
                .key("pk", AttributeValue::S(pk))
                .key("sk", AttributeValue::S(sk))
                .update_expression(expression)
        };
        let victim_query = || consent(stack, &victim.authorization_url);
        match self {
            Self::CodeOfAnotherState => {
                let attacker = consent(stack, &other.authorization_url);
                format!("code={}&state={}", code_of(&attacker), victim.state)
            }
            Self::SubstitutedChallenge => {
                // RFC 7636's example: its verifier is public.
                let known = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned();
                let mut url = reqwest::Url::parse(&victim.authorization_url).unwrap();
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .into_owned()
                    .map(|(k, v)| match k.as_str() {
                        "code_challenge" => (k, known.clone()),
                        _ => (k, v),
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
                consent(stack, url.as_str())
            }
            Self::VerifierMissing => {
                update("REMOVE verifier").send().await.unwrap();
                victim_query()
            }
            Self::VerifierCorrupted => {
                let garbage = base64::engine::general_purpose::STANDARD.encode([7u8; 48]);
                update("SET verifier.ciphertext = :c")
                    .expression_attribute_values(":c", AttributeValue::S(garbage))
                    .send()
                    .await
                    .unwrap();
                victim_query()
            }
            Self::VerifierOfAnotherState => {
                let (pk, sk) = key(other);
                let theirs = stack.item(&pk, &sk).await.unwrap()["verifier"].clone();
                update("SET verifier = :v")
                    .expression_attribute_values(":v", theirs)
                    .send()
                    .await
                    .unwrap();
                victim_query()
            }
            Self::VerifierUnknownFormat => {
                update("SET verifier.#f = :f")
                    .expression_attribute_names("#f", "format")
                    .expression_attribute_values(":f", AttributeValue::N("99".into()))
                    .send()
                    .await
                    .unwrap();
                victim_query()
            }
        }
    }
}

#[tokio::test]
async fn a_code_only_redeems_with_the_verifier_sealed_for_its_own_state() {
    let stack = stack().await;
    for attack in PkceAttack::ALL {
        let name = format!("{attack:?}");
        let other = start(&stack, &json!({})).await;
        let before = stack.snapshot().await;
        let victim = start(&stack, &json!({})).await;
        let query = attack.prepare(&stack, &victim, &other).await;
        let tokens = stack.amazon.calls(Endpoint::Token);
        let response = stack.amazon_redirect(&query).await;
        let (reason, asks_amazon) = attack.expected();
        assert_refused_to(&name, &response, DEFAULT_RETURN_URL, reason);
        assert_eq!(
            stack.amazon.calls(Endpoint::Token),
            tokens + usize::from(asks_amazon),
            "{name}"
        );
        // The victim's state is used up; the other one is untouched.
        assert_eq!(stack.snapshot().await, before, "{name}");
    }
    // The same states and codes work when nobody tampers with them.
    let started = start(&stack, &json!({})).await;
    let done = stack
        .amazon_redirect(&consent(&stack, &started.authorization_url))
        .await;
    assert_eq!(outcome("untampered", &done).1["amazon"], "authorized");
}
