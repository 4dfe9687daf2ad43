//! Secrets never leak from the identity flows: the authorizer's denials are
//! logged with their reason and never the token; and with every log line of
//! the authorizer, `/users/me`, provisioning and their failures captured at
//! TRACE level, the table, the logs and every answer hold no secret.

use adsconnect_tests::leaks::{Secrets, Transcript, USER, assert_none_leaked, now};
use adsconnect_tests::proxy::Fault;

use super::*;

const JIT: &str = "user_2justintime";

#[tokio::test]
async fn denials_are_logged_with_their_reason_and_never_the_token() {
    logs::capture();
    let verifier = pem_verifier(&[]);
    let expired = with_claims(unix_now(), |c| c["exp"] = json!(unix_now() - 100));
    let response = authorize(
        &verifier,
        &[("Authorization", &format!("Bearer {expired}"))],
    )
    .await;
    assert!(!response.is_authorized);
    let text = logs::text();
    assert!(text.contains("reason=\"token-expired\""), "{text}");
    let signature = signature_of(&expired);
    assert!(!text.contains(signature) && !text.contains(&expired[..40]));
}

#[tokio::test]
async fn no_secret_appears_in_the_table_the_logs_or_any_answer() {
    let (logs, stack, proxy) = adsconnect_tests::leaks::stack().await;
    let t = Transcript::new(&stack);
    let jwt = t.jwt.clone();

    // The authorizer, networkless and with Clerk's JWKS: a valid token, an
    // expired one, one with a forged signature.
    let expired = {
        let mut claims = adsconnect_dev::keys::session_claims(ISSUER, USER, "sess_2old", 60);
        claims["exp"] = json!(now() - 3600);
        claims["iat"] = json!(now() - 7200);
        claims["nbf"] = json!(now() - 7200);
        signing_key().sign(&signing_key().session_header(), &claims)
    };
    let forged = format!("{}AAAA", &jwt[..jwt.len() - 4]);
    let jwks = clerk_jwks().await;
    let verifiers = [pem_verifier(&[]), jwks_verifier(&jwks, &[])];
    for verifier in &verifiers {
        for token in [&jwt, &expired, &forged] {
            let header = format!("Bearer {token}");
            let answer = authorize(verifier, &[("authorization", &header)]).await;
            t.answers
                .lock()
                .unwrap()
                .push(serde_json::to_string(&answer).unwrap());
        }
    }

    // The caller's profile and session, and a user the webhook has not
    // created yet.
    stack.create_user(USER, "s@example.com").await;
    for path in [
        "/api/v1/health",
        "/api/v1/users/me",
        "/api/v1/users/me/full",
        "/api/v1/users/me/accounts",
        "/api/v1/users/session",
    ] {
        assert_eq!(t.users("GET", path, None).await.status, 200, "{path}");
    }
    stack
        .clerk_has_user(&clerk_user(JIT, "jit@example.com", 1_000))
        .await;
    t.send(
        &stack.users,
        Request::new("GET", "/api/v1/users/me"),
        Some(JIT),
    )
    .await;

    // Dependencies failing: DynamoDB failing, Clerk failing.
    proxy.fail_after("DynamoDB", 0, Fault::ServerError);
    assert_eq!(t.users("GET", "/api/v1/users/me", None).await.status, 503);
    proxy.heal();
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("clerk is down"))
        .mount(&stack.clerk)
        .await;
    t.send(
        &stack.users,
        Request::new("GET", "/api/v1/users/me"),
        Some("user_2nobody"),
    )
    .await;
    t.dump().await;

    // What must appear nowhere.
    let mut secrets = Secrets::new(&jwt);
    secrets.session_token("an expired session token", &expired);
    assert_none_leaked(&secrets, &[], &logs.text(), &t);
}
