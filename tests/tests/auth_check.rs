//! `auth-check`: Clerk session-token verification as the authorizer does it.

use std::sync::Arc;

use adsconnect::auth::authorizer::{self, SimpleResponse};
use adsconnect::auth::{Denial, SessionVerifier, VerifierConfig};
use adsconnect_tests::*;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "user_2authUser";
const APP: &str = "https://app.example.com";

fn pem_verifier(parties: &[&str]) -> SessionVerifier {
    SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: Some(signing_key().public_pem.clone()),
        jwks_url: format!("{ISSUER}/.well-known/jwks.json"),
        authorized_parties: parties.iter().map(|p| (*p).to_owned()).collect(),
    })
    .unwrap()
}

fn claims() -> Value {
    let mut c = adsconnect_dev::keys::session_claims(ISSUER, USER, "sess_2abc", 60);
    c["azp"] = json!(APP);
    c
}

fn token_with(header_edit: impl Fn(&mut Value), claims_edit: impl Fn(&mut Value)) -> String {
    let key = signing_key();
    let mut header = key.session_header();
    header_edit(&mut header);
    let mut c = claims();
    claims_edit(&mut c);
    key.sign(&header, &c)
}

fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn authorize(verifier: &SessionVerifier, headers: &[(&str, &str)]) -> SimpleResponse {
    let mut request = Request::new("GET", "/api/v1/users/me");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let event: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_value(request.authorizer_event("GET /api/v1/users/me")).unwrap();
    authorizer::authorize(verifier, &event).await
}

#[tokio::test]
async fn a_valid_session_token_passes_user_session_and_organization_on() {
    let verifier = pem_verifier(&[APP]);
    let token = token_with(
        |_| {},
        |c| {
            c["o"] = json!({"id": "org_2acme", "slg": "acme", "rol": "admin", "per": "", "fpm": ""})
        },
    );
    let response = authorize(&verifier, &[("Authorization", &format!("Bearer {token}"))]).await;
    assert!(response.is_authorized);
    assert_eq!(
        Value::Object(response.context),
        json!({"user_id": USER, "session_id": "sess_2abc", "org_id": "org_2acme", "org_slug": "acme", "org_role": "admin"})
    );
    // The simple-response shape API Gateway expects.
    let wire = serde_json::to_value(
        authorize(&verifier, &[("Authorization", &format!("Bearer {token}"))]).await,
    )
    .unwrap();
    assert_eq!(wire["isAuthorized"], true);
}

#[tokio::test]
async fn the_session_cookie_works_when_there_is_no_header() {
    let verifier = pem_verifier(&[]);
    let token = token_with(|_| {}, |_| {});
    let response = authorize(
        &verifier,
        &[("Cookie", &format!("theme=dark; __session={token}"))],
    )
    .await;
    assert!(response.is_authorized);
    let response = authorize(&verifier, &[]).await;
    assert!(!response.is_authorized);
    assert!(response.context.is_empty());
}

#[tokio::test]
async fn every_bad_token_is_denied_for_its_own_reason() {
    let verifier = pem_verifier(&[APP]);
    let key = signing_key();
    // Generated before `now` is read: key generation takes a while.
    let other_key = adsconnect_dev::keys::SigningKey::generate("ins_test_instance").unwrap();
    let now = chrono::Utc::now().timestamp();
    let valid = token_with(|_| {}, |_| {});
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut tampered_claims = claims();
    tampered_claims["sub"] = json!("user_2attacker");
    parts[1] = URL_SAFE_NO_PAD.encode(tampered_claims.to_string());
    let tampered = parts.join(".");
    let hs256 = {
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": key.kid});
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(key.public_pem.as_bytes()),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{message}.{sig}")
    };

    let cases: Vec<(&str, String, Denial)> = vec![
        ("not a JWT", "abc.def".into(), Denial::Malformed),
        ("bad base64", "a$b.c.d".into(), Denial::Malformed),
        ("four segments", format!("{valid}.x"), Denial::Malformed),
        (
            "expired by 6 s",
            token_with(|_| {}, |c| c["exp"] = json!(now - 6)),
            Denial::Expired,
        ),
        (
            "not active for 6 s",
            token_with(|_| {}, |c| c["nbf"] = json!(now + 6)),
            Denial::NotActiveYet,
        ),
        (
            "issued in the future",
            token_with(|_| {}, |c| c["iat"] = json!(now + 30)),
            Denial::IssuedInFuture,
        ),
        (
            "wrong issuer",
            token_with(|_| {}, |c| c["iss"] = json!("https://evil.example")),
            Denial::InvalidIssuer,
        ),
        (
            "issuer with trailing slash",
            token_with(|_| {}, |c| c["iss"] = json!(format!("{ISSUER}/"))),
            Denial::InvalidIssuer,
        ),
        (
            "azp not allowed",
            token_with(|_| {}, |c| c["azp"] = json!("https://evil.example")),
            Denial::UnauthorizedParty,
        ),
        (
            "azp missing with a list set",
            token_with(
                |_| {},
                |c| {
                    c.as_object_mut().unwrap().remove("azp");
                },
            ),
            Denial::UnauthorizedParty,
        ),
        (
            "alg none",
            unsigned(
                &json!({"alg": "none", "typ": "JWT", "kid": key.kid}),
                &claims(),
                "",
            ),
            Denial::Malformed,
        ),
        (
            "alg none with a signature",
            unsigned(
                &json!({"alg": "none", "typ": "JWT", "kid": key.kid}),
                &claims(),
                "AAAA",
            ),
            Denial::InvalidAlgorithm,
        ),
        (
            "HS256 signed with the public key",
            hs256,
            Denial::InvalidAlgorithm,
        ),
        (
            "signed by another key",
            other_key.sign(&other_key.session_header(), &claims()),
            Denial::InvalidSignature,
        ),
        ("tampered payload", tampered, Denial::InvalidSignature),
        (
            "kid missing",
            token_with(
                |h| {
                    h.as_object_mut().unwrap().remove("kid");
                },
                |_| {},
            ),
            Denial::MissingKid,
        ),
        (
            "JWT template category",
            token_with(|h| h["cat"] = json!("cl_B7d4PD222AAA"), |_| {}),
            Denial::NotSessionToken,
        ),
        (
            "machine token category",
            token_with(|h| h["cat"] = json!("cl_B7d4PD333AAA"), |_| {}),
            Denial::NotSessionToken,
        ),
        (
            "at+jwt",
            token_with(|h| h["typ"] = json!("at+jwt"), |_| {}),
            Denial::InvalidType,
        ),
        (
            "machine subject",
            token_with(|_| {}, |c| c["sub"] = json!("mch_2robot")),
            Denial::NotAUser,
        ),
        (
            "sid missing",
            token_with(
                |_| {},
                |c| {
                    c.as_object_mut().unwrap().remove("sid");
                },
            ),
            Denial::MissingSession,
        ),
        (
            "oversized",
            token_with(|_| {}, |c| c["pad"] = json!("x".repeat(9000))),
            Denial::TooLong,
        ),
    ];
    // Time checks use the clock the tokens were made with: a busy machine must
    // not turn "6 s in the future" into "1 s in the future".
    for (name, token, expected) in &cases {
        assert_eq!(
            verifier.verify_at(token, now).await.err(),
            Some(*expected),
            "{name}"
        );
        let response = authorize(&verifier, &[("Authorization", &format!("Bearer {token}"))]).await;
        assert!(!response.is_authorized || name.contains("6 s"), "{name}");
    }
    // Within the 5 s skew is still fine.
    let just_expired = token_with(|_| {}, |c| c["exp"] = json!(now - 3));
    assert!(verifier.verify_at(&just_expired, now).await.is_ok());
    let just_active = token_with(|_| {}, |c| c["nbf"] = json!(now + 4));
    assert!(verifier.verify_at(&just_active, now).await.is_ok());
    // Unknown header fields are tolerated; jku/x5u never choose the key.
    let extra = token_with(
        |h| {
            h["oiat"] = json!(now);
            h["jku"] = json!("https://evil.example/jwks");
        },
        |_| {},
    );
    assert!(verifier.verify_at(&extra, now).await.is_ok());
}

