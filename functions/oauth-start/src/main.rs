//! `POST /api/v1/amazon/connect`: begins an Amazon connection.

use std::sync::Arc;

use adsconnect::entrypoints::http;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let router = Startup::defer(|s| Ok(http::start_router(Arc::new(s.connect_from_env()?))))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    http::serve(router).await
}
