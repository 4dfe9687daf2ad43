//! HTTP plumbing shared by the API functions: the error envelope, request ids,
//! the caller's identity, and strict JSON bodies.

mod deadline;
mod error;
mod identity;
mod input;
mod json;
mod request_id;

pub use deadline::deadline_of;
pub use error::{ApiError, ErrorBody, ErrorResponse};
pub use identity::Caller;
pub use input::{NoInput, StrictQuery};
pub use json::{MAX_JSON_BODY_BYTES, StrictJson, StrictJsonOrEmpty};
pub use request_id::{current_request_id, with_request_id};

use std::time::Duration;

use axum::Router;

/// The router a function serves, wrapped with what every response needs:
/// the time budget of a function whose timeout is `timeout`, request ids,
/// JSON 404/405 envelopes.
pub fn finish(router: Router, timeout: Duration) -> Router {
    router
        .fallback(|| async { ApiError::not_found("ROUTE_NOT_FOUND", "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            deadline::within_deadline,
        ))
        .layer(axum::middleware::from_fn(with_request_id))
}
