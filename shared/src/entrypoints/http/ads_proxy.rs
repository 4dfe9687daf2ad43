//! `ads-proxy`: `ANY /api/v1/accounts/{id}/ads/{proxy+}` — the Amazon Ads
//! API call `/{proxy+}` made for the caller's account with its credentials
//! injected (`crate::connections::proxying`, `crate::amazon::proxy`).

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use super::ProxyServices;
use super::{ApiError, Permitted, ToUse};
use crate::amazon::headers::forwardable;
use crate::amazon::paths::{is_allowed, normalize};
use crate::amazon::proxy::{MAX_REQUEST_BYTES, Outbound, ProxyError, REQUEST_ID};
use crate::connections::access::AccessError;
use crate::connections::proxying::{Answer, Proxied, ProxyCall, Wait};
use crate::ids::AccountId;
use crate::model::acting::Acting;

/// A token handed to Amazon stays valid this much longer than the call.
pub const TOKEN_MARGIN: chrono::Duration = chrono::Duration::minutes(2);
/// The caller's choice about waiting out throttling (`never`, or absent).
const WAIT_HEADER: &str = "adsconnect-wait";
const INVALID_PATH_MESSAGE: &str = "the Ads API path must be segments of unreserved characters \
    or percent-encoded UTF-8, without empty, `.` or `..` segments, reserved characters or double encoding";
/// A read-only account's write, refused without asking Amazon.
const READ_ONLY_MESSAGE: &str = "this account is linked to your manager account as Viewer: \
    Amazon allows reads and reports only";
/// Who throttled a call: `amazon` or `cooldown`.
const THROTTLED_BY_HEADER: &str = "adsconnect-throttled-by";

