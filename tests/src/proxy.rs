//! An HTTP proxy in front of moto that plays a failing AWS: after a budget
//! of forwarded calls, every matching call fails (an error answer, or no
//! answer at all). It also records the KMS data keys that cross it, so tests
//! can look for them where they must never be.

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
