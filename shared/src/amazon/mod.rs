//! Login with Amazon and the Amazon Ads API.

pub mod ads;
pub mod amc;
pub mod discovery;
pub mod dsp;
pub mod headers;
pub mod http;
pub mod limits;
pub mod lwa;
pub mod managers;
pub mod marketplaces;
pub mod paging;
pub mod paths;
pub mod proxy;
pub mod reporting;

use crate::model::region::Region;
use crate::secrets::Secret;

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
