//! Asking for a report, reading jobs, and links to a job's files. The same
//! request (account, configuration, range) while one runs answers with that
//! job: one Amazon report, whoever asks and however often.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::spec::Spec;
use super::{ReportError, ReportService};
use crate::files::Link;
use crate::ids::{AccountId, OwnerId, ReportJobId};
use crate::model::account::AccountRecord;
use crate::model::acting::Acting;
use crate::model::report::{
    JobMessage, JobStatus, JobWork, ReportJob, ReportPart, ReportSpec, StoredFile,
};
use crate::store::reports::Created;

/// How long a download link stays valid.
pub const LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(900);

/// A request as the caller made it.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub preset: Option<String>,
    pub configuration: Option<Value>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

/// The job a request made or joined.
#[derive(Debug)]
pub struct Requested {
    pub job: ReportJob,
    /// The same request was already running: this is that job.
    pub existing: bool,
}

/// The newest day an account's reports can hold: today where the account
/// keeps its time (Amazon reports in the profile's time zone).
pub(super) fn today_for(timezone: Option<&str>, now: DateTime<Utc>) -> NaiveDate {
    match timezone.and_then(|tz| tz.parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => now.with_timezone(&tz).date_naive(),
        None => now.date_naive(),
    }
}

/// A new job id: its creation time first, so ids sort by age.
fn new_job_id(now: DateTime<Utc>) -> ReportJobId {
    let random: u64 = rand::random();
    ReportJobId::parse(&format!(
        "rep_{:013}{:016x}",
        now.timestamp_millis(),
        random
    ))
    .unwrap_or_else(|_| unreachable!("the id is built of digits and hex"))
}

impl ReportService {
    /// Creates the job `request` asks for (or finds the one running) and
    /// queues its first step.
    pub async fn request(
        &self,
        acting: &Acting,
        account_id: &AccountId,
        request: ReportRequest,
    ) -> Result<Requested, ReportError> {
        let account = self
            .store
            .accounts()
            .get(&acting.owner, account_id)
            .await?
            .ok_or(ReportError::AccountNotFound)?;
        self.request_for(acting, &account, request).await
    }

    /// [`Self::request`] for an account already read (a schedule's run
    /// reads it once for all its jobs).
    pub(super) async fn request_for(
        &self,
        acting: &Acting,
        account: &AccountRecord,
        request: ReportRequest,
    ) -> Result<Requested, ReportError> {
        let account_id = &account.account_id;
        let now = Utc::now();
        let spec = Spec::resolve(
            account,
            request.preset.as_deref(),
            request.configuration,
            (request.start_date, request.end_date),
            today_for(account.timezone.as_deref(), now),
        )?;
        let job = ReportJob {
            job_id: new_job_id(now),
            account_id: account_id.clone(),
            requested_by: acting.user_id.clone(),
            request_key: spec.request_key(account),
            status: JobStatus::Queued,
            parts: spec
                .parts()
                .into_iter()
                .map(|(start, end)| ReportPart::new(start, end))
                .collect(),
            spec: ReportSpec {
                report: spec.report,
                configuration: spec.configuration,
                start_date: spec.start_date,
                end_date: spec.end_date,
            },
            failure: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            step: 0,
            work: JobWork::default(),
        };
        match self.store.reports().create(&acting.owner, &job).await? {
            Created::Created => {}
            Created::Running(running) => {
                let job = self
                    .store
                    .reports()
                    .job(&acting.owner, account_id, &running)
                    .await?
                    .ok_or_else(|| ReportError::Unavailable("the running job is gone".into()))?;
                return Ok(Requested {
                    job,
                    existing: true,
                });
            }
        }
        let first = JobMessage {
            owner_id: acting.owner.clone(),
            account_id: account_id.clone(),
            job_id: job.job_id.clone(),
            step: 0,
            not_before_ms: None,
        };
        if let Err(error) = self.queue.send(&first, std::time::Duration::ZERO).await {
            // Unqueued, it would never run: undo it, so the caller's retry
            // starts afresh.
            if let Err(undo) = self.store.reports().discard(&acting.owner, &job).await {
                tracing::error!(error = %undo, "could not remove a job whose first step was not queued");
            }
            return Err(ReportError::Unavailable(error.to_string()));
        }
        Ok(Requested {
            job,
            existing: false,
        })
    }

    /// One of `owner`'s jobs for `account_id`.
    pub async fn job(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        job_id: &ReportJobId,
    ) -> Result<ReportJob, ReportError> {
        self.store
            .reports()
            .job(owner, account_id, job_id)
            .await?
            .ok_or(ReportError::JobNotFound)
    }

    /// A page of `owner`'s jobs for `account_id`, newest first (none for an
    /// account that is not theirs).
    pub async fn jobs(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        limit: i32,
        after: Option<&str>,
    ) -> Result<(Vec<ReportJob>, Option<String>), ReportError> {
        if self
            .store
            .accounts()
            .get(owner, account_id)
            .await?
            .is_none()
        {
            return Err(ReportError::AccountNotFound);
        }
        Ok(self
            .store
            .reports()
            .page(owner, account_id, limit, after)
            .await?)
    }

    /// A short-lived link to each of a job's files (signed here: no call).
    pub async fn links(&self, job: &ReportJob) -> Result<Vec<(StoredFile, Link)>, ReportError> {
        let mut links = Vec::new();
        for file in job.files() {
            let link = self
                .files
                .link(file, LINK_LIFETIME)
                .await
                .map_err(|error| ReportError::Unavailable(error.to_string()))?;
            links.push((file.clone(), link));
        }
        Ok(links)
    }
}
