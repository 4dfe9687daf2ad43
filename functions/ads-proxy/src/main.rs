//! `ANY /api/v1/accounts/{id}/ads/{proxy+}`: Ads API calls for the caller's
//! account, credentials injected.

use adsconnect::entrypoints::http;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let router = Startup::defer(|s| Ok(http::proxy_router(s.proxy_from_env()?)))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    http::serve(router).await
}
