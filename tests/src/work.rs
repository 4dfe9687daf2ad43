//! The connections put to work: calls through `ads-proxy` and credentials
//! from the `credentials` function, as a browser and a backend make them.

use adsconnect::api;
use adsconnect::connections::access::Access;
use adsconnect::connections::refresh::RefreshConfig;
use axum::Router;

use crate::stack::{Request, Response, Stack};

pub use adsconnect_dev::ads_stub::{CAMPAIGNS_MEDIA_TYPE, REPORT_MEDIA_TYPE};

/// `POST /sp/campaigns/list` for `account` through the proxy, as `user`.
pub fn campaigns_list(account: &str) -> Request {
    Request::new(
        "POST",
        &format!("/api/v1/accounts/{account}/ads/sp/campaigns/list"),
    )
    .header("content-type", CAMPAIGNS_MEDIA_TYPE)
    .header("accept", CAMPAIGNS_MEDIA_TYPE)
    .body(br#"{"stateFilter":{"include":["ENABLED"]}}"#.to_vec())
}

impl Stack {
    /// Sends `request` to the stack's `ads-proxy` as `user`.
    pub async fn proxy(&self, request: &Request, user: &str) -> Response {
        self.send(&self.proxy, request, Some(user)).await
    }

    /// An `ads-proxy` in a process of its own, allowing only `allowed`.
    pub fn proxy_allowing(&self, allowed: &[&str]) -> Router {
        api::proxy_router(self.startup.proxy(
            self.access(),
            allowed.iter().map(|p| (*p).to_owned()).collect(),
        ))
    }

    /// Account access as `ads-proxy` or `credentials` builds it, in a
    /// process of its own (cold caches).
    pub fn access(&self) -> Access {
        self.startup
            .access(
                self.startup.cipher(&self.kms_key_id),
                &self.amazon_config,
                RefreshConfig::default(),
            )
            .unwrap()
    }
}
