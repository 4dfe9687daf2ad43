//! A pass-through in front of moto that sees every AWS call, for callers in
//! another process too (a bootstrap whose `AWS_ENDPOINT_URL` is the
//! proxy's): it notes each call's operation and arrival, so a test can count
//! the calls made before a moment such as a bootstrap's first Runtime API
//! poll; it records the KMS data keys that cross it, so tests can look for
//! them where they must never be; and it can play a failing AWS: after a
//! budget of forwarded calls, every matching call fails (an error answer, or
//! no answer at all) or is slow. In-process code counts calls with [`crate::calls`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, to_bytes};
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
    /// The call is forwarded after this long: a slow AWS, as slow on every
    /// machine.
    Delay(std::time::Duration),
    /// The call is applied, then its answer is lost (a 500 instead).
    LoseAnswer,
    /// A service error as AWS answers it: status and `__type`, e.g.
    /// `(400, "DisabledException")` from KMS for a disabled key.
    Error(u16, &'static str),
}

struct Plan {
    operation_prefix: String,
    budget: usize,
    fault: Fault,
}

#[derive(Default)]
struct Seen {
    plan: Option<Plan>,
    /// Every call, forwarded or failed: when it arrived and its operation.
    calls: Vec<(Instant, String)>,
    data_keys: Vec<Vec<u8>>,
}

#[derive(Clone)]
pub struct MotoProxy {
    /// `http://127.0.0.1:<port>`: the callers' AWS endpoint.
    pub endpoint: String,
    upstream: Arc<str>,
    seen: Arc<Mutex<Seen>>,
    http: reqwest::Client,
}

impl MotoProxy {
    /// Listens on 127.0.0.1 and a free port, forwarding to `upstream` (moto's
    /// URL).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let proxy = Self {
            endpoint: format!("http://{}", listener.local_addr()?),
            upstream: upstream.trim_end_matches('/').into(),
            seen: Arc::default(),
            http: adsconnect::tls::http_client()
                .build()
                .map_err(std::io::Error::other)?,
        };
        let app = Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(proxy)
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on, `budget` more calls whose operation starts with
    /// `operation_prefix` (`""`: every call) are forwarded; every later one
    /// fails with `fault`. Other calls pass.
    pub fn fail_after(&self, operation_prefix: &str, budget: usize, fault: Fault) {
        self.seen().plan = Some(Plan {
            operation_prefix: operation_prefix.to_owned(),
            budget,
            fault,
        });
    }

    /// Everything is forwarded again.
    pub fn heal(&self) {
        self.seen().plan = None;
    }

    /// The operations of the calls since the last `take_calls` or `clear`, in
    /// order: the `X-Amz-Target`, e.g. `DynamoDB_20120810.PutItem`,
    /// `TrentService.Decrypt`, else the method and path.
    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.seen().calls)
            .into_iter()
            .map(|(_, operation)| operation)
            .collect()
    }

    /// The operations of the calls (since the last `take_calls` or `clear`)
    /// that arrived before `moment`, in order.
    pub fn calls_before(&self, moment: Instant) -> Vec<String> {
        self.seen()
            .calls
            .iter()
            .filter(|(at, _)| *at < moment)
            .map(|(_, operation)| operation.clone())
            .collect()
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        self.seen().calls.clear();
    }

    /// Every plaintext data key KMS handed out through the proxy.
    pub fn data_keys(&self) -> Vec<Vec<u8>> {
        self.seen().data_keys.clone()
    }

    /// Notes the call and says how it fails, if it does.
    fn admit(&self, operation: &str) -> Option<Fault> {
        let mut seen = self.seen();
        seen.calls.push((Instant::now(), operation.to_owned()));
        let plan = seen.plan.as_mut()?;
        if !operation.starts_with(&plan.operation_prefix) {
            return None;
        }
        if plan.budget > 0 {
            plan.budget -= 1;
            return None;
        }
        Some(plan.fault)
    }
}

fn error(status: StatusCode, kind: &str) -> Response {
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
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || format!("{} {}", parts.method, parts.uri.path()),
            str::to_owned,
        );
    let fault = proxy.admit(&operation);
    match fault {
        None | Some(Fault::LoseAnswer) => {}
        Some(Fault::ServerError) => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError");
        }
        Some(Fault::Error(status, kind)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, kind);
        }
        Some(Fault::Stall) => std::future::pending::<()>().await,
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
    }
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return error(StatusCode::BAD_REQUEST, "ProxyRequestUnreadable");
    };
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
        return error(StatusCode::BAD_GATEWAY, "ProxyUpstreamFailed");
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    if matches!(fault, Some(Fault::LoseAnswer)) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError");
    }
    if operation == "TrentService.GenerateDataKey" || operation == "TrentService.Decrypt" {
        let plaintext = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["Plaintext"].as_str().map(str::to_owned))
            .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok());
        if let Some(key) = plaintext {
            proxy.seen().data_keys.push(key);
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
