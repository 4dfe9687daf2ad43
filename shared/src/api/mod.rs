//! The HTTP APIs of the functions, as axum routers. Each function's `main`
//! builds its state from the environment and hands the router to
//! `lambda_http`; tests and the local stack serve the very same routers.

pub mod amazon;
pub mod health;
pub mod manage;
pub mod openapi;
pub mod users;
pub mod views;
pub mod webhook;

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{self, ConfigError};
use crate::secrets::AppSecrets;

/// One SDK configuration per process, built at start-up (it resolves
/// credentials and region once). Honours `AWS_ENDPOINT_URL` for emulators.
pub async fn aws_sdk_config() -> SdkConfig {
    with_timeouts(
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::tls::aws_http_client())
            .load()
            .await,
    )
}

/// Bounds every DynamoDB and KMS call. The SDK's defaults bound only the
/// connect, so a dependency that accepts a call and never answers would hold
/// a request until the function's timeout (10 s) and API Gateway's own error
/// instead of our 503: 2 s to connect, 2 s per attempt, 5 s per call.
pub fn with_timeouts(sdk: SdkConfig) -> SdkConfig {
    sdk.into_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .build()
}

/// Reads the application secret named by `APP_SECRETS_ID`.
pub async fn load_app_secrets(sdk: &SdkConfig) -> Result<AppSecrets, ConfigError> {
    let secret_id = config::required("APP_SECRETS_ID")?;
    AppSecrets::load(&aws_sdk_secretsmanager::Client::new(sdk), &secret_id).await
}
