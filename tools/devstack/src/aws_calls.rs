//! A pass-through in front of moto that notes when each AWS call arrived,
//! so a benchmark can count the calls a separate process (a bootstrap) makes
//! before a given moment, such as its first Runtime API poll: the calls it
//! makes during init. In-process code counts with [`crate::calls`] instead.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;

/// Every call's arrival and its operation (`X-Amz-Target`, e.g.
/// `secretsmanager.GetSecretValue`, else the method and path).
#[derive(Clone, Default)]
pub struct AwsCallLog {
    calls: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl AwsCallLog {
    /// The operations of the calls that arrived before `moment`, in order.
    pub fn before(&self, moment: Instant) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(at, _)| *at < moment)
            .map(|(_, operation)| operation.clone())
            .collect()
    }

    pub fn clear(&self) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

struct Upstream {
    url: String,
    http: reqwest::Client,
    log: AwsCallLog,
}

/// Listens on 127.0.0.1 and a free port, forwarding to `upstream` (moto's
/// URL); the address is the functions' `AWS_ENDPOINT_URL`.
pub async fn start(upstream: &str) -> std::io::Result<(SocketAddr, AwsCallLog)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let log = AwsCallLog::default();
    let state = Arc::new(Upstream {
        url: upstream.trim_end_matches('/').to_owned(),
        http: adsconnect::tls::http_client().build().unwrap_or_default(),
        log: log.clone(),
    });
    let app = Router::new().fallback(forward).with_state(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, log))
}

async fn forward(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get(HeaderName::from_static("x-amz-target"))
        .and_then(|t| t.to_str().ok())
        .map_or_else(
            || format!("{} {}", parts.method, parts.uri.path()),
            str::to_owned,
        );
    upstream
        .log
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((Instant::now(), operation));
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return status(StatusCode::BAD_REQUEST);
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outbound = upstream
        .http
        .request(parts.method.clone(), format!("{}{path}", upstream.url))
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            outbound = outbound.header(name, value);
        }
    }
    let Ok(answer) = outbound.send().await else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| status(StatusCode::BAD_GATEWAY))
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}
