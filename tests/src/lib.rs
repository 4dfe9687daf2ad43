//! Test harness: a fresh table per test in the moto server that
//! `scripts/test` starts (`MOTO_ENDPOINT`), Clerk's Backend API stubbed with
//! wiremock, and requests delivered as API Gateway HTTP API events.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use adsconnect::amazon::{AmazonConfig, PerRegion};
use adsconnect::api;
use adsconnect::auth::authorizer::context_keys;
use adsconnect::connections::connection_id_for;
use adsconnect::connections::consent::{ConnectService, ReturnPolicy};
use adsconnect::connections::lifecycle::{self, Consent};
use adsconnect::connections::refresh::{RefreshConfig, Refresher};
use adsconnect::connections::tokens::TokenPair;
use adsconnect::ids::UserId;
use adsconnect::model::connection::{ConnectionRecord, DueConnection};
use adsconnect::secrets::{AppSecrets, Secret};
use adsconnect::startup::Startup;
use adsconnect::store::Store;
use adsconnect::webhooks::svix;
use adsconnect_dev::amazon_stub::{self, AmazonWorld};
use adsconnect_dev::apigw::{ClientRequest, to_lambda_request};
use adsconnect_dev::calls::CallCounter;
use adsconnect_dev::keys::SigningKey;
use adsconnect_dev::provision;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use wiremock::MockServer;

pub use adsconnect_dev::apigw::ClientRequest as Request;

pub const ISSUER: &str = "https://clerk.test.example";
pub const CLERK_SECRET_KEY: &str = "sk_test_harness_secret";
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub type Item = HashMap<String, AttributeValue>;

/// One RSA key per test binary: generating one takes a while.
pub fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate("ins_test_instance").unwrap())
}

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts moto")
    })
}

pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Response {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The `Location` of a redirect.
    pub fn location(&self) -> reqwest::Url {
        assert_eq!(self.status, 302, "{:?}", self.body);
        reqwest::Url::parse(self.headers["location"].to_str().unwrap()).unwrap()
    }
}

pub struct Stack {
    pub table: String,
    pub kms: aws_sdk_kms::Client,
    pub kms_calls: CallCounter,
    pub kms_key_id: String,
    pub amazon: AmazonWorld,
    pub amazon_server: MockServer,
    /// What every function of this stack is built from, as `main` builds it.
    pub startup: Startup,
    pub amazon_config: AmazonConfig,
    /// `oauth-start` and `oauth-callback` run in separate Lambda
    /// environments: separate services, separate data-key caches.
    pub amazon_start: Arc<ConnectService>,
    pub amazon_callback: Arc<ConnectService>,
    pub start: Router,
    pub callback: Router,
    pub store: Store,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub calls: CallCounter,
    pub clerk: MockServer,
    pub users: Router,
    pub webhook: Router,
}

impl Stack {
    pub async fn new() -> Self {
        Self::with_sdk(provision::emulator_config(&moto_endpoint())).await
    }

