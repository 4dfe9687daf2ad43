//! Secrets never leak: every flow runs with every log line captured at
//! TRACE level (the AWS SDK's and the HTTP stack's own included), then the
//! whole table, every log line and every HTTP answer are searched for every
//! secret the flows handled.

use std::sync::Mutex;

use adsconnect::api;
use adsconnect::auth::authorizer;
use adsconnect::auth::{SessionVerifier, VerifierConfig};
use adsconnect::connections::refresh::RefreshConfig;
use adsconnect_dev::amazon_stub::{self, Endpoint, Login, ads_account, profile};
use adsconnect_dev::provision;
use adsconnect_tests::proxy::{Fault, MotoProxy};
use adsconnect_tests::*;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use axum::Router;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

const USER: &str = "user_2secrets";
const DOOMED: &str = "user_2doomed";
const JIT: &str = "user_2justintime";

fn seller() -> Login {
    Login {
        lwa_profile: Some(
            json!({"user_id": "amzn1.account.SECRETS", "name": "Secret Seller", "email": "s@example.com"}),
        ),
        profiles: [
            (
                "na",
                vec![
                    profile(9001, "US", "Secrets US", "seller"),
                    profile(9002, "CA", "Secrets CA", "seller"),
                ],
            ),
            ("eu", vec![profile(9101, "DE", "Secrets DE", "vendor")]),
            ("fe", vec![profile(9201, "JP", "Secrets JP", "agency")]),
        ]
        .into_iter()
        .collect(),
        ads_accounts: vec![
            ads_account("amzn1.ads-account.g.us", "CREATED", &[(9001, "US")]),
            ads_account("amzn1.ads-account.g.de", "PENDING", &[(9101, "DE")]),
        ],
    }
}

/// Every answer the flows received, as text.
struct Transcript<'a> {
    stack: &'a Stack,
    /// The session token API Gateway forwards with every request.
    jwt: String,
    answers: Mutex<Vec<String>>,
    /// Table dumps taken along the way (items deleted later count too).
    dumps: Mutex<Vec<String>>,
}

impl Transcript<'_> {
    fn record(&self, what: &str, response: &Response) {
        self.answers.lock().unwrap().push(format!(
            "{what} → {} {:?} {}",
            response.status, response.headers, response.body
        ));
    }

    async fn send(&self, router: &Router, request: Request, user: Option<&str>) -> Response {
        let request = match user {
            Some(_) => request.header("authorization", &format!("Bearer {}", self.jwt)),
            None => request,
        };
        let response = self.stack.send(router, &request, user).await;
        // The path only: a callback's query carries the code by design.
        let path = request.target.split('?').next().unwrap_or_default();
        self.record(&format!("{} {path}", request.method), &response);
        response
    }

    async fn users(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let mut request = Request::new(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(&self.stack.users, request, Some(USER)).await
    }

    async fn event(&self, event: &Value) -> Response {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let request = signed_webhook(event.to_string().as_bytes(), &id, now());
        self.send(&self.stack.webhook, request, None).await
    }

    /// Start (connect or reauthorize), consent, callback: the callback's answer.
    async fn consent_and_return(&self, started: &Response) -> Response {
        assert_eq!(started.status, 200, "{:?}", started.body);
        let url = started.body["authorization_url"].as_str().unwrap();
        let (_, query) = self.stack.amazon.consent(url, "seller").unwrap();
        self.callback(&query).await
    }

    async fn callback(&self, query: &str) -> Response {
        let request = Request::new("GET", &format!("/api/v1/amazon/callback?{query}"));
        self.send(&self.stack.callback, request, None).await
    }

    async fn connect(&self) -> Response {
        let request = Request::new("POST", "/api/v1/amazon/connect")
            .json(&json!({"region": "na", "return_to": "https://app.example.test/after"}));
        self.send(&self.stack.start, request, Some(USER)).await
    }

    async fn dump(&self) {
        let items = self.stack.items().await;
        self.dumps.lock().unwrap().push(format!("{items:?}"));
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn authorize(verifier: &SessionVerifier, token: &str) -> String {
    let request =
        Request::new("GET", "/api/v1/users/me").header("authorization", &format!("Bearer {token}"));
    let event: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_value(request.authorizer_event("GET /api/v1/users/me")).unwrap();
    serde_json::to_string(&authorizer::authorize(verifier, &event).await).unwrap()
}

/// The forms in which bytes could show up in text.
fn renderings(bytes: &[u8]) -> Vec<String> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        hex.to_uppercase(),
        hex,
        format!("{bytes:?}"),
    ]
}

