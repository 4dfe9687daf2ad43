//! The Ads API client, and what an Amazon login reaches through it first:
//! its LWA profile, its advertising profiles in every region, and the Ads
//! accounts behind them.

use std::time::Instant;

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::http::{self, HttpError};
use super::paging::{self, Listed};
use super::{AmazonConfig, PerRegion};
use crate::model::account::AccountStatus;
use crate::model::region::Region;
use crate::secrets::Secret;

const ADS_ACCOUNTS_MEDIA_TYPE: &str = "application/vnd.listaccountsresource.v1+json";
/// Amazon's maximum page size for `/adsAccounts/list`.
const ADS_ACCOUNTS_PAGE: u32 = 100;
/// A runaway `nextToken` chain must end somewhere.
const MAX_ADS_ACCOUNT_PAGES: usize = 100;

#[derive(Debug, Clone, thiserror::Error)]
pub enum AdsError {
    #[error(transparent)]
    Unavailable(#[from] HttpError),
    #[error("unexpected status {0}")]
    Status(u16),
    #[error("unexpected body: {0}")]
    Body(String),
}

impl AdsError {
    /// A short code for users and logs (no URL, no token).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Status(401 | 403) => "unauthorized",
            Self::Status(_) => "rejected",
            Self::Body(_) => "invalid_response",
        }
    }

    /// The login has no access to what was asked: for DSP and AMC, none of
    /// that kind rather than a failure (Amazon answers 401, 403 or 404).
    pub fn is_no_access(&self) -> bool {
        matches!(self, Self::Status(401 | 403 | 404))
    }
}

/// The LWA customer profile (needs the `profile` scope).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LwaProfile {
    pub user_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdsProfile {
    /// A number in Amazon's JSON; kept exact as text.
    #[serde(deserialize_with = "number_as_text")]
    pub profile_id: String,
    pub country_code: Option<String>,
    pub currency_code: Option<String>,
    pub timezone: Option<String>,
    #[serde(default)]
    pub account_info: AccountInfo,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    pub marketplace_string_id: Option<String>,
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub sub_type: Option<String>,
    pub name: Option<String>,
}

impl AdsProfile {
    /// DSP access comes through agency profiles (not Amazon Attribution's).
    pub fn is_dsp_agency(&self) -> bool {
        self.account_info.kind.as_deref() == Some("agency")
            && self.account_info.sub_type.as_deref() != Some("AMAZON_ATTRIBUTION")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdsAccount {
    pub ads_account_id: String,
    pub account_name: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub alternate_ids: Vec<AlternateId>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlternateId {
    pub country_code: Option<String>,
    #[serde(default, deserialize_with = "optional_number_as_text")]
    pub profile_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdsAccountPage {
    #[serde(default)]
    ads_accounts: Vec<AdsAccount>,
    next_token: Option<String>,
}

pub(super) fn number_as_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    optional_number_as_text(d)?.ok_or_else(|| serde::de::Error::custom("missing id"))
}

pub(super) fn optional_number_as_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    })
}

/// Maps Amazon's account status as the original system did.
pub fn account_status(amazon: Option<&str>) -> AccountStatus {
    match amazon {
        Some("PARTIALLY_CREATED") => AccountStatus::Partial,
        Some("PENDING") => AccountStatus::Pending,
        Some("DISABLED") => AccountStatus::Disabled,
        // CREATED, or a profile with no Ads account listed: usable.
        _ => AccountStatus::Active,
    }
}

/// The JSON body of a 200, else the status.
async fn json_of_ok<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, AdsError> {
    if response.status() != StatusCode::OK {
        return Err(AdsError::Status(response.status().as_u16()));
    }
    response
        .json()
        .await
        .map_err(|e| AdsError::Body(e.without_url().to_string()))
}

pub struct AdsApi {
    pub(super) http: crate::tls::Https,
    pub(super) hosts: PerRegion<String>,
    profile_url: String,
    pub(super) client_id: Secret,
}

impl AdsApi {
    pub fn new(config: &AmazonConfig) -> Self {
        Self {
            http: crate::tls::Https,
            hosts: config.ads_urls.clone(),
            profile_url: config.profile_url.clone(),
            client_id: config.client_id.clone(),
        }
    }

