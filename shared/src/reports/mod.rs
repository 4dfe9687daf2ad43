//! Managed reports: an owner's account asks for a report over a range
//! (`requesting`); the engine (`engine`) creates its Amazon reports once,
//! waits for them on the queue without running, and copies each into the
//! stack's bucket, one file per day (`crate::files`), each day recorded
//! with its lifecycle event (`days`). `presets` names the
//! reports one may ask for, `spec` checks what is asked.

pub mod days;
pub mod engine;
pub mod presets;
pub mod requesting;
pub mod schedules;
pub mod spec;

use std::sync::Arc;
use std::time::Duration;

use crate::connections::access::Access;
use crate::files::ReportFiles;
use crate::queue::ReportQueue;
use crate::store::{Store, StoreError};

/// How the engine paces a job.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// The wait before the first status poll; each later wait doubles, up
    /// to [`EngineConfig::longest_wait`].
    pub first_poll: Duration,
    pub longest_wait: Duration,
    /// A job not done this long after its creation fails as `stuck`
    /// (Amazon: generation "can take up to three hours").
    pub give_up_after: Duration,
    /// A step's claim: longer than the worker's timeout, shorter than the
    /// queue's visibility timeout.
    pub lease: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            first_poll: Duration::from_secs(60),
            longest_wait: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(6 * 3600),
            lease: Duration::from_secs(960),
        }
    }
}

impl EngineConfig {
    /// The wait after `polls` polls of a report still being generated: the
    /// first poll's, doubling, at most [`EngineConfig::longest_wait`]; so
    /// the polls of a report grow with the logarithm of its generation time
    /// until the waits reach the longest.
    pub fn wait_after(&self, polls: u32) -> Duration {
        self.first_poll
            .saturating_mul(1 << polls.min(16))
            .min(self.longest_wait)
    }
}

/// What the report routes serve with: jobs in the table, their steps on
/// the queue, links into the bucket.
#[derive(Clone)]
pub struct ReportService {
    pub store: Store,
    pub files: Arc<ReportFiles>,
    pub queue: ReportQueue,
}

/// What the worker runs jobs with: the service, and Amazon's calls for an
/// account through `access`.
#[derive(Clone)]
pub struct ReportEngine {
    pub reports: ReportService,
    pub access: Arc<Access>,
    pub http: crate::tls::Https,
    pub config: EngineConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no such account")]
    AccountNotFound,
    #[error("no such report job")]
    JobNotFound,
    #[error("no such report schedule")]
    ScheduleNotFound,
    #[error("the account has as many report schedules as it may")]
    ScheduleLimit,
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    /// The table, the queue or the bucket failed: nothing was changed.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ReportError {
    /// The error's code, as the API names it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AccountNotFound => "ACCOUNT_NOT_FOUND",
            Self::JobNotFound => "REPORT_NOT_FOUND",
            Self::ScheduleNotFound => "REPORT_SCHEDULE_NOT_FOUND",
            Self::ScheduleLimit => "REPORT_SCHEDULE_LIMIT",
            Self::Spec(spec::SpecError::Invalid(..)) => "INVALID_FIELD",
            Self::Spec(spec::SpecError::Unprocessable(code, _)) => code,
            Self::Unavailable(_) => "UNAVAILABLE",
        }
    }
}

impl From<StoreError> for ReportError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_double_their_wait_up_to_an_hour() {
        let config = EngineConfig::default();
        let waits: Vec<u64> = (0..8).map(|n| config.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
        // The k-th poll comes after the first k waits: a report Amazon
        // takes three hours to make is seen ready by the eighth.
        let polls_until = |ready: u64| {
            let mut at = 0;
            (0..)
                .find(|k| {
                    at += config.wait_after(*k).as_secs();
                    at >= ready
                })
                .map(|k| k + 1)
        };
        assert_eq!(polls_until(15 * 60), Some(4));
        assert_eq!(polls_until(3 * 3600), Some(8));
    }
}
