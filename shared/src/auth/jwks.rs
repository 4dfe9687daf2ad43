//! Clerk's JWKS, cached across invocations of a warm Lambda.
//!
//! An unknown `kid` triggers at most one refetch at a time (single flight) and
//! at most one per `MIN_REFETCH_INTERVAL`, so a flood of bogus key ids cannot
//! turn into a flood of requests to Clerk. A failed refresh keeps serving the
//! keys already known, and so does an answer without a single usable key
//! (an empty set, or only keys of another type, algorithm or use): Clerk
//! always publishes its signing key, so such an answer is a fault, not a
//! revocation. Keys we cannot use are skipped one by one, never the set.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::Denial;

/// Clerk's SDKs cache keys for 5 minutes.
pub const KEY_TTL: Duration = Duration::from_secs(300);
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Clerk signs with RSA-2048; a shorter modulus is no key of Clerk's (and a
/// broken one would otherwise displace the real key under the same kid).
const MIN_RSA_BITS: usize = 2048;

/// Issuer and kid: a kid alone could collide across Clerk instances.
type CacheKey = (String, String);

#[derive(Default)]
struct Cached {
    keys: HashMap<CacheKey, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
}

pub struct JwksCache {
    issuer: String,
    url: String,
    http: crate::tls::Https,
    cached: RwLock<Cached>,
    /// `MIN_REFETCH_INTERVAL` unless a test shortens it.
    min_refetch: Duration,
    /// Held while fetching; holds the time of the last attempt.
    refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksCache {
    pub fn new(issuer: String, url: String) -> Self {
        Self {
            issuer,
            url,
            http: crate::tls::Https,
            cached: RwLock::default(),
            min_refetch: MIN_REFETCH_INTERVAL,
            refetch: tokio::sync::Mutex::new(None),
        }
    }

    /// Another least time between two fetches (tests: zero, so each unknown
    /// kid asks the key server without waiting 30 s).
    pub fn with_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch = interval;
        self
    }

    pub async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, Denial> {
        let (known, fresh) = self.lookup(kid);
        if let (Some(key), true) = (&known, fresh) {
            return Ok(Arc::clone(key));
        }
        let mut last_attempt = match &known {
            // A stale but known key keeps working while another caller refreshes.
            Some(key) => match self.refetch.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(Arc::clone(key)),
            },
            None => self.refetch.lock().await,
        };
        // Another caller may have refreshed while this one waited.
        let (known, fresh) = self.lookup(kid);
        if let (Some(key), true) = (&known, fresh) {
            return Ok(Arc::clone(key));
        }
        if last_attempt.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return known.ok_or(self.miss_reason());
        }
        *last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                let mut cached = self.cached.write().unwrap_or_else(|e| e.into_inner());
                cached.keys = keys;
                cached.fetched_at = Some(Instant::now());
                let key = cached.keys.get(&self.cache_key(kid)).cloned();
                key.ok_or(Denial::UnknownKid)
            }
            Err(reason) => {
                tracing::warn!(reason, "JWKS refresh failed");
                known.ok_or(self.miss_reason())
            }
        }
    }

    /// The key if known, and whether the key set is still fresh.
    fn lookup(&self, kid: &str) -> (Option<Arc<DecodingKey>>, bool) {
        let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
        let fresh = cached.fetched_at.is_some_and(|at| at.elapsed() < KEY_TTL);
        (cached.keys.get(&self.cache_key(kid)).cloned(), fresh)
    }

    fn miss_reason(&self) -> Denial {
        let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
        if cached.fetched_at.is_some() {
            Denial::UnknownKid
        } else {
            Denial::KeysUnavailable
        }
    }

    fn cache_key(&self, kid: &str) -> CacheKey {
        (self.issuer.clone(), kid.to_owned())
    }

    async fn fetch(&self) -> Result<HashMap<CacheKey, Arc<DecodingKey>>, &'static str> {
        let timeout = crate::budget::for_call(FETCH_TIMEOUT).ok_or("no time left")?;
        let response = self
            .http
            .get(&self.url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|_| "request failed")?;
        if !response.status().is_success() {
            return Err("non-success status");
        }
        let set: JwkSet = response.json().await.map_err(|_| "not a JWK set")?;
        let keys: HashMap<_, _> = set
            .keys
            .into_iter()
            .filter_map(|jwk| serde_json::from_value::<Jwk>(jwk).ok())
            .filter(|jwk| {
                jwk.kty == "RSA"
                    && jwk.use_.as_deref().is_none_or(|u| u == "sig")
                    && jwk.alg.as_deref().is_none_or(|a| a == "RS256")
                    && modulus_bits(&jwk.n) >= MIN_RSA_BITS
            })
            .filter_map(|jwk| {
                let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).ok()?;
                Some((self.cache_key(&jwk.kid), Arc::new(key)))
            })
            .collect();
        if keys.is_empty() {
            return Err("no usable keys");
        }
        Ok(keys)
    }
}

/// The size of a JWK's base64url modulus in bits; 0 if it is not base64url.
fn modulus_bits(n: &str) -> usize {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(n) else {
        return 0;
    };
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

#[derive(Deserialize)]
struct JwkSet {
    /// Each read on its own: an EC key (no `n`, `e`) is skipped, not fatal.
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: String,
    e: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_count_from_the_first_set_bit() {
        let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(modulus_bits(&encode(&[0x80; 256])), 2048);
        assert_eq!(
            modulus_bits(&encode(&[&[0, 0x7f][..], &[0xff; 255]].concat())),
            2047
        );
        assert_eq!(modulus_bits(&encode(&[0, 0, 1])), 1);
        assert_eq!(modulus_bits(&encode(&[0, 0])), 0);
        assert_eq!(modulus_bits("not base64url!"), 0);
    }
}
