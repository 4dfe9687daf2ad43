//! `POST /api/v1/amazon/connect`: begins an Amazon connection.

use std::sync::Arc;

use adsconnect::entrypoints::http as api;
use adsconnect::startup::{Startup, serve_http};
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let router = Startup::defer(|s| Ok(api::start_router(Arc::new(s.connect_from_env()?))))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    serve_http(router).await
}
