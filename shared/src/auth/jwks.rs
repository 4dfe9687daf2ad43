//! Clerk's JWKS, cached across invocations of a warm Lambda.
//!
//! An unknown `kid` triggers at most one refetch at a time (single flight) and
//! at most one per `MIN_REFETCH_INTERVAL`, so a flood of bogus key ids cannot
//! turn into a flood of requests to Clerk. A failed refresh keeps serving the
//! keys already known.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::Denial;

/// Clerk's SDKs cache keys for 5 minutes.
pub const KEY_TTL: Duration = Duration::from_secs(300);
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

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
    http: reqwest::Client,
    cached: RwLock<Cached>,
    /// `MIN_REFETCH_INTERVAL` unless a test shortens it.
    min_refetch: Duration,
    /// Held while fetching; holds the time of the last attempt.
    refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksCache {
    pub fn new(issuer: String, url: String) -> Self {
        let http = crate::tls::http_client()
            .timeout(FETCH_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            issuer,
            url,
            http,
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
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|_| "request failed")?;
        if !response.status().is_success() {
            return Err("non-success status");
        }
        let set: JwkSet = response.json().await.map_err(|_| "not a JWK set")?;
        Ok(set
            .keys
            .into_iter()
            .filter(|jwk| {
                jwk.kty == "RSA"
                    && jwk.use_.as_deref().is_none_or(|u| u == "sig")
                    && jwk.alg.as_deref().is_none_or(|a| a == "RS256")
            })
            .filter_map(|jwk| {
                let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).ok()?;
                Some((self.cache_key(&jwk.kid), Arc::new(key)))
            })
            .collect())
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
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
