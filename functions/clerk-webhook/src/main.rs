//! Svix-signed Clerk events keep users in sync.

use adsconnect::api::webhook::{WebhookState, router};
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = WebhookState::from_env()
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    lambda_http::run(router(state)).await
}
