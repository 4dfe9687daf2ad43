//! What a run reports: per connection, per run, and as CloudWatch metrics.

use serde::{Deserialize, Serialize};

/// What happened to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Refreshed,
    /// Retried later (backoff recorded on the connection).
    TransientFailure,
    NeedsReauth,
    /// Claimed elsewhere, no longer due, deleted, or left for the next run.
    Skipped,
    /// LWA refused our client credentials; nothing was changed.
    ClientRejected,
    /// KMS refused the token key; nothing was changed.
    KeyUnusable,
    /// The stored tokens do not open (corrupt, or sealed in another format);
    /// nothing was changed or deleted.
    Unreadable,
}

/// One structured summary per run (also the invocation's result).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub due: usize,
    pub refreshed: usize,
    pub transient_failures: usize,
    pub needs_reauth: usize,
    pub skipped: usize,
    /// Stopped calling LWA: our client was refused.
    pub circuit_open: bool,
    /// Stopped touching tokens: KMS refused the token key.
    pub key_unusable: bool,
    /// Connections whose tokens did not open, left as they were.
    pub unreadable: usize,
    /// Left work for the next run: the deadline came close.
    pub stopped_at_deadline: bool,
    pub duration_ms: u64,
}

/// CloudWatch Embedded Metric Format: one JSON line that CloudWatch turns
/// into metrics without any API call.
pub fn metrics_line(summary: &RunSummary, timestamp_ms: i64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": "AdsConnect",
                "Dimensions": [["Function"]],
                "Metrics": [
                    {"Name": "Refreshed", "Unit": "Count"},
                    {"Name": "TransientFailures", "Unit": "Count"},
                    {"Name": "NeedsReauth", "Unit": "Count"},
                    {"Name": "Skipped", "Unit": "Count"},
                    {"Name": "ClientRejected", "Unit": "Count"},
                    {"Name": "KeyUnusable", "Unit": "Count"},
                    {"Name": "UnreadableTokens", "Unit": "Count"},
                    {"Name": "Duration", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Function": "token-refresher",
        "Refreshed": summary.refreshed,
        "TransientFailures": summary.transient_failures,
        "NeedsReauth": summary.needs_reauth,
        "Skipped": summary.skipped,
        "ClientRejected": u8::from(summary.circuit_open),
        "KeyUnusable": u8::from(summary.key_unusable),
        "UnreadableTokens": summary.unreadable,
        "Duration": summary.duration_ms,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_line_is_embedded_metric_format() {
        let line = metrics_line(
            &RunSummary {
                refreshed: 3,
                key_unusable: true,
                ..RunSummary::default()
            },
            1,
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["Refreshed"], 3);
        assert_eq!(value["KeyUnusable"], 1);
        assert_eq!(
            value["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "AdsConnect"
        );
    }
}
