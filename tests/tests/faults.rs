//! Faults: AWS (moto) dying or hanging mid-request, KMS refusing, Amazon and
//! Clerk answering garbage or nothing, garbage request bodies. Every fault
//! must end in a clean answer within a bounded time and leave the table
//! fully before or fully after the operation.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use adsconnect::api;
use adsconnect::auth::{Denial, SessionVerifier, VerifierConfig};
use adsconnect::connections::refresh::RefreshConfig;
use adsconnect::model::connection::{ConnectionRecord, ConnectionStatus};
use adsconnect::store::connections::REFRESH_SHARDS;
use adsconnect::tokens::TokenCipher;
use adsconnect_dev::amazon_stub::{Endpoint, Login, profile};
use adsconnect_dev::provision;
use adsconnect_tests::proxy::{Fault, MotoProxy};
use adsconnect_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

const USER: &str = "user_2faults";

/// The production SDK configuration (timeouts included) for `endpoint`.
fn production_sdk(endpoint: &str) -> aws_config::SdkConfig {
    adsconnect::startup::with_timeouts(provision::emulator_config(endpoint))
}

/// The same, with short retry back-offs: the retries still happen, the
/// tests just wait less for them.
fn quick_sdk(endpoint: &str) -> aws_config::SdkConfig {
    production_sdk(endpoint)
        .into_builder()
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_initial_backoff(StdDuration::from_millis(10)),
        )
        .build()
}

/// A moto server of this test's own, to kill.
struct OwnMoto {
    child: Child,
    endpoint: String,
}

impl OwnMoto {
    async fn start() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/moto_server.py"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the project's .venv with moto (scripts/test creates it)");
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Listening means serving: the server binds right before it serves.
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return moto;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        panic!("moto did not start on port {port}");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        self.kill();
    }
}

fn seller() -> Login {
    Login {
        lwa_profile: Some(
            json!({"user_id": "amzn1.account.FAULTS", "name": "Fault Seller", "email": "f@example.com"}),
        ),
        profiles: [
            (
                "na",
                vec![
                    profile(7001, "US", "Faults US", "seller"),
                    profile(7002, "CA", "Faults CA", "seller"),
                ],
            ),
            ("eu", vec![profile(7101, "DE", "Faults DE", "seller")]),
        ]
        .into_iter()
        .collect(),
        ads_accounts: vec![],
    }
}

/// A user with a connection (three accounts): returns their ids.
async fn connected_user(stack: &Stack, user: &str) -> (String, Vec<String>) {
    let created = stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(user, "f@example.com", 1_000),
        ))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    stack.amazon.add_login("seller", seller());
    let done = query_of(&stack.connect_flow(user, "seller").await);
    assert_eq!(done["amazon"], "connected", "{done:?}");
    let accounts = stack.get("/api/v1/accounts", user).await.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect();
    (done["connection_id"].clone(), accounts)
}

#[derive(Clone, Copy, Debug)]
enum Function {
    Users,
    Start,
    Webhook,
}

/// Every request whose answer needs DynamoDB or KMS, as the given user.
fn dependent_requests(user: &str, connection: &str, account: &str) -> Vec<(Function, Request)> {
    use Function::*;
    let now = chrono::Utc::now().timestamp();
    let webhook = |event: Value, id: &str| {
        let body = event.to_string().into_bytes();
        (Webhook, signed_webhook(&body, id, now))
    };
    vec![
        (Users, Request::new("GET", "/api/v1/users/me")),
        (Users, Request::new("GET", "/api/v1/users/me/full")),
        (Users, Request::new("GET", "/api/v1/users/me/accounts")),
        (Users, Request::new("GET", "/api/v1/users/session")),
        (Users, Request::new("GET", "/api/v1/settings")),
        (
            Users,
            Request::new("PATCH", "/api/v1/settings").json(&json!({"theme": "dark"})),
        ),
        (Users, Request::new("POST", "/api/v1/settings/reset")),
        (Users, Request::new("GET", "/api/v1/connections")),
        (
            Users,
            Request::new("GET", &format!("/api/v1/connections/{connection}")),
        ),
        (
            Users,
            Request::new("GET", &format!("/api/v1/connections/{connection}/events")),
        ),
        (
            Users,
            Request::new(
                "POST",
                &format!("/api/v1/connections/{connection}/reauthorize"),
            ),
        ),
        (
            Users,
            Request::new("POST", &format!("/api/v1/connections/{connection}/sync")),
        ),
        (
            Users,
            Request::new("DELETE", &format!("/api/v1/connections/{connection}")),
        ),
        (Users, Request::new("GET", "/api/v1/accounts")),
        (Users, Request::new("GET", "/api/v1/accounts/health")),
        (
            Users,
            Request::new("GET", &format!("/api/v1/accounts/{account}")),
        ),
        (
            Users,
            Request::new("PUT", &format!("/api/v1/accounts/{account}/default")),
        ),
        (
            Users,
            Request::new("DELETE", &format!("/api/v1/accounts/{account}")),
        ),
        (
            Start,
            Request::new("POST", "/api/v1/amazon/connect").json(&json!({"region": "eu"})),
        ),
        webhook(
            user_event("user.updated", &clerk_user(user, "new@example.com", 9_000)),
            "msg_faults_updated",
        ),
        webhook(
            session_event("session.created", user, "sess_faults", 1_800_000_000_000),
            "msg_faults_session",
        ),
        webhook(deleted_event(user), "msg_faults_deleted"),
    ]
}

