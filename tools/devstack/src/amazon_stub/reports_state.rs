//! What the stand-in keeps about reports (`reports` runs their life):
//! each report's stage, its file and the URLs issued for it, the pulls
//! that restate a date's numbers, and the knobs; and a report as Amazon
//! answers it (reference amazon-reporting.md §1, §2).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::reports_files::presigned_url;
use super::reports_request::ReportRequest;

/// How Amazon treats reports created (or URLs issued) from now on.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct ReportKnobs {
    pub(super) polls_before_completion: usize,
    pub(super) url_lifetime_seconds: u64,
    pub(super) rows_per_day: usize,
    pub(super) padding_bytes: usize,
    pub(super) require_complete_requests: bool,
    pub(super) failing_next: usize,
    pub(super) failure_reason: String,
}

impl Default for ReportKnobs {
    fn default() -> Self {
        Self {
            polls_before_completion: 2,
            url_lifetime_seconds: 3600,
            rows_per_day: 3,
            padding_bytes: 0,
            require_complete_requests: false,
            failing_next: 0,
            failure_reason: "Report generation failed due to an internal error. Please retry."
                .into(),
        }
    }
}

#[derive(Default)]
pub(super) struct Reporting {
    pub(super) knobs: ReportKnobs,
    pub(super) reports: Vec<StoredReport>,
    /// (account, reportTypeId, date) → how many completed reports covered
    /// it: each later one restates that date's numbers, as Amazon does.
    pub(super) pulls: HashMap<(String, String, NaiveDate), u32>,
}

pub(super) struct StoredReport {
    pub(super) id: String,
    pub(super) region: &'static str,
    pub(super) account: String,
    /// The (account, body) the 425 duplicate rule keys pending reports by.
    pub(super) duplicate_key: (String, Vec<u8>),
    pub(super) request: ReportRequest,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) polls_left: usize,
    /// Set at creation when the world makes it fail.
    pub(super) failure: Option<String>,
    pub(super) stage: Stage,
    pub(super) polls: usize,
    pub(super) downloads: usize,
}

pub(super) enum Stage {
    Pending,
    Processing,
    /// Its file is being written, outside the world's lock.
    Generating,
    Completed(Completed),
    Failed(String),
    /// Cancelled while pending: gone for polls, kept for the readers.
    Cancelled,
}

pub(super) struct Completed {
    pub(super) file: Arc<Vec<u8>>,
    pub(super) generated_at: DateTime<Utc>,
    /// Signature → expiry of every URL issued for the file.
    pub(super) urls: HashMap<String, DateTime<Utc>>,
    /// The URL the last poll answered, and its expiry.
    pub(super) latest: Option<(String, DateTime<Utc>)>,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Stage {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Processing | Self::Generating => "PROCESSING",
            Self::Completed(_) => "COMPLETED",
            Self::Failed(_) => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

impl StoredReport {
    /// The report as Amazon answers it (§1, §2).
    pub(super) fn answer(&self) -> Value {
        let mut configuration = self.request.configuration.clone();
        if let Some(configuration) = configuration.as_object_mut() {
            configuration.entry("filters").or_insert(Value::Null);
        }
        let completed = match &self.stage {
            Stage::Completed(completed) => Some(completed),
            _ => None,
        };
        let latest = completed.and_then(|c| c.latest.as_ref());
        json!({
            "reportId": self.id,
            "status": self.stage.name(),
            "name": self.request.name,
            "startDate": self.request.start.to_string(),
            "endDate": self.request.end.to_string(),
            "configuration": configuration,
            "createdAt": stamp(self.created_at),
            "updatedAt": stamp(self.updated_at),
            "generatedAt": completed.map(|c| stamp(c.generated_at)),
            "fileSize": completed.map(|c| c.file.len()),
            "url": latest.map(|(url, _)| url),
            "urlExpiresAt": latest.map(|(_, expiry)| stamp(*expiry)),
            "failureReason": match &self.stage {
                Stage::Failed(reason) => Some(reason),
                _ => None,
            },
        })
    }

    pub(super) fn file_extension(&self) -> &'static str {
        if self.request.csv {
            "csv.gz"
        } else {
            "json.gz"
        }
    }
}

impl Completed {
    /// A fresh pre-signed URL (each poll re-signs, as S3 URLs are minted
    /// per answer); earlier ones keep working until they expire.
    pub(super) fn issue(&mut self, base: &str, report: &str, extension: &str, lifetime: u64) {
        let issued = Utc::now();
        let (url, signature) = presigned_url(base, report, extension, issued, lifetime);
        let expires = issued + chrono::Duration::seconds(lifetime.try_into().unwrap_or(i64::MAX));
        self.urls.insert(signature, expires);
        self.latest = Some((url, expires));
    }
}
