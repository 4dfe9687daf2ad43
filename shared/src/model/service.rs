//! What the service records about itself: the token refresher's last run,
//! for the health check.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The refresher's last run and last successful one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefresherRuns {
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub last_run_at: DateTime<Utc>,
    /// A run that completed with LWA accepting our client and KMS our key.
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_run: RunCounts,
}

/// A run's counts, as health shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunCounts {
    pub due: usize,
    pub refreshed: usize,
    pub transient_failures: usize,
    pub needs_reauth: usize,
    pub succeeded: bool,
}
