//! The functions over one fresh table, as API Gateway calls them, and the
//! table read and written directly (as another process would).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use adsconnect::amazon::AmazonConfig;
use adsconnect::configuration::ReportSettings;
use adsconnect::connections::connect::ConnectService;
use adsconnect::connections::refresh::RefreshConfig;
use adsconnect::connections::returns::ReturnPolicy;
use adsconnect::entrypoints::http as api;
use adsconnect::reports::{EngineConfig, ReportEngine};
use adsconnect::secrets::{AmazonClient, ClerkBackend, ClerkWebhook, Secret, SecretIds, Secrets};
use adsconnect::startup::Startup;
use adsconnect::store::Store;
use adsconnect::users::quota::{Limit, QuotaLimits};
use adsconnect_dev::amazon_stub::{self, AmazonWorld};
use adsconnect_dev::apigw::{ClientRequest, to_lambda_request};
use adsconnect_dev::calls::CallCounter;
use adsconnect_dev::provision;
use adsconnect_dev::template::WithStream;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;
use wiremock::MockServer;

use crate::amazon::{APP_ORIGIN, DEFAULT_RETURN_URL, amazon_config};
use crate::clerk::{CLERK_SECRET_KEY, WEBHOOK_SECRET, authorizer_context};
use crate::proxy::MotoProxy;

pub use adsconnect_dev::apigw::ClientRequest as Request;

pub type Item = HashMap<String, AttributeValue>;

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts moto")
    })
}

/// Stores every secret `ids` names as the built functions read them, with
/// the values the stack's stand-ins accept.
pub async fn put_secrets(ids: &SecretIds) {
    let secrets =
        aws_sdk_secretsmanager::Client::new(&provision::emulator_config(&moto_endpoint()));
    let values = provision::SecretValues {
        clerk_secret_key: CLERK_SECRET_KEY,
        clerk_webhook_secret: WEBHOOK_SECRET,
        amazon_client_id: amazon_stub::CLIENT_ID,
        amazon_client_secret: amazon_stub::CLIENT_SECRET,
    };
    provision::put_secrets(&secrets, ids, &values)
        .await
        .unwrap();
}

/// The production SDK configuration (timeouts included) for `endpoint`.
pub fn production_sdk(endpoint: &str) -> aws_config::SdkConfig {
    adsconnect::startup::with_timeouts(provision::emulator_config(endpoint))
}

/// The same, with short retry back-offs: the retries still happen, the
/// tests just wait less for them.
pub fn quick_sdk(endpoint: &str) -> aws_config::SdkConfig {
    production_sdk(endpoint)
        .into_builder()
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_initial_backoff(StdDuration::from_millis(10)),
        )
        .build()
}

/// The engine's pacing in tests: no wait between a job's steps (the waits
/// are unit-tested; a test would only sleep through them).
pub fn quick_reports() -> EngineConfig {
    EngineConfig {
        first_poll: StdDuration::ZERO,
        // Shorter than the test queue's visibility timeout, as the
        // template's is shorter than its queue's.
        lease: StdDuration::from_secs(1),
        ..EngineConfig::default()
    }
}

/// A stack whose AWS calls go through a proxy that can fail them.
pub async fn proxied_stack() -> (Stack, MotoProxy) {
    let proxy = MotoProxy::start(&moto_endpoint()).await.unwrap();
    let stack = Stack::with_sdk(quick_sdk(&proxy.endpoint)).await;
    (stack, proxy)
}

/// The same, for an agency's few hundred accounts: each AWS call may take
/// what moto needs to read them on a busy machine. Production allows 2 s
/// an attempt, which DynamoDB's milliseconds for such a Query never near;
/// moto, single-threaded, can pass it while the machine builds beside it.
pub async fn proxied_agency_stack() -> (Stack, MotoProxy) {
    let proxy = MotoProxy::start(&moto_endpoint()).await.unwrap();
    let sdk = quick_sdk(&proxy.endpoint)
        .into_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(StdDuration::from_secs(2))
                .operation_attempt_timeout(StdDuration::from_secs(15))
                .operation_timeout(StdDuration::from_secs(30))
                .build(),
        )
        .build();
    (Stack::with_sdk(sdk).await, proxy)
}

