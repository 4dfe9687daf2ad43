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

/// A key pair the verifier has never been told about.
fn attacker_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate("ins_attacker").unwrap())
}

/// The attacker's key server, answering every path with the attacker's key: a
/// verifier that followed `jku`, `x5u` or a URL-shaped kid would fetch here.
async fn attacker_jwks() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(attacker_key().jwks()))
        .mount(&server)
        .await;
    server
}

fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// Signs header and claims given as JSON text, which can say what a `Value`
/// cannot: a field twice, a header that is no object, no JSON at all.
fn sign_text(header: &str, claims: &str, alg: Algorithm, key: &EncodingKey) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = adsconnect_dev::keys::jws_sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// The configured key's private half, for algorithms and JSON `sign` cannot make.
fn configured_private_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(signing_key().private_pem.as_bytes()).unwrap()
}

fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(&header.to_string()),
        b64(&claims.to_string())
    )
}

fn with_signature(token: &str, signature: &str) -> String {
    let (message, _) = token.rsplit_once('.').unwrap();
    format!("{message}.{signature}")
}

/// The same signature bytes, spelled with non-zero unused bits in the last
/// character: accepting it would make tokens malleable.
fn non_canonical(signature: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (head, last) = signature.split_at(signature.len() - 1);
    let index = ALPHABET
        .iter()
        .position(|&c| c == last.as_bytes()[0])
        .unwrap();
    // 256 bytes in 342 characters: the last one carries 2 bits and 4 unused.
    assert_eq!(index % 16, 0, "{signature}");
    format!("{head}{}", ALPHABET[index + 1] as char)
}

/// The largest valid token within the size limit, and the next larger one.
fn around_the_size_limit(now: i64) -> (String, String) {
    let padded = |n: usize| with_claims(now, |c| c["pad"] = json!("x".repeat(n)));
    // Each pad byte adds 4/3 of a character; start a little below the limit.
    let mut n = (MAX_TOKEN_BYTES - valid(now).len()) * 3 / 4 - 16;
    let mut within = padded(n);
    assert!(within.len() <= MAX_TOKEN_BYTES);
    loop {
        let next = padded(n + 1);
        if next.len() > MAX_TOKEN_BYTES {
            return (within, next);
        }
        (n, within) = (n + 1, next);
    }
}

