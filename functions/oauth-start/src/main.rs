//! `POST /api/v1/amazon/connect`: begins an Amazon connection.

use adsconnect::api::amazon::{AmazonState, start_router};
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = AmazonState::from_env()
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    lambda_http::run(start_router(state)).await
}
