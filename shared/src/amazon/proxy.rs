//! One Ads API call made for an account, as the caller described it:
//! method, path, query and body passed through, the caller's content
//! headers kept, the account's credentials injected with the headers
//! Amazon wants for its kind, nothing else of the caller's forwarded. The
//! answer comes back with Amazon's status, body and meaningful headers. No
//! retries here: a 429 or 5xx is handed back with its `Retry-After`, and the
//! caller (`crate::connections::access`) decides.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

use crate::model::account::{AccountRecord, NativeIds};
use crate::secrets::Secret;

/// The longest one proxied call may take (less when the budget is shorter).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Lambda's synchronous payload limit is 6 MB for the whole answer,
/// base64 for binary bodies: 4 MiB of body always fits.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The caller's headers that reach Amazon: how the body is encoded and
/// what the caller accepts (Amazon's vendor media types among them).
const FORWARDED: &[&str] = &["content-type", "accept", "accept-language", "prefer"];
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
    "x-amzn-ratelimit-limit",
];

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
        let mut headers = vec![
            (
                "Authorization",
                format!("Bearer {}", self.access_token.expose()),
            ),
            (
                "Amazon-Advertising-API-ClientId",
                self.client_id.expose().to_owned(),
            ),
        ];
        match &self.account.native {
            NativeIds::SponsoredAds { profile_id, .. } => {
                headers.push(("Amazon-Advertising-API-Scope", profile_id.clone()));
            }
            NativeIds::DspAdvertiser {
                advertiser_id,
                profile_id,
                parent_entity_id,
            } => {
                headers.push(("Amazon-Advertising-API-Scope", profile_id.clone()));
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

/// A call as the caller asked for it; `path` is already checked.
pub struct Outbound {
    pub method: Method,
    /// Starts with `/`; percent-encoded as received.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
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

/// The caller's headers that may be forwarded.
pub fn forwarded(headers: &HeaderMap) -> HeaderMap {
    keep(headers, FORWARDED)
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

pub async fn send(
    http: &reqwest::Client,
    to: &ForAccount<'_>,
    outbound: &Outbound,
) -> Result<Upstream, ProxyError> {
    let timeout = crate::budget::for_call(CALL_TIMEOUT)
        .ok_or_else(|| ProxyError::Unavailable("no time left in this invocation".into()))?;
    let mut url = format!("{}{}", to.api_host, outbound.path);
    if let Some(query) = outbound.query.as_deref().filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(query);
    }
    let mut request = http
        .request(outbound.method.clone(), url)
        .headers(outbound.headers.clone())
        .timeout(timeout)
        .body(outbound.body.clone());
    for (name, value) in to.headers() {
        request = request.header(name, value);
    }
    let mut response = request
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

/// Whether `path` (percent-encoded, as received) is one the proxy passes
/// on: segments without `.`/`..`, empty ones or encoded slashes, so that
/// what the allow-list sees is what Amazon gets.
pub fn is_clean_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let lower = rest.to_ascii_lowercase();
    !rest.is_empty()
        && rest.len() <= 1024
        && !lower.contains("%2f")
        && !lower.contains("%5c")
        && !lower.contains("%2e")
        && rest
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'?' && b != b'#')
        && rest
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Whether `path` is under one of `allowed` (no list: every path).
pub fn is_allowed(path: &str, allowed: &[String]) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|prefix| {
            let prefix = prefix.trim_end_matches('/');
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_pass() {
        for good in [
            "/sp/campaigns/list",
            "/v2/profiles",
            "/reporting/reports/abc-1",
        ] {
            assert!(is_clean_path(good), "{good}");
        }
        for bad in [
            "",
            "/",
            "sp/campaigns",
            "/sp//campaigns",
            "/sp/../v2/profiles",
            "/sp/./campaigns",
            "/sp%2F..%2Fprofiles",
            "/sp/%2e%2e/profiles",
            "/sp\\campaigns",
            "/sp/campaigns?x=1",
            "/sp/camp aigns",
        ] {
            assert!(!is_clean_path(bad), "{bad}");
        }
    }

    #[test]
    fn the_allow_list_matches_whole_segments() {
        let allowed = vec!["/sp/campaigns".to_owned(), "/reporting/".to_owned()];
        assert!(is_allowed("/sp/campaigns", &allowed));
        assert!(is_allowed("/sp/campaigns/list", &allowed));
        assert!(is_allowed("/reporting/reports", &allowed));
        assert!(!is_allowed("/sp/campaignsX", &allowed));
        assert!(!is_allowed("/v2/profiles", &allowed));
        assert!(is_allowed("/anything", &[]));
    }

    #[test]
    fn only_content_headers_are_forwarded() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer the-callers-session"),
            ("cookie", "session=1"),
            ("connection", "keep-alive"),
            ("amazon-advertising-api-scope", "999"),
            ("content-type", "application/vnd.spCampaign.v3+json"),
            ("accept", "application/vnd.spCampaign.v3+json"),
        ] {
            headers.insert(HeaderName::from_static(name), value.parse().unwrap());
        }
        let kept = forwarded(&headers);
        assert_eq!(kept.len(), 2);
        assert!(kept.contains_key("content-type") && kept.contains_key("accept"));
    }
}
