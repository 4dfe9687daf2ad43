//! Our copies of Amazon's reports, in the stack's S3 bucket.
//!
//! A completed report is streamed from Amazon's pre-signed URL (a gzip of
//! one JSON array of flat row objects), split by its `date` column and
//! stored as gzipped JSON lines, one object per day, laid out for Athena or
//! any engine that reads Hive partitions in place:
//! `{prefix}/date={YYYY-MM-DD}/rows.json.gz`; the rows of a report without
//! dates (SUMMARY) go to `{prefix}/date={start}/summary-{end}.json.gz`.
//! Rows keep exactly Amazon's fields and numbers (ids above 2^53 included).
//!
//! Memory stays flat whatever the report's size: the body is read as it
//! arrives, one row is held at a time, and the days are compressed into
//! temporary files, uploaded from disk once the report is read.
//!
//! The bucket is versioned: pulling a day again writes a new version of the
//! same key and keeps the earlier ones. Each version records the pull that
//! wrote it (metadata `pull`), so a redelivered job stores no second copy.

mod download;
mod rows;
mod s3;

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};

/// What a stored object is (one day's rows, or a summary, of one pull) and
/// the totals of its main metrics: the job keeps them as they are.
pub use crate::model::report::{StoredFile, Totals};
pub use rows::MetricColumns;

use download::{Cut, Refused};
use rows::{Partition, SplitError};

/// Uploads in flight at once after a report is read.
const CONCURRENT_UPLOADS: usize = 8;

/// Stores reports in `bucket` and links to them.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    s3: aws_sdk_s3::Client,
    bucket: String,
    http: reqwest::Client,
}

/// Where one pull of a report goes.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    /// `{owner}/{account}/{report}`, no trailing slash.
    pub prefix: &'a str,
    /// Identifies this pull (job and part); kept as each version's metadata
    /// `pull`: a redelivered worker that finds the current version already
    /// from this pull uploads nothing.
    pub pull: &'a str,
    /// Which columns hold the main metrics, for the totals.
    pub metrics: &'a MetricColumns,
    /// The report's first day (YYYY-MM-DD): the partition of rows without a
    /// `date` column (SUMMARY reports).
    pub start_date: &'a str,
    pub end_date: &'a str,
}

/// A pre-signed GET of one stored version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// Amazon's URL had expired (S3 403): ask Amazon for a fresh one.
    #[error("Amazon's report URL has expired")]
    Expired,
    /// The download failed or was cut (retry later).
    #[error("{0}")]
    Download(String),
    /// Not gzip of a JSON array of objects.
    #[error("malformed report: {0}")]
    Malformed(String),
    /// Our bucket failed.
    #[error("report storage: {0}")]
    Storage(String),
}

impl ReportFiles {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
            http,
        }
    }

    /// Downloads `url` (Amazon's report: gzip of ONE JSON array of flat
    /// objects) and stores it, one file per day, in date order (a summary
    /// last). An empty report stores nothing.
    pub async fn store(
        &self,
        url: &str,
        to: &Destination<'_>,
    ) -> Result<Vec<StoredFile>, FilesError> {
        for day in [to.start_date, to.end_date] {
            rows::parse_day(day).ok_or_else(|| {
                FilesError::Malformed("the report's dates are not YYYY-MM-DD".into())
            })?;
        }
        let response = download::get(&self.http, url)
            .await
            .map_err(|refused| match refused {
                Refused::Expired => FilesError::Expired,
                Refused::Failed(why) => FilesError::Download(why),
            })?;
        let scratch = tempfile::tempdir()
            .map_err(|e| FilesError::Storage(format!("temporary directory: {e}")))?;
        let body = SyncIoBridge::new(StreamReader::new(Box::pin(download::body(response))));
        let metrics = *to.metrics;
        let dir = scratch.path().to_owned();
        let parts = tokio::task::spawn_blocking(move || {
            rows::split(flate2::read::MultiGzDecoder::new(body), &metrics, &dir)
        })
        .await
        .map_err(|e| FilesError::Storage(format!("the report's reader stopped: {e}")))?
        .map_err(|e| match e {
            SplitError::Input(e) => match Cut::behind(&e) {
                Some(cut) => FilesError::Download(cut.to_string()),
                None => FilesError::Malformed("not a gzip file".into()),
            },
            SplitError::Malformed(why) => FilesError::Malformed(why),
            SplitError::Write(e) => FilesError::Storage(format!("temporary file: {e}")),
        })?;
        tracing::info!(
            prefix = to.prefix,
            days = parts.len(),
            rows = parts.iter().map(|p| p.rows).sum::<u64>(),
            "report read"
        );
        let stored = futures::stream::iter(parts)
            .map(|part| async move {
                let (date, key) = match part.partition {
                    Partition::Day(day) => {
                        let date = day.format("%Y-%m-%d").to_string();
                        let key = format!("{}/date={date}/rows.json.gz", to.prefix);
                        (date, key)
                    }
                    Partition::Summary => (
                        to.start_date.to_owned(),
                        format!(
                            "{}/date={}/summary-{}.json.gz",
                            to.prefix, to.start_date, to.end_date
                        ),
                    ),
                };
                let written =
                    s3::put_once(&self.s3, &self.bucket, &key, to.pull, part.rows, &part.path)
                        .await
                        .map_err(FilesError::Storage)?;
                Ok::<_, FilesError>(StoredFile {
                    key,
                    version_id: written.version_id,
                    date,
                    rows: part.rows,
                    totals: part.totals,
                    bytes: written.bytes,
                })
            })
            .buffered(CONCURRENT_UPLOADS)
            .try_collect()
            .await;
        // The temporary files go once every upload is done (or has failed).
        drop(scratch);
        stored
    }

    /// A pre-signed GET for one stored file (that exact version), valid for
    /// `valid_for` (at most 7 days; a link signed with temporary credentials
    /// also ends with them).
    pub async fn link(&self, file: &StoredFile, valid_for: Duration) -> Result<Link, FilesError> {
        let now = SystemTime::now();
        let url = s3::presign(
            &self.s3,
            &self.bucket,
            &file.key,
            file.version_id.as_deref(),
            now,
            valid_for,
        )
        .await
        .map_err(FilesError::Storage)?;
        Ok(Link {
            url,
            expires_at: DateTime::<Utc>::from(now + valid_for),
        })
    }
}
