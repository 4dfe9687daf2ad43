//! The token corpus's machinery and its header-level attacks: algorithms,
//! keys and kids, header fields.

use super::*;

/// A key pair the verifier has never been told about.
pub(super) fn attacker_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate("ins_attacker").unwrap())
}

/// The attacker's key server, answering every path with the attacker's key: a
/// verifier that followed `jku`, `x5u` or a URL-shaped kid would fetch here.
pub(super) async fn attacker_jwks() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(attacker_key().jwks()))
        .mount(&server)
        .await;
    server
}

pub(super) fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// Signs header and claims given as JSON text, which can say what a `Value`
/// cannot: a field twice, a header that is no object, no JSON at all.
pub(super) fn sign_text(header: &str, claims: &str, alg: Algorithm, key: &EncodingKey) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = adsconnect_dev::keys::jws_sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// The configured key's private half, for algorithms and JSON `sign` cannot make.
pub(super) fn configured_private_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(signing_key().private_pem.as_bytes()).unwrap()
}

pub(super) fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(&header.to_string()),
        b64(&claims.to_string())
    )
}

pub(super) fn with_signature(token: &str, signature: &str) -> String {
    let (message, _) = token.rsplit_once('.').unwrap();
    format!("{message}.{signature}")
}

/// The same signature bytes, spelled with non-zero unused bits in the last
/// character: accepting it would make tokens malleable.
pub(super) fn non_canonical(signature: &str) -> String {
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
pub(super) fn around_the_size_limit(now: i64) -> (String, String) {
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
pub(super) async fn authorizer_verdict(
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

pub(super) fn denied() -> SimpleResponse {
    SimpleResponse {
        is_authorized: false,
        context: Map::new(),
    }
}

// ---------------------------------------------------------------------------
// The attack corpus.
// ---------------------------------------------------------------------------

/// One hostile token and the reason each verifier must refuse it for.
pub(super) struct Attack {
    pub(super) name: &'static str,
    /// Made for a given clock, so time cases stay exact on a busy machine.
    pub(super) token: Box<dyn Fn(i64) -> String>,
    /// With the PEM key (`CLERK_JWT_KEY`).
    pub(super) pem: Denial,
    /// With the JWKS, where the `kid` picks the key.
    pub(super) jwks: Denial,
    /// By the whole authorizer, which refuses text that cannot be a token
    /// before verifying anything.
    pub(super) authorizer: Denial,
}

pub(super) fn attack(
    name: &'static str,
    denial: Denial,
    token: impl Fn(i64) -> String + 'static,
) -> Attack {
    Attack {
        name,
        token: Box::new(token),
        pem: denial,
        jwks: denial,
        authorizer: denial,
    }
}

impl Attack {
    pub(super) fn with_jwks(self, jwks: Denial) -> Self {
        Self { jwks, ..self }
    }

    pub(super) fn at_authorizer(self, authorizer: Denial) -> Self {
        Self { authorizer, ..self }
    }
}

/// Every token attack, by category. `attacker` is the base URL of the
/// attacker's key server, which header fields and kids point at.
pub(super) fn corpus(attacker: &str) -> Vec<(&'static str, Vec<Attack>)> {
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

pub(super) fn algorithm_attacks() -> Vec<Attack> {
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
pub(super) fn hostile_kids(attacker: &str) -> Vec<(&'static str, String, Denial)> {
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

pub(super) fn key_attacks(attacker: &str) -> Vec<Attack> {
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

pub(super) fn header_attacks(attacker: &str) -> Vec<Attack> {
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