impl Function {
    fn router(self, stack: &Stack) -> &Router {
        match self {
            Self::Users => &stack.users,
            Self::Start => &stack.start,
            Self::Webhook => &stack.webhook,
        }
    }
}

/// Sends every request at once; each must answer 503 with the envelope
/// within `bound`.
async fn all_answer_503(stack: &Stack, requests: Vec<(Function, Request)>, bound: StdDuration) {
    let answers = futures::future::join_all(requests.iter().map(|(function, request)| {
        let user = matches!(function, Function::Users | Function::Start).then_some(USER);
        async move {
            let started = Instant::now();
            let response = tokio::time::timeout(
                StdDuration::from_secs(30),
                stack.send(function.router(stack), request, user),
            )
            .await
            .unwrap_or_else(|_| panic!("{} {}: no answer in 30 s", request.method, request.target));
            (request, response, started.elapsed())
        }
    }))
    .await;
    for (request, response, took) in answers {
        let what = format!("{} {}", request.method, request.target);
        assert_eq!(response.status, 503, "{what}: {:?}", response.body);
        assert_eq!(response.error_code(), "DEPENDENCY_UNAVAILABLE", "{what}");
        let request_id = response.body["error"]["request_id"].as_str().unwrap();
        assert!(!request_id.is_empty(), "{what}");
        assert_eq!(response.headers["x-request-id"], request_id, "{what}");
        assert!(response.headers.contains_key("retry-after"), "{what}");
        assert!(took < bound, "{what} took {took:?}");
    }
}

/// A started connection's consent: the query Amazon redirects back with.
async fn consented(stack: &Stack, user: &str) -> String {
    let started = stack.connect(user, &json!({"region": "na"})).await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    stack
        .amazon
        .consent(
            started.body["authorization_url"].as_str().unwrap(),
            "seller",
        )
        .unwrap()
        .1
}

fn far() -> Instant {
    Instant::now() + StdDuration::from_secs(600)
}

#[tokio::test]
async fn moto_killed_every_dependent_route_answers_503_within_seconds() {
    let mut moto = OwnMoto::start().await;
    let stack = Stack::with_sdk(production_sdk(&moto.endpoint)).await;
    let (connection, accounts) = connected_user(&stack, USER).await;
    let query = consented(&stack, USER).await;
    moto.kill();

    let requests = dependent_requests(USER, &connection, &accounts[0]);
    // Connection refused is retried by the SDK (three attempts with
    // back-off), then reported: seconds, not the function's timeout.
    all_answer_503(&stack, requests, StdDuration::from_secs(8)).await;

    // Routes without a dependency keep answering.
    for path in ["/api/v1/health", "/api/v1/settings/defaults"] {
        assert_eq!(stack.get(path, USER).await.status, 200, "{path}");
    }
    let started = Instant::now();
    let done = stack.amazon_redirect(&query).await.location();
    assert_eq!(query_of(&done)["reason"], "storage_unavailable");
    assert!(started.elapsed() < StdDuration::from_secs(8));
    let started = Instant::now();
    let run = stack
        .refresher(RefreshConfig::default())
        .run(chrono::Utc::now(), far())
        .await;
    assert!(run.is_err(), "{run:?}");
    assert!(started.elapsed() < StdDuration::from_secs(8));
}

#[tokio::test]
async fn aws_hanging_mid_request_every_route_answers_503_within_the_timeouts() {
    let proxy = MotoProxy::start(&moto_endpoint()).await;
    let stack = Stack::with_sdk(quick_sdk(&proxy.endpoint)).await;
    let (connection, accounts) = connected_user(&stack, USER).await;
    let query = consented(&stack, USER).await;
    let before = stack.items().await;

    // DynamoDB and KMS accept every call and never answer.
    proxy.fail_after("", 0, Fault::Stall);
    let requests = dependent_requests(USER, &connection, &accounts[0]);
    all_answer_503(&stack, requests, StdDuration::from_secs(8)).await;
    let refresher = stack.refresher(RefreshConfig::default());
    let (done, run) = tokio::join!(
        stack.amazon_redirect(&query),
        refresher.run(chrono::Utc::now(), far()),
    );
    assert_eq!(query_of(&done.location())["reason"], "storage_unavailable");
    assert!(run.is_err());

    proxy.heal();
    assert_eq!(sorted(stack.items().await), sorted(before));
}

fn sorted(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by_key(|item| format!("{:?}{:?}", item.get("pk"), item.get("sk")));
    items
}

