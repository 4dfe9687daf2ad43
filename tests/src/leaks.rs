//! What the leak tests share: each feature's flows run with their log lines
//! captured at TRACE level (the AWS SDK's and the HTTP stack's own
//! included), then the table, every log line and every HTTP answer are
//! searched for every secret the flows handled.

use std::sync::Mutex;

use adsconnect_dev::amazon_stub::{self, Login, ads_account, profile};
use axum::Router;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::amazon::amazon_login;
use crate::clerk::{CLERK_SECRET_KEY, ISSUER, WEBHOOK_SECRET, signed_webhook, signing_key};
use crate::logs::Capture;
use crate::proxy::MotoProxy;
use crate::stack::{Request, Response, Stack, moto_endpoint, production_sdk};

pub const USER: &str = "user_2secrets";
pub const DOOMED: &str = "user_2doomed";

/// The login of the leak tests, reaching every account kind: seller, vendor
/// and agency profiles in three regions, two Ads accounts, DSP advertisers
/// with seats and an AMC account with instances.
fn every_kind_login() -> Login {
    let login = amazon_login(
        json!({"user_id": "amzn1.account.SECRETS", "name": "Secret Seller", "email": "s@example.com"}),
        vec![
            (
                "na",
                vec![
                    profile(9001, "US", "Secrets US", "seller"),
                    profile(9002, "CA", "Secrets CA", "seller"),
                ],
            ),
            ("eu", vec![profile(9101, "DE", "Secrets DE", "vendor")]),
            ("fe", vec![profile(9201, "JP", "Secrets JP", "agency")]),
        ],
        vec![
            ads_account("amzn1.ads-account.g.us", "CREATED", &[(9001, "US")]),
            ads_account("amzn1.ads-account.g.de", "PENDING", &[(9101, "DE")]),
        ],
    );
    // Its JP agency profile reaches two DSP advertisers (seats included);
    // its AMC account two instances.
    Login {
        dsp_advertisers: [("9201".to_owned(), amazon_stub::dsp_advertisers(9201, 2))]
            .into_iter()
            .collect(),
        amc_accounts: Some(
            [(
                "fe",
                vec![amazon_stub::amc_account("ENTITYSECRETS", "A1VC38T7YXB528")],
            )]
            .into_iter()
            .collect(),
        ),
        amc_instances: [(
            "ENTITYSECRETS".to_owned(),
            vec![
                amazon_stub::amc_instance("amcsecret1", "SUCCEEDED"),
                amazon_stub::amc_instance("amcsecret2", "IN_PROGRESS"),
            ],
        )]
        .into_iter()
        .collect(),
        seats: [("9201000000".to_owned(), amazon_stub::seats(12))]
            .into_iter()
            .collect(),
        ..login
    }
}

/// This test's log lines, captured from now on (see [`Capture`]), and a
/// stack whose AWS calls go through the proxy: it sees every data key KMS
/// hands out, and can fail. The production timeouts; `seller` consents.
pub async fn stack() -> (Capture, Stack, MotoProxy) {
    let logs = Capture::start();
    let proxy = MotoProxy::start(&moto_endpoint()).await.unwrap();
    let stack = Stack::with_sdk(production_sdk(&proxy.endpoint)).await;
    stack.amazon.add_login("seller", every_kind_login());
    (logs, stack, proxy)
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Every answer the flows received, as text.
pub struct Transcript<'a> {
    pub stack: &'a Stack,
    /// The session token API Gateway forwards with every request.
    pub jwt: String,
    pub answers: Mutex<Vec<String>>,
    /// Table dumps taken along the way (items deleted later count too).
    pub dumps: Mutex<Vec<String>>,
    /// The completions callbacks handed out: stored by hash only.
    pub completions: Mutex<Vec<String>>,
}

impl<'a> Transcript<'a> {
    /// Requests as [`USER`] carry a session token of theirs.
    pub fn new(stack: &'a Stack) -> Self {
        Self {
            stack,
            jwt: signing_key().session_token(ISSUER, USER, "sess_2secrets", 60),
            answers: Mutex::default(),
            dumps: Mutex::default(),
            completions: Mutex::default(),
        }
    }

    pub fn record(&self, what: &str, response: &Response) {
        self.answers.lock().unwrap().push(format!(
            "{what} → {} {:?} {}",
            response.status, response.headers, response.body
        ));
    }

