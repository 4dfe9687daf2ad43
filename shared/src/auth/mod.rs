//! Clerk session-token verification (see docs/security.md, "Session tokens").
//!
//! Order matters: structure and header first, then the signature, and only then
//! any claim, so nothing in an unauthenticated payload influences a decision.

mod crypto;
pub mod jwks;
mod organization;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::configuration::values::{self, ConfigError};
use crate::ids::{SessionId, UserId};
pub use jwks::JwksCache;
pub use organization::Organization;

/// Clerk tokens live 60 s; a larger skew would stretch that noticeably.
pub const CLOCK_SKEW_SECONDS: i64 = 5;
/// The longest `exp − iat` accepted. Clerk's session tokens live 60 s (the
/// SDKs refresh them every ~50 s); ten times that leaves room for a slow
/// clock or a future Clerk default, while a token that lives for hours or
/// forever (a JWT template, a leaked signing key, a hand-made `exp`) is
/// refused however valid the rest of it is.
pub const MAX_TOKEN_LIFETIME_SECONDS: i64 = 10 * 60;
/// Real session tokens are 1–3 KB; anything far larger is hostile.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The one `sts` (v2 session status) accepted. Clerk's SDKs treat `pending`
/// (a session with tasks left, such as choosing an organization) as signed
/// out; any other value is refused too. Version 1 tokens have no `sts`, and
/// an absent claim is accepted as Clerk's SDKs do.
const ACTIVE_SESSION: &str = "active";
const SESSION_CATEGORY: &str = "cl_B7d4PD111AAA";
const IGNORED_CATEGORY: &str = "cl_I7d4PD111III";

/// Why a token was refused. `code` is safe to log and to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("no session token")]
    MissingToken,
    #[error("malformed credentials")]
    MalformedCredentials,
    #[error("token too long")]
    TooLong,
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not allowed")]
    InvalidAlgorithm,
    #[error("token type not allowed")]
    InvalidType,
    #[error("key id missing")]
    MissingKid,
    #[error("key id unknown")]
    UnknownKid,
    #[error("signing keys could not be loaded")]
    KeysUnavailable,
    #[error("signature invalid")]
    InvalidSignature,
    #[error("issuer mismatch")]
    InvalidIssuer,
    #[error("token expired")]
    Expired,
    #[error("token not active yet")]
    NotActiveYet,
    #[error("token issued in the future")]
    IssuedInFuture,
    #[error("not a session token")]
    NotSessionToken,
    #[error("subject is not a user")]
    NotAUser,
    #[error("session id missing")]
    MissingSession,
    #[error("authorized party not allowed")]
    UnauthorizedParty,
    #[error("session not active")]
    SessionNotActive,
    #[error("token lifetime too long")]
    LifetimeTooLong,
}

impl Denial {
    /// Clerk's own error names where one exists, so logs read the same.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingToken => "token-missing",
            Self::MalformedCredentials => "credentials-malformed",
            Self::TooLong => "token-too-long",
            Self::Malformed => "token-malformed",
            Self::InvalidAlgorithm => "token-invalid-algorithm",
            Self::InvalidType => "token-invalid-type",
            Self::MissingKid => "token-missing-kid",
            Self::UnknownKid => "jwk-kid-mismatch",
            Self::KeysUnavailable => "jwk-remote-failed-to-load",
            Self::InvalidSignature => "token-invalid-signature",
            Self::InvalidIssuer => "token-invalid-issuer",
            Self::Expired => "token-expired",
            Self::NotActiveYet => "token-not-active-yet",
            Self::IssuedInFuture => "token-iat-in-the-future",
            Self::NotSessionToken => "token-not-session",
            Self::NotAUser => "token-invalid-subject",
            Self::MissingSession => "token-missing-sid",
            Self::UnauthorizedParty => "token-invalid-authorized-parties",
            Self::SessionNotActive => "session-not-active",
            Self::LifetimeTooLong => "token-lifetime-too-long",
        }
    }
}

