//! Logging set-up shared by every function.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// JSON logs on Lambda (CloudWatch parses them), readable text elsewhere.
/// Level from `AWS_LAMBDA_LOG_LEVEL`, or `RUST_LOG` (`info`,
/// `adsconnect=debug,warn`, …), default `info`. `Targets` rather than
/// `EnvFilter`: the same directives without a regex engine in every binary.
pub fn init() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|directives| directives.to_lowercase().parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let registry = tracing_subscriber::registry().with(filter);
    // Repeated initialisation (tests) is harmless; the first subscriber wins.
    let _ = if on_lambda {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .without_time()
                    .with_current_span(false)
                    .with_target(false),
            )
            .try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_target(false))
            .try_init()
    };
}

/// Logs a start-up failure as one line and exits without a panic message.
pub fn exit_on_startup_error(error: &dyn std::error::Error) -> ! {
    tracing::error!(error = %error, "start-up failed");
    std::process::exit(1)
}