    pub async fn send(&self, router: &Router, request: Request, user: Option<&str>) -> Response {
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

    pub async fn users(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let mut request = Request::new(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(&self.stack.users, request, Some(USER)).await
    }

    pub async fn event(&self, event: &Value) -> Response {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let request = signed_webhook(event.to_string().as_bytes(), &id, now());
        self.send(&self.stack.webhook, request, None).await
    }

    /// Start (connect or reauthorize), consent, callback: the callback's answer.
    pub async fn consent_and_return(&self, started: &Response) -> Response {
        assert_eq!(started.status, 200, "{:?}", started.body);
        let url = started.body["authorization_url"].as_str().unwrap();
        let (_, query) = self.stack.amazon.consent(url, "seller").unwrap();
        self.callback(&query).await
    }

    /// Start, consent, callback, and the completion by [`USER`]: the
    /// completion's answer. The table is dumped while the grant is pending.
    pub async fn consent_and_complete(&self, started: &Response) -> Response {
        let callback = self.consent_and_return(started).await;
        self.dump().await;
        let completion = crate::amazon::query_of(&callback.location())["completion"].clone();
        self.completions.lock().unwrap().push(completion.clone());
        let request = Request::new("POST", "/api/v1/amazon/complete")
            .json(&json!({ "completion": completion }));
        self.send(&self.stack.callback, request, Some(USER)).await
    }

    pub async fn callback(&self, query: &str) -> Response {
        let request = Request::new("GET", &format!("/api/v1/amazon/callback?{query}"));
        self.send(&self.stack.callback, request, None).await
    }

    pub async fn connect(&self) -> Response {
        let request = Request::new("POST", "/api/v1/amazon/connect")
            .json(&json!({"region": "na", "return_to": "https://app.example.test/after"}));
        self.send(&self.stack.start, request, Some(USER)).await
    }

    pub async fn dump(&self) {
        let items = self.stack.items().await;
        self.dumps.lock().unwrap().push(format!("{items:?}"));
    }
}

/// The forms in which bytes could show up in text.
pub fn renderings(bytes: &[u8]) -> Vec<String> {
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

/// What must appear nowhere: (what it is, its text).
pub struct Secrets(pub Vec<(String, String)>);

impl Secrets {
    /// The secrets every flow holds: the LWA client secret, the Clerk
    /// secret key, the Svix webhook secret and its signing key, the session
    /// token the flows were called with (and its signature), and the lines
    /// of the private key that signs session tokens.
    pub fn new(jwt: &str) -> Self {
        let mut secrets = Self(Vec::new());
        secrets.push("the LWA client secret", amazon_stub::CLIENT_SECRET);
        secrets.push("the Clerk secret key", CLERK_SECRET_KEY);
        secrets.push("the Svix webhook secret", WEBHOOK_SECRET);
        let svix_key = STANDARD
            .decode(WEBHOOK_SECRET.trim_start_matches("whsec_"))
            .unwrap();
        for rendering in renderings(&svix_key) {
            secrets.push("the Svix signing key", &rendering);
        }
        secrets.session_token("the session token", jwt);
        for line in signing_key()
            .private_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
        {
            secrets.push("a line of the private signing key", line);
        }
        secrets
    }

    fn push(&mut self, what: &str, secret: &str) {
        self.0.push((what.into(), secret.into()));
    }

    /// A session token and its signature.
    pub fn session_token(&mut self, name: &str, token: &str) {
        self.push(name, token);
        let signature = token.rsplit('.').next().unwrap();
        self.push(&format!("the signature of {name}"), signature);
    }

    /// Every code, verifier and token the Amazon stub handed out or
    /// received: at least `floor` of them.
    pub fn amazon(&mut self, stack: &Stack, floor: usize) {
        let amazon = stack.amazon.seen_secrets();
        assert!(
            amazon.len() >= floor,
            "the flows handled codes and tokens: {amazon:?}"
        );
        for secret in amazon {
            self.push("an Amazon code, verifier or token", &secret);
        }
    }

    /// Every plaintext data key KMS handed out through `proxy` (at least
    /// `floor` of them), in every rendering.
    pub fn data_keys(&mut self, proxy: &MotoProxy, floor: usize) {
        let data_keys = proxy.data_keys();
        assert!(
            data_keys.len() >= floor,
            "data keys were handed out: {}",
            data_keys.len()
        );
        for key in &data_keys {
            assert_eq!(key.len(), 32);
            for rendering in renderings(key) {
                self.push("a plaintext KMS data key", &rendering);
            }
        }
    }
}

/// Asserts that `logs` really holds the SDK's and the HTTP client's trace
/// lines; then that no secret is in them, in the answers or in the table
/// dumps, and that no OAuth state or completion is in the table (both are
/// stored by hash only).
pub fn assert_none_leaked(secrets: &Secrets, states: &[String], logs: &str, t: &Transcript) {
    // The capture really holds the SDK's and the HTTP client's trace lines.
    for target in ["aws_smithy_runtime", "hyper_util", "adsconnect"] {
        assert!(logs.contains(target), "no log line of {target}");
    }
    assert!(logs.contains("TRACE"), "captured at TRACE level");
    let answers = t.answers.lock().unwrap().join("\n");
    let dumps = t.dumps.lock().unwrap().join("\n");
    let haystacks = [
        ("the logs", logs),
        ("the answers", &answers),
        ("the table", &dumps),
    ];
    let mut leaks = Vec::new();
    for (what, secret) in &secrets.0 {
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
    for state in states {
        if dumps.contains(state.as_str()) {
            leaks.push(format!("an OAuth state in the table: {state}"));
        }
    }
    for completion in t.completions.lock().unwrap().iter() {
        if dumps.contains(completion.as_str()) {
            leaks.push(format!("a completion in the table: {completion}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
