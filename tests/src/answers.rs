//! What a failing dependency (LWA, the Ads API, Clerk) answers with.

use wiremock::ResponseTemplate;

pub const HTML: &str = "<html><body><h1>Service Unavailable</h1></body></html>";
pub const JSON: &str = "application/json";

/// An answer with exactly this status, content type and body.
pub fn raw(status: u16, content_type: &str, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), content_type)
}