/// A deadline no run reaches.
pub fn far() -> Instant {
    Instant::now() + StdDuration::from_secs(600)
}

/// A consent service as `oauth-start`/`oauth-callback` build one: its own
/// cipher (data-key cache).
pub fn connect_service(startup: &Startup, key_id: &str, amazon: &AmazonConfig) -> ConnectService {
    startup
        .connect(
            startup.cipher(key_id),
            amazon,
            ReturnPolicy::new(&[APP_ORIGIN.to_owned()], DEFAULT_RETURN_URL).unwrap(),
        )
        .unwrap()
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
    /// `ads-proxy`, in a process of its own (every path allowed).
    pub proxy: Router,
    /// What the AWS clients were built from.
    pub sdk: aws_config::SdkConfig,
    /// The report engine, as `report-worker` builds it (its own process),
    /// with its queue and bucket.
    pub reports: Arc<ReportEngine>,
    pub report_queue_url: String,
    pub report_bucket: String,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Stack {
    pub async fn new() -> Self {
        Self::with_sdk(provision::emulator_config(&moto_endpoint())).await
    }

    /// A fresh stack where `user` has signed up (that write is not counted
    /// in `calls`).
    pub async fn with_user(user: &str, email: &str) -> Self {
        let stack = Self::new().await;
        stack.create_user(user, email).await;
        stack.calls.take();
        stack
    }

    /// A stack whose AWS clients use `sdk` (another emulator, a proxy in
    /// front of one, other timeouts).
    pub async fn with_sdk(sdk: aws_config::SdkConfig) -> Self {
        Self::build(sdk, WithStream::No).await
    }

    /// A fresh stack whose table has the template's stream (lifecycle
    /// events), where `user` has signed up.
    pub async fn with_stream(user: &str, email: &str) -> Self {
        let stack = Self::build(
            provision::emulator_config(&moto_endpoint()),
            WithStream::Yes,
        )
        .await;
        stack.create_user(user, email).await;
        stack.calls.take();
        stack
    }

    async fn build(sdk: aws_config::SdkConfig, with_stream: WithStream) -> Self {
        let calls = CallCounter::default();
        let dynamo = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let table = format!("test-{}", uuid::Uuid::new_v4().simple());
        provision::ensure_table(&dynamo, &table, with_stream)
            .await
            .unwrap();
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
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let s3 = adsconnect::startup::s3_client(&sdk);
        let report_queue_url = provision::ensure_report_queue(&sqs, &table).await.unwrap();
        provision::ensure_report_bucket(&s3, &table).await.unwrap();
        let startup = Startup {
            dynamo: dynamo.clone(),
            kms: kms.clone(),
            events: aws_sdk_eventbridge::Client::new(&sdk),
            sdk: sdk.clone(),
            secrets: Secrets {
                clerk_backend: Some(ClerkBackend {
                    secret_key: Secret::new(CLERK_SECRET_KEY),
                }),
                clerk_webhook: Some(ClerkWebhook {
                    signing_secrets: Secret::new(WEBHOOK_SECRET),
                }),
                amazon_client: Some(AmazonClient {
                    client_id: Secret::new(amazon_stub::CLIENT_ID),
                    client_secret: Secret::new(amazon_stub::CLIENT_SECRET),
                }),
            },
            table: table.clone(),
        };
        let report_settings = || ReportSettings {
            queue_url: report_queue_url.clone(),
            bucket: table.clone(),
            engine: quick_reports(),
        };
        // Account access as a process of its own builds it (own data-key cache).
        let access = |startup: &Startup| {
            startup
                .access(
                    startup.cipher(&kms_key_id),
                    &amazon_config,
                    RefreshConfig::default(),
                )
                .unwrap()
        };
        let reports =
            |startup: &Startup| startup.report_engine(access(startup), &report_settings());
        let service = || Arc::new(connect_service(&startup, &kms_key_id, &amazon_config));
        let (amazon_start, amazon_callback) = (service(), service());
        // The users function has its own process (data-key cache) too.
        // Writes far above any test's pace (tests/management/quotas.rs
        // tests the limit); the proxy keeps the deployed default.
        let many_writes = QuotaLimits {
            writes: Limit::per_minute(600_000),
            ..QuotaLimits::default()
        };
        let users = api::users_router(api::UsersServices {
            quotas: startup.quotas(many_writes),
            ..startup
                .users(
                    clerk.uri(),
                    connect_service(&startup, &kms_key_id, &amazon_config),
                    RefreshConfig::default(),
                    startup.reports(&report_settings()),
                )
                .unwrap()
        });
        let webhook = api::webhook_router(startup.webhook().unwrap());
        let proxy = api::proxy_router(startup.proxy(access(&startup), Vec::new()));
        Self {
            reports: Arc::new(reports(&startup)),
            report_queue_url,
            report_bucket: table.clone(),
            sqs,
            s3,
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
            proxy,
            sdk,
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
        self.deliver(router, request, user_id, None).await
    }

    /// Sends `request` as Lambda delivers it to a function with `budget`
    /// left before its deadline (in the invocation's context); returns the
    /// answer and how long it took.
    pub async fn send_within(
        &self,
        router: &Router,
        request: &ClientRequest,
        user_id: Option<&str>,
        budget: StdDuration,
    ) -> (Response, StdDuration) {
        let started = Instant::now();
        let deadline = std::time::SystemTime::now() + budget;
        let response = self.deliver(router, request, user_id, Some(deadline)).await;
        (response, started.elapsed())
    }

    async fn deliver(
        &self,
        router: &Router,
        request: &ClientRequest,
        user_id: Option<&str>,
        deadline: Option<std::time::SystemTime>,
    ) -> Response {
        let context = user_id.map(authorizer_context);
        let event = request.http_api_event("$default", context.as_ref());
        let mut lambda_request = to_lambda_request(&event).unwrap();
        if let Some(deadline) = deadline {
            let deadline_ms = deadline
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis();
            let mut context = lambda_http::Context::default();
            context.deadline = u64::try_from(deadline_ms).unwrap();
            lambda_request.extensions_mut().insert(context);
        }
        let response = router.clone().oneshot(lambda_request).await.unwrap();
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
        // Quota counters count every request, refused ones too: they are
        // not data a request changes.
        let mut items: Vec<String> = self
            .items()
            .await
            .iter()
            .filter(|item| !matches!(item.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with("QUOTA#")))
            .map(canonical_item)
            .collect();
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
}

pub fn attr_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

/// What `user` owns, item by item, in key order; without the manual-sync
/// throttle mark, which is not data.
/// Writes `items` into the stack's table directly, 25 a batch (seeding
/// more than a flow would write quickly).
pub async fn batch_put(stack: &Stack, items: Vec<Item>) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let writes: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    for chunk in writes.chunks(25) {
        stack
            .dynamo
            .batch_write_item()
            .request_items(&stack.table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    stack.calls.take();
}

pub async fn owned_items(stack: &Stack, user: &str) -> Vec<Item> {
    let mut items = Vec::new();
    for pk in [format!("USER#{user}"), format!("EVENTS#{user}")] {
        let pages: Vec<_> = stack
            .dynamo
            .query()
            .table_name(&stack.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .consistent_read(true)
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .unwrap();
        items.extend(
            pages
                .into_iter()
                .flat_map(|page| page.items.unwrap_or_default()),
        );
    }
    for item in &mut items {
        item.remove("sync_requested_at");
    }
    items
}

/// What `user` owns, counted by kind: the sort key's prefix in their
/// partition (`PROFILE`, `TOMBSTONE`, `CONN`, `ACCT`), `EVENT` for their
/// audit trail.
pub async fn owned(stack: &Stack, user: &str) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for item in owned_items(stack, user).await {
        let (pk, sk) = (attr_s(&item, "pk").unwrap(), attr_s(&item, "sk").unwrap());
        let kind = if pk.starts_with("EVENTS#") {
            "EVENT"
        } else {
            sk.split('#').next().unwrap()
        };
        *kinds.entry(kind.to_owned()).or_default() += 1;
    }
    kinds
}

pub fn kinds(counts: &[(&str, usize)]) -> BTreeMap<String, usize> {
    counts.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
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