#[tokio::test]
async fn no_secret_appears_in_the_table_the_logs_or_any_answer() {
    logs::capture();
    // Through the proxy: it sees every data key KMS hands out, and can fail.
    let proxy = MotoProxy::start(&moto_endpoint()).await;
    let stack = Stack::with_sdk(adsconnect::startup::with_timeouts(
        provision::emulator_config(&proxy.endpoint),
    ))
    .await;
    stack.amazon.add_login("seller", seller());
    let jwt = signing_key().session_token(ISSUER, USER, "sess_2secrets", 60);
    let t = Transcript {
        stack: &stack,
        jwt: jwt.clone(),
        answers: Mutex::default(),
        dumps: Mutex::default(),
    };

    // The authorizer, networkless and with Clerk's JWKS: a valid token, an
    // expired one, one with a forged signature.
    let expired = {
        let mut claims = adsconnect_dev::keys::session_claims(ISSUER, USER, "sess_2old", 60);
        claims["exp"] = json!(now() - 3600);
        claims["iat"] = json!(now() - 7200);
        claims["nbf"] = json!(now() - 7200);
        signing_key().sign(&signing_key().session_header(), &claims)
    };
    let forged = format!("{}AAAA", &jwt[..jwt.len() - 4]);
    let jwks = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(signing_key().jwks()))
        .mount(&jwks)
        .await;
    let verifiers = [
        SessionVerifier::new(VerifierConfig {
            issuer: ISSUER.into(),
            jwt_key_pem: Some(signing_key().public_pem.clone()),
            jwks_url: format!("{ISSUER}/.well-known/jwks.json"),
            authorized_parties: vec![],
        })
        .unwrap(),
        SessionVerifier::new(VerifierConfig {
            issuer: ISSUER.into(),
            jwt_key_pem: None,
            jwks_url: format!("{}/.well-known/jwks.json", jwks.uri()),
            authorized_parties: vec![],
        })
        .unwrap(),
    ];
    for verifier in &verifiers {
        for token in [&jwt, &expired, &forged] {
            let answer = authorize(verifier, token).await;
            t.answers.lock().unwrap().push(answer);
        }
    }

    // Clerk's webhooks: create, update, sign in and out, a replay, a forged
    // signature.
    let created = user_event("user.created", &clerk_user(USER, "s@example.com", 1_000));
    assert_eq!(t.event(&created).await.status, 200);
    let updated = user_event("user.updated", &clerk_user(USER, "s2@example.com", 2_000));
    let replayed = {
        let body = updated.to_string().into_bytes();
        let request = signed_webhook(&body, "msg_2replayed", now());
        t.send(&stack.webhook, request.clone(), None).await;
        t.send(&stack.webhook, request, None).await
    };
    assert_eq!(replayed.body["outcome"], "duplicate");
    t.event(&session_event(
        "session.created",
        USER,
        "sess_2secrets",
        1_800_000_000_000,
    ))
    .await;
    t.event(&session_event(
        "session.ended",
        USER,
        "sess_2secrets",
        1_800_000_000_000,
    ))
    .await;
    let mut forged_delivery = signed_webhook(created.to_string().as_bytes(), "msg_2forged", now());
    forged_delivery
        .headers
        .retain(|(name, _)| name != "svix-signature");
    let forged_delivery = forged_delivery.header("svix-signature", "v1,bm90IGEgc2lnbmF0dXJl");
    assert_eq!(
        t.send(&stack.webhook, forged_delivery, None).await.status,
        401
    );
    t.event(&user_event(
        "user.created",
        &clerk_user(DOOMED, "d@example.com", 1_000),
    ))
    .await;

    // Users and settings, and a user the webhook has not created yet.
    for path in [
        "/api/v1/health",
        "/api/v1/users/me",
        "/api/v1/users/me/full",
        "/api/v1/users/me/accounts",
        "/api/v1/users/session",
        "/api/v1/settings",
        "/api/v1/settings/defaults",
    ] {
        assert_eq!(t.users("GET", path, None).await.status, 200, "{path}");
    }
    t.users(
        "PATCH",
        "/api/v1/settings",
        Some(json!({"theme": "dark", "items_per_page": 50})),
    )
    .await;
    t.users(
        "PATCH",
        "/api/v1/settings",
        Some(json!({"items_per_page": 500})),
    )
    .await;
    t.users("POST", "/api/v1/settings/reset", None).await;
    stack
        .clerk_has_user(&clerk_user(JIT, "jit@example.com", 1_000))
        .await;
    t.send(
        &stack.users,
        Request::new("GET", "/api/v1/users/me"),
        Some(JIT),
    )
    .await;

    // Connect, with discovery in every region; then every way a callback fails.
    let done = t.consent_and_return(&t.connect().await).await;
    let connection = query_of(&done.location())["connection_id"].clone();
    let started = t.connect().await;
    let url = started.body["authorization_url"].as_str().unwrap();
    let (_, query) = stack.amazon.consent(url, "seller").unwrap();
    t.callback(&query).await;
    assert_eq!(
        query_of(&t.callback(&query).await.location())["reason"],
        "invalid_state"
    );
    let state = started.body["state"].as_str().unwrap().to_owned();
    let started = t.connect().await;
    let state_2 = started.body["state"].as_str().unwrap().to_owned();
    t.callback(&format!(
        "error=access_denied&error_description=the+user+said+no&state={state_2}"
    ))
    .await;
    for answers in [
        vec![
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "bad code"})),
        ],
        vec![ResponseTemplate::new(500); 3],
        vec![ResponseTemplate::new(200).set_body_raw("<html>oops</html>", "text/html")],
        vec![ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"}))],
    ] {
        stack.amazon.script(Endpoint::Token, answers);
        let reason = t.consent_and_return(&t.connect().await).await;
        assert_eq!(query_of(&reason.location())["amazon"], "error");
    }
    t.send(
        &stack.start,
        Request::new("POST", "/api/v1/amazon/connect")
            .json(&json!({"return_to": "https://evil.example/steal"})),
        Some(USER),
    )
    .await;
    t.dump().await;

    // Connections and accounts, an on-demand refresh (a sync whose access
    // token is about to expire), a re-authorization.
    let expiring = chrono::Utc::now().timestamp_millis() + 20_000;
    stack
        .set_number(
            &format!("USER#{USER}"),
            &format!("CONN#{connection}"),
            "access_expires_at",
            expiring,
        )
        .await;
    let c = format!("/api/v1/connections/{connection}");
    for path in [
        "/api/v1/connections".to_owned(),
        c.clone(),
        format!("{c}/events"),
        "/api/v1/accounts".to_owned(),
        "/api/v1/accounts/health".to_owned(),
    ] {
        assert_eq!(t.users("GET", &path, None).await.status, 200, "{path}");
    }
    let synced = t.users("POST", &format!("{c}/sync"), None).await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let accounts: Vec<String> = synced.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect();
    t.users("GET", &format!("/api/v1/accounts/{}", accounts[0]), None)
        .await;
    t.users(
        "PUT",
        &format!("/api/v1/accounts/{}/default", accounts[1]),
        None,
    )
    .await;
    t.users("DELETE", &format!("/api/v1/accounts/{}", accounts[2]), None)
        .await;
    let reauthorize = t.users("POST", &format!("{c}/reauthorize"), None).await;
    let renewed = t.consent_and_return(&reauthorize).await;
    assert_eq!(query_of(&renewed.location())["amazon"], "connected");
    t.dump().await;

    // Scheduled refresher runs: a refresh, a revocation (invalid_grant), a
    // transient failure.
    let fine = stack
        .seed_connection(USER, "fine", chrono::Duration::minutes(1))
        .await;
    let revoked = stack
        .seed_connection(USER, "revoked", chrono::Duration::minutes(1))
        .await;
    stack.amazon.revoke("revoked");
    let refresher = stack.refresher(RefreshConfig::default());
    let deadline = chrono::Utc::now().timestamp_millis() as u64 + 300_000;
    let summary = refresher.scheduled(deadline).await.unwrap();
    assert_eq!(
        (summary.refreshed, summary.needs_reauth),
        (1, 1),
        "{summary:?}"
    );
    stack
        .seed_connection(USER, "flaky", chrono::Duration::minutes(1))
        .await;
    stack
        .amazon
        .script(Endpoint::Token, vec![ResponseTemplate::new(503); 3]);
    let summary = refresher.scheduled(deadline).await.unwrap();
    assert_eq!(summary.transient_failures, 1, "{summary:?}");
    t.answers.lock().unwrap().push(format!("{summary:?}"));
    assert_eq!(stack.connection(&fine).await.refresh_count, 1);
    assert!(stack.connection(&revoked).await.tokens.is_none());
    t.dump().await;

    // Dependencies failing: KMS refusing, DynamoDB failing, Clerk failing.
    // (A fresh process: no data key cached.)
    let cold_start = api::start_router(stack.fresh_connect_service());
    proxy.fail_after("TrentService.", 0, Fault::Error(400, "DisabledException"));
    let refused = t
        .send(
            &cold_start,
            Request::new("POST", "/api/v1/amazon/connect"),
            Some(DOOMED),
        )
        .await;
    proxy.heal();
    assert_eq!(refused.status, 503);
    proxy.fail_after("DynamoDB", 0, Fault::ServerError);
    assert_eq!(t.users("GET", "/api/v1/users/me", None).await.status, 503);
    proxy.heal();
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("clerk is down"))
        .mount(&stack.clerk)
        .await;
    t.send(
        &stack.users,
        Request::new("GET", "/api/v1/users/me"),
        Some("user_2nobody"),
    )
    .await;

    // Disconnecting, and deleting users.
    assert_eq!(t.users("DELETE", &c, None).await.status, 204);
    t.event(&deleted_event(DOOMED)).await;
    t.dump().await;
    t.event(&deleted_event(USER)).await;
    t.dump().await;

    // What must appear nowhere.
    let mut secrets: Vec<(String, String)> = Vec::new();
    let amazon = stack.amazon.seen_secrets();
    assert!(
        amazon.len() >= 20,
        "the flows handled codes and tokens: {amazon:?}"
    );
    for secret in amazon {
        secrets.push(("an Amazon code, verifier or token".into(), secret));
    }
    secrets.push((
        "the LWA client secret".into(),
        amazon_stub::CLIENT_SECRET.into(),
    ));
    secrets.push(("the Clerk secret key".into(), CLERK_SECRET_KEY.into()));
    secrets.push(("the Svix webhook secret".into(), WEBHOOK_SECRET.into()));
    let svix_key = STANDARD
        .decode(WEBHOOK_SECRET.trim_start_matches("whsec_"))
        .unwrap();
    for rendering in renderings(&svix_key) {
        secrets.push(("the Svix signing key".into(), rendering));
    }
    for (name, token) in [
        ("the session token", &jwt),
        ("an expired session token", &expired),
    ] {
        secrets.push((name.into(), token.clone()));
        let signature = token.rsplit('.').next().unwrap();
        secrets.push((format!("the signature of {name}"), signature.to_owned()));
    }
    for line in signing_key()
        .private_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
    {
        secrets.push(("a line of the private signing key".into(), line.to_owned()));
    }
    let data_keys = proxy.data_keys();
    assert!(
        data_keys.len() >= 3,
        "data keys were handed out: {}",
        data_keys.len()
    );
    for key in &data_keys {
        assert_eq!(key.len(), 32);
        for rendering in renderings(key) {
            secrets.push(("a plaintext KMS data key".into(), rendering));
        }
    }
    // OAuth states are stored by hash only.
    let states = [state, state_2];

    let logs = logs::text();
    // The capture really holds the SDK's and the HTTP client's trace lines.
    for target in ["aws_smithy_runtime", "hyper_util", "adsconnect"] {
        assert!(logs.contains(target), "no log line of {target}");
    }
    assert!(logs.contains("TRACE"), "captured at TRACE level");
    let answers = t.answers.lock().unwrap().join("\n");
    let dumps = t.dumps.lock().unwrap().join("\n");
    let haystacks = [
        ("the logs", &logs),
        ("the answers", &answers),
        ("the table", &dumps),
    ];
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        for (place, haystack) in &haystacks {
            if let Some(at) = haystack.find(secret.as_str()) {
                let bytes = haystack.as_bytes();
                let around =
                    &bytes[at.saturating_sub(120)..(at + secret.len() + 40).min(bytes.len())];
                leaks.push(format!(
                    "{what} in {place}: …{}…",
                    String::from_utf8_lossy(around)
                ));
            }
        }
    }
    for state in &states {
        if dumps.contains(state.as_str()) {
            leaks.push(format!("an OAuth state in the table: {state}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
