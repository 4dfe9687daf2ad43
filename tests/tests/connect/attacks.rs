//! The connect flow under attack, table-driven: `return_to` open redirects
//! at `POST /api/v1/amazon/connect`, forged, replayed and expired states,
//! PKCE substitutions, and markup or header injection in Amazon's error
//! parameters at the callback. Every refused case must leave the table as it
//! was.

use std::collections::BTreeMap;

use adsconnect::connections::tokens::token_context;
use adsconnect::store::oauth_states::state_hash;
use adsconnect::tokens::{CipherError, Sealed};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;

use super::*;

const USER: &str = "user_2oauthAttacks";
const LOGIN: &str = "seller";

async fn stack() -> Stack {
    let stack = Stack::with_user(USER, "victim@example.com").await;
    stack.amazon.add_login(
        LOGIN,
        amazon_login(
            json!({"user_id": "amzn1.account.SELLER", "name": "Seller"}),
            vec![("na", vec![profile(4242, "US", "Seller US", "seller")])],
            vec![],
        ),
    );
    stack
}

async fn connections(stack: &Stack) -> usize {
    let items = stack.items().await;
    items
        .iter()
        .filter(|i| attr_s(i, "sk").is_some_and(|sk| sk.starts_with("CONN#")))
        .count()
}

/// A started connect: its state and consent URL.
struct Started {
    state: String,
    authorization_url: String,
}

impl Started {
    fn hash(&self) -> String {
        state_hash(&self.state)
    }
}

