//! How the refresher is tuned, and the bounds its lease and deadline margin
//! must respect.

use chrono::Duration;

use super::super::lifecycle::RefreshPolicy;
use crate::config::{self, ConfigError};

/// How often the write of an outcome is tried while the lease is held: a
/// refresh LWA granted must not be lost to one failed write.
pub(super) const WRITE_ATTEMPTS: u32 = 4;
pub(super) const WRITE_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// The longest one refresh can take: opening the tokens, every attempt of
/// the LWA call, sealing the new ones and every attempt of the write.
pub fn worst_case_refresh() -> std::time::Duration {
    let aws_call = crate::config::AWS_CALL_TIMEOUT;
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
    pub fn from_env() -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: i64, range: std::ops::RangeInclusive<i64>| {
            match config::optional(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or(ConfigError::Invalid {
                        name,
                        reason: format!(
                            "expected a whole number in {}..={}",
                            range.start(),
                            range.end()
                        ),
                    }),
            }
        };
        Ok(Self {
            window: Duration::seconds(number("REFRESH_WINDOW_SECONDS", 600, 60..=3000)?),
            concurrency: number("REFRESH_CONCURRENCY", 16, 1..=256)? as usize,
            schedule_interval: match config::optional("REFRESH_SCHEDULE") {
                None => Self::default().schedule_interval,
                Some(expression) => rate_interval(&expression).ok_or(ConfigError::Invalid {
                    name: "REFRESH_SCHEDULE",
                    reason: "expected rate(N minutes|hours|days)".into(),
                })?,
            },
            ..Self::default()
        })
    }

    pub(super) fn policy(&self) -> RefreshPolicy {
        RefreshPolicy {
            window: self.window,
            failures_before_error: self.failures_before_error,
        }
    }
}

/// The interval of an EventBridge `rate(N unit)` expression.
pub fn rate_interval(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: i64 = count.parse().ok().filter(|n| *n > 0)?;
    match unit.trim() {
        "minute" | "minutes" => Some(Duration::minutes(count)),
        "hour" | "hours" => Some(Duration::hours(count)),
        "day" | "days" => Some(Duration::days(count)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_expressions_give_their_interval_and_others_none() {
        assert_eq!(rate_interval("rate(5 minutes)"), Some(Duration::minutes(5)));
        assert_eq!(rate_interval("rate(1 hour)"), Some(Duration::hours(1)));
        assert_eq!(rate_interval("rate(2 days)"), Some(Duration::days(2)));
        assert_eq!(rate_interval("rate(0 minutes)"), None);
        assert_eq!(rate_interval("cron(0/5 * * * ? *)"), None);
        assert_eq!(rate_interval("rate(5 fortnights)"), None);
    }

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
