//! The one error type of the HTTP layer, rendered once as the contract's
//! envelope `{"error": {"code", "message", "request_id"}}`.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::current_request_id;
use crate::clerk::api::ClerkApiError;
use crate::store::StoreError;

fn saturate(seconds: u64) -> u32 {
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    field: Option<Box<str>>,
    /// The connection the error is about (one to re-authorize); boxed to
    /// keep the error small.
    connection_id: Option<Box<str>>,
    /// Amazon's own error code, passed on unchanged.
    amazon_code: Option<Box<str>>,
    /// Seconds (u32 keeps the error small; no pause is that long).
    retry_after_seconds: Option<u32>,
    /// Logged, never rendered: the internal cause of a 5xx.
    cause: Option<Box<str>>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            connection_id: None,
            amazon_code: None,
            retry_after_seconds: None,
            cause: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: Some(field.into().into()),
            ..Self::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", message)
        }
    }

    pub fn unauthenticated() -> Self {
        Self::unauthorized("UNAUTHENTICATED", "authentication required")
    }

    pub fn unauthorized(code: &'static str, message: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// A member of the active organization whose role or custom
    /// permissions lack `permission`.
    pub fn permission_required(permission: crate::model::permission::Permission) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_REQUIRED",
            format!(
                "your role in this organization does not allow `{}` (Clerk permission org:ads:{})",
                permission.code(),
                permission.code()
            ),
        )
    }

    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "method not allowed on this route",
        )
    }

    pub fn conflict(code: &'static str, message: &'static str) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 409: `connection_id` must be re-authorized before it can be used.
    pub fn needs_reauth(connection_id: &crate::ids::ConnectionId) -> Self {
        Self {
            connection_id: Some(connection_id.as_str().into()),
            ..Self::conflict("NEEDS_REAUTH", "the connection must be re-authorized first")
        }
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Self {
            retry_after_seconds: Some(saturate(retry_after_seconds)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "too many requests; retry after the indicated time",
            )
        }
    }

    /// 429 with `Retry-After`: Amazon throttles the account's calls for
    /// longer than the caller waits.
    pub fn amazon_throttled(retry_after_seconds: u64) -> Self {
        Self {
            retry_after_seconds: Some(saturate(retry_after_seconds)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "AMAZON_THROTTLED",
                "Amazon is throttling this account's calls of this API; retry after the indicated time",
            )
        }
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("body exceeds {limit_bytes} bytes"),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "expected Content-Type: application/json",
        )
    }

    pub fn unprocessable(
        code: &'static str,
        field: Option<&str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            field: field.map(Into::into),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        }
    }

    /// When the client may try again (seconds), for a failure that may pass.
    pub fn retry_after(self, seconds: u64) -> Self {
        Self {
            retry_after_seconds: Some(saturate(seconds)),
            ..self
        }
    }

    pub fn upstream(code: &'static str, message: &'static str, cause: impl ToString) -> Self {
        Self {
            cause: Some(cause.to_string().into()),
            ..Self::new(StatusCode::BAD_GATEWAY, code, message)
        }
    }

    /// 502: Amazon refused the call with `status`; its error code (SNAKE_CASE,
    /// never free text) reaches the client unchanged as `amazon_code`.
    pub fn amazon_refused(status: u16, amazon_code: &str) -> Self {
        Self {
            amazon_code: Some(amazon_code.into()),
            ..Self::upstream(
                "AMAZON_REFUSED",
                "Amazon refused the request; see amazon_code",
                format!("Amazon answered {status} {amazon_code}"),
            )
        }
    }

    /// 503 naming which dependency is unavailable.
    pub fn unavailable_because(
        code: &'static str,
        message: &'static str,
        cause: impl ToString,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            ..Self::unavailable(cause)
        }
    }

    pub fn unavailable(cause: impl ToString) -> Self {
        Self {
            cause: Some(cause.to_string().into()),
            retry_after_seconds: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "DEPENDENCY_UNAVAILABLE",
                "a dependency is unavailable; retry shortly",
            )
        }
    }
}

impl ApiError {
    /// The request's time budget ran out before its dependencies answered.
    pub fn timed_out() -> Self {
        Self {
            retry_after_seconds: Some(1),
            cause: Some("time budget exhausted".into()),
            ..Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "TIMED_OUT",
                "a dependency did not answer in time; retry shortly",
            )
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::unavailable(error)
    }
}

impl From<ClerkApiError> for ApiError {
    fn from(error: ClerkApiError) -> Self {
        match error {
            ClerkApiError::NotFound => Self::not_found("USER_NOT_FOUND", "user not found"),
            ClerkApiError::Transient(_) => Self::unavailable(error),
            ClerkApiError::Upstream(_) => {
                Self::upstream("UPSTREAM_FAILED", "Clerk API request failed", error)
            }
        }
    }
}

/// The error envelope of every route.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    error: ErrorBody,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// SNAKE_CASE, stable: clients branch on it.
    code: &'static str,
    message: String,
    /// The offending input field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// The connection to re-authorize (`NEEDS_REAUTH`).
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_id: Option<String>,
    /// Amazon's error code, unchanged (`AMAZON_REFUSED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    amazon_code: Option<String>,
    request_id: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), code = self.code, cause = self.cause.as_deref(), %request_id, "request failed");
        } else {
            tracing::info!(status = self.status.as_u16(), code = self.code, %request_id, "request refused");
        }
        let body = ErrorResponse {
            error: ErrorBody {
                code: self.code,
                message: self.message.into_owned(),
                field: self.field.map(String::from),
                connection_id: self.connection_id.map(String::from),
                amazon_code: self.amazon_code.map(String::from),
                request_id,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
