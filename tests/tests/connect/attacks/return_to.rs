//! `return_to` at `POST /api/v1/amazon/connect`: every foreign spelling
//! refused with no state stored, every spelling of the allowed origin
//! landing on exactly it.

use super::*;

/// Each refused with 400 `INVALID_FIELD` on `return_to`, no state stored.
const FOREIGN_RETURN_TO: &[(&str, &str)] = &[
    ("other origin", "https://evil.example/steal"),
    ("scheme-relative", "//evil.example/x"),
    ("relative path", "/settings/amazon"),
    ("empty", ""),
    (
        "allowed host as userinfo",
        "https://app.example.test@evil.example/",
    ),
    (
        "allowed host and port as userinfo",
        "https://app.example.test:443@evil.example/",
    ),
    (
        "credentials on the allowed host",
        "https://user:pw@app.example.test/",
    ),
    (
        "username on the allowed host",
        "https://evil.example@app.example.test/",
    ),
    ("upper-case foreign origin", "HTTPS://EVIL.EXAMPLE/"),
    (
        "mixed-case allowed host as a subdomain",
        "hTtPs://App.Example.Test.Evil.Example/",
    ),
    (
        "allowed host as a subdomain",
        "https://app.example.test.evil.example/",
    ),
    (
        "subdomain of the allowed host",
        "https://evil.app.example.test/",
    ),
    (
        "ideographic full stop before a foreign suffix",
        "https://app.example.test\u{3002}evil.example/",
    ),
    (
        "fullwidth full stop in a foreign host",
        "https://evil\u{FF0E}example/",
    ),
    (
        "Cyrillic look-alike host",
        "https://\u{0430}pp.example.test/",
    ),
    (
        "punycode look-alike host",
        "https://xn--pp-7kc.example.test/",
    ),
    ("backslashes", "https:\\\\evil.example\\x"),
    (
        "backslash before userinfo",
        "https://evil.example\\@app.example.test/",
    ),
    ("no slashes", "https:evil.example/"),
    ("javascript:", "javascript:alert(document.domain)"),
    (
        "javascript: mixed case, leading space",
        "  JaVaScRiPt:alert(1)",
    ),
    (
        "javascript: with the allowed host",
        "javascript://app.example.test/%0Aalert(1)",
    ),
    ("data:", "data:text/html,<script>alert(1)</script>"),
    (
        "blob: on the allowed origin",
        "blob:https://app.example.test/0f1e",
    ),
    ("ftp on the allowed host", "ftp://app.example.test/"),
    ("trailing-dot host", "https://app.example.test./"),
    ("different port", "https://app.example.test:8443/"),
    ("http instead of https", "http://app.example.test/"),
    ("IP address", "https://127.0.0.1/"),
    ("percent-encoded URL", "https%3A%2F%2Fevil.example%2F"),
    ("percent-encoded scheme-relative", "%2F%2Fevil.example"),
    (
        "percent-encoded dot in a foreign host",
        "https://evil%2Eexample/",
    ),
    (
        "percent-encoded @ after the allowed host",
        "https://app.example.test%40evil.example/",
    ),
    (
        "percent-encoded NUL after the allowed host",
        "https://app.example.test%00.evil.example/",
    ),
    ("fragment trick", "https://evil.example#@app.example.test/"),
    ("query trick", "https://evil.example?@app.example.test/"),
    (
        "tab inside a foreign host",
        "https://evil.example\t.app.example.test/",
    ),
];

#[tokio::test]
async fn foreign_return_urls_are_refused_at_connect_and_store_no_state() {
    let stack = stack().await;
    let before = stack.snapshot().await;
    for (name, return_to) in FOREIGN_RETURN_TO {
        let response = stack.connect(USER, &json!({"return_to": return_to})).await;
        assert_eq!(response.status, 400, "{name}: {:?}", response.body);
        assert_eq!(response.error_code(), "INVALID_FIELD", "{name}");
        assert_eq!(response.body["error"]["field"], "return_to", "{name}");
        assert!(
            !response.body.to_string().contains("evil"),
            "{name}: input reflected: {}",
            response.body
        );
        assert_eq!(stack.snapshot().await, before, "{name}: a state was stored");
    }
}

