//! Svix-signed Clerk events keep users in sync.

use adsconnect::entrypoints::http;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let router = Startup::defer(|s| Ok(http::webhook_router(s.webhook()?)))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    http::serve(router).await
}
