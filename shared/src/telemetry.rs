//! Logging set-up shared by every function.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::configuration;

/// Libraries that log what passes through them (invocation events,
/// headers, bodies: bearer tokens, webhook signatures, Amazon codes, the
/// secrets) at DEBUG or TRACE. No configuration lets them below INFO.
const WIRE_LOGGERS: [&str; 14] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "reqwest",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_config",
    "tower_http",
];

/// What a deployer's directives may enable, and what they never can.
fn filters(directives: Option<&str>) -> (Targets, Targets) {
    let chosen = directives
        .and_then(|directives| directives.to_lowercase().parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(WIRE_LOGGERS.map(|target| (target, LevelFilter::INFO)));
    (chosen, caps)
}

/// JSON logs on Lambda (CloudWatch parses them; fields at the top level,
/// so Logs Insights queries name them plainly), readable text elsewhere.
/// Level from `AWS_LAMBDA_LOG_LEVEL`, or `RUST_LOG` (`info`,
/// `adsconnect=debug,warn`, …), default `info`; the libraries that would
/// print events, headers or bodies stay at INFO whatever is asked.
/// `Targets` rather than `EnvFilter`: the same directives without a regex
/// engine in every binary.
pub fn init() {
    let (chosen, caps) = filters(configuration::log_directives().as_deref());
    let on_lambda = configuration::on_lambda();
    // Both filters apply: a line is written only if each lets it through.
    let registry = tracing_subscriber::registry().with(chosen).with(caps);
    // Repeated initialisation (tests) is harmless; the first subscriber wins.
    let _ = if on_lambda {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
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

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn the_most_verbose_directives_leave_the_wire_loggers_at_info() {
        for directives in [
            "trace",
            "TRACE",
            "lambda_runtime=trace,trace",
            "aws_smithy_runtime=trace",
        ] {
            let (chosen, caps) = filters(Some(directives));
            let enabled = |target: &str, level: Level| {
                chosen.would_enable(target, &level) && caps.would_enable(target, &level)
            };
            for target in WIRE_LOGGERS {
                assert!(!enabled(target, Level::DEBUG), "{directives}: {target}");
                assert!(!enabled(target, Level::TRACE), "{directives}: {target}");
            }
            assert!(
                !enabled("lambda_runtime::layers", Level::TRACE),
                "{directives}: a module"
            );
            if directives.starts_with("trace") || directives.starts_with("TRACE") {
                assert!(
                    enabled("adsconnect::api", Level::TRACE),
                    "{directives}: ours"
                );
            }
        }
    }
}
