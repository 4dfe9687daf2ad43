//! The table's DynamoDB stream: committed audit events become connection
//! lifecycle events on EventBridge.

use adsconnect::startup::Startup;
use adsconnect::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let publisher = async {
        Ok::<_, adsconnect::config::ConfigError>(Startup::from_env().await?.publisher_from_env())
    }
    .await
    .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    let publisher = &publisher;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Ok::<serde_json::Value, lambda_runtime::Error>(publisher.handle(&event.payload).await)
        },
    ))
    .await
}
