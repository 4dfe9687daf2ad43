//! EventBridge-scheduled: keeps every connection's access token fresh.

use adsconnect::entrypoints::schedule;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let refresher = Startup::defer(Startup::refresher_from_env)
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    schedule::serve(refresher).await
}
