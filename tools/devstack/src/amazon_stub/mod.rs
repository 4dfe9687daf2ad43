//! A stand-in for Login with Amazon and the Amazon Ads API, on wiremock. It
//! checks what Amazon checks: form-encoded token requests with the client
//! credentials in the body, the exact redirect URI, the S256 PKCE challenge,
//! single-use codes, bearer tokens and the Ads API client-id header. Every
//! Ads answer carries an `x-amzn-RequestId`; tests can throttle any
//! endpoint as Amazon does. Tests and the local stack both use it.
//!
//! - `world`: what the stand-in knows and what tests change and read in it
//!   ([`AmazonWorld`]);
//! - `lwa`: the token endpoint, the user profile, profiles and Ads accounts;
//! - `consent_page`: the page that consents (or cancels) as a login;
//! - `access`: what a login reaches (scopes, linked profiles and their
//!   roles, DSP advertisers) as Amazon decides it from account headers;
//! - `ads`: the campaign and report endpoints the proxy reaches (with
//!   Amazon's 425 for a duplicate report, and a Viewer's 401 on writes);
//! - `reports`: reporting v3 past the create — status polls, cancelling,
//!   the knobs (`reports_control`: `/_stub/reports`), the create body's
//!   checks (`reports_request`), what is kept of each report
//!   (`reports_state`), its file and URL (`reports_files`), and the
//!   stand-in's own S3 serving it (`reports_s3`);
//! - `dsp`: the DSP, AMC and seat endpoints;
//! - `manager`: manager accounts in every region;
//! - `amc`: AMC audiences and advertiser updates (a trailing-slash path);
//! - `v1`: Ads API v1's campaign query;
//! - `throttle`: Amazon's 429s, one call admitted per window (and
//!   `/_stub/throttle`, the local stack's control of it);
//! - `listings`: entries as Amazon lists them, to build a [`Login`] from.

mod access;
mod ads;
mod amc;
mod consent_page;
mod dsp;
mod listings;
mod lwa;
mod manager;
mod reports;
mod reports_control;
mod reports_files;
mod reports_request;
mod reports_s3;
mod reports_state;
#[cfg(test)]
mod reports_tests;
mod throttle;
mod v1;
mod world;

use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

pub use ads::{CAMPAIGNS_MEDIA_TYPE, REPORT_MEDIA_TYPE};
pub use amc::AMC_AUDIENCE_MEDIA_TYPE;
pub use listings::{
    ads_account, agency_profile, amc_account, amc_instance, dsp_advertisers, linked_dsp_advertiser,
    linked_profile, manager_account, profile, seats,
};
pub use reports::{CreatedReport, REPORT_STATUS_MEDIA_TYPE};
pub use world::{AdsCall, AmazonWorld, CLIENT_ID, CLIENT_SECRET, Endpoint, Login};

impl AmazonWorld {
    /// Starts the stub on a random loopback port, or on `listener`.
    pub async fn serve(&self, listener: Option<std::net::TcpListener>) -> MockServer {
        let server = match listener {
            Some(listener) => MockServer::builder().listener(listener).start().await,
            None => MockServer::start().await,
        };
        lwa::mount(self, &server).await;
        Mock::given(method("GET"))
            .and(path_regex("^/(na|eu|fe)/ap/oa$"))
            .respond_with(consent_page::ConsentPage(self.clone()))
            .mount(&server)
            .await;
        ads::mount(self, &server).await;
        dsp::mount(self, &server).await;
        amc::mount(self, &server).await;
        v1::mount(self, &server).await;
        manager::mount(self, &server).await;
        reports::mount(self, &server).await;
        Mock::given(path_regex("^/_stub/throttle$"))
            .respond_with(throttle::ThrottleControl(self.clone()))
            .mount(&server)
            .await;
        server
    }
}
