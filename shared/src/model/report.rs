//! A managed report job: one request of an owner's account for one report
//! over a date range, split into the Amazon reports Amazon's range limit
//! allows (its parts), each created once, waited for, and copied into the
//! stack's bucket one file per day.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, ReportJobId, UserId};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted; Amazon not asked yet (or it asked us to wait).
    Queued,
    /// Amazon is generating its reports.
    Generating,
    /// Every part is in our bucket.
    Completed,
    /// It ended without a copy: see its failure.
    Failed,
}

impl JobStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// Where one Amazon report of a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartStatus {
    /// Not created at Amazon yet.
    ToCreate,
    /// Created (or adopted after Amazon's 425); being generated.
    Generating,
    /// Downloaded and stored.
    Stored,
}

/// The main metrics of some rows, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Totals {
    pub impressions: u64,
    pub clicks: u64,
    pub spend: f64,
    pub sales: f64,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.spend += other.spend;
        self.sales += other.sales;
    }
}

/// One object of our copy: one day's rows (or a summary report's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    pub key: String,
    /// The bucket's version written by this pull (a later pull of the same
    /// day writes a newer one).
    pub version_id: Option<String>,
    /// The day the rows are of (a summary: its first day).
    pub date: String,
    pub rows: u64,
    pub totals: Totals,
    /// Compressed size.
    pub bytes: u64,
}

/// One Amazon report of a job: at most Amazon's range for its type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPart {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub status: PartStatus,
    /// Amazon's `reportId`, once created or adopted.
    #[serde(default)]
    pub amazon_report_id: Option<String>,
    /// Taken from Amazon's `425` rather than created: checked against the
    /// request before it is used.
    #[serde(default)]
    pub adopted: bool,
    /// Status polls made so far.
    #[serde(default)]
    pub polls: u32,
    #[serde(default)]
    pub files: Vec<StoredFile>,
}

impl ReportPart {
    pub fn new(start_date: NaiveDate, end_date: NaiveDate) -> Self {
        Self {
            start_date,
            end_date,
            status: PartStatus::ToCreate,
            amazon_report_id: None,
            adopted: false,
            polls: 0,
            files: Vec::new(),
        }
    }

    pub fn rows(&self) -> u64 {
        self.files.iter().map(|file| file.rows).sum()
    }
}

/// Why a job ended without a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobFailure {
    /// `amazon_failed` (Amazon's report FAILED), `amazon_refused` (Amazon
    /// refused the request), `needs_reauth`, `account_removed`,
    /// `amazon_unavailable`, `stuck` (not generated in time).
    pub code: String,
    pub message: String,
}

/// What a job asks Amazon for, once resolved from a preset or a custom
/// configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSpec {
    /// The preset's name, or `custom-<hash>`: the report's folder.
    pub report: String,
    /// Amazon's `configuration` object, as sent.
    pub configuration: serde_json::Value,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

/// Counts of what a job cost, for the bench and the docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobWork {
    /// Worker invocations that stepped it (waits beyond SQS's longest delay
    /// included).
    pub steps: u32,
    pub amazon_calls: u32,
    pub downloads: u32,
    /// Steps Amazon, the credentials or the bucket failed.
    pub failures: u32,
}

/// A report job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportJob {
    pub job_id: ReportJobId,
    pub account_id: AccountId,
    pub requested_by: UserId,
    pub spec: ReportSpec,
    /// Identifies the same request while one runs (account, configuration,
    /// range).
    pub request_key: String,
    pub status: JobStatus,
    pub parts: Vec<ReportPart>,
    #[serde(default)]
    pub failure: Option<JobFailure>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The worker's step: a message of another step is a duplicate.
    #[serde(default)]
    pub step: u32,
    #[serde(default)]
    pub work: JobWork,
}

impl ReportJob {
    pub fn rows(&self) -> u64 {
        self.parts.iter().map(ReportPart::rows).sum()
    }

    pub fn files(&self) -> impl Iterator<Item = &StoredFile> {
        self.parts.iter().flat_map(|part| part.files.iter())
    }

    /// Amazon's report ids, in part order.
    pub fn amazon_report_ids(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|part| part.amazon_report_id.clone())
            .collect()
    }
}

/// The message that steps a job: the worker's queue carries nothing else
/// (no token, no URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMessage {
    pub owner_id: crate::ids::OwnerId,
    pub account_id: AccountId,
    pub job_id: ReportJobId,
    pub step: u32,
    /// Not to be stepped before this (epoch ms): a wait longer than the
    /// queue's longest delay is made of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<i64>,
}