/// The whole authorizer on the event `make(now)`: its response and the denial
/// reason it logged. Repeated when the clock ticks during the call, so a token
/// made 6 s ahead of `now` is judged at `now` and not a second later.
async fn authorizer_verdict(
    verifier: &SessionVerifier,
    make: impl Fn(i64) -> Value,
) -> (SimpleResponse, String) {
    loop {
        let log = logs::Buffer::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let now = unix_now();
        let event: ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_value(make(now)).unwrap();
        let response = authorizer::authorize(verifier, &event)
            .with_subscriber(subscriber)
            .await;
        if unix_now() != now {
            continue;
        }
        let text = log.text();
        let reason = text
            .split_once("reason=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or_else(String::new, |(code, _)| code.to_owned());
        return (response, reason);
    }
}

fn denied() -> SimpleResponse {
    SimpleResponse {
        is_authorized: false,
        context: Map::new(),
    }
}

// ---------------------------------------------------------------------------
// The attack corpus.
// ---------------------------------------------------------------------------

/// One hostile token and the reason each verifier must refuse it for.
struct Attack {
    name: &'static str,
    /// Made for a given clock, so time cases stay exact on a busy machine.
    token: Box<dyn Fn(i64) -> String>,
    /// With the PEM key (`CLERK_JWT_KEY`).
    pem: Denial,
    /// With the JWKS, where the `kid` picks the key.
    jwks: Denial,
    /// By the whole authorizer, which refuses text that cannot be a token
    /// before verifying anything.
    authorizer: Denial,
}

fn attack(name: &'static str, denial: Denial, token: impl Fn(i64) -> String + 'static) -> Attack {
    Attack {
        name,
        token: Box::new(token),
        pem: denial,
        jwks: denial,
        authorizer: denial,
    }
}

impl Attack {
    fn with_jwks(self, jwks: Denial) -> Self {
        Self { jwks, ..self }
    }

    fn at_authorizer(self, authorizer: Denial) -> Self {
        Self { authorizer, ..self }
    }
}

/// Every token attack, by category. `attacker` is the base URL of the
/// attacker's key server, which header fields and kids point at.
fn corpus(attacker: &str) -> Vec<(&'static str, Vec<Attack>)> {
    vec![
        ("algorithm", algorithm_attacks()),
        ("key and kid", key_attacks(attacker)),
        ("header fields", header_attacks(attacker)),
        ("time claims", time_attacks()),
        ("issuer and party", party_attacks()),
        ("token kind", kind_attacks()),
        ("structure, encoding, size", structure_attacks()),
    ]
}

fn algorithm_attacks() -> Vec<Attack> {
    /// The session header claiming `alg`, over the claims and the valid RS256
    /// signature, kept or stripped.
    fn claiming(alg: &'static str, keep_signature: bool) -> impl Fn(i64) -> String {
        move |now| {
            let mut header = signing_key().session_header();
            header["alg"] = json!(alg);
            let signature = if keep_signature {
                signature_of(&valid(now)).to_owned()
            } else {
                String::new()
            };
            unsigned(&header, &claims_at(now), &signature)
        }
    }
    /// Really signed with `alg` and `key`, the header saying `name`.
    fn signed_as(
        name: &'static str,
        alg: Algorithm,
        key: fn() -> EncodingKey,
    ) -> impl Fn(i64) -> String {
        move |now| {
            let mut header = signing_key().session_header();
            header["alg"] = json!(name);
            sign_text(
                &header.to_string(),
                &claims_at(now).to_string(),
                alg,
                &key(),
            )
        }
    }
    // The classic confusion: an HMAC keyed with the public key the verifier holds.
    fn public_pem_as_secret() -> EncodingKey {
        EncodingKey::from_secret(signing_key().public_pem.as_bytes())
    }
    vec![
        // An empty segment makes it no JWS at all: refused before `alg` is read.
        attack(
            "alg none, signature stripped",
            Denial::Malformed,
            claiming("none", false),
        ),
        attack(
            "alg none, signature kept",
            Denial::InvalidAlgorithm,
            claiming("none", true),
        ),
        attack("alg None", Denial::InvalidAlgorithm, claiming("None", true)),
        attack("alg NONE", Denial::InvalidAlgorithm, claiming("NONE", true)),
        attack(
            "HS256 keyed with the RSA public key",
            Denial::InvalidAlgorithm,
            signed_as("HS256", Algorithm::HS256, public_pem_as_secret),
        ),
        attack(
            "HS384 keyed with the RSA public key",
            Denial::InvalidAlgorithm,
            signed_as("HS384", Algorithm::HS384, public_pem_as_secret),
        ),
        attack(
            "HS512 keyed with the RSA public key",
            Denial::InvalidAlgorithm,
            signed_as("HS512", Algorithm::HS512, public_pem_as_secret),
        ),
        attack(
            "PS256 by the configured key",
            Denial::InvalidAlgorithm,
            signed_as("PS256", Algorithm::PS256, configured_private_key),
        ),
        attack(
            "RS512 by the configured key",
            Denial::InvalidAlgorithm,
            signed_as("RS512", Algorithm::RS512, configured_private_key),
        ),
        attack(
            "alg rs256 in lower case",
            Denial::InvalidAlgorithm,
            signed_as("rs256", Algorithm::RS256, configured_private_key),
        ),
        attack(
            "alg with a trailing space",
            Denial::InvalidAlgorithm,
            signed_as("RS256 ", Algorithm::RS256, configured_private_key),
        ),
        attack("alg missing", Denial::Malformed, |now| {
            with_header(now, remove("alg"))
        }),
        attack("alg a list", Denial::Malformed, |now| {
            with_header(now, |h| h["alg"] = json!(["RS256"]))
        }),
    ]
}

/// Key ids meant to reach a file path, a URL, a query or a log line, and why
/// each is refused. None of them may ever cause a request.
fn hostile_kids(attacker: &str) -> Vec<(&'static str, String, Denial)> {
    let kid = &signing_key().kid;
    vec![
        (
            "kid path traversal",
            "../../etc/passwd".into(),
            Denial::UnknownKid,
        ),
        (
            "kid traversal after the configured kid",
            format!("{kid}/../../jwks.json"),
            Denial::UnknownKid,
        ),
        (
            "kid percent-encoded traversal",
            "..%2F..%2Fetc%2Fpasswd".into(),
            Denial::UnknownKid,
        ),
        (
            "kid the attacker's JWKS URL",
            format!("{attacker}/jwks.json"),
            Denial::UnknownKid,
        ),
        (
            "kid SQL injection",
            format!("{kid}' OR '1'='1"),
            Denial::UnknownKid,
        ),
        (
            "kid with a newline",
            format!("{kid}\nins_attacker"),
            Denial::UnknownKid,
        ),
        ("kid with a NUL", format!("{kid}\0"), Denial::UnknownKid),
        (
            "kid with a Cyrillic look-alike",
            kid.replace('e', "\u{435}"),
            Denial::UnknownKid,
        ),
        ("kid of 200 characters", "a".repeat(200), Denial::UnknownKid),
        ("kid of 10 KB", "a".repeat(10 * 1024), Denial::TooLong),
        ("kid empty", String::new(), Denial::MissingKid),
    ]
}

fn key_attacks(attacker: &str) -> Vec<Attack> {
    let mut attacks = vec![
        // With the PEM key the kid chooses nothing; with the JWKS it chooses
        // no key at all.
        attack(
            "RS256 by a key not in the JWKS, under its own kid",
            Denial::InvalidSignature,
            |now| forge(attacker_key(), now, |_| {}, |_| {}),
        )
        .with_jwks(Denial::UnknownKid),
        attack(
            "RS256 by a key not in the JWKS, under the configured kid",
            Denial::InvalidSignature,
            |now| {
                forge(
                    attacker_key(),
                    now,
                    |h| h["kid"] = json!(signing_key().kid),
                    |_| {},
                )
            },
        ),
        attack(
            "claims swapped under a valid signature",
            Denial::InvalidSignature,
            |now| {
                let other = with_claims(now, |c| c["sub"] = json!("user_2attacker"));
                with_signature(&other, signature_of(&valid(now)))
            },
        ),
        attack(
            "header edited under a valid signature",
            Denial::InvalidSignature,
            |now| {
                let other = with_header(now, |h| h["typ"] = json!("jwt"));
                with_signature(&other, signature_of(&valid(now)))
            },
        ),
        attack("kid missing", Denial::MissingKid, |now| {
            with_header(now, remove("kid"))
        }),
        attack("kid null", Denial::MissingKid, |now| {
            with_header(now, |h| h["kid"] = Value::Null)
        }),
        attack("kid an object", Denial::Malformed, |now| {
            with_header(now, |h| h["kid"] = json!({"$ne": null}))
        }),
    ];
    attacks.extend(
        hostile_kids(attacker)
            .into_iter()
            .map(|(name, kid, denial)| {
                attack(name, denial, move |now| {
                    with_header(now, |h| h["kid"] = json!(kid))
                })
            }),
    );
    attacks
}

fn header_attacks(attacker: &str) -> Vec<Attack> {
    /// Header JSON text signed by the configured key: only the header is bad.
    fn header_text(text: String) -> impl Fn(i64) -> String {
        move |now| {
            sign_text(
                &text,
                &claims_at(now).to_string(),
                Algorithm::RS256,
                &configured_private_key(),
            )
        }
    }
    /// Signed by the attacker under the configured kid, the header pointing
    /// at where the attacker would like the key to come from.
    fn pointing(field: &'static str, value: Value) -> impl Fn(i64) -> String {
        move |now| {
            forge(
                attacker_key(),
                now,
                |h| {
                    h["kid"] = json!(signing_key().kid);
                    h[field] = value.clone();
                },
                |_| {},
            )
        }
    }
    let kid = &signing_key().kid;
    let cat = adsconnect_dev::keys::SESSION_CATEGORY;
    let jku = format!("{attacker}/jwks.json");
    vec![
        // Signed by the real key: a `crit` extension we cannot honour refuses it.
        attack(
            "crit naming an extension",
            Denial::Malformed,
            header_text(format!(
                r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}","crit":["exp"]}}"#
            )),
        ),
        // serde refuses a field twice, so no parser can pick the other one.
        attack(
            "alg twice, RS256 first",
            Denial::Malformed,
            header_text(format!(
                r#"{{"alg":"RS256","alg":"none","typ":"JWT","kid":"{kid}"}}"#
            )),
        ),
        attack(
            "alg twice, none first",
            Denial::Malformed,
            header_text(format!(
                r#"{{"alg":"none","alg":"RS256","typ":"JWT","kid":"{kid}"}}"#
            )),
        ),
        attack(
            "kid twice",
            Denial::Malformed,
            header_text(format!(
                r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}","kid":"ins_attacker"}}"#
            )),
        ),
        attack(
            "typ twice",
            Denial::Malformed,
            header_text(format!(
                r#"{{"alg":"RS256","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#
            )),
        ),
        attack(
            "cat twice",
            Denial::Malformed,
            header_text(format!(
                r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}","cat":"{cat}","cat":"cl_B7d4PD222AAA"}}"#
            )),
        ),
        attack(
            "header a JSON array",
            Denial::Malformed,
            header_text(format!(r#"[{{"alg":"RS256","kid":"{kid}"}}]"#)),
        ),
        attack("typ not a string", Denial::Malformed, |now| {
            with_header(now, |h| h["typ"] = json!(1))
        }),
        attack(
            "jku to the attacker's JWKS",
            Denial::InvalidSignature,
            pointing("jku", json!(jku)),
        ),
        attack(
            "jku to the attacker's JWKS, under the attacker's kid",
            Denial::InvalidSignature,
            move |now| forge(attacker_key(), now, |h| h["jku"] = json!(jku), |_| {}),
        )
        .with_jwks(Denial::UnknownKid),
        attack(
            "x5u to the attacker's certificate",
            Denial::InvalidSignature,
            pointing("x5u", json!(format!("{attacker}/cert.pem"))),
        ),
        attack(
            "jwk embedding the attacker's key",
            Denial::InvalidSignature,
            pointing("jwk", attacker_key().jwk()),
        ),
        attack(
            "x5c with a made-up chain",
            Denial::InvalidSignature,
            pointing("x5c", json!([b64("not a certificate")])),
        ),
    ]
}

