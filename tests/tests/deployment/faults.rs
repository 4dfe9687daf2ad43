//! The whole stack when AWS (moto) dies or hangs mid-request, and garbage
//! bodies on every write route of every function: a clean answer within a
//! bounded time, and the table as it was.

use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use adsconnect::connections::refresh::RefreshConfig;
use adsconnect_tests::proxy::Fault;
use axum::Router;
use serde_json::json;

use super::*;

const USER: &str = "user_2faults";

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

/// A user with a connection (three accounts): returns their ids.
async fn connected_user(stack: &Stack, user: &str) -> (String, Vec<String>) {
    stack.create_user(user, "f@example.com").await;
    stack.amazon.add_login("seller", seller());
    stack.connected(user, "seller").await
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

#[tokio::test]
async fn moto_killed_every_dependent_route_answers_503_within_seconds() {
    let mut moto = OwnMoto::start().await;
    let stack = Stack::with_sdk(production_sdk(&moto.endpoint)).await;
    let (connection, accounts) = connected_user(&stack, USER).await;
    let query = stack.consented(USER, "seller").await;
    moto.kill();

    let requests = dependent_requests(USER, &connection, &accounts[0]);
    // Connection refused is retried by the SDK (three attempts with
    // back-off), then reported: seconds, not the function's timeout.
    all_answer_503(&stack, requests, StdDuration::from_secs(8)).await;

    // A route without a dependency keeps answering; health tells the truth.
    assert_eq!(
        stack.get("/api/v1/settings/defaults", USER).await.status,
        200
    );
    let started = Instant::now();
    let health = stack.get("/api/v1/health", USER).await;
    assert!(started.elapsed() < StdDuration::from_secs(3));
    assert_eq!(health.status, 503);
    assert_eq!(
        (
            &health.body["status"],
            &health.body["checks"]["table"],
            &health.body["checks"]["refresher"]["status"]
        ),
        (&json!("degraded"), &json!("unavailable"), &json!("unknown"))
    );
    assert!(
        !health.body.to_string().contains("127.0.0.1"),
        "no internals: {}",
        health.body
    );
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
    let (stack, proxy) = proxied_stack().await;
    let (connection, accounts) = connected_user(&stack, USER).await;
    let query = stack.consented(USER, "seller").await;
    let before = stack.snapshot().await;

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
    assert_eq!(stack.snapshot().await, before);
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
        let before = stack.snapshot().await;
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
        assert_eq!(stack.snapshot().await, before, "{method} {path}");
    }
}