    /// A stack whose AWS clients use `sdk` (another emulator, a proxy in
    /// front of one, other timeouts).
    pub async fn with_sdk(sdk: aws_config::SdkConfig) -> Self {
        let calls = CallCounter::default();
        let dynamo = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let table = format!("test-{}", uuid::Uuid::new_v4().simple());
        provision::ensure_table(&dynamo, &table).await.unwrap();
        calls.take();
        let store = Store::new(dynamo.clone(), table.clone());
        let clerk = MockServer::start().await;
        let kms_calls = CallCounter::default();
        let kms = aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(&sdk)
                .interceptor(kms_calls.clone())
                .build(),
        );
        let kms_key_id = provision::ensure_kms_key(&kms, &format!("alias/{table}"))
            .await
            .unwrap();
        kms_calls.take();
        let amazon = AmazonWorld::default();
        let amazon_server = amazon.serve(None).await;
        let amazon_config = amazon_config(&amazon_server.uri());
        let startup = Startup {
            dynamo: dynamo.clone(),
            kms: kms.clone(),
            secrets: AppSecrets {
                clerk_secret_key: Some(Secret::new(CLERK_SECRET_KEY)),
                clerk_webhook_secret: Some(Secret::new(WEBHOOK_SECRET)),
                amazon_client_id: Some(Secret::new(amazon_stub::CLIENT_ID)),
                amazon_client_secret: Some(Secret::new(amazon_stub::CLIENT_SECRET)),
            },
            table: table.clone(),
        };
        let amazon_start = Arc::new(connect_service(&startup, &kms_key_id, &amazon_config));
        let amazon_callback = Arc::new(connect_service(&startup, &kms_key_id, &amazon_config));
        // The users function has its own process (data-key cache) too.
        let users = api::users_router(
            startup
                .users(
                    clerk.uri(),
                    connect_service(&startup, &kms_key_id, &amazon_config),
                    RefreshConfig::default(),
                )
                .unwrap(),
        );
        let webhook = api::webhook_router(startup.webhook().unwrap());
        Self {
            start: api::start_router(Arc::clone(&amazon_start)),
            callback: api::callback_router(Arc::clone(&amazon_callback)),
            startup,
            amazon_config,
            kms,
            kms_calls,
            kms_key_id,
            amazon,
            amazon_server,
            amazon_start,
            amazon_callback,
            table,
            store,
            dynamo,
            calls,
            clerk,
            users,
            webhook,
        }
    }

    /// Sends `request` to `router` as API Gateway would, with the authorizer
    /// context of `user_id` (or none).
    pub async fn send(
        &self,
        router: &Router,
        request: &ClientRequest,
        user_id: Option<&str>,
    ) -> Response {
        let context = user_id.map(authorizer_context);
        let event = request.http_api_event("$default", context.as_ref());
        let response = router
            .clone()
            .oneshot(to_lambda_request(&event).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Response {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, user_id: &str) -> Response {
        self.send(&self.users, &ClientRequest::new("GET", path), Some(user_id))
            .await
    }

    /// Posts a Clerk event signed with the harness secret, under a fresh delivery id.
    pub async fn post_event(&self, event: &Value) -> Response {
        self.post_event_as(event, &format!("msg_{}", uuid::Uuid::new_v4().simple()))
            .await
    }

    pub async fn post_event_as(&self, event: &Value, delivery_id: &str) -> Response {
        let body = event.to_string().into_bytes();
        let request = signed_webhook(&body, delivery_id, chrono::Utc::now().timestamp());
        self.send(&self.webhook, &request, None).await
    }

    /// Every item in the table (a Scan: tests only).
    pub async fn items(&self) -> Vec<Item> {
        let output = self
            .dynamo
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        self.calls.take();
        output.items.unwrap_or_default()
    }

    /// The whole table in a form that compares equal whatever order DynamoDB
    /// (and HashMap) returns items and attributes in: for "nothing changed".
    pub async fn snapshot(&self) -> Vec<String> {
        let mut items: Vec<String> = self.items().await.iter().map(canonical_item).collect();
        items.sort();
        items
    }

    pub async fn item(&self, pk: &str, sk: &str) -> Option<Item> {
        let output = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        self.calls.take();
        output.item
    }

    /// Sets a number attribute directly (to age a record past a deadline).
    pub async fn set_number(&self, pk: &str, sk: &str, attribute: &str, value: i64) {
        self.dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", AttributeValue::N(value.to_string()))
            .send()
            .await
            .unwrap();
        self.calls.take();
    }

    /// Deletes an item directly, as another process would.
    pub async fn delete(&self, pk: &str, sk: &str) {
        self.dynamo
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .send()
            .await
            .unwrap();
        self.calls.take();
    }

    /// Stubs Clerk's `GET /v1/users/{id}`, checking the secret key as Clerk does.
    pub async fn clerk_has_user(&self, user: &Value) {
        use wiremock::matchers::{header, method, path};
        let id = user["id"].as_str().unwrap();
        wiremock::Mock::given(method("GET"))
            .and(path(format!("/v1/users/{id}")))
            .and(header(
                "authorization",
                format!("Bearer {CLERK_SECRET_KEY}").as_str(),
            ))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(user))
            .mount(&self.clerk)
            .await;
    }
}

pub const APP_ORIGIN: &str = "https://app.example.test";
pub const DEFAULT_RETURN_URL: &str = "https://app.example.test/settings/amazon";
pub const REDIRECT_URI: &str = "https://api.example.test/api/v1/amazon/callback";

/// A consent service as `oauth-start`/`oauth-callback` build one: its own
/// cipher (data-key cache).
fn connect_service(startup: &Startup, key_id: &str, amazon: &AmazonConfig) -> ConnectService {
    startup
        .connect(
            startup.cipher(key_id),
            amazon,
            ReturnPolicy::new(&[APP_ORIGIN.to_owned()], DEFAULT_RETURN_URL).unwrap(),
        )
        .unwrap()
}