fn time_attacks() -> Vec<Attack> {
    fn claim(name: &'static str, value: fn(i64) -> Value) -> impl Fn(i64) -> String {
        move |now| with_claims(now, |c| c[name] = value(now))
    }
    vec![
        attack(
            "expired by 6 s",
            Denial::Expired,
            claim("exp", |now| json!(now - 6)),
        ),
        attack(
            "expired at the epoch",
            Denial::Expired,
            claim("exp", |_| json!(0)),
        ),
        attack(
            "exp at the smallest i64",
            Denial::Expired,
            claim("exp", |_| json!(i64::MIN)),
        ),
        attack(
            "not before in 6 s",
            Denial::NotActiveYet,
            claim("nbf", |now| json!(now + 6)),
        ),
        attack(
            "not before at the largest i64",
            Denial::NotActiveYet,
            claim("nbf", |_| json!(i64::MAX)),
        ),
        attack(
            "issued 6 s in the future",
            Denial::IssuedInFuture,
            claim("iat", |now| json!(now + 6)),
        ),
        attack(
            "issued at the largest i64",
            Denial::IssuedInFuture,
            claim("iat", |_| json!(i64::MAX)),
        ),
        // `exp − iat` above MAX_TOKEN_LIFETIME_SECONDS, however current.
        attack(
            "lifetime one second over the bound",
            Denial::LifetimeTooLong,
            claim("exp", |now| json!(now + MAX_TOKEN_LIFETIME_SECONDS + 1)),
        ),
        attack("a year-long token", Denial::LifetimeTooLong, |now| {
            with_claims(now, |c| c["exp"] = json!(now + 365 * 86_400))
        }),
        attack(
            "issued an hour ago, expiring in a minute",
            Denial::LifetimeTooLong,
            |now| {
                with_claims(now, |c| {
                    c["iat"] = json!(now - 3_600);
                    c["nbf"] = json!(now - 3_610);
                })
            },
        ),
        attack(
            "exp at the largest i64",
            Denial::LifetimeTooLong,
            claim("exp", |_| json!(i64::MAX)),
        ),
        attack(
            "iat at the smallest i64",
            Denial::LifetimeTooLong,
            claim("iat", |_| json!(i64::MIN)),
        ),
        attack("exp missing", Denial::Malformed, |now| {
            with_claims(now, remove("exp"))
        }),
        attack("iat missing", Denial::Malformed, |now| {
            with_claims(now, remove("iat"))
        }),
        attack(
            "exp a string",
            Denial::Malformed,
            claim("exp", |now| json!((now + 60).to_string())),
        ),
        attack(
            "exp a fraction",
            Denial::Malformed,
            claim("exp", |now| json!(now as f64 + 60.5)),
        ),
        attack(
            "exp beyond i64",
            Denial::Malformed,
            claim("exp", |_| json!(u64::MAX)),
        ),
    ]
}

