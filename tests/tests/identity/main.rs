//! Identity: Clerk session tokens as the authorizer (`auth-check`) verifies
//! them, the caller's profile and session (`users`: `/users/me`,
//! `/users/session`), and just-in-time provisioning from Clerk's Backend API.
//!
//! - `happy`: a valid token, the cookie, `/users/me` and its cost, the
//!   session, provisioning a user the webhook has not created yet;
//! - `attacks`: the token attack corpus (every hostile token refused for its
//!   own reason, by the verifier and by the whole authorizer), credential
//!   shapes, requests without an identity;
//! - `storms`: floods of unknown key ids against the JWKS cache;
//! - `faults`: Clerk's JWKS and Backend API down, or answering garbage;
//! - `leaks`: denials logged without the token; no secret of these flows in
//!   the table, the logs or any answer;
//! - `organizations`: the active organization's permissions in the
//!   authorizer's context, a malformed organization claim denied;
//! - `config`: the issuer the verifier starts with.

mod attacks;
mod config;
mod faults;
mod happy;
mod leaks;
mod organizations;
mod storms;

use std::sync::Arc;

use adsconnect::auth::{Denial, SessionVerifier, VerifiedSession, VerifierConfig, unix_now};
use adsconnect::entrypoints::authorizer::{self, SimpleResponse};
use adsconnect_dev::keys::SigningKey;
use adsconnect_tests::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "user_2authUser";
const APP: &str = "https://app.example.com";
const JWKS_PATH: &str = "/.well-known/jwks.json";

fn pem_verifier(parties: &[&str]) -> SessionVerifier {
    SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: Some(signing_key().public_pem.clone()),
        jwks_url: format!("{ISSUER}{JWKS_PATH}"),
        authorized_parties: parties.iter().map(|p| (*p).to_owned()).collect(),
    })
    .unwrap()
}

fn jwks_verifier(server: &MockServer, parties: &[&str]) -> SessionVerifier {
    jwks_verifier_at(&format!("{}{JWKS_PATH}", server.uri()), parties)
}

fn jwks_verifier_at(url: &str, parties: &[&str]) -> SessionVerifier {
    SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: None,
        jwks_url: url.to_owned(),
        authorized_parties: parties.iter().map(|p| (*p).to_owned()).collect(),
    })
    .unwrap()
}

/// Clerk's JWKS endpoint, serving the configured key.
async fn clerk_jwks() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(signing_key().jwks()))
        .mount(&server)
        .await;
    server
}

/// Claims of a good session token for the app, issued at `now`.
fn claims_at(now: i64) -> Value {
    let mut c = adsconnect_dev::keys::session_claims(ISSUER, USER, "sess_2abc", 60);
    c["iat"] = json!(now);
    c["nbf"] = json!(now - 10);
    c["exp"] = json!(now + 60);
    c["azp"] = json!(APP);
    c
}

/// A session token issued at `now`, edited, then signed with RS256 by `key`.
fn forge(
    key: &SigningKey,
    now: i64,
    header_edit: impl FnOnce(&mut Value),
    claims_edit: impl FnOnce(&mut Value),
) -> String {
    let mut header = key.session_header();
    header_edit(&mut header);
    let mut claims = claims_at(now);
    claims_edit(&mut claims);
    key.sign(&header, &claims)
}

/// Signed by the configured key: only the edit is wrong.
fn with_header(now: i64, edit: impl FnOnce(&mut Value)) -> String {
    forge(signing_key(), now, edit, |_| {})
}

fn with_claims(now: i64, edit: impl FnOnce(&mut Value)) -> String {
    forge(signing_key(), now, |_| {}, edit)
}

fn valid(now: i64) -> String {
    with_claims(now, |_| {})
}

fn remove(field: &str) -> impl FnOnce(&mut Value) + '_ {
    move |value| {
        value.as_object_mut().unwrap().remove(field);
    }
}

fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap()
}

fn event(headers: &[(&str, &str)]) -> Value {
    let mut request = Request::new("GET", "/api/v1/users/me");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.authorizer_event("GET /api/v1/users/me")
}

async fn authorize(verifier: &SessionVerifier, headers: &[(&str, &str)]) -> SimpleResponse {
    let event = serde_json::from_value(event(headers)).unwrap();
    authorizer::authorize(verifier, &event).await
}

/// Verifies all `tokens` at once, spread over the runtime's threads.
async fn verify_all(
    verifier: &Arc<SessionVerifier>,
    tokens: Vec<String>,
    now: i64,
) -> Vec<Result<VerifiedSession, Denial>> {
    let tasks = tokens.into_iter().map(|token| {
        let verifier = Arc::clone(verifier);
        tokio::spawn(async move { verifier.verify_at(&token, now).await })
    });
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn unknown_kids(now: i64, round: usize) -> Vec<String> {
    (0..200)
        .map(|i| with_header(now, |h| h["kid"] = json!(format!("ins_bogus{round}x{i}"))))
        .collect()
}

/// A stack where `USER` has signed up.
async fn stack_with_user() -> Stack {
    Stack::with_user(USER, "ada@example.com").await
}