/// Amazon configuration pointing every host at the stub.
pub fn amazon_config(stub: &str) -> AmazonConfig {
    AmazonConfig {
        client_id: Secret::new(amazon_stub::CLIENT_ID),
        client_secret: Secret::new(amazon_stub::CLIENT_SECRET),
        redirect_uri: Some(REDIRECT_URI.into()),
        scopes: vec!["advertising::campaign_management".into(), "profile".into()],
        auth_urls: PerRegion {
            na: format!("{stub}/na/ap/oa"),
            eu: format!("{stub}/eu/ap/oa"),
            fe: format!("{stub}/fe/ap/oa"),
        },
        token_url: format!("{stub}/auth/o2/token"),
        ads_urls: PerRegion {
            na: format!("{stub}/na"),
            eu: format!("{stub}/eu"),
            fe: format!("{stub}/fe"),
        },
        profile_url: format!("{stub}/user/profile"),
    }
}

impl Stack {
    /// `POST /api/v1/amazon/connect` as `user_id`.
    pub async fn connect(&self, user_id: &str, body: &Value) -> Response {
        let request = ClientRequest::new("POST", "/api/v1/amazon/connect").json(body);
        self.send(&self.start, &request, Some(user_id)).await
    }

    /// Amazon's redirect to the callback with `query`.
    pub async fn amazon_redirect(&self, query: &str) -> Response {
        let request = ClientRequest::new("GET", &format!("/api/v1/amazon/callback?{query}"));
        self.send(&self.callback, &request, None).await
    }

    /// The whole flow: start as `user_id`, consent as `login`, follow the
    /// redirect; returns the callback's `Location`.
    pub async fn connect_flow(&self, user_id: &str, login: &str) -> reqwest::Url {
        let started = self.connect(user_id, &json!({"region": "na"})).await;
        assert_eq!(started.status, 200, "{:?}", started.body);
        let (_, query) = self
            .amazon
            .consent(started.body["authorization_url"].as_str().unwrap(), login)
            .unwrap();
        let done = self.amazon_redirect(&query).await;
        assert_eq!(done.status, 302, "{:?}", done.body);
        reqwest::Url::parse(done.headers["location"].to_str().unwrap()).unwrap()
    }
}

impl Stack {
    /// A refresher as the `token-refresher` function builds it: its own
    /// process, so its own data-key cache.
    pub fn refresher(&self, config: RefreshConfig) -> Refresher {
        self.startup
            .refresher(
                self.startup.cipher(&self.kms_key_id),
                &self.amazon_config,
                config,
            )
            .unwrap()
    }

    /// An `oauth-start`/`oauth-callback` in a process of its own: a cold
    /// data-key cache.
    pub fn fresh_connect_service(&self) -> Arc<ConnectService> {
        Arc::new(connect_service(
            &self.startup,
            &self.kms_key_id,
            &self.amazon_config,
        ))
    }

    /// A connection of `user_id` to `login` whose access token expires in
    /// `expires_in`, written as the callback writes one (tokens sealed by the
    /// callback's process).
    pub async fn seed_connection(
        &self,
        user_id: &str,
        login: &str,
        expires_in: chrono::Duration,
    ) -> DueConnection {
        let user_id = UserId::parse(user_id).unwrap();
        let (access, refresh) = self.amazon.grant(login);
        let now = chrono::Utc::now();
        let connection_id = connection_id_for(&user_id, &format!("lwa:{login}"));
        let sealed = TokenPair {
            access_token: Secret::new(access),
            refresh_token: Secret::new(refresh),
        }
        .seal(&self.amazon_callback.cipher, &user_id, &connection_id)
        .await
        .unwrap();
        let (connection, _) = lifecycle::connected(
            None,
            Consent {
                user_id: user_id.clone(),
                connection_id: connection_id.clone(),
                amazon_identity: format!("lwa:{login}"),
                amazon_user_id: Some(login.to_owned()),
                amazon_name: None,
                amazon_email: None,
                region: adsconnect::model::region::Region::Na,
                scopes: vec!["advertising::campaign_management".into()],
                access_expires_at: now + expires_in,
                tokens: sealed,
                sync_warnings: vec![],
                auto_refresh: true,
            },
            now,
        );
        // One PutItem through the store (which adds the refresh index's
        // shard): moto copies the whole table for every transaction, which
        // would make seeding hundreds of connections quadratic.
        self.store.put_connection(&connection).await.unwrap();
        self.calls.take();
        self.kms_calls.take();
        DueConnection {
            user_id,
            connection_id,
        }
    }