fn party_attacks() -> Vec<Attack> {
    fn claim(name: &'static str, value: Value) -> impl Fn(i64) -> String {
        move |now| with_claims(now, |c| c[name] = value.clone())
    }
    vec![
        attack(
            "iss another instance",
            Denial::InvalidIssuer,
            claim("iss", json!("https://clerk.evil.example")),
        ),
        attack("iss missing", Denial::InvalidIssuer, |now| {
            with_claims(now, remove("iss"))
        }),
        attack(
            "iss with a trailing slash",
            Denial::InvalidIssuer,
            claim("iss", json!(format!("{ISSUER}/"))),
        ),
        attack(
            "iss over http",
            Denial::InvalidIssuer,
            claim("iss", json!(ISSUER.replace("https:", "http:"))),
        ),
        attack(
            "iss in upper case",
            Denial::InvalidIssuer,
            claim("iss", json!(ISSUER.to_uppercase())),
        ),
        attack(
            "iss with the configured one as a prefix",
            Denial::InvalidIssuer,
            claim("iss", json!(format!("{ISSUER}.evil.example"))),
        ),
        attack(
            "iss a list",
            Denial::Malformed,
            claim("iss", json!([ISSUER])),
        ),
        attack(
            "azp not allowed",
            Denial::UnauthorizedParty,
            claim("azp", json!("https://evil.example")),
        ),
        attack(
            "azp missing with a list set",
            Denial::UnauthorizedParty,
            |now| with_claims(now, remove("azp")),
        ),
        attack(
            "azp null with a list set",
            Denial::UnauthorizedParty,
            claim("azp", Value::Null),
        ),
        attack(
            "azp with the allowed one as a prefix",
            Denial::UnauthorizedParty,
            claim("azp", json!(format!("{APP}.evil.example"))),
        ),
        attack(
            "azp over http",
            Denial::UnauthorizedParty,
            claim("azp", json!(APP.replace("https:", "http:"))),
        ),
        attack("azp a list", Denial::Malformed, claim("azp", json!([APP]))),
    ]
}

