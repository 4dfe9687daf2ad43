//! A caller's proof: an `sts:GetCallerIdentity` request it signed (SigV4)
//! with its own credentials, bound to one owner and account by a signed
//! `X-AdsConnect-Credentials` header. What STS cannot tell us (which
//! request, for what, how recent) is checked here, before STS sees it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The one request a proof may be: anything else STS would execute too.
pub const GET_CALLER_IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
/// The signed header naming `<owner_id>/<account_id>`.
pub const BINDING_HEADER: &str = "x-adsconnect-credentials";
/// How far `X-Amz-Date` may be from our clock (STS alone allows 15 minutes).
pub const MAX_SKEW: Duration = Duration::minutes(5);
/// Headers every proof signs.
const REQUIRED_SIGNED: [&str; 3] = ["host", "x-amz-date", BINDING_HEADER];
/// More than a SigV4 request carries.
const MAX_HEADERS: usize = 16;
const MAX_HEADER_BYTES: usize = 4096;

/// The proof as the payload carries it. No `Debug`: it holds a signature
/// and a session token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRequest {
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Why a proof proves nothing. Logged, never answered: the caller learns
/// only that it was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unproven {
    #[error("the body is not GetCallerIdentity")]
    Body,
    #[error("malformed headers")]
    Headers,
    #[error("not a SigV4 Authorization signing host, x-amz-date and x-adsconnect-credentials")]
    Authorization,
    #[error("bound to another owner or account")]
    Binding,
    #[error("signed for another STS host")]
    Host,
    #[error("X-Amz-Date missing or more than 5 minutes from now")]
    Stale,
    #[error("already used")]
    Replayed,
}

/// A proof that passed every check of ours, ready for STS.
pub struct CheckedRequest {
    pub(super) headers: HeaderMap,
    signature: String,
}