    pub async fn connection(&self, due: &DueConnection) -> ConnectionRecord {
        let record = self
            .store
            .get_connection(&due.user_id, &due.connection_id)
            .await
            .unwrap()
            .unwrap();
        self.calls.take();
        record
    }
}

/// The query parameters of a redirect.
pub fn query_of(url: &reqwest::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

pub fn authorizer_context(user_id: &str) -> Map<String, Value> {
    let mut context = Map::new();
    context.insert(context_keys::USER_ID.into(), json!(user_id));
    context.insert(context_keys::SESSION_ID.into(), json!("sess_test"));
    context
}

pub fn signed_webhook(body: &[u8], delivery_id: &str, timestamp: i64) -> ClientRequest {
    let signature =
        svix::signature_header(&Secret::new(WEBHOOK_SECRET), delivery_id, timestamp, body).unwrap();
    ClientRequest::new("POST", "/webhooks/clerk")
        .raw_json(body.to_vec())
        .header("svix-id", delivery_id)
        .header("svix-timestamp", &timestamp.to_string())
        .header("svix-signature", &signature)
}

/// A Clerk user object as webhooks and the Backend API carry it.
pub fn clerk_user(id: &str, email: &str, updated_at_ms: i64) -> Value {
    json!({
        "object": "user", "id": id, "first_name": "Ada", "last_name": "Lovelace",
        "username": null, "image_url": "https://img.clerk.com/ada.png", "has_image": true,
        "primary_email_address_id": "idn_primary",
        "email_addresses": [{"id": "idn_primary", "object": "email_address", "email_address": email,
                             "verification": {"status": "verified", "strategy": "email_code"}}],
        "phone_numbers": [], "external_id": null, "public_metadata": {}, "private_metadata": {},
        "unsafe_metadata": {}, "created_at": 1_700_000_000_000_i64, "updated_at": updated_at_ms,
        "last_sign_in_at": 1_700_000_050_000_i64, "banned": false, "locked": false,
    })
}

pub fn user_event(kind: &str, user: &Value) -> Value {
    json!({"type": kind, "object": "event", "data": user, "timestamp": 1_700_000_000_000_i64,
           "instance_id": "ins_test_instance"})
}

pub fn deleted_event(user_id: &str) -> Value {
    json!({"type": "user.deleted", "object": "event",
           "data": {"object": "user", "id": user_id, "deleted": true}})
}

pub fn session_event(kind: &str, user_id: &str, session_id: &str, created_at_ms: i64) -> Value {
    json!({"type": kind, "object": "event", "data": {
        "object": "session", "id": session_id, "user_id": user_id, "client_id": "client_1",
        "status": "active", "created_at": created_at_ms, "updated_at": created_at_ms,
        "last_active_at": created_at_ms, "expire_at": created_at_ms + 604_800_000_i64,
        "abandon_at": created_at_ms + 2_592_000_000_i64}})
}

pub fn attr_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

/// Captures every log line the code under test writes, at TRACE level.
pub mod logs {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};

    static BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

    fn buffer() -> &'static Mutex<Vec<u8>> {
        BUFFER.get_or_init(|| Mutex::new(Vec::new()))
    }

    struct Writer;

    impl Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            buffer().lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Installs the capturing subscriber (once per test binary).
    pub fn capture() {
        static INIT: OnceLock<()> = OnceLock::new();
        INIT.get_or_init(|| {
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| Writer)
                .with_ansi(false)
                .init();
        });
    }

    pub fn text() -> String {
        String::from_utf8_lossy(&buffer().lock().unwrap()).into_owned()
    }
}

/// An HTTP proxy in front of moto that plays a failing AWS: after a budget
/// of forwarded calls, every matching call fails (an error answer, or no
/// answer at all). It also records the KMS data keys that cross it, so tests
/// can look for them where they must never be.
pub mod proxy {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use base64::Engine as _;

    #[derive(Clone, Copy, Debug)]
    pub enum Fault {
        /// 500 InternalServerError: the SDK retries it, then gives up.
        ServerError,
        /// The call is accepted and never answered.
        Stall,
        /// The call is applied, then its answer is lost (a 500 instead).
        LoseAnswer,
        /// A service error as AWS answers it: status and `__type`, e.g.
        /// `(400, "DisabledException")` from KMS for a disabled key.
        Error(u16, &'static str),
    }

