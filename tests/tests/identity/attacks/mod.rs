//! The attack corpus: every hostile token and credential shape is refused,
//! each for its own reason, by the verifier and by the whole authorizer; and
//! no user route answers without an identity.

use std::collections::HashSet;
use std::sync::OnceLock;

use adsconnect::auth::{MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME_SECONDS};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Map;
use tracing::instrument::WithSubscriber as _;

use super::*;

mod claims;
mod tokens;

use claims::*;
use tokens::*;

#[tokio::test]
async fn every_attack_token_is_denied_for_its_own_reason() {
    let attacker = attacker_jwks().await;
    let corpus = corpus(&attacker.uri());
    let counts: Vec<(&str, usize)> = corpus
        .iter()
        .map(|(category, attacks)| (*category, attacks.len()))
        .collect();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    println!("token attack corpus: {total} cases {counts:?}");
    // Floors, so the corpus cannot silently shrink.
    assert!(total >= 40, "{counts:?}");
    assert!(counts.iter().all(|(_, n)| *n >= 5), "{counts:?}");
    let names: HashSet<&str> = corpus.iter().flat_map(|(_, a)| a).map(|a| a.name).collect();
    assert_eq!(names.len(), total, "attack names are unique");

    let verifier = pem_verifier(&[APP]);
    let now = unix_now();
    for (category, attacks) in &corpus {
        for case in attacks {
            let name = format!("{category}: {}", case.name);
            let token = (case.token)(now);
            assert_eq!(
                verifier.verify_at(&token, now).await.err(),
                Some(case.pem),
                "{name}"
            );
            let (response, reason) = authorizer_verdict(&verifier, |now| {
                event(&[("Authorization", &format!("Bearer {}", (case.token)(now)))])
            })
            .await;
            assert_eq!(response, denied(), "{name}");
            assert_eq!(reason, case.authorizer.code(), "{name}");
        }
    }
    // jku, x5u and URL-shaped kids were never followed.
    assert_eq!(attacker.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn the_corpus_against_the_jwks_costs_one_key_set_fetch_and_nothing_else() {
    let clerk = clerk_jwks().await;
    let attacker = attacker_jwks().await;
    let verifier = jwks_verifier(&clerk, &[APP]);
    let now = unix_now();
    for (category, attacks) in corpus(&attacker.uri()) {
        for case in attacks {
            assert_eq!(
                verifier.verify_at(&(case.token)(now), now).await.err(),
                Some(case.jwks),
                "{category}: {}",
                case.name
            );
        }
    }
    // The configured URL, once (the rate limit covers every later unknown
    // kid); never a path, query or host made from a kid or a header field.
    let requests = clerk.received_requests().await.unwrap();
    let fetched: Vec<(&str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.url.path(), r.url.query()))
        .collect();
    assert_eq!(fetched, [(JWKS_PATH, None)]);
    assert_eq!(attacker.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn hostile_key_ids_are_refused_before_any_request() {
    let clerk = clerk_jwks().await;
    let attacker = attacker_jwks().await;
    let verifier = jwks_verifier(&clerk, &[]);
    let now = unix_now();
    for (name, kid, denial) in hostile_kids(&attacker.uri()) {
        let token = with_header(now, |h| h["kid"] = json!(kid));
        assert_eq!(
            verifier.verify_at(&token, now).await.err(),
            Some(denial),
            "{name}"
        );
    }
    // A cold cache, and still not even the key set was fetched.
    assert_eq!(clerk.received_requests().await.unwrap().len(), 0);
    assert_eq!(attacker.received_requests().await.unwrap().len(), 0);
}

/// The other side of the corpus: near misses that are fine, so the checks
/// above are not passing by refusing everything.
#[tokio::test]
async fn near_misses_of_the_corpus_still_pass() {
    let clerk = clerk_jwks().await;
    let attacker = attacker_jwks().await;
    let now = unix_now();
    let controls = [
        ("a plain session token", valid(now)),
        (
            "expired 5 s ago, within the skew",
            with_claims(now, |c| c["exp"] = json!(now - 5)),
        ),
        (
            "not before in 5 s, within the skew",
            with_claims(now, |c| c["nbf"] = json!(now + 5)),
        ),
        (
            "issued 5 s ahead, within the skew",
            with_claims(now, |c| c["iat"] = json!(now + 5)),
        ),
        (
            "a lifetime of exactly the bound",
            with_claims(now, |c| c["exp"] = json!(now + MAX_TOKEN_LIFETIME_SECONDS)),
        ),
        // Ignored, not refused: the key still comes from configuration.
        (
            "jku, x5u and jwk pointing at the attacker",
            with_header(now, |h| {
                h["jku"] = json!(format!("{}/jwks.json", attacker.uri()));
                h["x5u"] = json!(format!("{}/cert.pem", attacker.uri()));
                h["jwk"] = attacker_key().jwk();
                h["oiat"] = json!(now);
            }),
        ),
        (
            "typ jwt in lower case",
            with_header(now, |h| h["typ"] = json!("jwt")),
        ),
        (
            "typ and cat absent",
            with_header(now, |h| {
                remove("typ")(h);
                remove("cat")(h);
            }),
        ),
        (
            "a version 1 token: no session status",
            with_claims(now, |c| {
                remove("sts")(c);
                remove("v")(c);
            }),
        ),
        (
            "the largest token within the size limit",
            around_the_size_limit(now).0,
        ),
    ];
    for verifier in [pem_verifier(&[APP]), jwks_verifier(&clerk, &[APP])] {
        for (name, token) in &controls {
            assert_eq!(verifier.verify_at(token, now).await.err(), None, "{name}");
        }
    }
    assert_eq!(attacker.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn credentials_must_be_exactly_one_bearer_header_or_the_session_cookie() {
    let verifier = pem_verifier(&[]);
    let token = valid(unix_now());
    let bearer = format!("Bearer {token}");
    let cookie = format!("__session={token}");
    let two_values = {
        // As a Lambda event can carry them, rather than comma-joined.
        let mut e = event(&[]);
        e["headers"]["authorization"] = json!([bearer, bearer]);
        e
    };
    let malformed = Denial::MalformedCredentials;
    let missing = Denial::MissingToken;
    let cases: Vec<(&str, Value, Denial)> = vec![
        ("no credentials", event(&[]), missing),
        (
            "bearer in lower case",
            event(&[("Authorization", &format!("bearer {token}"))]),
            malformed,
        ),
        (
            "BEARER in upper case",
            event(&[("Authorization", &format!("BEARER {token}"))]),
            malformed,
        ),
        (
            "Basic scheme",
            event(&[("Authorization", &format!("Basic {token}"))]),
            malformed,
        ),
        (
            "token without a scheme",
            event(&[("Authorization", &token)]),
            malformed,
        ),
        (
            "Bearer without a token",
            event(&[("Authorization", "Bearer")]),
            malformed,
        ),
        (
            "Bearer and a space, no token",
            event(&[("Authorization", "Bearer ")]),
            malformed,
        ),
        (
            "two spaces",
            event(&[("Authorization", &format!("Bearer  {token}"))]),
            malformed,
        ),
        (
            "a leading space",
            event(&[("Authorization", &format!(" {bearer}"))]),
            malformed,
        ),
        (
            "a trailing space",
            event(&[("Authorization", &format!("{bearer} "))]),
            malformed,
        ),
        (
            "a tab for the space",
            event(&[("Authorization", &format!("Bearer\t{token}"))]),
            malformed,
        ),
        (
            "a trailing tab",
            event(&[("Authorization", &format!("{bearer}\t"))]),
            malformed,
        ),
        (
            "two tokens in one value",
            event(&[("Authorization", &format!("{bearer} {token}"))]),
            malformed,
        ),
        (
            "the token in quotes",
            event(&[("Authorization", &format!("Bearer \"{token}\""))]),
            malformed,
        ),
        (
            "two Authorization headers, comma-joined by API Gateway",
            event(&[("Authorization", &bearer), ("Authorization", &bearer)]),
            malformed,
        ),
        ("two Authorization values", two_values, malformed),
        // A bad header is final: the cookie is no fallback.
        (
            "a bad header and a valid cookie",
            event(&[
                ("Authorization", &format!("bearer {token}")),
                ("Cookie", &cookie),
            ]),
            malformed,
        ),
        (
            "an empty header and a valid cookie",
            event(&[("Authorization", ""), ("Cookie", &cookie)]),
            malformed,
        ),
        (
            "an empty cookie",
            event(&[("Cookie", "__session=")]),
            missing,
        ),
        (
            "the cookie name in another case",
            event(&[("Cookie", &format!("__Session={token}"))]),
            missing,
        ),
        (
            "the cookie name with a prefix",
            event(&[("Cookie", &format!("x__session={token}"))]),
            missing,
        ),
        (
            "the cookie value in quotes",
            event(&[("Cookie", &format!("__session=\"{token}\""))]),
            missing,
        ),
        // The first `__session` decides; a valid one behind it is not searched for.
        (
            "a valid cookie behind a bad one",
            event(&[("Cookie", &format!("__session=x y; {cookie}"))]),
            missing,
        ),
    ];
    println!("credential transport corpus: {} cases", cases.len());
    assert!(cases.len() >= 20);
    for (name, event, denial) in &cases {
        let request: ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_value(event.clone()).unwrap();
        assert_eq!(
            authorizer::session_token(&request.headers, &request.cookies).err(),
            Some(*denial),
            "{name}"
        );
        let (response, reason) = authorizer_verdict(&verifier, |_| event.clone()).await;
        assert_eq!(response, denied(), "{name}");
        assert_eq!(reason, denial.code(), "{name}");
    }
    // With both, the header alone decides: never a mix of the two identities.
    let other = with_claims(unix_now(), |c| c["sub"] = json!("user_2cookieUser"));
    let response = authorize(
        &verifier,
        &[
            ("Authorization", &bearer),
            ("Cookie", &format!("__session={other}")),
        ],
    )
    .await;
    assert!(response.is_authorized);
    assert_eq!(response.context["user_id"], USER);
}

// ---------------------------------------------------------------------------
// No identity at all.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn without_authorizer_context_every_user_route_is_401() {
    let stack = stack_with_user().await;
    for (verb, route) in [
        ("GET", "/api/v1/users/me"),
        ("GET", "/api/v1/users/me/full"),
        ("GET", "/api/v1/users/me/accounts"),
        ("GET", "/api/v1/users/session"),
        ("GET", "/api/v1/settings"),
        ("PATCH", "/api/v1/settings"),
        ("POST", "/api/v1/settings/reset"),
        ("GET", "/api/v1/settings/defaults"),
    ] {
        let request = Request::new(verb, route).json(&json!({}));
        let response = stack.send(&stack.users, &request, None).await;
        assert_eq!(response.status, 401, "{verb} {route}");
        assert_eq!(response.error_code(), "UNAUTHENTICATED");
    }
    // A context whose user id is not a Clerk user id is no identity either.
    let response = stack
        .send(
            &stack.users,
            &Request::new("GET", "/api/v1/users/me"),
            Some("mch_1"),
        )
        .await;
    assert_eq!(response.status, 401);
}
