//! The table's DynamoDB stream: committed audit events become connection
//! lifecycle events on EventBridge.

use adsconnect::startup::{OnFirstEvent, Startup};
use adsconnect::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let publisher = Startup::defer_without_secrets(|s| Ok(s.publisher_from_env()))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    let publisher = OnFirstEvent::new(publisher);
    let publisher = &publisher;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let publisher = publisher.get().await?;
            Ok::<serde_json::Value, lambda_runtime::Error>(publisher.handle(&event.payload).await)
        },
    ))
    .await
}
