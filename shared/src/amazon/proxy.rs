//! One Ads API call made for an account, as the caller described it:
//! method, path, query and body passed through with the caller's headers
//! of Amazon's vocabulary (`super::headers`), the account's credentials and
//! identifying headers injected for its kind and API. The answer comes back
//! with Amazon's status, body and meaningful headers. One attempt: what to
//! do with a 401, a 429 or a 5xx is decided by the caller
//! (`crate::connections::proxying`).

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

use super::headers::{OwnedHeader, merge};
use super::paths::is_v1;
use crate::model::account::{AccountRecord, NativeIds};
use crate::secrets::Secret;

/// The longest one proxied call may take (less when the budget is shorter).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Lambda's synchronous payload limit is 6 MB for the whole answer,
/// base64 for binary bodies: 4 MiB of body always fits.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Amazon's headers that reach the caller.
const RETURNED: &[&str] = &[
    "content-type",
    "content-disposition",
    "retry-after",
    "location",
    "etag",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amz-rid",
    "x-amzn-trace-id",
];
/// Amazon's request id, to quote to Amazon's support.
pub const REQUEST_ID: &str = "x-amzn-requestid";

/// Who a call is made for: the account, the Ads API host of its region and
/// the credentials of its connection.
pub struct ForAccount<'a> {
    pub account: &'a AccountRecord,
    pub api_host: &'a str,
    pub access_token: &'a Secret,
    pub client_id: &'a Secret,
}

impl ForAccount<'_> {
    /// The headers every call for the account carries, in Amazon's
    /// spelling: the bearer token, the client id, and the account's own —
    /// an Ads profile's scope; a DSP advertiser's `Amazon-Ads-AccountId`
    /// (and `parentEntityId` when known) with its agency profile's scope; an
    /// AMC instance's AdvertiserId and MarketplaceId (AMC deprecated the
    /// scope header).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.headers_for(false)
    }

    /// [`Self::headers`] for a call of Ads API v1 (`v1`) or the others. v1
    /// names the client `Amazon-Ads-ClientId` (both spellings are sent:
    /// Amazon's account-links guide still uses the older one) and a DSP
    /// advertiser by `Amazon-Ads-AccountId` alone ("only one of these
    /// headers, not both").
    pub fn headers_for(&self, v1: bool) -> Vec<(&'static str, String)> {
        let client_id = self.client_id.expose().to_owned();
        let mut headers = vec![
            (
                "Authorization",
                format!("Bearer {}", self.access_token.expose()),
            ),
            ("Amazon-Advertising-API-ClientId", client_id.clone()),
        ];
        if v1 {
            headers.push(("Amazon-Ads-ClientId", client_id));
        }
        match &self.account.native {
            NativeIds::SponsoredAds { profile_id, .. } => {
                headers.push(("Amazon-Advertising-API-Scope", profile_id.clone()));
            }
            NativeIds::DspAdvertiser { advertiser_id, .. } if v1 => {
                headers.push(("Amazon-Ads-AccountId", advertiser_id.clone()));
            }
            NativeIds::DspAdvertiser {
                advertiser_id,
                profile_id,
                parent_entity_id,
            } => {
                // A managed-service advertiser has no agency profile: it is
                // named by `Amazon-Ads-AccountId` alone.
                if let Some(profile_id) = profile_id {
                    headers.push(("Amazon-Advertising-API-Scope", profile_id.clone()));
                }
                headers.push(("Amazon-Ads-AccountId", advertiser_id.clone()));
                // Undocumented; Amazon refused advertiser calls without it.
                if let Some(entity) = parent_entity_id {
                    headers.push(("parentEntityId", entity.clone()));
                }
            }
            NativeIds::AmcInstance { amc_account_id, .. } => {
                headers.push((
                    "Amazon-Advertising-API-AdvertiserId",
                    amc_account_id.clone(),
                ));
                if let Some(marketplace) = &self.account.marketplace_id {
                    headers.push(("Amazon-Advertising-API-MarketplaceId", marketplace.clone()));
                }
            }
        }
        headers
    }
}

/// A call as the caller asked for it.
pub struct Outbound {
    pub method: Method,
    /// Normalized (`super::paths::normalize`).
    pub path: String,
    pub query: Option<String>,
    /// The caller's forwardable headers (`super::headers::forwardable`).
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Outbound {
    /// The headers this call is sent with for `to`: the caller's, with
    /// the account's credentials and identifying headers for the call's API.
    pub fn headers_for(&self, to: &ForAccount<'_>) -> Result<HeaderMap, OwnedHeader> {
        merge(&self.headers, &to.headers_for(is_v1(&self.path)))
    }
}

pub struct Upstream {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Amazon could not be reached, or did not answer in time.
    #[error("Amazon did not answer: {0}")]
    Unavailable(String),
    #[error("Amazon's answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

fn keep(headers: &HeaderMap, names: &[&'static str]) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in names {
        for value in headers.get_all(*name) {
            kept.append(HeaderName::from_static(name), value.clone());
        }
    }
    kept
}

/// Sends `outbound` once to `api_host` with `headers` ([`Outbound::headers_for`]).
pub async fn send(
    http: &reqwest::Client,
    api_host: &str,
    outbound: &Outbound,
    headers: &HeaderMap,
) -> Result<Upstream, ProxyError> {
    let timeout = crate::budget::for_call(CALL_TIMEOUT)
        .ok_or_else(|| ProxyError::Unavailable("no time left in this invocation".into()))?;
    let mut url = format!("{api_host}{}", outbound.path);
    if let Some(query) = outbound.query.as_deref().filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(query);
    }
    let mut response = http
        .request(outbound.method.clone(), url)
        .headers(headers.clone())
        .timeout(timeout)
        .body(outbound.body.clone())
        .send()
        .await
        .map_err(|e| ProxyError::Unavailable(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let headers = keep(response.headers(), RETURNED);
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ProxyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ProxyError::Unavailable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ProxyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Upstream {
        status,
        headers,
        body: body.into(),
    })
}
