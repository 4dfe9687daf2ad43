//! HTTP plumbing shared by the API functions: the error envelope, request ids,
//! the caller's identity, and strict JSON bodies.

mod error;
mod identity;
mod input;
mod json;
mod request_id;

pub use error::{ApiError, ErrorBody, ErrorResponse};
pub use identity::Caller;
pub use input::{NoInput, StrictQuery};
pub use json::{MAX_JSON_BODY_BYTES, StrictJson, StrictJsonOrEmpty};
pub use request_id::{current_request_id, with_request_id};

use axum::Router;

/// The router every function serves, wrapped with what every response needs:
/// request ids, JSON 404/405 envelopes.
pub fn finish(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::not_found("ROUTE_NOT_FOUND", "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn(with_request_id))
}
