//! What an Amazon login can reach: its LWA profile, its advertising profiles
//! in every region, and the Ads accounts behind them.

use futures::future::join_all;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::http::{self, HttpError};
use super::{AmazonConfig, PerRegion};
use crate::model::account::AccountStatus;
use crate::model::connection::SyncWarning;
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
    pub name: Option<String>,
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

fn number_as_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    optional_number_as_text(d)?.ok_or_else(|| serde::de::Error::custom("missing id"))
}

fn optional_number_as_text<'de, D: serde::Deserializer<'de>>(
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

/// One advertising profile joined with its Ads account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredAccount {
    pub region: Region,
    pub profile_id: String,
    pub name: String,
    pub country_code: Option<String>,
    pub currency_code: Option<String>,
    pub timezone: Option<String>,
    pub marketplace_id: Option<String>,
    pub account_type: Option<String>,
    pub ads_account_id: Option<String>,
    pub status: AccountStatus,
}

#[derive(Debug, Clone)]
pub struct Discovery {
    pub lwa_profile: Option<LwaProfile>,
    pub accounts: Vec<DiscoveredAccount>,
    pub warnings: Vec<SyncWarning>,
    /// Whether at least one region's profiles were read.
    pub any_region_answered: bool,
}

pub struct AdsApi {
    http: reqwest::Client,
    hosts: PerRegion<String>,
    profile_url: String,
    client_id: Secret,
}

impl AdsApi {
    pub fn new(config: &AmazonConfig) -> Self {
        Self {
            http: http::client(),
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
        let url = format!("{}/v2/profiles", self.hosts.get(region));
        let response = http::send(|| {
            self.http
                .get(&url)
                .bearer_auth(access_token.expose())
                .header("Amazon-Advertising-API-ClientId", self.client_id.expose())
        })
        .await?;
        if response.status() != StatusCode::OK {
            return Err(AdsError::Status(response.status().as_u16()));
        }
        response
            .json()
            .await
            .map_err(|e| AdsError::Body(e.without_url().to_string()))
    }

    /// Every page of `POST /adsAccounts/list` (a global API, asked on the NA host).
    pub async fn ads_accounts(&self, access_token: &Secret) -> Result<Vec<AdsAccount>, AdsError> {
        let url = format!("{}/adsAccounts/list", self.hosts.na);
        let mut accounts = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_ADS_ACCOUNT_PAGES {
            let mut body = json!({ "maxResults": ADS_ACCOUNTS_PAGE });
            if let Some(token) = &next_token {
                body["nextToken"] = json!(token);
            }
            let body = body.to_string();
            let response = http::send(|| {
                self.http
                    .post(&url)
                    .bearer_auth(access_token.expose())
                    .header("Amazon-Advertising-API-ClientId", self.client_id.expose())
                    .header(reqwest::header::CONTENT_TYPE, ADS_ACCOUNTS_MEDIA_TYPE)
                    .header(reqwest::header::ACCEPT, ADS_ACCOUNTS_MEDIA_TYPE)
                    .body(body.clone())
            })
            .await?;
            if response.status() != StatusCode::OK {
                return Err(AdsError::Status(response.status().as_u16()));
            }
            let page: AdsAccountPage = response
                .json()
                .await
                .map_err(|e| AdsError::Body(e.without_url().to_string()))?;
            accounts.extend(page.ads_accounts);
            next_token = page.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                break;
            }
        }
        Ok(accounts)
    }

    /// Everything the login reaches, asked concurrently, with its LWA profile
    /// when `with_profile` (the login granted the `profile` scope and who
    /// it is matters). A failing region or account listing becomes a
    /// warning; the rest is kept.
    pub async fn discover(&self, access_token: &Secret, with_profile: bool) -> Discovery {
        let profiles = join_all(
            Region::ALL
                .map(|region| async move { (region, self.profiles(region, access_token).await) }),
        );
        let lwa_profile = async {
            match with_profile {
                true => self.lwa_profile(access_token).await.map(Some),
                false => Ok(None),
            }
        };
        let (lwa_profile, regions, ads_accounts) =
            tokio::join!(lwa_profile, profiles, self.ads_accounts(access_token));
        let mut warnings = Vec::new();
        let lwa_profile = lwa_profile.unwrap_or_else(|e| {
            warnings.push(SyncWarning {
                source: "lwa_profile".into(),
                reason: e.code().into(),
            });
            None
        });
        let ads_accounts = ads_accounts.unwrap_or_else(|e| {
            warnings.push(SyncWarning {
                source: "ads_accounts".into(),
                reason: e.code().into(),
            });
            Vec::new()
        });
        let mut accounts = Vec::new();
        let mut any_region_answered = false;
        for (region, result) in regions {
            match result {
                Ok(profiles) => {
                    any_region_answered = true;
                    accounts.extend(profiles.into_iter().map(|p| join(region, p, &ads_accounts)));
                }
                Err(e) => warnings.push(SyncWarning {
                    source: format!("profiles_{region}"),
                    reason: e.code().into(),
                }),
            }
        }
        // A profile id is unique; one listed twice is kept once.
        accounts.sort_by(|a, b| a.profile_id.cmp(&b.profile_id));
        accounts.dedup_by(|a, b| a.profile_id == b.profile_id);
        Discovery {
            lwa_profile,
            accounts,
            warnings,
            any_region_answered,
        }
    }
}

fn join(region: Region, profile: AdsProfile, ads_accounts: &[AdsAccount]) -> DiscoveredAccount {
    let ads_account = ads_accounts.iter().find(|account| {
        account
            .alternate_ids
            .iter()
            .any(|alt| alt.profile_id.as_deref() == Some(profile.profile_id.as_str()))
    });
    let name = profile
        .account_info
        .name
        .clone()
        .or_else(|| ads_account.and_then(|a| a.account_name.clone()))
        .unwrap_or_else(|| format!("Amazon Ads profile {}", profile.profile_id));
    DiscoveredAccount {
        region,
        name,
        country_code: profile.country_code,
        currency_code: profile.currency_code,
        timezone: profile.timezone,
        marketplace_id: profile.account_info.marketplace_string_id,
        account_type: profile.account_info.kind,
        ads_account_id: ads_account.map(|a| a.ads_account_id.clone()),
        status: account_status(ads_account.and_then(|a| a.status.as_deref())),
        profile_id: profile.profile_id,
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
        let ads = vec![AdsAccount {
            ads_account_id: "amzn1.ads-account.g.1".into(),
            account_name: Some("Acme Global".into()),
            status: Some("PARTIALLY_CREATED".into()),
            alternate_ids: vec![AlternateId {
                country_code: Some("US".into()),
                profile_id: Some("3991703629696934".into()),
            }],
        }];
        let joined = join(Region::Na, profile, &ads);
        assert_eq!(
            joined.ads_account_id.as_deref(),
            Some("amzn1.ads-account.g.1")
        );
        assert_eq!(joined.status, AccountStatus::Partial);
        assert_eq!(joined.name, "Acme");
    }
}
