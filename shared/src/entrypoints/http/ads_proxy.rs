//! `ads-proxy`: `ANY /api/v1/accounts/{id}/ads/{proxy+}` — the Amazon Ads
//! API call `/{proxy+}` made for the caller's account with its credentials
//! injected (`crate::connections::access`, `crate::amazon::proxy`).

use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::Duration;

use super::ProxyServices;
use super::{ApiError, Caller};
use crate::amazon::proxy::{
    self, MAX_REQUEST_BYTES, Outbound, ProxyError, is_allowed, is_clean_path,
};
use crate::connections::access::AccessError;
use crate::ids::AccountId;

/// A token handed to Amazon stays valid this much longer than the call.
pub const TOKEN_MARGIN: Duration = Duration::minutes(2);

pub fn routes() -> Router<ProxyServices> {
    Router::new().route("/api/v1/accounts/{id}/ads/{*proxy}", any(proxy_call))
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::NotFound => ApiError::not_found("ACCOUNT_NOT_FOUND", "account not found"),
            AccessError::NeedsReauth(connection_id) => ApiError::needs_reauth(&connection_id),
            AccessError::Unavailable(cause) => ApiError::unavailable(cause),
        }
    }
}

impl From<ProxyError> for ApiError {
    fn from(error: ProxyError) -> Self {
        match error {
            ProxyError::Unavailable(_) => ApiError::upstream(
                "ADS_UNAVAILABLE",
                "the Amazon Ads API did not answer",
                error,
            )
            .retry_after(1),
            ProxyError::TooLarge => ApiError::upstream(
                "UPSTREAM_RESPONSE_TOO_LARGE",
                "Amazon's answer is larger than a Lambda function may return",
                error,
            ),
        }
    }
}

/// Call the Amazon Ads API for an account
///
/// The Ads API call `/{proxy}` made for the caller's account with its
/// credentials injected.
#[utoipa::path(
    method(get, post, put, patch, delete), path = "/api/v1/accounts/{id}/ads/{proxy}", tag = "ads",
    params(("id" = String, Path, description = "Account id"), ("proxy" = String, Path, description = "The Ads API path, e.g. `sp/campaigns/list`; any method (GET, POST, PUT, PATCH, DELETE), query and body are passed through")),
    responses(
        (status = 200, description = "Amazon's status, body and meaningful headers (Content-Type, Retry-After, Location, request ids), whatever they are"),
        (status = 400, description = "A path with empty, `.`/`..` or encoded-slash segments", body = crate::entrypoints::http::ErrorResponse),
        (status = 404, description = "Not found, or not the caller's; or the path is not in ADS_PROXY_ALLOWED_PATHS (PATH_NOT_ALLOWED)", body = crate::entrypoints::http::ErrorResponse),
        (status = 409, description = "The account's connection needs re-authorization (its connection_id in the error)", body = crate::entrypoints::http::ErrorResponse),
        (status = 413, description = "Body over 4 MiB", body = crate::entrypoints::http::ErrorResponse),
        (status = 502, description = "Amazon did not answer, or answered more than 4 MiB", body = crate::entrypoints::http::ErrorResponse),
        (status = 503, description = "Credentials unavailable", body = crate::entrypoints::http::ErrorResponse),
    ),
    security(("clerk_session" = []))
)]
pub(crate) async fn proxy_call(
    State(services): State<ProxyServices>,
    caller: Caller,
    Path((id, _)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let account_id = AccountId::parse(&id)
        .map_err(|_| ApiError::not_found("ACCOUNT_NOT_FOUND", "account not found"))?;
    let (parts, body) = request.into_parts();
    if ![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]
    .contains(&parts.method)
    {
        return Err(ApiError::method_not_allowed());
    }
    // The raw (still percent-encoded) path: what Amazon will receive.
    let path = parts
        .uri
        .path()
        .strip_prefix(&format!("/api/v1/accounts/{account_id}/ads"))
        .unwrap_or_default()
        .to_owned();
    if !is_clean_path(&path) {
        return Err(ApiError::bad_request(
            "INVALID_PATH",
            "the Ads API path must not have empty, `.` or `..` segments or encoded slashes",
        ));
    }
    if !is_allowed(&path, &services.allowed_paths) {
        return Err(ApiError::not_found(
            "PATH_NOT_ALLOWED",
            "this deployment does not proxy that Ads API path",
        ));
    }
    let body = axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|_| ApiError::payload_too_large(MAX_REQUEST_BYTES))?;
    let outbound = Outbound {
        method: parts.method.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: proxy::forwarded(&parts.headers),
        path,
        body,
    };
    let proxied = services
        .access
        .call(
            &services.http,
            &caller.user_id,
            &account_id,
            TOKEN_MARGIN,
            &outbound,
        )
        .await?;
    let upstream_ms = proxied.upstream_time.as_millis();
    let upstream = match proxied.answer {
        Ok(upstream) => upstream,
        Err(error) => {
            record(&outbound, 502, started, upstream_ms);
            return Err(error.into());
        }
    };
    record(&outbound, upstream.status, started, upstream_ms);
    let mut response = (
        StatusCode::from_u16(upstream.status).unwrap_or(StatusCode::BAD_GATEWAY),
        upstream.body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.remove(axum::http::header::CONTENT_TYPE);
    headers.extend(upstream.headers);
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// The log line (method, path and status: never a token, query or body)
/// and the metrics line of one proxied call.
fn record(outbound: &Outbound, status: u16, started: Instant, upstream_ms: u128) {
    let total_ms = started.elapsed().as_millis();
    tracing::info!(
        method = %outbound.method,
        path = %outbound.path,
        status,
        upstream_ms,
        total_ms,
        "Ads API call proxied"
    );
    // stdout, not the log subscriber: EMF must be the whole line.
    println!("{}", metrics_line(status, upstream_ms, total_ms));
}

/// CloudWatch embedded metrics: one count per status class, and the time
/// the proxy added around Amazon's.
pub fn metrics_line(status: u16, upstream_ms: u128, total_ms: u128) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "AdsConnect",
                "Dimensions": [["Function", "StatusClass"]],
                "Metrics": [
                    {"Name": "ProxiedCalls", "Unit": "Count"},
                    {"Name": "UpstreamLatency", "Unit": "Milliseconds"},
                    {"Name": "ProxyOverhead", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Function": "ads-proxy",
        "StatusClass": format!("{}xx", status / 100),
        "ProxiedCalls": 1,
        "UpstreamLatency": upstream_ms,
        "ProxyOverhead": total_ms.saturating_sub(upstream_ms),
    })
    .to_string()
}
