//! The strict `PATCH /api/v1/settings` body: `StrictJson<SettingsPatch>`, the
//! extractor the route uses, on arbitrary bytes.
//!
//! Input: the request body.
//!
//! Properties: nothing panics; bodies over the limit get 413 and every other
//! refusal 400; a body is accepted exactly when it is one JSON object that
//! `serde_json` itself decodes as a `SettingsPatch` (nothing before or after
//! it); an accepted patch survives a JSON round trip and, stored over the
//! defaults the way the profile keeps it, reads back as valid `Settings`
//! holding the patched values.

#![no_main]

use adsconnect::entrypoints::http::{ApiError, StrictJson};
use adsconnect::settings::{Settings, SettingsPatch};
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// `adsconnect::entrypoints::http::json::MAX_JSON_BODY_BYTES` (not exported).
const MAX_JSON_BODY_BYTES: usize = 16 * 1024;

fn extract(body: &[u8]) -> Result<SettingsPatch, ApiError> {
    let request = Request::builder()
        .method("PATCH")
        .uri("/api/v1/settings")
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a valid request");
    block_on(StrictJson::<SettingsPatch>::from_request(request, &())).map(|StrictJson(p)| p)
}

fuzz_target!(|data: &[u8]| {
    // serde_json also reads a struct from an array of its fields in order; the
    // API takes objects only.
    let is_object = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let direct = serde_json::from_slice::<SettingsPatch>(data).map_err(|e| e.to_string());
    let direct = if is_object {
        direct
    } else {
        Err("not an object".to_owned())
    };
    let patch = match extract(data) {
        Ok(patch) => patch,
        Err(error) => {
            let status = error.into_response().status();
            if data.len() > MAX_JSON_BODY_BYTES {
                assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
            } else {
                assert_eq!(status, StatusCode::BAD_REQUEST);
                assert!(direct.is_err(), "serde_json accepts what the API refuses");
            }
            return;
        }
    };
    assert!(data.len() <= MAX_JSON_BODY_BYTES);
    match direct {
        Ok(direct) => assert_eq!(direct, patch),
        Err(e) => panic!("the API accepts a body serde_json refuses: {e}"),
    }

    let json = serde_json::to_vec(&patch).expect("a patch serialises");
    let again: SettingsPatch = serde_json::from_slice(&json).expect("a patch reads back");
    assert_eq!(again, patch);

    let mut stored = serde_json::to_value(Settings::default()).expect("settings serialise");
    let Value::Object(changes) = serde_json::to_value(&patch).expect("a patch serialises") else {
        panic!("a patch is an object");
    };
    for (name, value) in &changes {
        stored[name] = value.clone();
    }
    let settings: Settings =
        serde_json::from_value(stored).expect("patched settings read back as valid settings");
    let read = serde_json::to_value(&settings).expect("settings serialise");
    for (name, value) in &changes {
        assert_eq!(&read[name], value, "`{name}` was not applied");
    }
});
