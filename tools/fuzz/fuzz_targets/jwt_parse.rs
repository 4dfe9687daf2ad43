//! Clerk session-token verification (PEM mode: no network) and the
//! authorizer's credential extraction.
//!
//! Input, by its first byte:
//! - `T` + token: the token as given to the verifier;
//! - `H` + lines: each line `a…` is an `Authorization` header value, each line
//!   `c…` a `Cookie` header; the authorizer's extraction, then the verifier;
//! - `S` + `HEADER_JSON \n CLAIMS_JSON`: a token with that header and those
//!   claims, correctly signed with the configured key, so the claim checks
//!   behind the signature are fuzzed too;
//! - anything else: the whole input as a token.
//!
//! Properties: nothing panics; no token that the fuzzer wrote itself (`T`,
//! `H`) is ever accepted, as it cannot carry a valid signature; a signed token
//! is accepted only when its claims satisfy every documented rule (the
//! lifetime bound and the session status included).

#![no_main]

use std::sync::LazyLock;

use adsconnect::auth::{
    CLOCK_SKEW_SECONDS, Denial, MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME_SECONDS, SessionVerifier,
    VerifiedSession, VerifierConfig,
};
use adsconnect::entrypoints::authorizer::session_token;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::executor::block_on;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::Deserialize;
use serde_json::Value;

const ISSUER: &str = "https://clerk.example.com";
const PARTY: &str = "https://app.example.com";
/// The verifier's clock; the seeds' claims are built around it.
const NOW: i64 = 1_795_694_400;

struct Fixture {
    key: RsaKeyPair,
    rng: SystemRandom,
    verifier: SessionVerifier,
}

/// A fresh key pair per process: no private key is committed anywhere.
static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
    let pkcs8 = private.to_pkcs8_der().expect("PKCS#8 DER");
    let key = RsaKeyPair::from_pkcs8(pkcs8.as_bytes()).expect("ring reads the key");
    let pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("public key PEM");
    let verifier = SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: Some(pem),
        jwks_url: format!("{ISSUER}/.well-known/jwks.json"),
        authorized_parties: vec![format!("{PARTY}/")],
    })
    .expect("PEM verifier");
    Fixture {
        key,
        rng: SystemRandom::new(),
        verifier,
    }
});

fn verify(token: &str) -> Result<VerifiedSession, Denial> {
    // PEM mode never waits on anything: the future completes on first poll.
    block_on(FIXTURE.verifier.verify_at(token, NOW))
}

fn unsigned_token(token: &str) {
    let result = verify(token);
    assert!(result.is_err(), "forged token accepted: {token:?}");
    if token.len() > MAX_TOKEN_BYTES {
        assert_eq!(result, Err(Denial::TooLong));
    }
}

fn credentials(lines: &[u8]) {
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for line in lines.split(|&b| b == b'\n') {
        match line.split_first() {
            Some((b'a', value)) => {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.append(http::header::AUTHORIZATION, value);
                }
            }
            Some((b'c', value)) => cookies.push(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
    }
    let auth: Vec<&HeaderValue> = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .collect();
    match session_token(&headers, &cookies) {
        Ok(token) => {
            assert!(!token.is_empty());
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            );
            match auth.as_slice() {
                [] => assert!(
                    cookies
                        .iter()
                        .any(|c| c.contains(&format!("__session={token}")))
                ),
                [value] => assert_eq!(value.as_bytes(), format!("Bearer {token}").as_bytes()),
                _ => panic!("token taken from one of several Authorization headers"),
            }
            unsigned_token(token);
        }
        Err(denial) => {
            assert!(matches!(
                denial,
                Denial::MissingToken | Denial::MalformedCredentials
            ));
            if !auth.is_empty() {
                assert_eq!(denial, Denial::MalformedCredentials);
            }
        }
    }
}

#[derive(Deserialize)]
struct HeaderView {
    alg: Option<Value>,
    kid: Option<Value>,
    typ: Option<Value>,
    cat: Option<Value>,
}

#[derive(Deserialize)]
struct ClaimsView {
    iss: Option<Value>,
    sub: Option<Value>,
    sid: Option<Value>,
    azp: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    /// `Some` even for `null`, which is refused too.
    #[serde(default, deserialize_with = "present")]
    sts: Option<Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

fn signed(input: &[u8]) {
    let Some(split) = input.iter().position(|&b| b == b'\n') else {
        return;
    };
    let (header, claims) = (&input[..split], &input[split + 1..]);
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let Fixture { key, rng, .. } = &*FIXTURE;
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, rng, message.as_bytes(), &mut signature)
        .expect("RSA signing");
    let token = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&signature));

    let Ok(session) = verify(&token) else { return };

    // Accepted: every rule must hold, judged on the JSON as written. Only the
    // members the rules name are read (serde_json checks neither the UTF-8 nor
    // the number range of members it skips, here or in the verifier).
    assert!(token.len() <= MAX_TOKEN_BYTES);
    let header: HeaderView = serde_json::from_slice(header).expect("accepted header is JSON");
    assert_eq!(header.alg.as_ref().and_then(Value::as_str), Some("RS256"));
    assert!(
        header
            .kid
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty())
    );
    if let Some(typ) = &header.typ {
        assert!(typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("jwt")));
    }
    if let Some(cat) = &header.cat {
        assert!(
            cat == "cl_B7d4PD111AAA" || cat == "cl_I7d4PD111III",
            "category {cat}"
        );
    }
    let claims: ClaimsView = serde_json::from_slice(claims).expect("accepted claims are JSON");
    let text = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).map(str::to_owned);
    let int = |v: &Option<Value>| v.as_ref().and_then(Value::as_i64);
    assert_eq!(text(&claims.iss).as_deref(), Some(ISSUER));
    let exp = int(&claims.exp).expect("exp is required");
    let iat = int(&claims.iat).expect("iat is required");
    assert!(
        NOW <= exp.saturating_add(CLOCK_SKEW_SECONDS),
        "expired token accepted"
    );
    assert!(
        iat <= NOW + CLOCK_SKEW_SECONDS,
        "token from the future accepted"
    );
    assert!(
        exp.saturating_sub(iat) <= MAX_TOKEN_LIFETIME_SECONDS,
        "token living longer than the bound accepted"
    );
    if let Some(sts) = &claims.sts {
        assert_eq!(sts.as_str(), Some("active"), "inactive session accepted");
    }
    if let Some(nbf) = int(&claims.nbf) {
        assert!(
            nbf <= NOW + CLOCK_SKEW_SECONDS,
            "token not yet valid accepted"
        );
    }
    assert_eq!(
        text(&claims.azp).as_deref(),
        Some(PARTY),
        "token for another party accepted"
    );
    assert_eq!(Some(session.user_id.as_str()), text(&claims.sub).as_deref());
    assert!(session.user_id.as_str().starts_with("user_"));
    assert_eq!(
        Some(session.session_id.as_str()),
        text(&claims.sid).as_deref()
    );
    assert!(session.session_id.as_str().starts_with("sess_"));
    assert_eq!((session.issued_at, session.expires_at), (iat, exp));
}

fuzz_target!(
    // Key generation takes seconds: before fuzzing, not inside the first
    // input's time limit.
    init: {
        LazyLock::force(&FIXTURE);
    },
    |data: &[u8]| match data.split_first() {
        Some((b'T', rest)) => unsigned_token(&String::from_utf8_lossy(rest)),
        Some((b'H', rest)) => credentials(rest),
        Some((b'S', rest)) => signed(rest),
        _ => unsigned_token(&String::from_utf8_lossy(data)),
    }
);
