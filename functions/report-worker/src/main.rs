//! The report engine's worker: each queue message steps one report job —
//! Amazon's reports created, waited for and copied into the bucket.

use adsconnect::entrypoints::queue;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let reports = Startup::defer(Startup::report_engine_from_env)
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    queue::serve(reports).await
}