/// What `user` owns, counted by kind: the sort key's prefix in their
/// partition (`PROFILE`, `TOMBSTONE`, `CONN`, `ACCT`), `EVENT` for their
/// audit trail.
async fn owned(stack: &Stack, user: &str) -> BTreeMap<String, usize> {
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

fn kinds(counts: &[(&str, usize)]) -> BTreeMap<String, usize> {
    counts.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

/// A stack whose AWS calls go through a proxy that can fail them.
async fn proxied_stack() -> (Stack, MotoProxy) {
    let proxy = MotoProxy::start(&moto_endpoint()).await;
    let stack = Stack::with_sdk(quick_sdk(&proxy.endpoint)).await;
    (stack, proxy)
}

async fn create_user(stack: &Stack, user: &str) {
    let created = stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(user, "f@example.com", 1_000),
        ))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
}

/// A callback in a process of its own: cold data-key caches, so its KMS
/// calls are part of what can fail.
fn fresh_callback(stack: &Stack) -> Router {
    api::callback_router(stack.fresh_connect_service())
}

#[tokio::test]
async fn a_connect_callback_failing_at_any_aws_call_stores_everything_or_nothing() {
    let (stack, proxy) = proxied_stack().await;
    stack.amazon.add_login("seller", seller());
    let nothing = kinds(&[("PROFILE", 1)]);
    let everything = kinds(&[("PROFILE", 1), ("CONN", 1), ("ACCT", 3), ("EVENT", 1)]);
    for fault in [Fault::ServerError, Fault::LoseAnswer] {
        for failing_at in 0.. {
            assert!(failing_at < 20, "the callback never completed");
            let user = format!("user_2sweep{failing_at}{fault:?}");
            create_user(&stack, &user).await;
            let query = consented(&stack, &user).await;
            let callback = fresh_callback(&stack);
            proxy.take_calls();
            proxy.fail_after("", failing_at, fault);
            let request = Request::new("GET", &format!("/api/v1/amazon/callback?{query}"));
            let done = stack.send(&callback, &request, None).await;
            proxy.heal();
            let calls = proxy.take_calls();
            let outcome = query_of(&done.location());
            let owned = owned(&stack, &user).await;
            let what = format!("{fault:?} from call {failing_at} of {calls:?}");
            if outcome["amazon"] == "connected" {
                assert_eq!(owned, everything, "{what}");
                assert!(failing_at >= 5, "{what}: a fault went unnoticed");
                break;
            }
            assert!(
                ["storage_unavailable", "invalid_state"].contains(&outcome["reason"].as_str()),
                "{what}: {outcome:?}"
            );
            // A lost answer may hide a write that happened: then all of it.
            match fault {
                Fault::LoseAnswer => {
                    assert!(owned == nothing || owned == everything, "{what}: {owned:?}")
                }
                _ => assert_eq!(owned, nothing, "{what}"),
            }
        }
    }
}

