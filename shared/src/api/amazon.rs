//! `oauth-start` (`POST /api/v1/amazon/connect`) and `oauth-callback`
//! (`GET /api/v1/amazon/callback`): the HTTP ends of a consent
//! (`crate::connections::consent`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::connections::consent::{BeginError, ConnectService, ConsentStart, Redirect};
use crate::http::{ApiError, Caller, ErrorResponse, StrictJsonOrEmpty};
use crate::ids::{ConnectionId, UserId};
use crate::model::region::Region;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    pub region: Option<Region>,
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectStart {
    pub authorization_url: String,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

impl From<ConsentStart> for ConnectStart {
    fn from(start: ConsentStart) -> Self {
        Self {
            authorization_url: start.authorization_url,
            state: start.state,
            expires_at: start.expires_at,
        }
    }
}

impl From<BeginError> for ApiError {
    fn from(error: BeginError) -> Self {
        ApiError::unavailable(error)
    }
}

/// Starts a consent for `user_id` (a new connection, or renewing
/// `reauthorize`), checking `return_to` first.
pub(crate) async fn begin(
    service: &ConnectService,
    user_id: &UserId,
    request: ConnectRequest,
    default_region: Region,
    reauthorize: Option<ConnectionId>,
) -> Result<Json<ConnectStart>, ApiError> {
    let return_to = match request.return_to.as_deref() {
        None => None,
        Some(url) => Some(service.returns.check(url).ok_or_else(|| {
            ApiError::invalid_field(
                "return_to",
                "`return_to` must be an http(s) URL on an allowed origin",
            )
        })?),
    };
    let region = request.region.unwrap_or(default_region);
    let start = service
        .begin(user_id, region, return_to, reauthorize)
        .await?;
    Ok(Json(start.into()))
}

#[utoipa::path(post, path = "/api/v1/amazon/connect", tag = "amazon", request_body(content = Option<ConnectRequest>, description = "Both fields optional; the body may be empty"), responses((status = 200, body = ConnectStart), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn connect(
    State(service): State<Arc<ConnectService>>,
    caller: Caller,
    StrictJsonOrEmpty(request): StrictJsonOrEmpty<ConnectRequest>,
) -> Result<Json<ConnectStart>, ApiError> {
    begin(&service, &caller.user_id, request, Region::default(), None).await
}

fn redirect_of(query: Option<&str>) -> Redirect {
    let mut redirect = Redirect::default();
    let pairs = Url::parse(&format!("http://callback/?{}", query.unwrap_or_default()))
        .map(|url| {
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "code" => &mut redirect.code,
            "state" => &mut redirect.state,
            "error" => &mut redirect.error,
            "scope" => &mut redirect.scope,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    redirect
}

#[utoipa::path(get, path = "/api/v1/amazon/callback", tag = "amazon", params(("code" = Option<String>, Query), ("state" = Option<String>, Query), ("scope" = Option<String>, Query), ("error" = Option<String>, Query), ("error_description" = Option<String>, Query)), responses((status = 302, description = "To return_to with amazon=connected&connection_id=… or amazon=error&reason=…")))]
pub(crate) async fn callback(
    State(service): State<Arc<ConnectService>>,
    RawQuery(query): RawQuery,
) -> Response {
    let completion = service.complete(redirect_of(query.as_deref())).await;
    let mut url = completion.return_to;
    match &completion.outcome {
        Ok(connection_id) => {
            tracing::info!(%connection_id, "Amazon connection completed");
            url.query_pairs_mut()
                .append_pair("amazon", "connected")
                .append_pair("connection_id", connection_id.as_str());
        }
        Err(failure) => {
            tracing::warn!(reason = failure.reason(), "Amazon connection failed");
            url.query_pairs_mut()
                .append_pair("amazon", "error")
                .append_pair("reason", failure.reason());
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The callback URL carries the code: never send it on as a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
