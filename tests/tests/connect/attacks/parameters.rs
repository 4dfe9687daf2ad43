//! Amazon's error parameters never reflected, and ciphertexts bound to
//! their own connection.

use super::*;

/// `(name, parameters before `state`, reason)`. Values are URL-encoded as
/// Amazon would send them.
const ERROR_PARAMETERS: &[(&str, &str, &str)] = &[
    (
        "markup as the error",
        "error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "authorization_failed",
    ),
    (
        "attribute-breaking markup as the error",
        "error=%22%3E%3Csvg%2Fonload%3Dalert(1)%3E",
        "authorization_failed",
    ),
    (
        "markup in the description",
        "error=access_denied&error_description=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "access_denied",
    ),
    (
        "CR LF and a header in the description",
        "error=invalid_scope&error_description=no%0D%0ASet-Cookie%3A%20pwned%3D1",
        "invalid_scope",
    ),
    (
        "CR LF and a Location in the error",
        "error=access_denied%0D%0ALocation%3A%20https%3A%2F%2Fevil.example",
        "authorization_failed",
    ),
    (
        "unknown error code",
        "error=quantum_flux_detected&error_description=pwned",
        "authorization_failed",
    ),
    ("empty error", "error=", "authorization_failed"),
    (
        "known code in another case",
        "error=ACCESS_DENIED",
        "authorization_failed",
    ),
    ("server error", "error=server_error", "authorization_failed"),
    (
        "outcome parameters of our own",
        "error=access_denied&amazon=connected&connection_id=conn_pwned&reason=pwned",
        "access_denied",
    ),
    (
        "an error next to a code",
        "code=ANstub-pwned&error=access_denied",
        "access_denied",
    ),
];

/// Strings that must not come back from any of those in the redirect…
const INJECTED: &[&str] = &[
    "script",
    "<",
    "%3C",
    "svg",
    "onerror",
    "Set-Cookie",
    "pwned",
    "evil",
    "quantum",
];
/// …or in a log line (only this test sends these).
const LOGGED: &[&str] = &["onerror", "onload", "pwned", "quantum_flux"];

#[tokio::test]
async fn amazon_error_parameters_are_never_reflected() {
    logs::capture();
    let stack = stack().await;
    for (name, parameters, reason) in ERROR_PARAMETERS {
        let before = stack.snapshot().await;
        let started = start(&stack, &json!({})).await;
        let response = stack
            .amazon_redirect(&format!("{parameters}&state={}", started.state))
            .await;
        assert_refused_to(name, &response, DEFAULT_RETURN_URL, reason);
        let location = response.headers["location"].to_str().unwrap();
        for marker in INJECTED {
            assert!(!location.contains(marker), "{name}: {location}");
        }
        assert_eq!(stack.snapshot().await, before, "{name}");
    }
    // Without a state (or with markup as the state) there is no return_to
    // to go back to.
    for (name, query) in [
        ("no state", "error=%3Cscript%3E&error_description=pwned"),
        (
            "markup as the state",
            "error=access_denied&state=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ),
    ] {
        let before = stack.snapshot().await;
        let response = stack.amazon_redirect(query).await;
        assert_refused_to(name, &response, DEFAULT_RETURN_URL, "invalid_state");
        assert_eq!(stack.snapshot().await, before, "{name}");
    }
    assert_eq!(stack.amazon.calls(Endpoint::Token), 0);
    let logs = logs::text();
    assert!(logs.contains("consent not given"), "logs are captured");
    for marker in LOGGED {
        assert!(!logs.contains(marker), "{marker} logged");
    }
}

// ---------------------------------------------------------------------------
// Sealed tokens moved between connections

#[tokio::test]
async fn a_ciphertext_moved_to_another_connection_does_not_open() {
    let stack = stack_with_user(USER).await;
    stack
        .amazon
        .add_login("one", small_login("amzn1.account.ONE", 11));
    stack
        .amazon
        .add_login("two", small_login("amzn1.account.TWO", 22));
    let one = stack.connect_flow(USER, "one").await["connection_id"].clone();
    let two = stack.connect_flow(USER, "two").await["connection_id"].clone();
    assert_ne!(one, two);
    let sealed_of = |item: &Item| -> Sealed {
        serde_dynamo::from_attribute_value(item["tokens"].clone()).unwrap()
    };
    let item_one = stack
        .item(&format!("USER#{USER}"), &format!("CONN#{one}"))
        .await
        .unwrap();
    let user = adsconnect::ids::OwnerId::parse(USER).unwrap();
    let conn_two = adsconnect::ids::ConnectionId::parse(&two).unwrap();
    let result = stack
        .amazon_callback
        .cipher
        .open(&sealed_of(&item_one), &token_context(&user, &conn_two))
        .await;
    assert!(matches!(result, Err(CipherError::Corrupt)), "{result:?}");
    let other_user = adsconnect::ids::OwnerId::parse(OTHER).unwrap();
    let conn_one = adsconnect::ids::ConnectionId::parse(&one).unwrap();
    let result = stack
        .amazon_callback
        .cipher
        .open(
            &sealed_of(&item_one),
            &token_context(&other_user, &conn_one),
        )
        .await;
    assert!(matches!(result, Err(CipherError::Corrupt)));
}
