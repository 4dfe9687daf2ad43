//! Login with Amazon and the Amazon Ads API.

pub mod ads;
pub mod amc;
pub mod discovery;
pub mod dsp;
pub mod http;
pub mod lwa;
pub mod marketplaces;
pub mod proxy;

use crate::config::{self, ConfigError};
use crate::model::region::Region;
use crate::secrets::{AppSecrets, Secret};

/// One value per region.
#[derive(Debug, Clone)]
pub struct PerRegion<T> {
    pub na: T,
    pub eu: T,
    pub fe: T,
}

impl<T> PerRegion<T> {
    pub fn get(&self, region: Region) -> &T {
        match region {
            Region::Na => &self.na,
            Region::Eu => &self.eu,
            Region::Fe => &self.fe,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AmazonConfig {
    pub client_id: Secret,
    pub client_secret: Secret,
    /// Needed for consent and code exchange, not for refreshing.
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    pub auth_urls: PerRegion<String>,
    pub token_url: String,
    pub ads_urls: PerRegion<String>,
    pub profile_url: String,
}

fn url_or(name: &'static str, default: &str) -> Result<String, ConfigError> {
    match config::optional(name) {
        Some(url) => config::base_url(name, &url),
        None => Ok(default.to_owned()),
    }
}

impl AmazonConfig {
    /// For the OAuth functions: `AMAZON_REDIRECT_URI` is required.
    pub fn from_env(secrets: &AppSecrets) -> Result<Self, ConfigError> {
        let redirect_uri = config::required("AMAZON_REDIRECT_URI")?;
        config::base_url("AMAZON_REDIRECT_URI", &redirect_uri)?;
        Self::read(secrets, Some(redirect_uri))
    }

    /// For the refresher, which only refreshes tokens.
    pub fn for_refresh(secrets: &AppSecrets) -> Result<Self, ConfigError> {
        Self::read(secrets, None)
    }

    fn read(secrets: &AppSecrets, redirect_uri: Option<String>) -> Result<Self, ConfigError> {
        let scopes: Vec<String> = config::optional("AMAZON_SCOPES")
            .unwrap_or_else(|| "advertising::campaign_management".into())
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Ok(Self {
            client_id: AppSecrets::require(&secrets.amazon_client_id, "amazon_client_id")?,
            client_secret: AppSecrets::require(
                &secrets.amazon_client_secret,
                "amazon_client_secret",
            )?,
            redirect_uri,
            scopes,
            auth_urls: PerRegion {
                na: url_or("AMAZON_AUTH_URL_NA", "https://www.amazon.com/ap/oa")?,
                eu: url_or("AMAZON_AUTH_URL_EU", "https://eu.account.amazon.com/ap/oa")?,
                fe: url_or(
                    "AMAZON_AUTH_URL_FE",
                    "https://apac.account.amazon.com/ap/oa",
                )?,
            },
            token_url: url_or("AMAZON_TOKEN_URL", "https://api.amazon.com/auth/o2/token")?,
            ads_urls: PerRegion {
                na: url_or("AMAZON_ADS_URL_NA", "https://advertising-api.amazon.com")?,
                eu: url_or("AMAZON_ADS_URL_EU", "https://advertising-api-eu.amazon.com")?,
                fe: url_or("AMAZON_ADS_URL_FE", "https://advertising-api-fe.amazon.com")?,
            },
            profile_url: url_or("AMAZON_PROFILE_URL", "https://api.amazon.com/user/profile")?,
        })
    }
}
