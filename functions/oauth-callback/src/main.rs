//! `GET /api/v1/amazon/callback`: Amazon's redirect target.

use std::sync::Arc;

use adsconnect::startup::Startup;
use adsconnect::{api, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let service = async { Startup::from_env().await?.connect_from_env() }
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    lambda_http::run(api::callback_router(Arc::new(service))).await
}
