//! Lambda Invoke API only: a fresh access token, host and headers for one
//! account, for the app's own backend services.

use std::time::Instant;

use adsconnect::startup::{OnFirstEvent, Startup};
use adsconnect::{budget, credentials, telemetry};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let access = Startup::defer(Startup::access_from_env)
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    let access = OnFirstEvent::new(access);
    let access = &access;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = budget::instant_of(event.context.deadline())
                .unwrap_or_else(|| Instant::now() + budget::timeouts::CREDENTIALS);
            let access = access.get().await.map_err(|_| Diagnostic {
                error_type: "unavailable".to_owned(),
                error_message: "credentials are unavailable; retry shortly".to_owned(),
            })?;
            budget::scope(deadline, credentials::vend(access, event.payload))
                .await
                .map_err(|failure| Diagnostic {
                    error_type: failure.code.to_owned(),
                    error_message: failure.message,
                })
        },
    ))
    .await
}