/// Other spellings of the allowed origin: accepted, and the browser ends up
/// on exactly that origin (the URL is stored normalised).
const ALLOWED_SPELLINGS: &[(&str, &str, &str)] = &[
    ("upper case", "HTTPS://APP.EXAMPLE.TEST/x", "/x"),
    (
        "ideographic full stops",
        "https://app\u{3002}example\u{3002}test/x",
        "/x",
    ),
    (
        "fullwidth full stops",
        "https://app\u{FF0E}example\u{FF0E}test/x",
        "/x",
    ),
    ("default port", "https://app.example.test:443/x", "/x"),
    ("backslashes", "https:\\\\app.example.test\\x", "/x"),
    (
        "backslash before a foreign userinfo",
        "https://app.example.test\\@evil.example",
        "/@evil.example",
    ),
    (
        "percent-encoded dots",
        "https://app%2Eexample%2Etest/x",
        "/x",
    ),
    (
        "CR LF in the path",
        "https://app.example.test/x\r\nX-Crlf: 1",
        "/xX-Crlf:%201",
    ),
];

#[tokio::test]
async fn spellings_of_the_allowed_origin_return_to_exactly_that_origin() {
    let stack = stack().await;
    for (name, return_to, path) in ALLOWED_SPELLINGS {
        let started = start(&stack, &json!({"return_to": return_to})).await;
        let denied = stack
            .amazon_redirect(&format!("error=access_denied&state={}", started.state))
            .await;
        let (location, query) = outcome(name, &denied);
        assert_eq!(
            location.origin().ascii_serialization(),
            APP_ORIGIN,
            "{name}"
        );
        assert!(
            location.as_str().starts_with(&format!("{APP_ORIGIN}/")),
            "{name}: {location}"
        );
        assert_eq!(location.path(), *path, "{name}");
        assert_eq!(query["reason"], "access_denied", "{name}");
    }
    assert_eq!(connections(&stack).await, 0);
    let items = stack.snapshot().await;
    assert!(
        !items.iter().any(|i| i.contains("STATE#")),
        "states used up"
    );
}

#[tokio::test]
async fn connect_refuses_bad_bodies_and_foreign_return_urls_without_storing_a_state() {
    let stack = stack_with_user(USER).await;
    let before = stack.items().await.len();
    for (body, field) in [
        (
            json!({"return_to": "https://evil.example/steal"}),
            "return_to",
        ),
        (json!({"return_to": "//evil.example/x"}), "return_to"),
        (
            json!({"return_to": "https://app.example.test@evil.example/"}),
            "return_to",
        ),
        (
            json!({"return_to": "https://user:pw@app.example.test/"}),
            "return_to",
        ),
        (
            json!({"return_to": "http://app.example.test/"}),
            "return_to",
        ),
        (json!({"return_to": "javascript:alert(1)"}), "return_to"),
        (
            json!({"return_to": "https://app.example.test.evil.example/"}),
            "return_to",
        ),
        (json!({"region": "us"}), "region"),
        (json!({"region": "na", "scope": "everything"}), ""),
    ] {
        let response = stack.connect(USER, &body).await;
        assert_eq!(response.status, 400, "{body}: {:?}", response.body);
        if !field.is_empty() {
            assert_eq!(response.body["error"]["field"], field, "{body}");
        }
    }
    // Case and IDNA spellings of the allowed origin are that origin.
    let upper = stack
        .connect(USER, &json!({"return_to": "HTTPS://APP.EXAMPLE.TEST/x"}))
        .await;
    assert_eq!(upper.status, 200);
    assert_eq!(stack.items().await.len(), before + 1);
    let anonymous = stack
        .send(
            &stack.start,
            &Request::new("POST", "/api/v1/amazon/connect"),
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);
}
