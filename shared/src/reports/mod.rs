//! Managed reports: an owner's account asks for a report over a range
//! (`requesting`); the engine (`engine`) creates its Amazon reports once,
//! waits for them on the queue without running, and copies each into the
//! stack's bucket, one file per day (`crate::files`). `presets` names the
//! reports one may ask for, `spec` checks what is asked.

pub mod engine;
pub mod presets;
pub mod requesting;
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

/// What the report routes and the worker serve with.
#[derive(Clone)]
pub struct ReportService {
    pub store: Store,
    pub access: Arc<Access>,
    pub http: crate::tls::Https,
    pub files: Arc<ReportFiles>,
    pub queue: ReportQueue,
    pub config: EngineConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no such account")]
    AccountNotFound,
    #[error("no such report job")]
    JobNotFound,
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    /// The table, the queue or the bucket failed: nothing was changed.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for ReportError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// A stored file as the job keeps it.
fn kept(file: crate::files::StoredFile) -> crate::model::report::StoredFile {
    crate::model::report::StoredFile {
        key: file.key,
        version_id: file.version_id,
        date: file.date,
        rows: file.rows,
        totals: crate::model::report::Totals {
            impressions: file.totals.impressions,
            clicks: file.totals.clicks,
            spend: file.totals.spend,
            sales: file.totals.sales,
        },
        bytes: file.bytes,
    }
}

/// A kept file as the bucket knows it.
fn stored(file: &crate::model::report::StoredFile) -> crate::files::StoredFile {
    crate::files::StoredFile {
        key: file.key.clone(),
        version_id: file.version_id.clone(),
        date: file.date.clone(),
        rows: file.rows,
        totals: crate::files::Totals {
            impressions: file.totals.impressions,
            clicks: file.totals.clicks,
            spend: file.totals.spend,
            sales: file.totals.sales,
        },
        bytes: file.bytes,
    }
}