/// The identity a verified session token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSession {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub organization: Option<Organization>,
    pub issued_at: i64,
    pub expires_at: i64,
}

pub enum KeySource {
    /// `CLERK_JWT_KEY`: verification needs no network at all.
    Pem(Arc<DecodingKey>),
    Jwks(JwksCache),
}

pub struct SessionVerifier {
    issuer: String,
    keys: KeySource,
    authorized_parties: Vec<String>,
    validation: Validation,
}

/// The variable that names the issuer, in the errors about it.
pub const ISSUER_VARIABLE: &str = "CLERK_ISSUER";

#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub issuer: String,
    pub jwt_key_pem: Option<String>,
    pub jwks_url: String,
    pub authorized_parties: Vec<String>,
}

impl SessionVerifier {
    /// Refuses an issuer that is not exactly an origin (see `values::origin`),
    /// however the configuration was made.
    pub fn new(config: VerifierConfig) -> Result<Self, ConfigError> {
        values::origin(ISSUER_VARIABLE, &config.issuer)?;
        crypto::install();
        let keys = match &config.jwt_key_pem {
            Some(pem) => KeySource::Pem(Arc::new(
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| ConfigError::Invalid {
                    name: "CLERK_JWT_KEY",
                    reason: "not an RSA public key in PEM form".into(),
                })?,
            )),
            None => KeySource::Jwks(JwksCache::new(
                config.issuer.clone(),
                config.jwks_url.clone(),
            )),
        };
        // Only the signature and algorithm are left to jsonwebtoken; every claim
        // is checked below against an injectable clock with Clerk's 5 s skew
        // (the crate's default leeway is 60 s).
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        Ok(Self {
            issuer: config.issuer,
            keys,
            authorized_parties: config
                .authorized_parties
                .iter()
                .map(|p| p.trim_end_matches('/').to_owned())
                .collect(),
            validation,
        })
    }

    /// See `JwksCache::with_min_refetch_interval`; no effect with a PEM key.
    pub fn with_min_refetch_interval(mut self, interval: std::time::Duration) -> Self {
        if let KeySource::Jwks(cache) = self.keys {
            self.keys = KeySource::Jwks(cache.with_min_refetch_interval(interval));
        }
        self
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedSession, Denial> {
        self.verify_at(token, unix_now()).await
    }

    pub async fn verify_at(&self, token: &str, now: i64) -> Result<VerifiedSession, Denial> {
        let header = parse_header(token)?;
        let key = match &self.keys {
            KeySource::Pem(key) => Arc::clone(key),
            KeySource::Jwks(cache) => cache.key(&header.kid).await?,
        };
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => Denial::InvalidSignature,
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => Denial::InvalidAlgorithm,
                _ => Denial::Malformed,
            })?
            .claims;
        self.check_claims(claims, now)
    }

    fn check_claims(&self, claims: Claims, now: i64) -> Result<VerifiedSession, Denial> {
        if claims.iss.as_deref() != Some(self.issuer.as_str()) {
            return Err(Denial::InvalidIssuer);
        }
        let expires_at = claims.exp.ok_or(Denial::Malformed)?;
        // Saturating: `exp` is the token's to choose, up to i64::MAX.
        if now > expires_at.saturating_add(CLOCK_SKEW_SECONDS) {
            return Err(Denial::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_SECONDS) {
            return Err(Denial::NotActiveYet);
        }
        let issued_at = claims.iat.ok_or(Denial::Malformed)?;
        if issued_at > now + CLOCK_SKEW_SECONDS {
            return Err(Denial::IssuedInFuture);
        }
        // Saturating: both ends are the token's to choose.
        if expires_at.saturating_sub(issued_at) > MAX_TOKEN_LIFETIME_SECONDS {
            return Err(Denial::LifetimeTooLong);
        }
        let user_id = claims
            .sub
            .as_deref()
            .and_then(|sub| UserId::parse(sub).ok())
            .ok_or(Denial::NotAUser)?;
        let session_id = claims
            .sid
            .as_deref()
            .and_then(|sid| SessionId::parse(sid).ok())
            .ok_or(Denial::MissingSession)?;
        if claims
            .sts
            .as_ref()
            .is_some_and(|sts| sts.as_str() != Some(ACTIVE_SESSION))
        {
            return Err(Denial::SessionNotActive);
        }
        if !self.authorized_parties.is_empty() {
            let allowed = claims
                .azp
                .as_deref()
                .is_some_and(|azp| self.authorized_parties.iter().any(|p| p == azp));
            if !allowed {
                return Err(Denial::UnauthorizedParty);
            }
        }
        Ok(VerifiedSession {
            user_id,
            session_id,
            organization: claims.organization()?,
            issued_at,
            expires_at,
        })
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The JOSE header fields we decide on. Unknown fields (`oiat`, `jku`, `x5u`,
/// `jwk`, …) are ignored: keys only ever come from our configuration.
/// Duplicate fields make serde_json fail, which denies the token.
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    cat: Option<String>,
    /// RFC 7515 §4.1.11: extensions a recipient must understand. We know none.
    crit: Option<serde::de::IgnoredAny>,
}

pub(crate) struct CheckedHeader {
    pub kid: String,
}

fn parse_header(token: &str) -> Result<CheckedHeader, Denial> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Denial::TooLong);
    }
    let segments: Vec<&str> = token.split('.').collect();
    let well_formed = segments.len() == 3
        && segments.iter().all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !well_formed {
        return Err(Denial::Malformed);
    }
    let header_json = URL_SAFE_NO_PAD
        .decode(segments[0])
        .map_err(|_| Denial::Malformed)?;
    let header: Header = serde_json::from_slice(&header_json).map_err(|_| Denial::Malformed)?;
    if header.alg != "RS256" {
        return Err(Denial::InvalidAlgorithm);
    }
    if header.crit.is_some() {
        return Err(Denial::Malformed);
    }
    if let Some(typ) = &header.typ
        && !typ.eq_ignore_ascii_case("JWT")
    {
        return Err(Denial::InvalidType);
    }
    if let Some(cat) = &header.cat
        && cat != SESSION_CATEGORY
        && cat != IGNORED_CATEGORY
    {
        return Err(Denial::NotSessionToken);
    }
    let kid = header
        .kid
        .filter(|kid| !kid.is_empty())
        .ok_or(Denial::MissingKid)?;
    if kid.len() > 128
        || !kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Denial::UnknownKid);
    }
    Ok(CheckedHeader { kid })
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    sid: Option<String>,
    azp: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    /// Version 2 session status. Any JSON, so that `null`, a number or a
    /// list is refused as not active rather than read as absent.
    #[serde(default, deserialize_with = "present")]
    sts: Option<Value>,
    /// The claims' version: 2 reads `o` and `fea`, anything else the v1
    /// `org_*` claims (see `organization`).
    v: Option<i64>,
    /// Version 2 organization claim.
    o: Option<organization::OrgClaim>,
    /// Version 2 features, `<scope>:<key>`, comma-separated.
    fea: Option<String>,
    /// Version 1 organization claims (deprecated 2025-04, still accepted).
    org_id: Option<String>,
    org_slug: Option<String>,
    org_role: Option<String>,
    org_permissions: Option<Vec<String>>,
}

/// `Some` for any value the claim has, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl Claims {
    fn organization(self) -> Result<Option<Organization>, Denial> {
        if self.v == Some(2) {
            return organization::version_2(self.o, self.fea.as_deref());
        }
        organization::version_1(organization::V1Claims {
            id: self.org_id,
            slug: self.org_slug,
            role: self.org_role,
            permissions: self.org_permissions,
        })
    }
}