fn kind_attacks() -> Vec<Attack> {
    fn header(name: &'static str, value: &'static str) -> impl Fn(i64) -> String {
        move |now| with_header(now, |h| h[name] = json!(value))
    }
    fn claim(name: &'static str, value: &'static str) -> impl Fn(i64) -> String {
        move |now| with_claims(now, |c| c[name] = json!(value))
    }
    vec![
        attack(
            "JWT template category",
            Denial::NotSessionToken,
            header("cat", "cl_B7d4PD222AAA"),
        ),
        attack(
            "machine token category",
            Denial::NotSessionToken,
            header("cat", "cl_B7d4PD333AAA"),
        ),
        attack(
            "made-up category",
            Denial::NotSessionToken,
            header("cat", "cl_forged"),
        ),
        attack("typ at+jwt", Denial::InvalidType, header("typ", "at+jwt")),
        attack(
            "typ application/at+jwt",
            Denial::InvalidType,
            header("typ", "application/at+jwt"),
        ),
        // Older JWT template tokens carry no category: no session id gives them away.
        attack(
            "JWT template without a category",
            Denial::MissingSession,
            |now| {
                forge(signing_key(), now, remove("cat"), |c| {
                    c.as_object_mut().unwrap().remove("sid");
                    c["email"] = json!("victim@example.com");
                })
            },
        ),
        attack(
            "machine subject",
            Denial::NotAUser,
            claim("sub", "mch_2robot"),
        ),
        attack(
            "organization subject",
            Denial::NotAUser,
            claim("sub", "org_2acme"),
        ),
        attack(
            "subject with a path",
            Denial::NotAUser,
            claim("sub", "user_2x/../admin"),
        ),
        attack("subject missing", Denial::NotAUser, |now| {
            with_claims(now, remove("sub"))
        }),
        attack("sid missing", Denial::MissingSession, |now| {
            with_claims(now, remove("sid"))
        }),
        attack(
            "sid a user id",
            Denial::MissingSession,
            claim("sid", "user_2authUser"),
        ),
        // `sts`: a pending session (tasks left, e.g. choosing an
        // organization) is signed out, as Clerk's SDKs treat it.
        attack(
            "session pending",
            Denial::SessionNotActive,
            claim("sts", "pending"),
        ),
        attack(
            "session status ended",
            Denial::SessionNotActive,
            claim("sts", "ended"),
        ),
        attack(
            "session status in upper case",
            Denial::SessionNotActive,
            claim("sts", "ACTIVE"),
        ),
        attack(
            "session status empty",
            Denial::SessionNotActive,
            claim("sts", ""),
        ),
        attack("session status null", Denial::SessionNotActive, |now| {
            with_claims(now, |c| c["sts"] = Value::Null)
        }),
        attack("session status a list", Denial::SessionNotActive, |now| {
            with_claims(now, |c| c["sts"] = json!(["active"]))
        }),
        attack("opaque machine token", Denial::Malformed, |_| {
            "mt_2abcdefghijklmnopqrstuvwxyz".into()
        }),
        attack("API key", Denial::Malformed, |_| {
            "ak_2abcdefghijklmnopqrstuvwxyz".into()
        }),
    ]
}

