//! One step of a job, as its queue message starts it: create the Amazon
//! reports not created yet, ask after the ones being generated, copy the
//! finished ones into the bucket, then queue the next step after the wait
//! the job needs — or end it. Every Amazon call goes through the proxy's
//! path with `Wait::Never`: a running throttle (the proxy's, shared by
//! every caller of the connection) or Amazon's 429 becomes this job's wait,
//! never a sleep. A create that may have reached Amazon is never repeated
//! blindly: Amazon's `425` for the same request names the report it already
//! has, and the job adopts it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ReportEngine;
use crate::amazon::limits;
use crate::amazon::proxy::Outbound;
use crate::amazon::reporting::{self, AmazonReport, AmazonStatus};
use crate::connections::access::AccessError;
use crate::connections::proxying::{Answer, ProxyCall, Wait};
use crate::files::{Destination, FilesError, MetricColumns};
use crate::model::acting::Acting;
use crate::model::report::{JobFailure, JobMessage, JobStatus, PartStatus, ReportJob};
use crate::queue::MAX_DELAY;
use crate::store::reports::Claimed;

/// Where each report keeps its main metrics (the first column present).
pub const MAIN_METRICS: MetricColumns = MetricColumns {
    impressions: &["impressions"],
    clicks: &["clicks"],
    spend: &["cost", "totalCost", "spend"],
    sales: &[
        "sales14d",
        "sales",
        "sales7d",
        "sales30d",
        "sales1d",
        "totalSales",
    ],
};
/// Failed attempts (Amazon or the bucket unavailable) a job survives.
const MOST_FAILURES: u32 = 8;
/// The token handed to Amazon must outlive the call.
const TOKEN_VALID_FOR: chrono::Duration = chrono::Duration::minutes(5);

/// Why a step could not finish: the message is to be delivered again.
#[derive(Debug, thiserror::Error)]
#[error("report step failed: {0}")]
pub struct StepError(String);

/// What one Amazon call of a step came to.
enum Called {
    Answered(u16, bytes::Bytes),
    /// Throttled (by Amazon or the connection's cooldown): wait this long.
    Throttled(Duration),
    /// Amazon or our side failed for now.
    Transient,
    /// The job cannot go on.
    Ends(JobFailure),
}

fn failure(code: &str, message: impl Into<String>) -> JobFailure {
    JobFailure {
        code: code.to_owned(),
        message: message.into(),
    }
}

impl ReportEngine {
    /// Steps the job `message` names. `Err`: deliver the message again.
    pub async fn step(&self, message: &JobMessage) -> Result<(), StepError> {
        let now = Utc::now();
        if let Some(due) = message
            .not_before_ms
            .filter(|due| *due > now.timestamp_millis() + 1000)
        {
            let left =
                Duration::from_millis(u64::try_from(due - now.timestamp_millis()).unwrap_or(0));
            return self
                .reports
                .queue
                .send(message, left)
                .await
                .map_err(|e| StepError(e.to_string()));
        }
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or_default();
        let claimed = self
            .reports
            .store
            .reports()
            .claim(
                &message.owner_id,
                &message.account_id,
                &message.job_id,
                message.step,
                lease,
            )
            .await
            .map_err(|e| StepError(e.to_string()))?;
        let Claimed::Job(job) = claimed else {
            return Ok(());
        };
        let mut job = *job;
        if job.status.is_finished() {
            return Ok(());
        }
        job.work.steps += 1;
        let wait = self.advance(message, &mut job).await;
        job.updated_at = Utc::now();
        let store = self.reports.store.reports();
        if !store
            .save(&message.owner_id, &job)
            .await
            .map_err(|e| StepError(e.to_string()))?
        {
            return Ok(());
        }
        let Some(wait) = wait else {
            tracing::info!(job_id = %job.job_id, status = ?job.status, rows = job.rows(), amazon_calls = job.work.amazon_calls, steps = job.work.steps, "report job finished");
            return Ok(());
        };
        let next = JobMessage {
            step: job.step,
            not_before_ms: (wait > MAX_DELAY).then(|| {
                (job.updated_at + chrono::Duration::from_std(wait).unwrap_or_default())
                    .timestamp_millis()
            }),
            ..message.clone()
        };
        self.reports
            .queue
            .send(&next, wait)
            .await
            .map_err(|e| StepError(e.to_string()))?;
        store
            .release(&message.owner_id, &job)
            .await
            .map_err(|e| StepError(e.to_string()))
    }

