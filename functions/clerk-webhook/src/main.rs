//! Svix-signed Clerk events keep users in sync.

use adsconnect::entrypoints::http as api;
use adsconnect::startup::{Startup, serve_http};
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let router = Startup::defer(|s| Ok(api::webhook_router(s.webhook()?)))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    serve_http(router).await
}
