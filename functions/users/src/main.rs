//! User profile, session, settings, connection and account endpoints (and
//! the public health and OpenAPI routes).

use adsconnect::startup::Startup;
use adsconnect::{api, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let services = async { Startup::from_env().await?.users_from_env() }
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    lambda_http::run(api::users_router(services)).await
}
