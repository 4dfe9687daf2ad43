//! User profile, session, settings, connection and account endpoints (and
//! the public health and OpenAPI routes).

use adsconnect::entrypoints::http;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let router = Startup::defer(|s| Ok(http::users_router(s.users_from_env()?)))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    http::serve(router).await
}
