//! The token corpus's claim-level attacks: time, issuer and party, token
//! kind, structure, encoding and size.

use super::*;

pub(super) fn time_attacks() -> Vec<Attack> {
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

pub(super) fn party_attacks() -> Vec<Attack> {
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

pub(super) fn kind_attacks() -> Vec<Attack> {
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

pub(super) fn structure_attacks() -> Vec<Attack> {
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
