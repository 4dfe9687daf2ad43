//! How the refresher is tuned, and the bounds its lease and deadline margin
//! must respect.

use chrono::Duration;

use super::super::lifecycle::RefreshPolicy;

/// How often the write of an outcome is tried while the lease is held: a
/// refresh LWA granted must not be lost to one failed write.
pub(super) const WRITE_ATTEMPTS: u32 = 4;
pub(super) const WRITE_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// The longest one refresh can take: opening the tokens, every attempt of
/// the LWA call, sealing the new ones and every attempt of the write.
pub fn worst_case_refresh() -> std::time::Duration {
    let aws_call = crate::budget::AWS_CALL_TIMEOUT;
    aws_call * 2
        + crate::amazon::http::WORST_CASE
        + (aws_call + WRITE_RETRY_PAUSE * 2) * WRITE_ATTEMPTS
}

#[derive(Debug, Clone)]
pub struct RefreshConfig {
    /// Refresh access tokens expiring within this (`REFRESH_WINDOW_SECONDS`).
    pub window: Duration,
    /// Connections refreshed at once (`REFRESH_CONCURRENCY`).
    pub concurrency: usize,
    /// How long a claim holds: longer than [`worst_case_refresh`].
    pub lease: Duration,
    /// Consecutive failures after which a connection's status is `error`.
    pub failures_before_error: u32,
    /// No new claims this close to the invocation deadline: more than
    /// [`worst_case_refresh`], so a claimed refresh always finishes.
    pub deadline_margin: std::time::Duration,
    /// How often the schedule starts a run (`REFRESH_SCHEDULE`, the
    /// template's `rate(…)` expression): health says the refresher is stale
    /// after three of these without a successful run.
    pub schedule_interval: Duration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            window: Duration::seconds(600),
            concurrency: 16,
            lease: Duration::seconds(150),
            failures_before_error: 5,
            deadline_margin: std::time::Duration::from_secs(90),
            schedule_interval: Duration::minutes(5),
        }
    }
}

impl RefreshConfig {
    pub(super) fn policy(&self) -> RefreshPolicy {
        RefreshPolicy {
            window: self.window,
            failures_before_error: self.failures_before_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_and_the_deadline_margin_outlast_the_worst_refresh() {
        let config = RefreshConfig::default();
        let worst = worst_case_refresh();
        assert!(
            config.lease.to_std().unwrap() > worst,
            "lease {:?} vs worst case {worst:?}",
            config.lease
        );
        assert!(
            config.deadline_margin > worst,
            "margin {:?} vs worst case {worst:?}",
            config.deadline_margin
        );
    }
}
