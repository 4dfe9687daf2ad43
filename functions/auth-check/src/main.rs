//! HTTP API Lambda authorizer: verifies Clerk session tokens.

use adsconnect::auth::SessionVerifier;
use adsconnect::configuration;
use adsconnect::entrypoints::authorizer;
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let verifier = configuration::verifier()
        .and_then(SessionVerifier::new)
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    authorizer::serve(verifier).await
}