    /// Moves `job` on; the wait before its next step, `None` once it ended.
    async fn advance(&self, message: &JobMessage, job: &mut ReportJob) -> Option<Duration> {
        let acting = Acting {
            owner: message.owner_id.clone(),
            user_id: job.requested_by.clone(),
        };
        let age = (Utc::now() - job.created_at).to_std().unwrap_or_default();
        if age > self.config.give_up_after {
            return end(
                job,
                Err(failure(
                    "stuck",
                    "Amazon did not generate the report in time",
                )),
            );
        }
        let mut wait: Option<Duration> = None;
        let mut sooner = |candidate: Duration| {
            wait = Some(wait.map_or(candidate, |w: Duration| w.min(candidate)));
        };
        let mut creating = true;
        for index in 0..job.parts.len() {
            let outcome = match job.parts[index].status {
                PartStatus::Stored => continue,
                PartStatus::ToCreate if !creating => continue,
                PartStatus::ToCreate => self.create(&acting, job, index).await,
                PartStatus::Generating => self.poll(&acting, message, job, index).await,
            };
            match outcome {
                Progress::Waits(for_) => sooner(for_),
                Progress::Throttled(for_) => {
                    // One throttled create: the others would be too.
                    creating = false;
                    sooner(for_);
                }
                Progress::Failed => {
                    job.work.failures += 1;
                    if job.work.failures > MOST_FAILURES {
                        return end(
                            job,
                            Err(failure(
                                "amazon_unavailable",
                                "Amazon or the report bucket kept failing",
                            )),
                        );
                    }
                    sooner(limits::backoff(job.work.failures as usize) * 15);
                }
                Progress::Ends(why) => return end(job, Err(why)),
                Progress::Done => {}
            }
        }
        if job
            .parts
            .iter()
            .all(|part| part.status == PartStatus::Stored)
        {
            return end(job, Ok(()));
        }
        job.status = if job.parts.iter().any(|p| p.amazon_report_id.is_some()) {
            JobStatus::Generating
        } else {
            JobStatus::Queued
        };
        Some(wait.unwrap_or(self.config.first_poll))
    }

    async fn create(&self, acting: &Acting, job: &mut ReportJob, index: usize) -> Progress {
        let part = &job.parts[index];
        let name = format!("AdsConnect {} {}", job.job_id, index);
        let call = reporting::create(
            &name,
            &job.spec.configuration,
            part.start_date,
            part.end_date,
        );
        let (status, body) = match self.call(acting, job, &call).await {
            Called::Answered(status, body) => (status, body),
            other => return other.into(),
        };
        let part = &mut job.parts[index];
        let created = match status {
            200 | 202 => AmazonReport::parse(&body).map(|report| (report.report_id, false)),
            425 => reporting::duplicate_of(&body).map(|id| (id, true)),
            _ => return refused(status, &body),
        };
        match created {
            Some((report_id, adopted)) => {
                part.amazon_report_id = Some(report_id);
                part.adopted = adopted;
                part.status = PartStatus::Generating;
                part.polls = 0;
                Progress::Waits(self.config.first_poll)
            }
            None => Progress::Failed,
        }
    }

    async fn poll(
        &self,
        acting: &Acting,
        message: &JobMessage,
        job: &mut ReportJob,
        index: usize,
    ) -> Progress {
        let Some(call) = job.parts[index]
            .amazon_report_id
            .as_deref()
            .and_then(reporting::status)
        else {
            job.parts[index].status = PartStatus::ToCreate;
            return Progress::Failed;
        };
        let report = match self.report(acting, job, &call).await {
            Ok(report) => report,
            Err(progress) => return progress,
        };
        let part = &mut job.parts[index];
        if part.adopted && !report.matches(&job.spec.configuration, part.start_date, part.end_date)
        {
            // Amazon took ours for a duplicate of another: ask again once
            // that one is done.
            part.amazon_report_id = None;
            part.adopted = false;
            part.status = PartStatus::ToCreate;
            return Progress::Waits(self.config.wait_after(part.polls));
        }
        part.polls += 1;
        match report.status {
            AmazonStatus::Pending | AmazonStatus::Processing | AmazonStatus::Unknown => {
                Progress::Waits(self.config.wait_after(part.polls))
            }
            AmazonStatus::Failed => Progress::Ends(failure(
                "amazon_failed",
                report
                    .failure_reason
                    .unwrap_or_else(|| "Amazon could not generate the report".into())
                    .chars()
                    .take(300)
                    .collect::<String>(),
            )),
            AmazonStatus::Completed => self.download(acting, message, job, index, report).await,
        }
    }

