//! Inputs besides JSON bodies: strict query strings, and the body of a
//! route that takes none.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ApiError;
use super::json::{MAX_JSON_BODY_BYTES, StrictJson};

/// Query parameters, unknown ones refused.
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::bad_request("INVALID_QUERY", rejection.body_text()))
    }
}

/// The body of a route that takes no input: empty, or `{}`. Anything else
/// (garbage, fields) is refused like any bad body, not ignored: the client
/// meant something this route does not do.
pub struct NoInput;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

impl<S: Send + Sync> FromRequest<S> for NoInput {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_JSON_BODY_BYTES)
            .await
            .map_err(|_| ApiError::payload_too_large(MAX_JSON_BODY_BYTES))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self);
        }
        let request = Request::from_parts(parts, Body::from(bytes));
        StrictJson::<Nothing>::from_request(request, state)
            .await
            .map(|_| Self)
    }
}
