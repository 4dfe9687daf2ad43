//! HTTP API Lambda authorizer: verifies Clerk session tokens.

use adsconnect::auth::authorizer::{self, SimpleResponse};
use adsconnect::auth::{SessionVerifier, VerifierConfig};
use std::time::Instant;

use adsconnect::{budget, telemetry};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let verifier = VerifierConfig::from_env()
        .and_then(SessionVerifier::new)
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    let verifier = &verifier;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            let deadline = budget::instant_of(event.context.deadline())
                .unwrap_or_else(|| Instant::now() + budget::timeouts::AUTH_CHECK);
            let verdict = budget::scope(deadline, authorizer::authorize(verifier, &event.payload));
            Ok::<SimpleResponse, lambda_runtime::Error>(verdict.await)
        },
    ))
    .await
}
