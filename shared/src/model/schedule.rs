//! A report schedule: an account's report pulled every day, and each day
//! pulled again later because Amazon restates its numbers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, ReportJobId, UserId};

/// Re-pulls of each day when a schedule names none: Amazon restates
/// conversions 1, 7 and 28 days after the fact.
pub const DEFAULT_REPULLS: [u16; 3] = [1, 7, 28];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSchedule {
    pub name: String,
    pub account_id: AccountId,
    /// What each pull asks for, as a report request names it: a preset or
    /// Amazon's configuration.
    pub preset: Option<String>,
    pub configuration: Option<serde_json::Value>,
    /// The report's folder (the preset's name, or `custom-<hash>`).
    pub report: String,
    /// Days after its first pull that each day is pulled again.
    pub repull_after_days: Vec<u16>,
    pub enabled: bool,
    /// The user whose request each run makes (its jobs' `requested_by`).
    pub created_by: UserId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    /// When the next run may start (06:00 in the account's time zone).
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub next_run_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_run_at: Option<DateTime<Utc>>,
    /// The jobs the last run asked for.
    #[serde(default)]
    pub last_job_ids: Vec<ReportJobId>,
    /// Why the last run asked for nothing, as an error code.
    #[serde(default)]
    pub last_error: Option<String>,
}