    /// The LWA profile of a login that granted the `profile` scope: any
    /// answer but the profile is a failure (a refusal here is no sign that
    /// the scope is missing, and taking it for one would give the login a
    /// second identity).
    pub async fn lwa_profile(&self, access_token: &Secret) -> Result<LwaProfile, AdsError> {
        let response = http::send(|| {
            self.http
                .get(&self.profile_url)
                .bearer_auth(access_token.expose())
        })
        .await?;
        match response.status() {
            StatusCode::OK => response
                .json()
                .await
                .map_err(|e| AdsError::Body(e.without_url().to_string())),
            status => Err(AdsError::Status(status.as_u16())),
        }
    }

    /// `GET /v2/profiles` on one region's host (profiles of that region only).
    pub async fn profiles(
        &self,
        region: Region,
        access_token: &Secret,
    ) -> Result<Vec<AdsProfile>, AdsError> {
        self.get_json(region, "/v2/profiles", access_token, &[], &[])
            .await
    }

    /// `GET path` on `region`'s host with the bearer token, the client id,
    /// `headers` and `query`: the JSON body of a 200, else the status.
    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        region: Region,
        path: &str,
        access_token: &Secret,
        headers: &[(&str, &str)],
        query: &[(&str, String)],
    ) -> Result<T, AdsError> {
        let url = format!("{}{path}", self.hosts.get(region));
        let response = http::send(|| {
            let mut request = self
                .http
                .get(&url)
                .query(query)
                .bearer_auth(access_token.expose())
                .header("Amazon-Advertising-API-ClientId", self.client_id.expose());
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request
        })
        .await?;
        json_of_ok(response).await
    }

    /// `POST path` on `region`'s host with the bearer token, the client id,
    /// `headers` and the JSON `body`: the JSON body of a 200, else the
    /// status.
    pub(super) async fn post_json<T: DeserializeOwned>(
        &self,
        region: Region,
        path: &str,
        access_token: &Secret,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Result<T, AdsError> {
        let url = format!("{}{path}", self.hosts.get(region));
        let body = body.to_string();
        let response = http::send(|| {
            let mut request = self
                .http
                .post(&url)
                .bearer_auth(access_token.expose())
                .header("Amazon-Advertising-API-ClientId", self.client_id.expose())
                .body(body.clone());
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request
        })
        .await?;
        json_of_ok(response).await
    }

    /// Every page of `POST /adsAccounts/list` (a global API, asked on the NA host).
    pub async fn ads_accounts(
        &self,
        access_token: &Secret,
        stop_at: Option<Instant>,
    ) -> Result<Listed<AdsAccount>, AdsError> {
        let media = [
            ("Content-Type", ADS_ACCOUNTS_MEDIA_TYPE),
            ("Accept", ADS_ACCOUNTS_MEDIA_TYPE),
        ];
        let media = &media;
        paging::by_token(MAX_ADS_ACCOUNT_PAGES, stop_at, |next_token| async move {
            let mut body = json!({ "maxResults": ADS_ACCOUNTS_PAGE });
            if let Some(token) = next_token {
                body["nextToken"] = json!(token);
            }
            let page: AdsAccountPage = self
                .post_json(Region::Na, "/adsAccounts/list", access_token, media, &body)
                .await?;
            Ok((page.ads_accounts, page.next_token))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_as_the_original_system_did() {
        assert_eq!(account_status(Some("CREATED")), AccountStatus::Active);
        assert_eq!(
            account_status(Some("PARTIALLY_CREATED")),
            AccountStatus::Partial
        );
        assert_eq!(account_status(Some("PENDING")), AccountStatus::Pending);
        assert_eq!(account_status(Some("DISABLED")), AccountStatus::Disabled);
        assert_eq!(account_status(None), AccountStatus::Active);
    }

    #[test]
    fn profiles_parse_leniently_and_keep_large_ids_exact() {
        let profile: AdsProfile = serde_json::from_str(
            r#"{"profileId": 3991703629696934, "countryCode": "US", "currencyCode": "USD",
                "dailyBudget": 999999999.0, "timezone": "America/Los_Angeles",
                "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "id": "A2X", "type": "seller",
                                "name": "Acme", "validPaymentMethod": true, "newField": 1}}"#,
        )
        .unwrap();
        assert_eq!(profile.profile_id, "3991703629696934");
        assert_eq!(profile.account_info.kind.as_deref(), Some("seller"));
    }
}