fn structure_attacks() -> Vec<Attack> {
    fn segments(now: i64) -> Vec<String> {
        valid(now).split('.').map(str::to_owned).collect()
    }
    fn header_signed(claims: fn(i64) -> String) -> impl Fn(i64) -> String {
        move |now| {
            sign_text(
                &signing_key().session_header().to_string(),
                &claims(now),
                Algorithm::RS256,
                &configured_private_key(),
            )
        }
    }
    vec![
        attack("one segment", Denial::Malformed, |now| {
            segments(now)[0].clone()
        }),
        attack("two segments", Denial::Malformed, |now| {
            segments(now)[..2].join(".")
        }),
        attack("four segments", Denial::Malformed, |now| {
            format!("{}.{}", valid(now), segments(now)[2])
        }),
        attack(
            "five segments, shaped like a JWE",
            Denial::Malformed,
            |now| {
                let s = segments(now);
                [s[0].as_str(), "AAAA", "AAAA", &s[1], &s[2]].join(".")
            },
        ),
        attack("signature empty", Denial::Malformed, |now| {
            with_signature(&valid(now), "")
        }),
        attack("payload empty", Denial::Malformed, |now| {
            let s = segments(now);
            format!("{}..{}", s[0], s[2])
        }),
        // A whole number of base64 quads, so it decodes: only the RSA check fails.
        attack("signature truncated", Denial::InvalidSignature, |now| {
            let token = valid(now);
            with_signature(&token, &signature_of(&token)[..172])
        }),
        attack(
            "signature with non-zero unused bits",
            Denial::Malformed,
            |now| {
                let token = valid(now);
                with_signature(&token, &non_canonical(signature_of(&token)))
            },
        ),
        attack("header not JSON", Denial::Malformed, |now| {
            let s = segments(now);
            format!("{}.{}.{}", b64("not json"), s[1], s[2])
        }),
        attack(
            "payload not JSON, validly signed",
            Denial::Malformed,
            header_signed(|_| "not json".into()),
        ),
        attack(
            "payload a JSON list, validly signed",
            Denial::Malformed,
            header_signed(|now| json!([claims_at(now)]).to_string()),
        ),
        attack(
            "sub twice, validly signed",
            Denial::Malformed,
            header_signed(|now| {
                let claims = claims_at(now).to_string();
                format!(
                    r#"{},"sub":"user_2attacker"}}"#,
                    claims.strip_suffix('}').unwrap()
                )
            }),
        ),
        // The authorizer refuses these before verifying: they are no token text.
        attack("a character outside base64", Denial::Malformed, |now| {
            valid(now).replacen('.', "$.", 1)
        })
        .at_authorizer(Denial::MalformedCredentials),
        attack("base64 padding", Denial::Malformed, |now| {
            format!("{}==", valid(now))
        })
        .at_authorizer(Denial::MalformedCredentials),
        attack("the standard base64 alphabet", Denial::Malformed, |now| {
            // "~~~" encodes to "fn5-": a run of nine holds at least one aligned.
            let token = with_claims(now, |c| c["note"] = json!("~~~~~~~~~"));
            let standard = token.replace('-', "+").replace('_', "/");
            assert!(standard.contains('+'));
            standard
        })
        .at_authorizer(Denial::MalformedCredentials),
        attack("a space inside", Denial::Malformed, |now| {
            valid(now).replacen('.', " .", 1)
        })
        .at_authorizer(Denial::MalformedCredentials),
        attack("one byte over the size limit", Denial::TooLong, |now| {
            around_the_size_limit(now).1
        }),
        attack("100 KB", Denial::TooLong, |now| {
            with_claims(now, |c| c["pad"] = json!("x".repeat(75 * 1024)))
        }),
    ]
}

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
