//! The table's DynamoDB stream: committed audit events become connection
//! lifecycle events on EventBridge.

use adsconnect::entrypoints::stream;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let publisher = Startup::defer_without_secrets(|s| Ok(s.publisher_from_env()))
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    stream::serve(publisher).await
}