    /// Copies a completed report; a URL that expired first is renewed by
    /// asking Amazon for the report again (once per step).
    async fn download(
        &self,
        acting: &Acting,
        message: &JobMessage,
        job: &mut ReportJob,
        index: usize,
        mut report: AmazonReport,
    ) -> Progress {
        let prefix = format!(
            "{}/{}/{}",
            message.owner_id, job.account_id, job.spec.report
        );
        let pull = format!("{}-{index}", job.job_id);
        let (start, end) = (
            job.parts[index].start_date.to_string(),
            job.parts[index].end_date.to_string(),
        );
        let destination = Destination {
            prefix: &prefix,
            pull: &pull,
            metrics: &MAIN_METRICS,
            start_date: &start,
            end_date: &end,
        };
        for renewed in [false, true] {
            let Some(url) = report.url.take() else {
                return Progress::Failed;
            };
            job.work.downloads += 1;
            match self.reports.files.store(url.expose(), &destination).await {
                Ok(files) => {
                    // Before the part counts as stored: a step that fails
                    // here pulls it again, and the days' writes are
                    // idempotent per job.
                    if let Err(error) = self.record_days(&message.owner_id, job, &files).await {
                        tracing::warn!(job_id = %job.job_id, error = %error, "a report's days could not be recorded");
                        return Progress::Failed;
                    }
                    let part = &mut job.parts[index];
                    part.files = files;
                    part.status = PartStatus::Stored;
                    return Progress::Done;
                }
                Err(FilesError::Expired) if !renewed => {
                    let Some(call) = job.parts[index]
                        .amazon_report_id
                        .as_deref()
                        .and_then(reporting::status)
                    else {
                        return Progress::Failed;
                    };
                    report = match self.report(acting, job, &call).await {
                        Ok(report) if report.status == AmazonStatus::Completed => report,
                        Ok(_) => return Progress::Failed,
                        Err(progress) => return progress,
                    };
                }
                Err(FilesError::Malformed(why)) => {
                    tracing::warn!(job_id = %job.job_id, why = %why, "a report could not be read");
                    return Progress::Ends(failure(
                        "amazon_malformed",
                        "Amazon's report file could not be read",
                    ));
                }
                Err(error) => {
                    tracing::warn!(job_id = %job.job_id, error = %error, "a report could not be copied");
                    return Progress::Failed;
                }
            }
        }
        Progress::Failed
    }

    /// Amazon's report `call` asks after.
    async fn report(
        &self,
        acting: &Acting,
        job: &mut ReportJob,
        call: &Outbound,
    ) -> Result<AmazonReport, Progress> {
        match self.call(acting, job, call).await {
            Called::Answered(200, body) => AmazonReport::parse(&body).ok_or(Progress::Failed),
            Called::Answered(status, body) => Err(refused(status, &body)),
            other => Err(other.into()),
        }
    }

    /// One call for the job's account, through the proxy's throttling.
    async fn call(&self, acting: &Acting, job: &mut ReportJob, outbound: &Outbound) -> Called {
        let proxied = self
            .access
            .proxy(
                &self.http,
                ProxyCall {
                    acting,
                    account_id: &job.account_id,
                    outbound,
                    wait: Wait::Never,
                    valid_for: TOKEN_VALID_FOR,
                    quotas: None,
                },
            )
            .await;
        let proxied = match proxied {
            Ok(proxied) => proxied,
            Err(AccessError::NotFound) => {
                return Called::Ends(failure("account_removed", "the account was removed"));
            }
            Err(AccessError::NeedsReauth(_)) => {
                return Called::Ends(failure(
                    "needs_reauth",
                    "the connection must be re-authorized",
                ));
            }
            Err(error) => {
                tracing::warn!(error = %error, "report call: credentials unavailable");
                return Called::Transient;
            }
        };
        job.work.amazon_calls += proxied.amazon_calls;
        match proxied.answer {
            Answer::Amazon(upstream) if upstream.status == 429 => Called::Throttled(
                proxied
                    .retry_after
                    .or_else(|| limits::retry_after(&upstream.headers))
                    .unwrap_or(limits::backoff(job.work.failures as usize)),
            ),
            Answer::Amazon(upstream) if limits::is_transient(upstream.status) => Called::Transient,
            Answer::Amazon(upstream) => Called::Answered(upstream.status, upstream.body),
            Answer::Cooldown | Answer::OverQuota(_) => {
                Called::Throttled(proxied.retry_after.unwrap_or(limits::backoff(0)))
            }
            Answer::ReadOnly => Called::Ends(failure("amazon_refused", "the account is read-only")),
            Answer::Failed(error) => {
                tracing::warn!(error = %error, "report call failed");
                Called::Transient
            }
        }
    }
}

/// What one part's step came to.
enum Progress {
    /// Asked again after this wait.
    Waits(Duration),
    Throttled(Duration),
    Failed,
    Ends(JobFailure),
    Done,
}

impl From<Called> for Progress {
    fn from(called: Called) -> Self {
        match called {
            Called::Throttled(wait) => Self::Throttled(wait),
            Called::Transient | Called::Answered(..) => Self::Failed,
            Called::Ends(why) => Self::Ends(why),
        }
    }
}

/// Amazon refused a call for good (4xx other than throttling).
fn refused(status: u16, body: &[u8]) -> Progress {
    Progress::Ends(failure(
        "amazon_refused",
        format!("Amazon answered {status}: {}", reporting::refusal(body)),
    ))
}

/// Ends `job`: completed, or failed for `why`.
fn end(job: &mut ReportJob, outcome: Result<(), JobFailure>) -> Option<Duration> {
    let now: DateTime<Utc> = Utc::now();
    match outcome {
        Ok(()) => job.status = JobStatus::Completed,
        Err(why) => {
            job.status = JobStatus::Failed;
            job.failure = Some(why);
        }
    }
    job.finished_at = Some(now);
    None
}