async fn start(stack: &Stack, body: &Value) -> Started {
    let started = stack.connect(USER, body).await;
    assert_eq!(started.status, 200, "{body}: {:?}", started.body);
    Started {
        state: started.body["state"].as_str().unwrap().to_owned(),
        authorization_url: started.body["authorization_url"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

/// The seller consents: the query Amazon sends the browser back with.
fn consent(stack: &Stack, authorization_url: &str) -> String {
    stack.amazon.consent(authorization_url, LOGIN).unwrap().1
}

/// The `code` of a consent's redirect query.
fn code_of(query: &str) -> String {
    let url = reqwest::Url::parse(&format!("https://callback/?{query}")).unwrap();
    query_of(&url)["code"].clone()
}

/// `value` as a query parameter value.
fn enc(value: &str) -> String {
    let mut url = reqwest::Url::parse("https://callback/").unwrap();
    url.query_pairs_mut().append_pair("v", value);
    url.query().unwrap()["v=".len()..].to_owned()
}

/// Where the callback sent the browser, checked to carry only our own
/// outcome parameters: the URL, `amazon`, and `reason` or `connection_id`.
fn outcome(name: &str, response: &Response) -> (reqwest::Url, BTreeMap<String, String>) {
    assert_eq!(response.status, 302, "{name}: {:?}", response.body);
    assert_eq!(response.body, Value::Null, "{name}: a redirect has no body");
    assert!(
        response.headers.get("set-cookie").is_none(),
        "{name}: {:?}",
        response.headers
    );
    let location = response.location();
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let query: BTreeMap<String, String> = pairs.iter().cloned().collect();
    assert_eq!(pairs.len(), query.len(), "{name}: repeated parameters");
    (location, query)
}

fn assert_refused_to(name: &str, response: &Response, base: &str, reason: &str) {
    let (location, query) = outcome(name, response);
    assert!(
        location.as_str().starts_with(&format!("{base}?")),
        "{name}: {location}"
    );
    assert_eq!(
        query,
        BTreeMap::from([
            ("amazon".to_owned(), "error".to_owned()),
            ("reason".to_owned(), reason.to_owned())
        ]),
        "{name}: {location}"
    );
}

// ---------------------------------------------------------------------------
// `return_to`

/// Each refused with 400 `INVALID_FIELD` on `return_to`, no state stored.
const FOREIGN_RETURN_TO: &[(&str, &str)] = &[
    ("other origin", "https://evil.example/steal"),
    ("scheme-relative", "//evil.example/x"),
    ("relative path", "/settings/amazon"),
    ("empty", ""),
    (
        "allowed host as userinfo",
        "https://app.example.test@evil.example/",
    ),
    (
        "allowed host and port as userinfo",
        "https://app.example.test:443@evil.example/",
    ),
    (
        "credentials on the allowed host",
        "https://user:pw@app.example.test/",
    ),
    (
        "username on the allowed host",
        "https://evil.example@app.example.test/",
    ),
    ("upper-case foreign origin", "HTTPS://EVIL.EXAMPLE/"),
    (
        "mixed-case allowed host as a subdomain",
        "hTtPs://App.Example.Test.Evil.Example/",
    ),
    (
        "allowed host as a subdomain",
        "https://app.example.test.evil.example/",
    ),
    (
        "subdomain of the allowed host",
        "https://evil.app.example.test/",
    ),
    (
        "ideographic full stop before a foreign suffix",
        "https://app.example.test\u{3002}evil.example/",
    ),
    (
        "fullwidth full stop in a foreign host",
        "https://evil\u{FF0E}example/",
    ),
    (
        "Cyrillic look-alike host",
        "https://\u{0430}pp.example.test/",
    ),
    (
        "punycode look-alike host",
        "https://xn--pp-7kc.example.test/",
    ),
    ("backslashes", "https:\\\\evil.example\\x"),
    (
        "backslash before userinfo",
        "https://evil.example\\@app.example.test/",
    ),
    ("no slashes", "https:evil.example/"),
    ("javascript:", "javascript:alert(document.domain)"),
    (
        "javascript: mixed case, leading space",
        "  JaVaScRiPt:alert(1)",
    ),
    (
        "javascript: with the allowed host",
        "javascript://app.example.test/%0Aalert(1)",
    ),
    ("data:", "data:text/html,<script>alert(1)</script>"),
    (
        "blob: on the allowed origin",
        "blob:https://app.example.test/0f1e",
    ),
    ("ftp on the allowed host", "ftp://app.example.test/"),
    ("trailing-dot host", "https://app.example.test./"),
    ("different port", "https://app.example.test:8443/"),
    ("http instead of https", "http://app.example.test/"),
    ("IP address", "https://127.0.0.1/"),
    ("percent-encoded URL", "https%3A%2F%2Fevil.example%2F"),
    ("percent-encoded scheme-relative", "%2F%2Fevil.example"),
    (
        "percent-encoded dot in a foreign host",
        "https://evil%2Eexample/",
    ),
    (
        "percent-encoded @ after the allowed host",
        "https://app.example.test%40evil.example/",
    ),
    (
        "percent-encoded NUL after the allowed host",
        "https://app.example.test%00.evil.example/",
    ),
    ("fragment trick", "https://evil.example#@app.example.test/"),
    ("query trick", "https://evil.example?@app.example.test/"),
    (
        "tab inside a foreign host",
        "https://evil.example\t.app.example.test/",
    ),
];

#[tokio::test]
async fn foreign_return_urls_are_refused_at_connect_and_store_no_state() {
    let stack = stack().await;
    let before = stack.snapshot().await;
    for (name, return_to) in FOREIGN_RETURN_TO {
        let response = stack.connect(USER, &json!({"return_to": return_to})).await;
        assert_eq!(response.status, 400, "{name}: {:?}", response.body);
        assert_eq!(response.error_code(), "INVALID_FIELD", "{name}");
        assert_eq!(response.body["error"]["field"], "return_to", "{name}");
        assert!(
            !response.body.to_string().contains("evil"),
            "{name}: input reflected: {}",
            response.body
        );
        assert_eq!(stack.snapshot().await, before, "{name}: a state was stored");
    }
}

/// Other spellings of the allowed origin: accepted, and the browser ends up
/// on exactly that origin (the URL is stored normalised).
const ALLOWED_SPELLINGS: &[(&str, &str, &str)] = &[
    ("upper case", "HTTPS://APP.EXAMPLE.TEST/x", "/x"),
    (
        "ideographic full stops",
        "https://app\u{3002}example\u{3002}test/x",
        "/x",
    ),
    (
        "fullwidth full stops",
        "https://app\u{FF0E}example\u{FF0E}test/x",
        "/x",
    ),
    ("default port", "https://app.example.test:443/x", "/x"),
    ("backslashes", "https:\\\\app.example.test\\x", "/x"),
    (
        "backslash before a foreign userinfo",
        "https://app.example.test\\@evil.example",
        "/@evil.example",
    ),
    (
        "percent-encoded dots",
        "https://app%2Eexample%2Etest/x",
        "/x",
    ),
    (
        "CR LF in the path",
        "https://app.example.test/x\r\nX-Crlf: 1",
        "/xX-Crlf:%201",
    ),
];

#[tokio::test]
async fn spellings_of_the_allowed_origin_return_to_exactly_that_origin() {
    let stack = stack().await;
    for (name, return_to, path) in ALLOWED_SPELLINGS {
        let started = start(&stack, &json!({"return_to": return_to})).await;
        let denied = stack
            .amazon_redirect(&format!("error=access_denied&state={}", started.state))
            .await;
        let (location, query) = outcome(name, &denied);
        assert_eq!(
            location.origin().ascii_serialization(),
            APP_ORIGIN,
            "{name}"
        );
        assert!(
            location.as_str().starts_with(&format!("{APP_ORIGIN}/")),
            "{name}: {location}"
        );
        assert_eq!(location.path(), *path, "{name}");
        assert_eq!(query["reason"], "access_denied", "{name}");
    }
    assert_eq!(connections(&stack).await, 0);
    let items = stack.snapshot().await;
    assert!(
        !items.iter().any(|i| i.contains("STATE#")),
        "states used up"
    );
}

#[tokio::test]
async fn connect_refuses_bad_bodies_and_foreign_return_urls_without_storing_a_state() {
    let stack = stack_with_user(USER).await;
    let before = stack.items().await.len();
    for (body, field) in [
        (
            json!({"return_to": "https://evil.example/steal"}),
            "return_to",
        ),
        (json!({"return_to": "//evil.example/x"}), "return_to"),
        (
            json!({"return_to": "https://app.example.test@evil.example/"}),
            "return_to",
        ),
        (
            json!({"return_to": "https://user:pw@app.example.test/"}),
            "return_to",
        ),
        (
            json!({"return_to": "http://app.example.test/"}),
            "return_to",
        ),
        (json!({"return_to": "javascript:alert(1)"}), "return_to"),
        (
            json!({"return_to": "https://app.example.test.evil.example/"}),
            "return_to",
        ),
        (json!({"region": "us"}), "region"),
        (json!({"region": "na", "scope": "everything"}), ""),
    ] {
        let response = stack.connect(USER, &body).await;
        assert_eq!(response.status, 400, "{body}: {:?}", response.body);
        if !field.is_empty() {
            assert_eq!(response.body["error"]["field"], field, "{body}");
        }
    }
    // Case and IDNA spellings of the allowed origin are that origin.
    let upper = stack
        .connect(USER, &json!({"return_to": "HTTPS://APP.EXAMPLE.TEST/x"}))
        .await;
    assert_eq!(upper.status, 200);
    assert_eq!(stack.items().await.len(), before + 1);
    let anonymous = stack
        .send(
            &stack.start,
            &Request::new("POST", "/api/v1/amazon/connect"),
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

// ---------------------------------------------------------------------------
// States

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
    // None of that burnt the real state: it still connects, once.
    let done = stack.amazon_redirect(&code_query).await;
    assert_eq!(outcome("the real state", &done).1["amazon"], "connected");
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
                assert_eq!(outcome("first use", &done).1["amazon"], "connected");
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
        BTreeMap::from([("connected".to_owned(), 1), ("invalid_state".to_owned(), 7)])
    );
    assert_eq!(stack.amazon.calls(Endpoint::Token), 1);
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
    assert_eq!(
        query_of(&stack.amazon_redirect(&query).await.location())["amazon"],
        "connected"
    );
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
    let hash = adsconnect::store::oauth_states::state_hash(&state);
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

#[tokio::test]
async fn a_state_started_by_user_a_only_ever_connects_user_a() {
    let stack = stack_with_user(USER).await;
    stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(OTHER, "b@example.com", 1_000),
        ))
        .await;
    stack.amazon.add_login("busy", busy_login());
    let started = stack.connect(USER, &json!({})).await;
    // Whoever's browser completes it (the callback is public), it is A's.
    let (_, query) = stack
        .amazon
        .consent(started.body["authorization_url"].as_str().unwrap(), "busy")
        .unwrap();
    assert_eq!(
        query_of(&stack.amazon_redirect(&query).await.location())["amazon"],
        "connected"
    );
    assert_eq!(
        stack.get("/api/v1/users/me/full", USER).await.body["connections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let other = stack.get("/api/v1/users/me/full", OTHER).await.body;
    assert_eq!(other["connections"], json!([]));
    assert_eq!(other["accounts"], json!([]));
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
    assert_eq!(outcome("untampered", &done).1["amazon"], "connected");
}

// ---------------------------------------------------------------------------
// Amazon's error parameters

/// `(name, parameters before `state`, reason)`. Values are URL-encoded as
/// Amazon would send them.
const ERROR_PARAMETERS: &[(&str, &str, &str)] = &[
    (
        "markup as the error",
        "error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "authorization_failed",
    ),
    (
        "attribute-breaking markup as the error",
        "error=%22%3E%3Csvg%2Fonload%3Dalert(1)%3E",
        "authorization_failed",
    ),
    (
        "markup in the description",
        "error=access_denied&error_description=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "access_denied",
    ),
    (
        "CR LF and a header in the description",
        "error=invalid_scope&error_description=no%0D%0ASet-Cookie%3A%20pwned%3D1",
        "invalid_scope",
    ),
    (
        "CR LF and a Location in the error",
        "error=access_denied%0D%0ALocation%3A%20https%3A%2F%2Fevil.example",
        "authorization_failed",
    ),
    (
        "unknown error code",
        "error=quantum_flux_detected&error_description=pwned",
        "authorization_failed",
    ),
    ("empty error", "error=", "authorization_failed"),
    (
        "known code in another case",
        "error=ACCESS_DENIED",
        "authorization_failed",
    ),
    ("server error", "error=server_error", "authorization_failed"),
    (
        "outcome parameters of our own",
        "error=access_denied&amazon=connected&connection_id=conn_pwned&reason=pwned",
        "access_denied",
    ),
    (
        "an error next to a code",
        "code=ANstub-pwned&error=access_denied",
        "access_denied",
    ),
];

/// Strings that must not come back from any of those in the redirect…
const INJECTED: &[&str] = &[
    "script",
    "<",
    "%3C",
    "svg",
    "onerror",
    "Set-Cookie",
    "pwned",
    "evil",
    "quantum",
];
/// …or in a log line (only this test sends these).
const LOGGED: &[&str] = &["onerror", "onload", "pwned", "quantum_flux"];

#[tokio::test]
async fn amazon_error_parameters_are_never_reflected() {
    logs::capture();
    let stack = stack().await;
    for (name, parameters, reason) in ERROR_PARAMETERS {
        let before = stack.snapshot().await;
        let started = start(&stack, &json!({})).await;
        let response = stack
            .amazon_redirect(&format!("{parameters}&state={}", started.state))
            .await;
        assert_refused_to(name, &response, DEFAULT_RETURN_URL, reason);
        let location = response.headers["location"].to_str().unwrap();
        for marker in INJECTED {
            assert!(!location.contains(marker), "{name}: {location}");
        }
        assert_eq!(stack.snapshot().await, before, "{name}");
    }
    // Without a state (or with markup as the state) there is no return_to
    // to go back to.
    for (name, query) in [
        ("no state", "error=%3Cscript%3E&error_description=pwned"),
        (
            "markup as the state",
            "error=access_denied&state=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ),
    ] {
        let before = stack.snapshot().await;
        let response = stack.amazon_redirect(query).await;
        assert_refused_to(name, &response, DEFAULT_RETURN_URL, "invalid_state");
        assert_eq!(stack.snapshot().await, before, "{name}");
    }
    assert_eq!(stack.amazon.calls(Endpoint::Token), 0);
    let logs = logs::text();
    assert!(logs.contains("consent not given"), "logs are captured");
    for marker in LOGGED {
        assert!(!logs.contains(marker), "{marker} logged");
    }
}

// ---------------------------------------------------------------------------
// Sealed tokens moved between connections

#[tokio::test]
async fn a_ciphertext_moved_to_another_connection_does_not_open() {
    let stack = stack_with_user(USER).await;
    stack
        .amazon
        .add_login("one", small_login("amzn1.account.ONE", 11));
    stack
        .amazon
        .add_login("two", small_login("amzn1.account.TWO", 22));
    let one = query_of(&stack.connect_flow(USER, "one").await)["connection_id"].clone();
    let two = query_of(&stack.connect_flow(USER, "two").await)["connection_id"].clone();
    assert_ne!(one, two);
    let sealed_of = |item: &Item| -> Sealed {
        serde_dynamo::from_attribute_value(item["tokens"].clone()).unwrap()
    };
    let item_one = stack
        .item(&format!("USER#{USER}"), &format!("CONN#{one}"))
        .await
        .unwrap();
    let user = adsconnect::ids::UserId::parse(USER).unwrap();
    let conn_two = adsconnect::ids::ConnectionId::parse(&two).unwrap();
    let result = stack
        .amazon_callback
        .cipher
        .open(&sealed_of(&item_one), &token_context(&user, &conn_two))
        .await;
    assert!(matches!(result, Err(CipherError::Corrupt)), "{result:?}");
    let other_user = adsconnect::ids::UserId::parse(OTHER).unwrap();
    let conn_one = adsconnect::ids::ConnectionId::parse(&one).unwrap();
    let result = stack
        .amazon_callback
        .cipher
        .open(
            &sealed_of(&item_one),
            &token_context(&other_user, &conn_one),
        )
        .await;
    assert!(matches!(result, Err(CipherError::Corrupt)));
}
