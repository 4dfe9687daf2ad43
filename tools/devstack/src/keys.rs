//! Dev and test signing keys, and session tokens shaped exactly like Clerk's.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::BoxError;

pub const DEV_KID: &str = "ins_dev_adsconnect";
pub const SESSION_CATEGORY: &str = "cl_B7d4PD111AAA";

/// An RSA-2048 key pair standing in for a Clerk instance's signing key.
pub struct SigningKey {
    pub kid: String,
    pub private_pem: String,
    pub public_pem: String,
    encoding: EncodingKey,
    /// JWK modulus and exponent, base64url.
    pub n: String,
    pub e: String,
}

impl SigningKey {
    pub fn generate(kid: &str) -> Result<Self, BoxError> {
        let private = rsa::RsaPrivateKey::new(&mut rand_core_06(), 2048)?;
        Self::from_private(kid, &private)
    }

    fn from_private(kid: &str, private: &rsa::RsaPrivateKey) -> Result<Self, BoxError> {
        let private_pem = private.to_pkcs8_pem(LineEnding::LF)?.to_string();
        let public = private.to_public_key();
        Ok(Self {
            kid: kid.to_owned(),
            public_pem: public.to_public_key_pem(LineEnding::LF)?,
            encoding: EncodingKey::from_rsa_pem(private_pem.as_bytes())?,
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            private_pem,
        })
    }

    /// Loads the key stored at `path`, generating and storing one first if
    /// there is none (the local stack keeps its key across restarts).
    pub fn load_or_generate(path: &Path, kid: &str) -> Result<Self, BoxError> {
        if let Ok(pem) = std::fs::read_to_string(path) {
            return Self::from_private(kid, &rsa::RsaPrivateKey::from_pkcs8_pem(&pem)?);
        }
        let key = Self::generate(kid)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, &key.private_pem)?;
        Ok(key)
    }

    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk()]})
    }

    /// Signs `header.claims` with RS256 exactly as given: tests shape both freely.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            jws_sign(message.as_bytes(), &self.encoding, Algorithm::RS256).unwrap_or_default();
        format!("{message}.{signature}")
    }

    /// The header Clerk puts on session tokens.
    pub fn session_header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.kid, "cat": SESSION_CATEGORY})
    }

    /// A Clerk v2 session token for `user_id`, issued now, valid `ttl` seconds.
    pub fn session_token(&self, issuer: &str, user_id: &str, session_id: &str, ttl: i64) -> String {
        self.sign(
            &self.session_header(),
            &session_claims(issuer, user_id, session_id, ttl),
        )
    }

    /// The same, naming the origin it was issued for (`azp`), as Clerk's
    /// browser SDK gets them.
    pub fn session_token_for(
        &self,
        issuer: &str,
        user_id: &str,
        session_id: &str,
        ttl: i64,
        azp: &str,
    ) -> String {
        let mut claims = session_claims(issuer, user_id, session_id, ttl);
        claims["azp"] = json!(azp);
        self.sign(&self.session_header(), &claims)
    }
}

/// A JWS signature (base64url) by jsonwebtoken's pure-Rust provider, called
/// directly: the process-wide provider is the service's, which only verifies.
pub fn jws_sign(
    message: &[u8],
    key: &EncodingKey,
    algorithm: Algorithm,
) -> Result<String, BoxError> {
    let signer =
        (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.signer_factory)(&algorithm, key)?;
    Ok(URL_SAFE_NO_PAD.encode(signer.try_sign(message)?))
}

/// Claims of a Clerk v2 session token, issued now.
pub fn session_claims(issuer: &str, user_id: &str, session_id: &str, ttl: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": issuer, "sub": user_id, "sid": session_id, "v": 2, "sts": "active",
        "iat": now, "nbf": now - 10, "exp": now + ttl, "jti": uuid::Uuid::new_v4().simple().to_string(),
        "fva": [0, -1],
    })
}

/// An active organization for a dev token: the member's role and, for
/// each feature the organization defines in Clerk, the member's
/// permissions in it (`("ads", &["read", "use"])`).
#[derive(Debug, Clone, Copy)]
pub struct DevOrganization<'a> {
    pub id: &'a str,
    pub slug: &'a str,
    /// Without Clerk's `org:` prefix, as v2 tokens carry it: `admin`, `member`.
    pub role: &'a str,
    pub features: &'a [(&'a str, &'a [&'a str])],
}

impl DevOrganization<'_> {
    /// Makes `org` the active organization of v2 `claims` as Clerk encodes
    /// it: `fea` lists the features (`o:<key>`), `o.per` every permission
    /// name once, `o.fpm` one decimal mask per feature whose bit `j` grants
    /// `per`'s name `j`.
    pub fn apply(&self, claims: &mut Value) {
        let mut names: Vec<&str> = Vec::new();
        for (_, permissions) in self.features {
            for name in *permissions {
                if !names.contains(name) {
                    names.push(name);
                }
            }
        }
        let masks: Vec<String> = self
            .features
            .iter()
            .map(|(_, permissions)| {
                permissions
                    .iter()
                    .filter_map(|p| names.iter().position(|n| n == p))
                    .fold(0u64, |mask, bit| mask | 1 << bit)
                    .to_string()
            })
            .collect();
        let features: Vec<String> = self
            .features
            .iter()
            .map(|(f, _)| format!("o:{f}"))
            .collect();
        claims["o"] = json!({"id": self.id, "slg": self.slug, "rol": self.role,
                             "per": names.join(","), "fpm": masks.join(",")});
        if !features.is_empty() {
            claims["fea"] = json!(features.join(","));
        }
    }
}

/// `rsa` 0.9 takes a rand_core 0.6 RNG; its bundled OsRng is one.
fn rand_core_06() -> rsa::rand_core::OsRng {
    rsa::rand_core::OsRng
}
