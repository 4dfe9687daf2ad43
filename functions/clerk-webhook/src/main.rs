//! Svix-signed Clerk events keep users in sync.

use adsconnect::startup::Startup;
use adsconnect::{api, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let services = async { Startup::from_env().await?.webhook() }
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    lambda_http::run(api::webhook_router(services)).await
}