/// `count` account items written straight into `user`'s partition.
async fn seed_accounts(stack: &Stack, user: &str, count: usize) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let writes: Vec<WriteRequest> = (0..count)
        .map(|i| {
            let item = [
                ("pk", format!("USER#{user}")),
                ("sk", format!("ACCT#acct_{i:024x}")),
                ("entity", "account".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
            .collect();
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
}

#[tokio::test]
async fn a_user_deletion_failing_part_way_shreds_tokens_first_and_the_svix_retry_finishes_it() {
    let (stack, proxy) = proxied_stack().await;
    // More items than one transaction holds: the deletion takes two.
    let before = kinds(&[("PROFILE", 1), ("CONN", 1), ("ACCT", 98), ("EVENT", 1)]);
    for failing_at in 0.. {
        assert!(failing_at < 10, "the deletion never completed");
        let user = format!("user_2gone{failing_at}");
        create_user(&stack, &user).await;
        let connection = stack
            .seed_connection(
                &user,
                &format!("gone{failing_at}"),
                chrono::Duration::hours(1),
            )
            .await;
        seed_accounts(&stack, &user, 98).await;
        stack
            .store
            .put_event(&adsconnect::model::event::AuditEvent::new(
                &stack.connection(&connection).await,
                adsconnect::model::event::EventKind::Connected,
                None,
                chrono::Utc::now(),
            ))
            .await
            .unwrap();
        stack
            .clerk_has_user(&clerk_user(&user, "f@example.com", 1_000))
            .await;
        assert_eq!(owned(&stack, &user).await, before);

        let delivery = format!("msg_gone{failing_at}");
        proxy.take_calls();
        proxy.fail_after("", failing_at, Fault::ServerError);
        let answer = stack.post_event_as(&deleted_event(&user), &delivery).await;
        proxy.heal();
        let calls = proxy.take_calls();
        let what = format!("failing from call {failing_at} of {calls:?}");
        let owned_now = owned(&stack, &user).await;
        if answer.status == 200 {
            assert_eq!(owned_now, kinds(&[("TOMBSTONE", 1)]), "{what}");
            assert!(failing_at >= 4, "{what}: a fault went unnoticed");
            break;
        }
        // Svix retries what is not acknowledged.
        assert_eq!(answer.status, 503, "{what}: {:?}", answer.body);
        assert_eq!(answer.error_code(), "DEPENDENCY_UNAVAILABLE");
        if owned_now.contains_key("TOMBSTONE") {
            // Part-way: the user is gone for good, tokens and profile first.
            assert!(!owned_now.contains_key("CONN"), "{what}: {owned_now:?}");
            assert!(!owned_now.contains_key("PROFILE"), "{what}: {owned_now:?}");
            assert_eq!(stack.get("/api/v1/users/me", &user).await.status, 404);
        } else {
            assert_eq!(owned_now, before, "{what}");
        }
        let again = stack.post_event_as(&deleted_event(&user), &delivery).await;
        assert_eq!(again.status, 200, "{what}: {:?}", again.body);
        assert_eq!(again.body["outcome"], "applied", "{what}");
        assert_eq!(
            owned(&stack, &user).await,
            kinds(&[("TOMBSTONE", 1)]),
            "{what}"
        );
    }
}

/// The user's `auto_refresh_tokens` and, per connection, its mirror and
/// whether it is in the `refresh-due` index.
async fn auto_refresh_state(stack: &Stack, user: &str) -> (bool, Vec<(bool, bool)>) {
    let mut setting = None;
    let mut connections = Vec::new();
    for item in owned_items(stack, user).await {
        let sk = attr_s(&item, "sk").unwrap();
        if sk == "PROFILE" {
            setting = Some(
                item.get("settings")
                    .and_then(|s| s.as_m().ok())
                    .and_then(|s| s.get("auto_refresh_tokens"))
                    .is_none_or(|v| v.as_bool() == Ok(&true)),
            );
        } else if sk.starts_with("CONN#") {
            connections.push((
                item.get("auto_refresh")
                    .is_none_or(|v| v.as_bool() == Ok(&true)),
                item.contains_key("refresh_due_at"),
            ));
        }
    }
    (setting.unwrap(), connections)
}

#[tokio::test]
async fn turning_auto_refresh_off_or_back_on_failing_part_way_changes_all_or_nothing() {
    let (stack, proxy) = proxied_stack().await;
    let on = (true, vec![(true, true), (true, true)]);
    let off = (false, vec![(false, false), (false, false)]);
    let patch = Request::new("PATCH", "/api/v1/settings")
        .json(&json!({"auto_refresh_tokens": false, "theme": "dark"}));
    let reset = Request::new("POST", "/api/v1/settings/reset");
    for (name, request, from, to) in [("patch", &patch, &on, &off), ("reset", &reset, &off, &on)] {
        for fault in [Fault::ServerError, Fault::LoseAnswer] {
            for failing_at in 0.. {
                assert!(failing_at < 20, "{name} never completed");
                let user = format!("user_2auto{name}{failing_at}{fault:?}");
                create_user(&stack, &user).await;
                for login in ["a", "b"] {
                    stack
                        .seed_connection(
                            &user,
                            &format!("{user}{login}"),
                            chrono::Duration::hours(1),
                        )
                        .await;
                }
                if *from == off {
                    let response = stack.send(&stack.users, &patch, Some(&user)).await;
                    assert_eq!(response.status, 200);
                }
                assert_eq!(&auto_refresh_state(&stack, &user).await, from);
                proxy.take_calls();
                proxy.fail_after("", failing_at, fault);
                let response = stack.send(&stack.users, request, Some(&user)).await;
                proxy.heal();
                let calls = proxy.take_calls();
                let what = format!("{name}: {fault:?} from call {failing_at} of {calls:?}");
                let state = auto_refresh_state(&stack, &user).await;
                if response.status == 200 {
                    assert_eq!(&state, to, "{what}");
                    break;
                }
                assert_eq!(response.status, 503, "{what}: {:?}", response.body);
                // A failure after the write (or of its answer) leaves it done.
                assert!(&state == from || &state == to, "{what}: {state:?}");
            }
        }
    }
}

/// The token pair a connection's sealed tokens hold, opened by a process
/// of its own (no cached keys).
async fn tokens_of(stack: &Stack, record: &ConnectionRecord) -> Option<Value> {
    let cipher = TokenCipher::new(stack.kms.clone(), stack.kms_key_id.clone());
    let sealed = record.tokens.as_ref()?;
    let context =
        adsconnect::connections::tokens::token_context(&record.user_id, &record.connection_id);
    let plaintext = cipher.open(sealed, &context).await.unwrap();
    Some(serde_json::from_slice(&plaintext).unwrap())
}

#[tokio::test]
async fn a_refresh_failing_at_any_aws_call_loses_nothing_and_is_retried_later() {
    let (stack, proxy) = proxied_stack().await;
    create_user(&stack, USER).await;
    // The run's index Queries go out at once: failing any of them is
    // failing the first.
    let shards = usize::from(REFRESH_SHARDS);
    for failing_at in std::iter::once(0).chain(shards..) {
        assert!(failing_at < 40, "the refresh never completed");
        let due = stack
            .seed_connection(
                USER,
                &format!("refresh{failing_at}"),
                chrono::Duration::minutes(1),
            )
            .await;
        let before = stack.connection(&due).await;
        let refresh_token = tokens_of(&stack, &before).await.unwrap()["refresh_token"].clone();
        proxy.take_calls();
        proxy.fail_after("", failing_at, Fault::ServerError);
        let run = stack
            .refresher(RefreshConfig::default())
            .run(chrono::Utc::now(), far())
            .await;
        proxy.heal();
        let calls = proxy.take_calls();
        let what = format!("failing from call {failing_at} of {calls:?}: {run:?}");
        let after = stack.connection(&due).await;
        // Never mistaken for a revocation, never without tokens.
        assert_eq!(after.status, ConnectionStatus::Active, "{what}");
        let tokens = tokens_of(&stack, &after).await.expect(&what);
        assert_eq!(tokens["refresh_token"], refresh_token, "{what}");
        if after.refresh_count == 1 {
            assert_eq!(run.unwrap().refreshed, 1, "{what}");
            assert!(after.lease_owner.is_none(), "{what}");
            assert!(failing_at >= 20, "{what}: a fault went unnoticed");
            break;
        }
        // Unchanged, or still leased by the failed run: either way the next
        // run once the lease has expired refreshes it.
        let mut unchanged = before.clone();
        unchanged.version = after.version;
        unchanged.lease_owner = after.lease_owner.clone();
        unchanged.lease_until = after.lease_until;
        assert_eq!(after, unchanged, "{what}");
        if after.lease_until.is_some() {
            let key = (
                format!("USER#{USER}"),
                format!("CONN#{}", due.connection_id),
            );
            stack.set_number(&key.0, &key.1, "lease_until", 0).await;
        }
        let next = stack
            .refresher(RefreshConfig::default())
            .run(chrono::Utc::now(), far())
            .await
            .unwrap();
        assert_eq!(next.refreshed, 1, "{what}: {next:?}");
        assert_eq!(stack.connection(&due).await.refresh_count, 1, "{what}");
    }
}

/// What `user` owns, item by item, in key order; without the manual-sync
/// throttle mark, which is not data.
async fn owned_items(stack: &Stack, user: &str) -> Vec<Item> {
    let mut items = Vec::new();
    for pk in [format!("USER#{user}"), format!("EVENTS#{user}")] {
        let page = stack
            .dynamo
            .query()
            .table_name(&stack.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        items.extend(page.items.unwrap_or_default());
    }
    for item in &mut items {
        item.remove("sync_requested_at");
    }
    items
}

fn find<'a>(items: &'a [Item], sk_prefix: &str) -> Vec<&'a Item> {
    items
        .iter()
        .filter(|item| attr_s(item, "sk").unwrap().starts_with(sk_prefix))
        .collect()
}

fn default_setting(items: &[Item]) -> Option<String> {
    let profile = find(items, "PROFILE")[0];
    let settings = profile.get("settings")?.as_m().ok()?;
    settings.get("default_account_id")?.as_s().ok().cloned()
}

/// Whether `account` is the default: the profile's setting is the only
/// place that says so (accounts carry no flag of their own).
fn is_default(items: &[Item], account: &str) -> bool {
    default_setting(items).as_deref() == Some(account)
        && find(items, "ACCT")
            .iter()
            .all(|item| !item.contains_key("is_default"))
}

/// Runs `request` (built from a fresh user's connection and sorted
/// account ids) failing from each AWS call on in turn, until it succeeds
/// with `success`. Every failure must be a 503 that leaves the user's items
/// as they were or, when only the answer failed, `done`.
async fn sweep_account_write(
    name: &str,
    request: fn(&str, &[String]) -> Request,
    success: u16,
    done: fn(&[Item], &[Item]) -> bool,
) {
    let (stack, proxy) = proxied_stack().await;
    stack.amazon.add_login("seller", seller());
    for failing_at in 0.. {
        assert!(failing_at < 20, "{name} never completed");
        let user = format!("user_2tx{name}{failing_at}");
        create_user(&stack, &user).await;
        let (connection, accounts) = connected_user_as(&stack, &user).await;
        let before = owned_items(&stack, &user).await;
        proxy.take_calls();
        proxy.fail_after("", failing_at, Fault::ServerError);
        let response = stack
            .send(&stack.users, &request(&connection, &accounts), Some(&user))
            .await;
        proxy.heal();
        let calls = proxy.take_calls();
        let what = format!("{name} failing from call {failing_at} of {calls:?}");
        let now = owned_items(&stack, &user).await;
        if response.status == success {
            assert!(done(&before, &now), "{what}: {now:?}");
            assert!(failing_at >= 2, "{what}: a fault went unnoticed");
            return;
        }
        assert_eq!(response.status, 503, "{what}: {:?}", response.body);
        assert!(now == before || done(&before, &now), "{what}: {now:?}");
    }
}

#[tokio::test]
async fn a_disconnect_failing_at_any_aws_call_shreds_all_or_nothing() {
    sweep_account_write(
        "disconnect",
        |c, _| Request::new("DELETE", &format!("/api/v1/connections/{c}")),
        204,
        |_, now| {
            find(now, "CONN").is_empty()
                && find(now, "ACCT").is_empty()
                && default_setting(now).is_none()
        },
    )
    .await;
}

#[tokio::test]
async fn an_account_removal_failing_at_any_aws_call_removes_it_or_nothing() {
    sweep_account_write(
        "remove",
        |_, a| Request::new("DELETE", &format!("/api/v1/accounts/{}", a[1])),
        204,
        |_, now| find(now, "ACCT").len() == 2,
    )
    .await;
}

#[tokio::test]
async fn a_default_switch_failing_at_any_aws_call_switches_all_or_nothing() {
    sweep_account_write(
        "switch",
        |_, a| Request::new("PUT", &format!("/api/v1/accounts/{}/default", a[1])),
        200,
        |before, now| {
            let new = attr_s(find(before, "ACCT")[1], "account_id").unwrap();
            let old = default_setting(before).unwrap();
            default_setting(now).as_deref() == Some(new)
                && is_default(now, new)
                && !is_default(now, &old)
        },
    )
    .await;
    sweep_account_write(
        "patch",
        |_, a| {
            Request::new("PATCH", "/api/v1/settings")
                .json(&json!({"default_account_id": a[2], "theme": "dark"}))
        },
        200,
        |before, now| {
            let new = attr_s(find(before, "ACCT")[2], "account_id").unwrap();
            default_setting(now).as_deref() == Some(new)
        },
    )
    .await;
}

#[tokio::test]
async fn a_sync_failing_at_any_aws_call_writes_all_or_nothing() {
    // Done: the accounts rewritten and one `synced` event more.
    sweep_account_write(
        "sync",
        |c, _| Request::new("POST", &format!("/api/v1/connections/{c}/sync")),
        200,
        |before, now| find(now, "").len() == find(before, "").len() + 1,
    )
    .await;
}

/// `user` (already created) connects the `seller` login.
async fn connected_user_as(stack: &Stack, user: &str) -> (String, Vec<String>) {
    let done = query_of(&stack.connect_flow(user, "seller").await);
    assert_eq!(done["amazon"], "connected", "{done:?}");
    let mut accounts: Vec<String> = stack.get("/api/v1/accounts", user).await.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect();
    accounts.sort();
    (done["connection_id"].clone(), accounts)
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
    create_user(&stack, USER).await;
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
        let query = consented(&stack, USER).await;
        let callback = fresh_callback(&stack);
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

fn raw(status: u16, content_type: &str, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), content_type)
}

const HTML: &str = "<html><body><h1>Service Unavailable</h1></body></html>";
const JSON: &str = "application/json";

/// Token endpoint answers that are garbage or failures: (case, answers,
/// callback reason, calls made, refresher error code).
fn token_endpoint_faults() -> Vec<(
    &'static str,
    Vec<ResponseTemplate>,
    &'static str,
    usize,
    &'static str,
)> {
    let exchange = "token_exchange_failed";
    let rejected = "lwa_rejected";
    vec![
        (
            "an HTML page",
            vec![raw(200, "text/html", HTML)],
            exchange,
            1,
            rejected,
        ),
        (
            "truncated JSON",
            vec![raw(
                200,
                JSON,
                r#"{"access_token": "Atza|cut", "refresh_tok"#,
            )],
            exchange,
            1,
            rejected,
        ),
        (
            "wrong types",
            vec![raw(
                200,
                JSON,
                r#"{"access_token": 42, "token_type": "bearer", "expires_in": "an hour", "refresh_token": []}"#,
            )],
            exchange,
            1,
            rejected,
        ),
        (
            "an empty object",
            vec![raw(200, JSON, "{}")],
            exchange,
            1,
            rejected,
        ),
        (
            "an array",
            vec![raw(200, JSON, "[]")],
            exchange,
            1,
            rejected,
        ),
        (
            "no body",
            vec![ResponseTemplate::new(200)],
            exchange,
            1,
            rejected,
        ),
        (
            "a 400 that is not JSON",
            vec![raw(400, "text/plain", "Bad Request")],
            exchange,
            1,
            rejected,
        ),
        (
            "a 400 with an unknown error",
            vec![raw(400, JSON, r#"{"error": "mystery_error"}"#)],
            exchange,
            1,
            rejected,
        ),
        (
            "500 pages",
            vec![raw(500, "text/html", HTML); 3],
            "lwa_unavailable",
            3,
            "lwa_unavailable",
        ),
        (
            "throttling",
            vec![ResponseTemplate::new(429); 3],
            "lwa_unavailable",
            3,
            "lwa_unavailable",
        ),
        (
            "a JSON 503",
            vec![raw(503, JSON, r#"{"error": "temporarily_unavailable"}"#); 3],
            "lwa_unavailable",
            3,
            "lwa_unavailable",
        ),
    ]
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
        "",
    ));
    for (number, (case, answers, reason, calls, _)) in cases.into_iter().enumerate() {
        let user = format!("user_2lwa{number}");
        create_user(&stack, &user).await;
        let before = stack.amazon.calls(Endpoint::Token);
        stack.amazon.script(Endpoint::Token, answers);
        let started = Instant::now();
        let done = query_of(&stack.connect_flow(&user, "seller").await);
        assert_eq!(done["reason"], reason, "{case}: {done:?}");
        assert!(started.elapsed() < StdDuration::from_secs(8), "{case}");
        assert_eq!(
            stack.amazon.calls(Endpoint::Token) - before,
            calls,
            "{case}: retried when transient, only then"
        );
        assert_eq!(
            owned(&stack, &user).await,
            kinds(&[("PROFILE", 1)]),
            "{case}"
        );
    }
    no_plaintext_tokens(&stack).await;
}

#[tokio::test]
async fn lwa_garbage_or_failure_in_a_refresh_is_retried_later_never_a_revocation() {
    let stack = Stack::new().await;
    create_user(&stack, USER).await;
    for (case, answers, _, calls, code) in token_endpoint_faults() {
        let due = stack
            .seed_connection(USER, case, chrono::Duration::minutes(1))
            .await;
        let before = stack.connection(&due).await;
        let calls_before = stack.amazon.calls(Endpoint::Token);
        stack.amazon.script(Endpoint::Token, answers);
        let summary = stack
            .refresher(RefreshConfig::default())
            .run(chrono::Utc::now(), far())
            .await
            .unwrap();
        assert_eq!(
            (summary.transient_failures, summary.needs_reauth),
            (1, 0),
            "{case}"
        );
        assert_eq!(
            stack.amazon.calls(Endpoint::Token) - calls_before,
            calls,
            "{case}"
        );
        let after = stack.connection(&due).await;
        assert_eq!(after.status, ConnectionStatus::Active, "{case}");
        assert_eq!(after.tokens, before.tokens, "{case}: tokens kept");
        assert_eq!(after.last_error_code.as_deref(), Some(code), "{case}");
        assert_eq!(after.failure_count, 1, "{case}");
        assert!(
            after.refresh_due_at > before.refresh_due_at,
            "{case}: retried later"
        );
        assert!(after.lease_owner.is_none(), "{case}");
    }
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
    create_user(&stack, USER).await;
    stack.amazon.add_login("seller", seller());
    let sane = chrono::Utc::now() + chrono::Duration::days(1);
    stack
        .amazon
        .script(Endpoint::Token, vec![absurd_expiry(&stack)]);
    let done = query_of(&stack.connect_flow(USER, "seller").await);
    assert_eq!(done["amazon"], "connected", "{done:?}");
    let due = adsconnect::model::connection::DueConnection {
        user_id: adsconnect::ids::UserId::parse(USER).unwrap(),
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
    let warned = |source: &str, reason: &str, accounts: usize| {
        Some((json!([{"source": source, "reason": reason}]), accounts))
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
        create_user(&stack, &user).await;
        for (endpoint, answers) in scripts {
            stack.amazon.script(endpoint, answers);
        }
        let done = query_of(&stack.connect_flow(&user, "seller").await);
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
    create_user(&stack, USER).await;
    stack.amazon.add_login("seller", seller());
    let first = query_of(&stack.connect_flow(USER, "seller").await);
    assert_eq!(first["amazon"], "connected");
    // Reconnecting while Amazon's profile endpoint answers garbage, or
    // keeps failing: the login cannot be recognised, so nothing is written
    // rather than a second connection for it.
    for answers in [
        vec![raw(200, "text/html", HTML)],
        vec![raw(500, JSON, "{}"); 3],
    ] {
        stack.amazon.script(Endpoint::UserProfile, answers);
        let again = query_of(&stack.connect_flow(USER, "seller").await);
        assert_ne!(again["amazon"], "connected", "{again:?}");
        let connections = stack.get("/api/v1/connections", USER).await.body["connections"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(connections, 1, "{again:?}");
    }
    let again = query_of(&stack.connect_flow(USER, "seller").await);
    assert_eq!(again["connection_id"], first["connection_id"]);
}

#[tokio::test]
async fn lwa_never_answering_is_given_up_on_within_the_timeouts() {
    let stack = Stack::new().await;
    create_user(&stack, USER).await;
    stack.amazon.add_login("seller", seller());
    let due = stack
        .seed_connection(USER, "seller", chrono::Duration::minutes(1))
        .await;
    let before = stack.connection(&due).await;
    // Three attempts each for the callback and the refresher, none answered
    // within the 5 s per attempt.
    let silent = ResponseTemplate::new(200).set_delay(StdDuration::from_secs(30));
    stack.amazon.script(Endpoint::Token, vec![silent; 6]);
    let refresher = stack.refresher(RefreshConfig::default());
    let started = Instant::now();
    let (done, run) = tokio::join!(
        stack.connect_flow(USER, "seller"),
        refresher.run(chrono::Utc::now(), far())
    );
    let took = started.elapsed();
    assert_eq!(query_of(&done)["reason"], "lwa_unavailable");
    assert_eq!(run.unwrap().transient_failures, 1);
    assert_eq!(stack.amazon.calls(Endpoint::Token), 6);
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
    create_user(&stack, USER).await;
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
    let done = query_of(&stack.connect_flow(USER, "seller").await);
    let took = started.elapsed();
    assert_eq!(done["reason"], "ads_unavailable");
    assert!(took < StdDuration::from_secs(19), "{took:?}");
    assert_eq!(owned(&stack, USER).await, kinds(&[("PROFILE", 1)]));
    no_plaintext_tokens(&stack).await;
}

fn jwks_verifier(url: &str) -> SessionVerifier {
    SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: None,
        jwks_url: url.to_owned(),
        authorized_parties: vec![],
    })
    .unwrap()
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
    let verifier = jwks_verifier(&format!("{}/.well-known/jwks.json", clerk.uri()));
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
        // An answer, but not the key: the token's key is unknown.
        (
            "an empty key set",
            Some(raw(200, JSON, r#"{"keys": []}"#)),
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
            let verifier = jwks_verifier(&url);
            let started = Instant::now();
            assert_eq!(verifier.verify(token).await, Err(denial), "{case}");
            assert!(started.elapsed() < StdDuration::from_secs(5), "{case}");
            drop(server);
        }
    });
    futures::future::join_all(checks).await;
}

#[tokio::test]
async fn garbage_bodies_on_every_write_route_are_400_and_change_nothing() {
    let stack = Stack::new().await;
    let (connection, accounts) = connected_user(&stack, USER).await;
    // Something a wrongly accepted reset would undo.
    let patch = Request::new("PATCH", "/api/v1/settings").json(&json!({"theme": "dark"}));
    assert_eq!(
        stack.send(&stack.users, &patch, Some(USER)).await.status,
        200
    );
    let routes = [
        (Function::Users, "PATCH", "/api/v1/settings".to_owned()),
        (Function::Users, "POST", "/api/v1/settings/reset".to_owned()),
        (Function::Start, "POST", "/api/v1/amazon/connect".to_owned()),
        (
            Function::Users,
            "POST",
            format!("/api/v1/connections/{connection}/reauthorize"),
        ),
        (
            Function::Users,
            "POST",
            format!("/api/v1/connections/{connection}/sync"),
        ),
        (
            Function::Users,
            "PUT",
            format!("/api/v1/accounts/{}/default", accounts[1]),
        ),
        (Function::Webhook, "POST", "/webhooks/clerk".to_owned()),
    ];
    let bodies: [(&str, Vec<u8>); 12] = [
        ("not JSON", b"{theme: dark".to_vec()),
        ("truncated JSON", br#"{"region": "na""#.to_vec()),
        ("an array", b"[1, 2]".to_vec()),
        ("an array of fields", b"[null, null]".to_vec()),
        ("a string", br#""na""#.to_vec()),
        ("null", b"null".to_vec()),
        ("a number", b"42".to_vec()),
        ("not UTF-8", vec![0xff, 0xfe, 0x7b, 0x00]),
        ("a NUL byte", b"{\"a\": \0}".to_vec()),
        (
            "nested deeper than any parser goes",
            "[".repeat(5000).into_bytes(),
        ),
        ("an unknown field", br#"{"surprise": true}"#.to_vec()),
        (
            "wrong types",
            br#"{"region": 5, "return_to": {}, "theme": [], "type": 7}"#.to_vec(),
        ),
    ];
    let now = chrono::Utc::now().timestamp();
    for (function, method, path) in &routes {
        let before = sorted(stack.items().await);
        for (number, (case, body)) in bodies.iter().enumerate() {
            let request = match function {
                Function::Webhook => signed_webhook(body, &format!("msg_garbage{number}"), now),
                _ => Request::new(method, path).raw_json(body.clone()),
            };
            let user = (!matches!(function, Function::Webhook)).then_some(USER);
            let response = stack.send(function.router(&stack), &request, user).await;
            let what = format!("{method} {path} with {case}");
            assert_eq!(response.status, 400, "{what}: {:?}", response.body);
            let error = &response.body["error"];
            assert!(!response.error_code().is_empty(), "{what}");
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}"
            );
            assert_eq!(
                response.headers["x-request-id"].to_str().unwrap(),
                error["request_id"],
                "{what}"
            );
        }
        assert_eq!(sorted(stack.items().await), before, "{method} {path}");
    }
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