    struct Plan {
        target_prefix: String,
        budget: usize,
        fault: Fault,
    }

    #[derive(Default)]
    struct Inner {
        plan: Option<Plan>,
        /// `X-Amz-Target` of every call, forwarded or failed.
        targets: Vec<String>,
        data_keys: Vec<Vec<u8>>,
    }

    #[derive(Clone)]
    pub struct MotoProxy {
        pub endpoint: String,
        upstream: String,
        inner: Arc<Mutex<Inner>>,
        http: reqwest::Client,
    }

    impl MotoProxy {
        pub async fn start(upstream: &str) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let proxy = Self {
                endpoint: format!("http://{}", listener.local_addr().unwrap()),
                upstream: upstream.trim_end_matches('/').to_owned(),
                inner: Arc::default(),
                http: adsconnect::tls::http_client().build().unwrap(),
            };
            let app = Router::new().fallback(forward).with_state(proxy.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
            proxy
        }

        fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
            self.inner.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// From now on, `budget` more calls whose `X-Amz-Target` starts with
        /// `target_prefix` (`""`: every call) are forwarded; every later one
        /// fails with `fault`. Other calls pass.
        pub fn fail_after(&self, target_prefix: &str, budget: usize, fault: Fault) {
            self.inner().plan = Some(Plan {
                target_prefix: target_prefix.to_owned(),
                budget,
                fault,
            });
        }

        /// Everything is forwarded again.
        pub fn heal(&self) {
            self.inner().plan = None;
        }

        /// The targets of the calls since the last `take_calls`, e.g.
        /// `DynamoDB_20120810.PutItem`, `TrentService.Decrypt`.
        pub fn take_calls(&self) -> Vec<String> {
            std::mem::take(&mut self.inner().targets)
        }

        /// Every plaintext data key KMS handed out through the proxy.
        pub fn data_keys(&self) -> Vec<Vec<u8>> {
            self.inner().data_keys.clone()
        }

        fn decide(&self, target: &str) -> Option<Fault> {
            let mut inner = self.inner();
            inner.targets.push(target.to_owned());
            let plan = inner.plan.as_mut()?;
            if !target.starts_with(&plan.target_prefix) {
                return None;
            }
            if plan.budget > 0 {
                plan.budget -= 1;
                return None;
            }
            Some(plan.fault)
        }
    }

    fn error(status: u16, kind: &str) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({"__type": kind, "message": "injected by the test proxy"});
        (
            status,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            body.to_string(),
        )
            .into_response()
    }

    async fn forward(State(proxy): State<MotoProxy>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let fault = proxy.decide(&target);
        match fault {
            None | Some(Fault::LoseAnswer) => {}
            Some(Fault::ServerError) => return error(500, "InternalServerError"),
            Some(Fault::Error(status, kind)) => return error(status, kind),
            Some(Fault::Stall) => std::future::pending::<()>().await,
        }
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut upstream = proxy
            .http
            .request(parts.method.clone(), format!("{}{path}", proxy.upstream))
            .body(body);
        for (name, value) in &parts.headers {
            if name != header::HOST && name != header::CONTENT_LENGTH {
                upstream = upstream.header(name, value);
            }
        }
        let Ok(answer) = upstream.send().await else {
            return error(502, "ProxyUpstreamFailed");
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap_or_default();
        if matches!(fault, Some(Fault::LoseAnswer)) {
            return error(500, "InternalServerError");
        }
        if target == "TrentService.GenerateDataKey" || target == "TrentService.Decrypt" {
            let plaintext = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["Plaintext"].as_str().map(str::to_owned))
                .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok());
            if let Some(key) = plaintext {
                proxy.inner().data_keys.push(key);
            }
        }
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        for (name, value) in &headers {
            if name != header::TRANSFER_ENCODING
                && name != header::CONNECTION
                && name != header::CONTENT_LENGTH
            {
                response.headers_mut().append(name, value.clone());
            }
        }
        response
    }
}

fn canonical_item(item: &Item) -> String {
    let sorted: std::collections::BTreeMap<&String, String> =
        item.iter().map(|(k, v)| (k, canonical(v))).collect();
    format!("{sorted:?}")
}

fn canonical(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => canonical_item(map),
        AttributeValue::L(list) => format!("{:?}", list.iter().map(canonical).collect::<Vec<_>>()),
        other => format!("{other:?}"),
    }
}
