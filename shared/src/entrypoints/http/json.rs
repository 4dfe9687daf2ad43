//! Strict JSON request bodies: the right content type, a size limit, unknown
//! fields refused, and errors that name the offending field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Our bodies are small JSON objects.
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024;

pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large(MAX_JSON_BODY_BYTES)
                } else {
                    ApiError::bad_request("INVALID_BODY", "body could not be read")
                }
            })?;
        if bytes.len() > MAX_JSON_BODY_BYTES {
            return Err(ApiError::payload_too_large(MAX_JSON_BODY_BYTES));
        }
        parse(&bytes).map(Self)
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let is_json = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
    // Derived structs also accept an array of their fields in order
    // (`[null, null]`); our bodies are objects and nothing else.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(if is_json() {
            ApiError::bad_request(
                "INVALID_BODY",
                "invalid type: the body must be a JSON object",
            )
        } else {
            ApiError::bad_request("INVALID_JSON", "body is not valid JSON")
        });
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = without_position(error.inner());
        // serde_json reports some type errors (`null` for an enum) as syntax
        // errors, so "is it JSON at all" is asked separately.
        if !is_json() {
            ApiError::bad_request("INVALID_JSON", format!("body is not valid JSON: {message}"))
        } else if path == "." {
            ApiError::bad_request("INVALID_BODY", message)
        } else {
            ApiError::invalid_field(
                path.clone(),
                format!("invalid value for `{path}`: {message}"),
            )
        }
    })?;
    // One document and nothing after it: `{"theme": "dark"} xyz` is not JSON.
    deserializer.end().map_err(|error| {
        let message = without_position(&error);
        ApiError::bad_request("INVALID_JSON", format!("body is not valid JSON: {message}"))
    })?;
    Ok(value)
}

/// serde_json appends " at line 1 column 17"; the field path says more.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

/// Like [`StrictJson`], but an empty body means `T::default()` (for routes
/// whose every field is optional).
pub struct StrictJsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for StrictJsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let empty = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
            || !request.headers().contains_key(header::CONTENT_TYPE);
        if empty {
            let bytes = Bytes::from_request(request, state)
                .await
                .map_err(|_| ApiError::bad_request("INVALID_BODY", "body could not be read"))?;
            if bytes.is_empty() {
                return Ok(Self(T::default()));
            }
            return Err(ApiError::unsupported_media_type());
        }
        StrictJson::from_request(request, state)
            .await
            .map(|StrictJson(value)| Self(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        name: Option<String>,
    }

    /// The error code the client sees.
    fn code(bytes: &[u8]) -> String {
        use axum::response::IntoResponse;
        let response = parse::<Body>(bytes).unwrap_err().into_response();
        let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 4096));
        let envelope: serde_json::Value = serde_json::from_slice(&body.unwrap()).unwrap();
        envelope["error"]["code"].as_str().unwrap().to_owned()
    }

    #[test]
    fn only_objects_are_bodies() {
        assert!(parse::<Body>(b" {\"name\": \"x\"}").is_ok());
        assert_eq!(code(b"[null]"), "INVALID_BODY");
        assert_eq!(code(b"null"), "INVALID_BODY");
        assert_eq!(code(b"\"x\""), "INVALID_BODY");
        assert_eq!(code(b"[nul"), "INVALID_JSON");
        assert_eq!(code(b"{\"other\": 1}"), "INVALID_FIELD");
    }

    /// Found by the `settings_patch` fuzz target: a valid object followed by
    /// anything was accepted as the whole body.
    #[test]
    fn nothing_may_follow_the_object() {
        assert!(parse::<Body>(b"{\"name\": \"x\"} \r\n\t").is_ok());
        assert_eq!(code(b"{}\xff\xff"), "INVALID_JSON");
        assert_eq!(code(b"{\"name\": \"x\"} xyz"), "INVALID_JSON");
        assert_eq!(code(b"{}{}"), "INVALID_JSON");
    }
}