pub fn routes() -> Router<ProxyServices> {
    Router::new().route("/api/v1/accounts/{id}/ads/{*proxy}", any(proxy_call))
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::NotFound => ApiError::not_found("ACCOUNT_NOT_FOUND", "account not found"),
            AccessError::NeedsReauth(connection_id) => ApiError::needs_reauth(&connection_id),
            AccessError::Unavailable(cause) => ApiError::unavailable(cause),
            AccessError::OwnedHeader(owned) => ApiError::bad_request(
                "OWNED_HEADER",
                format!(
                    "{owned}: leave it out, or send the account's own value where AdsConnect sends one"
                ),
            ),
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
/// credentials and identifying headers injected; the caller's headers of
/// Amazon's families (`Amazon-Advertising-API-*`, `Amazon-Ads-*`,
/// `Amazon-Marketing-Cloud-*`) and content headers passed through.
/// Throttling is waited out within the time budget unless
/// `AdsConnect-Wait: never` is sent. A read-only (Viewer) account's writes
/// are refused without calling Amazon; reads and report creation pass.
#[utoipa::path(
    method(get, post, put, patch, delete), path = "/api/v1/accounts/{id}/ads/{proxy}", tag = "ads",
    params(
        ("id" = String, Path, description = "Account id"),
        ("proxy" = String, Path, description = "The Ads API path, e.g. `sp/campaigns/list` or `adsApi/v1/query/campaigns`; a trailing slash is kept. Segments of unreserved characters and percent-encoded UTF-8 only. Any method (GET, POST, PUT, PATCH, DELETE), query and body are passed through"),
        ("AdsConnect-Wait" = Option<String>, Header, description = "`never`: answer a throttled call at once (Amazon's 429, or 429 from a running cooldown) instead of waiting within the budget"),
    ),
    responses(
        (status = 200, description = "Amazon's status, body and meaningful headers (Content-Type, Retry-After, Location, request ids), whatever they are. `AdsConnect-Throttled-By: amazon|cooldown` when throttling delayed or refused the call", headers(("AdsConnect-Throttled-By" = String, description = "`amazon` or `cooldown`"))),
        (status = 400, description = "A path with empty, `.`/`..`, reserved or double-encoded segments (INVALID_PATH); a caller's value for a header AdsConnect owns, or any value for the account header it leaves out of this call (a DSP advertiser's `Amazon-Ads-AccountId` on `/reporting/reports` when it has an agency profile, its Scope on v1 or when it has none) (OWNED_HEADER); an unknown AdsConnect-Wait (INVALID_HEADER)", body = crate::entrypoints::http::ErrorResponse),
        (status = 403, description = "A write (PUT, PATCH, DELETE, or a POST other than Amazon's reads by POST: lists, searches, v1 query/retrieve, report creation, recommendations, forecasts, insights) for an account linked to the caller's manager account as Viewer: READ_ONLY_ACCOUNT, Amazon not called. Or an organization is active and the caller's role or permissions there do not include `use`: PERMISSION_REQUIRED", body = crate::entrypoints::http::ErrorResponse),
        (status = 404, description = "Not found, or not the caller's; or the method and path are not in ADS_PROXY_ALLOWED_PATHS (PATH_NOT_ALLOWED)", body = crate::entrypoints::http::ErrorResponse),
        (status = 409, description = "The account's connection needs re-authorization (its connection_id in the error)", body = crate::entrypoints::http::ErrorResponse),
        (status = 413, description = "Body over 4 MiB", body = crate::entrypoints::http::ErrorResponse),
        (status = 429, description = "Over the caller's quota of proxied calls: RATE_LIMITED with Retry-After. Or Amazon throttles this account's calls of this API beyond the caller's wait: AMAZON_THROTTLED with Retry-After and `AdsConnect-Throttled-By: cooldown`, Amazon not asked (Amazon's own 429 comes back as it is, with `AdsConnect-Throttled-By: amazon`)", body = crate::entrypoints::http::ErrorResponse),
        (status = 502, description = "Amazon did not answer, or answered more than 4 MiB", body = crate::entrypoints::http::ErrorResponse),
        (status = 503, description = "Credentials unavailable", body = crate::entrypoints::http::ErrorResponse),
    ),
    security(("clerk_session" = []))
)]
pub(crate) async fn proxy_call(
    State(services): State<ProxyServices>,
    Permitted { acting, .. }: Permitted<ToUse>,
    // No path extractor: axum's would refuse invalid UTF-8 in the Ads API
    // path with a text of its own; the raw path is judged by `normalize`.
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let (account_id, raw_path) = request
        .uri()
        .path()
        .strip_prefix("/api/v1/accounts/")
        .and_then(|rest| rest.split_once("/ads"))
        .and_then(|(id, path)| Some((AccountId::parse(id).ok()?, path.to_owned())))
        .ok_or_else(|| ApiError::not_found("ACCOUNT_NOT_FOUND", "account not found"))?;
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
    let wait = wait_of(&parts.headers)?;
    // The raw (still percent-encoded) path, normalized to what Amazon gets.
    let path = normalize(&raw_path)
        .ok_or_else(|| ApiError::bad_request("INVALID_PATH", INVALID_PATH_MESSAGE))?;
    if !is_allowed(&parts.method, &path, &services.allowed_paths) {
        return Err(ApiError::not_found(
            "PATH_NOT_ALLOWED",
            "this deployment does not proxy that Ads API call",
        ));
    }
    let body = axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|_| ApiError::payload_too_large(MAX_REQUEST_BYTES))?;
    let outbound = Outbound {
        method: parts.method.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: forwardable(&parts.headers),
        path,
        body,
    };
    let call = ProxyCall {
        acting: &acting,
        account_id: &account_id,
        outbound: &outbound,
        wait,
        valid_for: TOKEN_MARGIN,
        quotas: Some(&services.quotas),
    };
    let mut proxied = services.access.proxy(&services.http, call).await?;
    let answer = std::mem::replace(&mut proxied.answer, Answer::Cooldown);
    let (throttled_by, retry_after) = (proxied.throttled_by, proxied.retry_after);
    let line = CallLine {
        acting: &acting,
        account_id: &account_id,
        outbound: &outbound,
        proxied: &proxied,
        started,
    };
    let mut response = match answer {
        Answer::Amazon(upstream) => {
            line.record(upstream.status, upstream.headers.get(REQUEST_ID));
            let mut response = (
                StatusCode::from_u16(upstream.status).unwrap_or(StatusCode::BAD_GATEWAY),
                upstream.body,
            )
                .into_response();
            let headers = response.headers_mut();
            headers.remove(axum::http::header::CONTENT_TYPE);
            headers.extend(upstream.headers);
            // Amazon's own Retry-After stands; without one, the cooldown's.
            if let Some(wait) = retry_after.filter(|_| upstream.status == 429) {
                headers
                    .entry(axum::http::header::RETRY_AFTER)
                    .or_insert_with(|| seconds(wait).into());
            }
            response
        }
        Answer::Cooldown => {
            line.record(429, None);
            ApiError::amazon_throttled(retry_after.map_or(1, seconds)).into_response()
        }
        Answer::OverQuota(wait) => {
            line.record(429, None);
            ApiError::too_many_requests(seconds(wait)).into_response()
        }
        Answer::ReadOnly => {
            line.record(403, None);
            ApiError::forbidden("READ_ONLY_ACCOUNT", READ_ONLY_MESSAGE).into_response()
        }
        Answer::Failed(error) => {
            line.record(502, None);
            ApiError::from(error).into_response()
        }
    };
    let headers = response.headers_mut();
    if let Some(by) = throttled_by {
        headers.insert(THROTTLED_BY_HEADER, HeaderValue::from_static(by.as_str()));
    }
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `AdsConnect-Wait`: absent (wait within the budget) or `never`.
fn wait_of(headers: &HeaderMap) -> Result<Wait, ApiError> {
    match headers.get(WAIT_HEADER).map(|v| v.to_str().map(str::trim)) {
        None => Ok(Wait::WithinBudget),
        Some(Ok(value)) if value.eq_ignore_ascii_case("never") => Ok(Wait::Never),
        Some(_) => Err(ApiError::bad_request(
            "INVALID_HEADER",
            "AdsConnect-Wait must be `never` or absent",
        )),
    }
}