impl CheckedRequest {
    /// What identifies this proof for the single-use record: a hash of its
    /// signature (the signature itself is never stored).
    pub fn fingerprint(&self) -> String {
        Sha256::digest(self.signature.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl SignedRequest {
    /// Checks that this is a GetCallerIdentity signed for `sts_host`,
    /// bound to `binding` and dated within [`MAX_SKEW`] of `now`.
    pub fn check(
        self,
        binding: &str,
        sts_host: &str,
        now: DateTime<Utc>,
    ) -> Result<CheckedRequest, Unproven> {
        if self.body != GET_CALLER_IDENTITY {
            return Err(Unproven::Body);
        }
        let headers = header_map(self.headers)?;
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let signature = signature(text("authorization").ok_or(Unproven::Authorization)?)?;
        if text(BINDING_HEADER) != Some(binding) {
            return Err(Unproven::Binding);
        }
        // Absent when the signer took the host from the URL (botocore): we
        // send to our own STS host either way, and STS checks the signature
        // against it.
        if text("host").is_some_and(|host| !host.eq_ignore_ascii_case(sts_host)) {
            return Err(Unproven::Host);
        }
        let signed_at = text("x-amz-date")
            .and_then(|date| NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ").ok())
            .ok_or(Unproven::Stale)?
            .and_utc();
        if (now - signed_at).abs() > MAX_SKEW {
            return Err(Unproven::Stale);
        }
        Ok(CheckedRequest { headers, signature })
    }
}

/// The caller's headers, names lower-cased; a name given twice (in any
/// case) or an invalid name or value is refused. `host` and the length are
/// set by our HTTP client for our own STS endpoint.
fn header_map(given: BTreeMap<String, String>) -> Result<HeaderMap, Unproven> {
    if given.len() > MAX_HEADERS {
        return Err(Unproven::Headers);
    }
    let mut headers = HeaderMap::new();
    for (name, value) in given {
        if value.len() > MAX_HEADER_BYTES {
            return Err(Unproven::Headers);
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Unproven::Headers)?;
        let value = HeaderValue::from_str(&value).map_err(|_| Unproven::Headers)?;
        if headers.insert(name, value).is_some() {
            return Err(Unproven::Headers);
        }
    }
    Ok(headers)
}

/// The signature of a SigV4 `Authorization` whose signed headers include
/// [`REQUIRED_SIGNED`]:
/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=a;b;c, Signature=<64 hex>`.
fn signature(authorization: &str) -> Result<String, Unproven> {
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(Unproven::Authorization)?;
    let field = |key: &str| {
        fields
            .split(',')
            .filter_map(|part| part.trim().split_once('='))
            .find_map(|(k, v)| (k == key).then_some(v))
    };
    let signed: Vec<&str> = field("SignedHeaders")
        .ok_or(Unproven::Authorization)?
        .split(';')
        .collect();
    let signature = field("Signature").ok_or(Unproven::Authorization)?;
    let well_formed = signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed || !REQUIRED_SIGNED.iter().all(|h| signed.contains(h)) {
        return Err(Unproven::Authorization);
    }
    Ok(signature.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "ecc481844ae7f82e23c653a0cffa5fe6c13947d9909f09ad2f5509446899e528";

    fn proof(date: &str, signed: &str) -> SignedRequest {
        SignedRequest {
            headers: BTreeMap::from([
                (
                    "Authorization".to_owned(),
                    format!(
                        "AWS4-HMAC-SHA256 Credential=ASIA/20261206/us-east-1/sts/aws4_request, SignedHeaders={signed}, Signature={SIGNATURE}"
                    ),
                ),
                ("X-Amz-Date".to_owned(), date.to_owned()),
                (
                    "X-AdsConnect-Credentials".to_owned(),
                    "user_1/acct_1".to_owned(),
                ),
            ]),
            body: GET_CALLER_IDENTITY.to_owned(),
        }
    }

    const SIGNED: &str = "content-type;host;x-adsconnect-credentials;x-amz-date";

    fn at(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc()
    }

    #[test]
    fn a_bound_recent_proof_passes_and_is_fingerprinted() {
        let checked = proof("20261206T170000Z", SIGNED)
            .check(
                "user_1/acct_1",
                "sts.us-east-1.amazonaws.com",
                at("20261206T170430Z"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(checked.fingerprint().len(), 64);
        assert!(!checked.fingerprint().contains(SIGNATURE));
    }

    #[test]
    fn each_check_refuses_with_its_reason() {
        let now = at("20261206T170000Z");
        let host = "sts.us-east-1.amazonaws.com";
        let check = |p: SignedRequest, binding: &str| p.check(binding, host, now).err();
        assert_eq!(
            check(proof("20261206T170000Z", SIGNED), "user_1/acct_2"),
            Some(Unproven::Binding)
        );
        assert_eq!(
            check(proof("20261206T165459Z", SIGNED), "user_1/acct_1"),
            Some(Unproven::Stale)
        );
        assert_eq!(
            check(proof("20261206T170501Z", SIGNED), "user_1/acct_1"),
            Some(Unproven::Stale)
        );
        assert_eq!(
            check(
                proof("20261206T170000Z", "host;x-amz-date"),
                "user_1/acct_1"
            ),
            Some(Unproven::Authorization)
        );
        let mut other_body = proof("20261206T170000Z", SIGNED);
        other_body.body = "Action=AssumeRole&Version=2011-06-15".into();
        assert_eq!(check(other_body, "user_1/acct_1"), Some(Unproven::Body));
        let mut other_host = proof("20261206T170000Z", SIGNED);
        other_host
            .headers
            .insert("Host".into(), "attacker.example".into());
        assert_eq!(check(other_host, "user_1/acct_1"), Some(Unproven::Host));
        let mut twice = proof("20261206T170000Z", SIGNED);
        twice
            .headers
            .insert("x-amz-date".into(), "20261206T170000Z".into());
        assert_eq!(check(twice, "user_1/acct_1"), Some(Unproven::Headers));
    }
}
