//! Logging set-up shared by every function.

use tracing_subscriber::EnvFilter;

/// JSON logs on Lambda (CloudWatch parses them), readable text elsewhere.
/// Level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, default `info`.
pub fn init() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|level| EnvFilter::new(level.to_lowercase()))
        .unwrap_or_else(|| {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
        });
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // Repeated initialisation (tests) is harmless; the first subscriber wins.
    let _ = if on_lambda {
        builder
            .json()
            .without_time()
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Logs a start-up failure as one line and exits without a panic message.
pub fn exit_on_startup_error(error: &dyn std::error::Error) -> ! {
    tracing::error!(error = %error, "start-up failed");
    std::process::exit(1)
}
