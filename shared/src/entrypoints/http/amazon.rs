//! `oauth-start` (`POST /api/v1/amazon/connect`) and `oauth-callback`
//! (`GET /api/v1/amazon/callback`, `POST /api/v1/amazon/complete`): the
//! HTTP ends of a consent (`crate::connections::consent`, `::completion`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::views::ConnectionView;
use super::{ApiError, Caller, ErrorResponse, Permitted, StrictJson, StrictJsonOrEmpty, ToConnect};
use crate::budget;
use crate::connections::connect::ConnectService;
use crate::connections::consent::{BeginError, ConsentStart, Failure, Redirect, is_completion};
use crate::ids::ConnectionId;
use crate::model::region::Region;

/// The callback redirects this much before the API-wide time guard would
/// answer with JSON instead.
const REDIRECT_MARGIN: std::time::Duration = std::time::Duration::from_millis(200);

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
        match error {
            BeginError::ReturnToNotAllowed => ApiError::invalid_field(
                "return_to",
                "`return_to` must be an http(s) URL on an allowed origin",
            ),
            error => ApiError::unavailable(error),
        }
    }
}

/// Start connecting an Amazon login
///
/// Answers the Amazon authorization URL to send the browser to.
#[utoipa::path(post, path = "/api/v1/amazon/connect", tag = "amazon", request_body(content = Option<ConnectRequest>, description = "Both fields optional; the body may be empty"), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `connect`", body = ErrorResponse), (status = 200, body = ConnectStart), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn connect(
    State(service): State<Arc<ConnectService>>,
    Permitted { acting, .. }: Permitted<ToConnect>,
    StrictJsonOrEmpty(request): StrictJsonOrEmpty<ConnectRequest>,
) -> Result<Json<ConnectStart>, ApiError> {
    let region = request.region.unwrap_or_default();
    let start = service
        .begin(&acting, region, request.return_to.as_deref(), None)
        .await?;
    Ok(Json(start.into()))
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

/// Amazon's OAuth redirect
///
/// Amazon sends the browser here after consent; every outcome is a redirect
/// back to the dashboard, so no session is needed.
#[utoipa::path(get, path = "/api/v1/amazon/callback", tag = "amazon", params(("code" = Option<String>, Query), ("state" = Option<String>, Query), ("scope" = Option<String>, Query), ("error" = Option<String>, Query), ("error_description" = Option<String>, Query)), responses((status = 302, description = "To return_to with amazon=authorized&completion=… (connected only once the signed-in user who started presents it to POST /api/v1/amazon/complete) or amazon=error&reason=…")), security())]
pub(crate) async fn callback(
    State(service): State<Arc<ConnectService>>,
    RawQuery(query): RawQuery,
) -> Response {
    let work = service.callback(redirect_of(query.as_deref()));
    let callback = match budget::answer_by() {
        None => work.await,
        Some(by) => {
            let by = by.checked_sub(REDIRECT_MARGIN).unwrap_or(by);
            match tokio::time::timeout_at(by.into(), work).await {
                Ok(callback) => callback,
                Err(_) => crate::connections::consent::Callback {
                    return_to: service.returns.default_url().clone(),
                    outcome: Err(Failure::TimedOut),
                },
            }
        }
    };
    let mut url = callback.return_to;
    match &callback.outcome {
        Ok(completion) => {
            tracing::info!("Amazon consent granted; waiting for its completion");
            url.query_pairs_mut()
                .append_pair("amazon", "authorized")
                .append_pair("completion", completion);
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// The `completion` the callback's redirect carried.
    pub completion: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompleteResponse {
    pub connection_id: ConnectionId,
    pub connection: ConnectionView,
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::UnknownCompletion => ApiError::not_found(
                "COMPLETION_NOT_FOUND",
                "no pending consent with this completion for you: unknown, used or expired",
            ),
            Failure::UserDeleted => ApiError::not_found("USER_NOT_FOUND", "user not found"),
            Failure::WrongAmazonLogin => ApiError::conflict(
                "WRONG_AMAZON_LOGIN",
                "the re-authorization was consented by another Amazon login than the connection's",
            ),
            Failure::AdsUnavailable => ApiError::unavailable_because(
                "ADS_UNAVAILABLE",
                "the Amazon Ads API is unavailable; retry the completion shortly",
                failure.reason(),
            ),
            Failure::LwaUnavailable => ApiError::unavailable_because(
                "LWA_UNAVAILABLE",
                "Login with Amazon is unavailable; retry the completion shortly",
                failure.reason(),
            ),
            Failure::TimedOut => ApiError::timed_out(),
            Failure::StorageUnavailable => ApiError::unavailable(failure.reason()),
            other => ApiError::upstream(
                "UPSTREAM_FAILED",
                "the connection could not be completed",
                other.reason(),
            ),
        }
    }
}

/// Complete a connection
///
/// Connects what the callback's consent granted, when the caller is the
/// user who started it (a new connection or a re-authorization).
#[utoipa::path(post, path = "/api/v1/amazon/complete", tag = "amazon", request_body = CompleteRequest, responses((status = 200, body = CompleteResponse), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 413, description = "Body too large", body = ErrorResponse), (status = 415, description = "Not JSON", body = ErrorResponse), (status = 404, description = "Unknown, used, expired or another user's completion (another user's attempt destroys it)", body = ErrorResponse), (status = 409, description = "A re-authorization consented by another Amazon login", body = ErrorResponse), (status = 503, description = "Amazon or a dependency is unavailable; the same completion may be retried until it expires", body = ErrorResponse), (status = 504, description = "Out of time; retry", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn complete(
    State(service): State<Arc<ConnectService>>,
    caller: Caller,
    StrictJson(request): StrictJson<CompleteRequest>,
) -> Result<Json<CompleteResponse>, ApiError> {
    if !is_completion(&request.completion) {
        return Err(ApiError::invalid_field(
            "completion",
            "`completion` must be the value the callback's redirect carried",
        ));
    }
    let completed = service
        .complete(&caller.user_id, &request.completion)
        .await?;
    tracing::info!(connection_id = %completed.connection.connection_id, "Amazon connection completed");
    Ok(Json(CompleteResponse {
        connection_id: completed.connection.connection_id.clone(),
        connection: ConnectionView::of(&completed.connection, &completed.accounts, Utc::now()),
    }))
}
