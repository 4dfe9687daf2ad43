//! EventBridge-scheduled: keeps every connection's access token fresh.

use adsconnect::connections::refresh::RunSummary;
use adsconnect::startup::{OnFirstEvent, Startup};
use adsconnect::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let refresher = Startup::defer(Startup::refresher_from_env)
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    let refresher = OnFirstEvent::new(refresher);
    let refresher = &refresher;
    // The payload is not read: a Scheduled Event and a Scheduler input alike start a run.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let refresher = refresher.get().await?;
            Ok::<RunSummary, lambda_runtime::Error>(
                refresher.scheduled(event.context.deadline).await?,
            )
        },
    ))
    .await
}
