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
use super::paths::{is_reporting, is_v1};
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

/// What a call is, as far as the account's identifying headers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Ads API v1 (`/adsApi/v1/…`): v1's client-id header, and a DSP
    /// advertiser named by `Amazon-Ads-AccountId` alone.
    V1,
    /// Reporting v3 (`/reporting/reports…`): a DSP advertiser named by one
    /// header, never both ("only use one of these headers, not both, per
    /// request", Amazon's DSP reporting migration guide).
    Reporting,
    /// Every other call.
    Other,
}

impl Api {
    /// The API of a call to the normalized `path`.
    pub fn of(path: &str) -> Self {
        if is_v1(path) {
            Self::V1
        } else if is_reporting(path) {
            Self::Reporting
        } else {
            Self::Other
        }
    }
}

const SCOPE: &str = "Amazon-Advertising-API-Scope";
const ACCOUNT_ID: &str = "Amazon-Ads-AccountId";

impl ForAccount<'_> {
    /// The headers every call for the account carries, in Amazon's
    /// spelling: the bearer token, the client id, and the account's own —
    /// an Ads profile's scope; a DSP advertiser's `Amazon-Ads-AccountId`
    /// (and `parentEntityId` when known) with its agency profile's scope,
    /// if it has one; an AMC instance's AdvertiserId and MarketplaceId (AMC
    /// deprecated the scope header).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.headers_for(Api::Other)
    }

    /// [`Self::headers`] for a call of `api`. v1 names the client
    /// `Amazon-Ads-ClientId` (both spellings are sent: Amazon's
    /// account-links guide still uses the older one). A DSP advertiser is
    /// named by one account header where Amazon refuses two: v1 and a
    /// managed-service advertiser (no agency profile) by
    /// `Amazon-Ads-AccountId`; reporting for an advertiser under an agency
    /// profile by that profile's scope, as self-service advertisers report.
    pub fn headers_for(&self, api: Api) -> Vec<(&'static str, String)> {
        let client_id = self.client_id.expose().to_owned();
        let mut headers = vec![
            (
                "Authorization",
                format!("Bearer {}", self.access_token.expose()),
            ),
            ("Amazon-Advertising-API-ClientId", client_id.clone()),
        ];
        if api == Api::V1 {
            headers.push(("Amazon-Ads-ClientId", client_id));
        }
        match &self.account.native {
            NativeIds::SponsoredAds { profile_id, .. } => {
                headers.push((SCOPE, profile_id.clone()));
            }
            NativeIds::DspAdvertiser { advertiser_id, .. } if api == Api::V1 => {
                headers.push((ACCOUNT_ID, advertiser_id.clone()));
            }
            NativeIds::DspAdvertiser {
                profile_id: Some(profile_id),
                ..
            } if api == Api::Reporting => {
                headers.push((SCOPE, profile_id.clone()));
            }
            NativeIds::DspAdvertiser {
                advertiser_id,
                profile_id,
                parent_entity_id,
            } => {
                if let Some(profile_id) = profile_id {
                    headers.push((SCOPE, profile_id.clone()));
                }
                headers.push((ACCOUNT_ID, advertiser_id.clone()));
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

    /// The account header [`Self::headers_for`] leaves out of a call of
    /// `api` because Amazon refuses it beside the one sent: a caller may
    /// not add it either (whatever its value), as with an owned header.
    pub fn withheld(&self, api: Api) -> Option<&'static str> {
        match (&self.account.native, api) {
            (
                NativeIds::DspAdvertiser {
                    profile_id: None, ..
                },
                _,
            )
            | (NativeIds::DspAdvertiser { .. }, Api::V1) => Some(SCOPE),
            (NativeIds::DspAdvertiser { .. }, Api::Reporting) => Some(ACCOUNT_ID),
            _ => None,
        }
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
    /// the account's credentials and identifying headers for the call's
    /// API; refused when the caller sends an owned header with another
    /// value, or the account header withheld from this call.
    pub fn headers_for(&self, to: &ForAccount<'_>) -> Result<HeaderMap, OwnedHeader> {
        let api = Api::of(&self.path);
        if let Some(withheld) = to
            .withheld(api)
            .filter(|name| self.headers.contains_key(*name))
        {
            return Err(OwnedHeader(withheld));
        }
        merge(&self.headers, &to.headers_for(api))
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

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::ids::{AccountId, ConnectionId};
    use crate::model::account::{AccountRole, AccountStatus};
    use crate::model::region::Region;

    const ADVERTISER: &str = "592207944055236095";

    fn advertiser(profile_id: Option<&str>) -> AccountRecord {
        AccountRecord {
            account_id: AccountId::parse("acct_1").unwrap(),
            connection_id: ConnectionId::parse("conn_1").unwrap(),
            name: "Advertiser".into(),
            native: NativeIds::DspAdvertiser {
                advertiser_id: ADVERTISER.into(),
                profile_id: profile_id.map(str::to_owned),
                parent_entity_id: Some("ENTITY9".into()),
            },
            region: Region::Na,
            country_code: None,
            currency_code: None,
            timezone: None,
            marketplace_id: None,
            marketplace_name: None,
            account_type: None,
            status: AccountStatus::Active,
            source_status: None,
            role: AccountRole::Viewer,
            connected_at: Utc::now(),
            last_synced_at: None,
        }
    }

    /// The account headers (no token or client id) of a call of `api`.
    fn account_headers(account: &AccountRecord, api: Api) -> Vec<(&'static str, String)> {
        let secret = Secret::new("x");
        let to = ForAccount {
            account,
            api_host: "https://advertising-api.amazon.com",
            access_token: &secret,
            client_id: &secret,
        };
        to.headers_for(api)
            .into_iter()
            .filter(|(name, _)| !name.starts_with("Authorization") && !name.contains("ClientId"))
            .collect()
    }

    fn outbound(path: &str, sent: &[(&'static str, &str)]) -> Outbound {
        let mut headers = HeaderMap::new();
        for (name, value) in sent {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        Outbound {
            method: Method::POST,
            path: path.into(),
            query: None,
            headers,
            body: Bytes::new(),
        }
    }

    #[test]
    fn a_managed_service_advertiser_is_named_by_its_account_id_and_never_a_scope() {
        let managed = advertiser(None);
        let expected = |with_entity: bool| {
            let mut expected = vec![(ACCOUNT_ID, ADVERTISER.to_owned())];
            if with_entity {
                expected.push(("parentEntityId", "ENTITY9".to_owned()));
            }
            expected
        };
        assert_eq!(account_headers(&managed, Api::Other), expected(true));
        assert_eq!(account_headers(&managed, Api::Reporting), expected(true));
        assert_eq!(account_headers(&managed, Api::V1), expected(false));
        for api in [Api::Other, Api::Reporting, Api::V1] {
            assert_eq!(withheld_from(&managed, api), Some(SCOPE));
        }
    }

    fn withheld_from(account: &AccountRecord, api: Api) -> Option<&'static str> {
        let secret = Secret::new("x");
        ForAccount {
            account,
            api_host: "",
            access_token: &secret,
            client_id: &secret,
        }
        .withheld(api)
    }

    #[test]
    fn an_agency_advertiser_reports_with_its_agency_scope_alone() {
        let agency = advertiser(Some("8100"));
        assert_eq!(
            account_headers(&agency, Api::Reporting),
            [(SCOPE, "8100".to_owned())]
        );
        assert_eq!(withheld_from(&agency, Api::Reporting), Some(ACCOUNT_ID));
        assert_eq!(
            account_headers(&agency, Api::Other),
            [
                (SCOPE, "8100".to_owned()),
                (ACCOUNT_ID, ADVERTISER.to_owned()),
                ("parentEntityId", "ENTITY9".to_owned())
            ]
        );
        assert_eq!(withheld_from(&agency, Api::Other), None);
        assert_eq!(
            account_headers(&agency, Api::V1),
            [(ACCOUNT_ID, ADVERTISER.to_owned())]
        );
        assert_eq!(withheld_from(&agency, Api::V1), Some(SCOPE));
    }

    #[test]
    fn the_api_of_a_call_is_read_from_its_path() {
        assert_eq!(Api::of("/adsApi/v1/create/reports"), Api::V1);
        assert_eq!(Api::of("/reporting/reports"), Api::Reporting);
        assert_eq!(Api::of("/reporting/reports/abc"), Api::Reporting);
        assert_eq!(
            Api::of("/dsp/v1/seats/advertisers/current/list"),
            Api::Other
        );
    }

    #[test]
    fn a_caller_may_not_add_the_header_withheld_from_a_call_whatever_its_value() {
        let secret = Secret::new("x");
        let agency = advertiser(Some("8100"));
        let to = ForAccount {
            account: &agency,
            api_host: "",
            access_token: &secret,
            client_id: &secret,
        };
        let report = outbound(
            "/reporting/reports",
            &[("amazon-ads-accountid", ADVERTISER)],
        );
        assert_eq!(report.headers_for(&to).err(), Some(OwnedHeader(ACCOUNT_ID)));
        let sent = outbound("/reporting/reports", &[])
            .headers_for(&to)
            .unwrap();
        assert_eq!(sent["amazon-advertising-api-scope"], "8100");
        assert!(!sent.contains_key("amazon-ads-accountid"));
        let seats = outbound(
            "/dsp/v1/seats/advertisers/current/list",
            &[("amazon-ads-accountid", ADVERTISER)],
        );
        assert!(seats.headers_for(&to).is_ok(), "the account's own value");

        let managed = advertiser(None);
        let to = ForAccount {
            account: &managed,
            ..to
        };
        let scoped = outbound(
            "/sp/campaigns/list",
            &[("amazon-advertising-api-scope", "8100")],
        );
        assert_eq!(scoped.headers_for(&to).err(), Some(OwnedHeader(SCOPE)));
    }
}