/// Whole seconds, rounded up, at least one.
fn seconds(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}

/// What the log line and the metrics of one proxied call say: whose call
/// it was, what was called (never a token, query value or body), how it
/// ended and where its time went.
struct CallLine<'a> {
    acting: &'a Acting,
    account_id: &'a AccountId,
    outbound: &'a Outbound,
    proxied: &'a Proxied,
    started: Instant,
}

impl CallLine<'_> {
    fn record(&self, status: u16, amazon_request_id: Option<&HeaderValue>) {
        let proxied = self.proxied;
        let total_ms = self.started.elapsed().as_millis();
        let upstream_ms = proxied.upstream_time.as_millis();
        let waited_ms = proxied.waited.as_millis();
        tracing::info!(
            user_id = %self.acting.user_id,
            owner_id = %self.acting.owner,
            account_id = %self.account_id,
            connection_id = %proxied.connection_id,
            account_kind = proxied.kind.as_str(),
            method = %self.outbound.method,
            path = %self.outbound.path,
            api_family = %proxied.family,
            status,
            amazon_request_id = amazon_request_id.and_then(|v| v.to_str().ok()),
            amazon_calls = proxied.amazon_calls,
            upstream_ms,
            waited_ms,
            throttled_by = proxied.throttled_by.map(|by| by.as_str()),
            total_ms,
            "Ads API call proxied"
        );
        // stdout, not the log subscriber: EMF must be the whole line.
        println!(
            "{}",
            metrics_line(
                proxied.kind.as_str(),
                status,
                proxied.throttled_by.is_some(),
                Timings {
                    upstream_ms,
                    waited_ms,
                    total_ms
                }
            )
        );
    }
}

/// Where one proxied call's time went (milliseconds).
pub struct Timings {
    pub upstream_ms: u128,
    pub waited_ms: u128,
    pub total_ms: u128,
}

/// CloudWatch embedded metrics, per account kind and status class: the
/// call, whether throttling touched it, Amazon's time, the time waited for
/// throttling, and the time the proxy added besides both.
pub fn metrics_line(kind: &str, status: u16, throttled: bool, timings: Timings) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "AdsConnect",
                "Dimensions": [["Function", "AccountKind", "StatusClass"]],
                "Metrics": [
                    {"Name": "ProxiedCalls", "Unit": "Count"},
                    {"Name": "ThrottledCalls", "Unit": "Count"},
                    {"Name": "UpstreamLatency", "Unit": "Milliseconds"},
                    {"Name": "ThrottleWait", "Unit": "Milliseconds"},
                    {"Name": "ProxyOverhead", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Function": "ads-proxy",
        "AccountKind": kind,
        "StatusClass": format!("{}xx", status / 100),
        "ProxiedCalls": 1,
        "ThrottledCalls": u8::from(throttled),
        "UpstreamLatency": timings.upstream_ms,
        "ThrottleWait": timings.waited_ms,
        "ProxyOverhead": timings.total_ms.saturating_sub(timings.upstream_ms + timings.waited_ms),
    })
    .to_string()
}
