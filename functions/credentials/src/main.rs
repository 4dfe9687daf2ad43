//! Lambda Invoke API only: a fresh access token, host and headers for one
//! account, for the app's own backend services whose IAM role is listed in
//! `CREDENTIALS_CALLERS` and proven by a signed GetCallerIdentity.

use adsconnect::entrypoints::credentials;
use adsconnect::startup::Startup;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let services = Startup::defer(Startup::credentials_from_env)
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    credentials::serve(services).await
}