#[tokio::test]
async fn credentials_must_be_exactly_one_bearer_header() {
    let verifier = pem_verifier(&[]);
    let token = token_with(|_| {}, |_| {});
    for header in [
        format!("bearer {token}"),
        format!("Bearer  {token}"),
        format!("Bearer {token} "),
        format!("Basic {token}"),
        token.clone(),
        format!("Bearer {token},Bearer {token}"),
    ] {
        let response = authorize(&verifier, &[("Authorization", &header)]).await;
        assert!(!response.is_authorized, "{header:?}");
    }
    let twice = authorize(
        &verifier,
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Authorization", &format!("Bearer {token}")),
        ],
    )
    .await;
    assert!(!twice.is_authorized, "two Authorization values");
}

#[tokio::test]
async fn denials_are_logged_with_their_reason_and_never_the_token() {
    logs::capture();
    let verifier = pem_verifier(&[]);
    let expired = token_with(
        |_| {},
        |c| c["exp"] = json!(chrono::Utc::now().timestamp() - 100),
    );
    let response = authorize(
        &verifier,
        &[("Authorization", &format!("Bearer {expired}"))],
    )
    .await;
    assert!(!response.is_authorized);
    let text = logs::text();
    assert!(text.contains("reason=\"token-expired\""), "{text}");
    let signature = expired.rsplit('.').next().unwrap();
    assert!(!text.contains(signature) && !text.contains(&expired[..40]));
}

fn jwks_verifier(server: &MockServer) -> SessionVerifier {
    SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: None,
        jwks_url: format!("{}/.well-known/jwks.json", server.uri()),
        authorized_parties: vec![],
    })
    .unwrap()
}

#[tokio::test]
async fn jwks_keys_are_cached_and_unknown_kid_floods_fetch_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(signing_key().jwks()))
        .mount(&server)
        .await;
    let verifier = Arc::new(jwks_verifier(&server));
    // A flood of unknown key ids on a cold cache: one fetch, shared by all.
    let bogus: Vec<String> = (0..50)
        .map(|i| token_with(|h| h["kid"] = json!(format!("ins_bogus{i}")), |_| {}))
        .collect();
    let results = futures::future::join_all(bogus.iter().map(|t| {
        let verifier = Arc::clone(&verifier);
        async move { verifier.verify(t).await }
    }))
    .await;
    assert!(results.iter().all(|r| *r == Err(Denial::UnknownKid)));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "one fetch for the whole flood"
    );
    // The keys it brought are cached for real tokens…
    let token = token_with(|_| {}, |_| {});
    for _ in 0..5 {
        assert!(verifier.verify(&token).await.is_ok());
    }
    // …and a second flood inside the rate-limit interval fetches nothing.
    for t in &bogus {
        assert_eq!(verifier.verify(t).await, Err(Denial::UnknownKid));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn jwks_down_on_a_cold_cache_denies_with_a_clear_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let verifier = jwks_verifier(&server);
    let token = token_with(|_| {}, |_| {});
    assert_eq!(verifier.verify(&token).await, Err(Denial::KeysUnavailable));
}
