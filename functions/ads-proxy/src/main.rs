//! `ANY /api/v1/accounts/{id}/ads/{proxy+}`: Ads API calls for the caller's
//! account, credentials injected.

use adsconnect::startup::Startup;
use adsconnect::{api, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let services = async { Startup::from_env().await?.proxy_from_env() }
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    lambda_http::run(api::proxy_router(services)).await
}
