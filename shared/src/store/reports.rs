//! Report jobs (`REPORTS#<owner>`, a partition of their own so that reading
//! an owner's connections never pages through them): each job
//! (`JOB#<account>#<job id>`, ids time-ordered, so an account's jobs read
//! newest first), and while one runs its request's marker
//! (`RUN#<account>#<request key>` → the job), which makes the same request
//! answer with that job instead of a second one. Jobs expire (TTL) a year
//! after their creation, a marker a day after (a job that never finished
//! cannot block its request for ever).
//!
//! The worker steps a job under a claim: a message of step `s` moves the
//! job from step `s` to `s + 1` with a lease; the step's outcome is saved
//! under the lease, the next message sent, and only then the lease cleared.
//! A duplicate message finds the step gone (or leased) and is dropped; the
//! message of a worker that died mid-step comes back after SQS's visibility
//! timeout, finds its lease expired, and steps the job again.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::tx::{Tx, TxOutcome};
use super::{Store, StoreError, is_condition_failure, keys, number};
use crate::ids::{AccountId, OwnerId, ReportJobId};
use crate::model::report::ReportJob;

pub const JOB_RETENTION: Duration = Duration::days(366);
const MARKER_LIFETIME: Duration = Duration::days(1);
const LEASE: &str = "lease_until_ms";
/// A saved step's lease: long enough to send its next message.
const LEASE_AFTER_SAVE: Duration = Duration::minutes(2);
const STEP: &str = "step";

pub(super) const PARTITION_PREFIX: &str = "REPORTS#";

pub(super) fn partition(owner: &OwnerId) -> String {
    format!("{PARTITION_PREFIX}{owner}")
}

fn job_prefix(account_id: &AccountId) -> String {
    format!("JOB#{account_id}#")
}

fn job_key(account_id: &AccountId, job_id: &ReportJobId) -> String {
    format!("{}{job_id}", job_prefix(account_id))
}

fn marker_key(account_id: &AccountId, request_key: &str) -> String {
    format!("RUN#{account_id}#{request_key}")
}

#[derive(Serialize, Deserialize)]
struct Marker {
    job_id: ReportJobId,
}

/// How a new job was taken.
#[derive(Debug)]
pub enum Created {
    Created,
    /// The same request runs as this job.
    Running(ReportJobId),
}

/// Whether a worker may step a job.
#[derive(Debug)]
pub enum Claimed {
    /// Yes: the job as it now stands (its `step` the claimed one).
    Job(Box<ReportJob>),
    /// No: the message is a duplicate, or its job is gone.
    Stale,
}

/// The report items of the table.
#[derive(Clone, Copy)]
pub struct Reports<'a>(pub(super) &'a Store);

impl Reports<'_> {
    /// Creates `job` unless its request already runs.
    pub async fn create(&self, owner: &OwnerId, job: &ReportJob) -> Result<Created, StoreError> {
        let now = Utc::now();
        let marker_sk = marker_key(&job.account_id, &job.request_key);
        let mut marker = Store::item(
            &Marker {
                job_id: job.job_id.clone(),
            },
            partition(owner),
            &marker_sk,
            "report_marker",
        )?;
        marker.insert(
            keys::TTL.into(),
            number((now + MARKER_LIFETIME).timestamp()),
        );
        let mut tx = Tx::default();
        tx.add(
            Put::builder()
                .table_name(self.0.table())
                .set_item(Some(marker))
                .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#ttl", keys::TTL)
                .expression_attribute_values(":now", number(now.timestamp()))
                .build()?
                .into(),
            true,
        );
        tx.add(self.put_job(owner, job, None)?.into(), false);
        match self.0.commit(tx).await? {
            TxOutcome::Committed => Ok(Created::Created),
            TxOutcome::Refused(_) => {
                let marker: Option<Marker> = self.0.get_typed(partition(owner), &marker_sk).await?;
                match marker {
                    Some(marker) => Ok(Created::Running(marker.job_id)),
                    // Finished between the two calls: the caller may ask again.
                    None => Err(StoreError::Unavailable(
                        "the running job finished meanwhile".into(),
                    )),
                }
            }
        }
    }

    /// A job of `owner`'s `account_id`.
    pub async fn job(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        job_id: &ReportJobId,
    ) -> Result<Option<ReportJob>, StoreError> {
        self.0
            .get_typed(partition(owner), &job_key(account_id, job_id))
            .await
    }

    /// One page of an account's jobs, newest first, after the sort key
    /// `after` (as a previous page handed it out).
    pub async fn page(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        limit: i32,
        after: Option<&str>,
    ) -> Result<(Vec<ReportJob>, Option<String>), StoreError> {
        let prefix = job_prefix(account_id);
        if after.is_some_and(|after| !after.starts_with(&prefix)) {
            return Ok((Vec::new(), None));
        }
        self.0
            .newest_first(partition(owner), prefix, limit, after)
            .await
    }

    /// Claims step `step` of a job for `lease` (see the module's doc).
    pub async fn claim(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        job_id: &ReportJobId,
        step: u32,
        lease: Duration,
    ) -> Result<Claimed, StoreError> {
        let now = Utc::now();
        let result = self
            .0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(Store::key(
                partition(owner),
                &job_key(account_id, job_id),
            )))
            .update_expression("SET #step = :next, #lease = :until")
            .condition_expression(
                "attribute_exists(#pk) AND (#step = :step OR (#step = :next AND #lease < :now))",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#step", STEP)
            .expression_attribute_names("#lease", LEASE)
            .expression_attribute_values(":step", number(step))
            .expression_attribute_values(":next", number(step + 1))
            .expression_attribute_values(":now", number(now.timestamp_millis()))
            .expression_attribute_values(":until", number((now + lease).timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(Claimed::Job(Box::new(serde_dynamo::from_item(item)?)))
            }
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(Claimed::Stale)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Saves a claimed job's step, leased a little longer (its next message
    /// is yet to be sent); a finished job then releases its request's
    /// marker. `false`: the claim was lost.
    pub async fn save(&self, owner: &OwnerId, job: &ReportJob) -> Result<bool, StoreError> {
        let put = self.put_job(owner, job, Some(Utc::now() + LEASE_AFTER_SAVE))?;
        let saved = self
            .0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        match saved {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                return Ok(false);
            }
            Err(error) => return Err(error.into()),
        }
        if job.status.is_finished() {
            let deleted = self
                .0
                .client
                .delete_item()
                .table_name(self.0.table())
                .set_key(Some(Store::key(
                    partition(owner),
                    &marker_key(&job.account_id, &job.request_key),
                )))
                // Only this job's: an expired marker may have been taken over.
                .condition_expression("job_id = :job")
                .expression_attribute_values(":job", AttributeValue::S(job.job_id.to_string()))
                .send()
                .await;
            refused_or_done(deleted)?;
        }
        Ok(true)
    }

    /// Ends a step's claim once its next message is on its way.
    pub async fn release(&self, owner: &OwnerId, job: &ReportJob) -> Result<(), StoreError> {
        let result = self
            .0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(Store::key(
                partition(owner),
                &job_key(&job.account_id, &job.job_id),
            )))
            .update_expression("REMOVE #lease")
            .condition_expression("#step = :step")
            .expression_attribute_names("#step", STEP)
            .expression_attribute_names("#lease", LEASE)
            .expression_attribute_values(":step", number(job.step))
            .send()
            .await;
        refused_or_done(result)
    }

    /// Removes a job that never started (its first message could not be
    /// sent) and its marker.
    pub async fn discard(&self, owner: &OwnerId, job: &ReportJob) -> Result<(), StoreError> {
        let mut tx = Tx::<()>::default();
        tx.add(
            Delete::builder()
                .table_name(self.0.table())
                .set_key(Some(Store::key(
                    partition(owner),
                    &job_key(&job.account_id, &job.job_id),
                )))
                .build()?
                .into(),
            (),
        );
        tx.add(self.delete_marker(owner, job)?.into(), ());
        self.0.commit(tx).await.map(drop)
    }

    fn put_job(
        &self,
        owner: &OwnerId,
        job: &ReportJob,
        lease: Option<DateTime<Utc>>,
    ) -> Result<Put, StoreError> {
        let mut item = Store::item(
            job,
            partition(owner),
            &job_key(&job.account_id, &job.job_id),
            "report_job",
        )?;
        item.insert(
            keys::TTL.into(),
            number((job.created_at + JOB_RETENTION).timestamp()),
        );
        let mut put = Put::builder().table_name(self.0.table());
        if let Some(lease) = lease {
            item.insert(LEASE.into(), number(lease.timestamp_millis()));
            put = put
                .condition_expression("#step = :step")
                .expression_attribute_names("#step", STEP)
                .expression_attribute_values(":step", AttributeValue::N(job.step.to_string()));
        } else {
            put = put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK);
        }
        Ok(put.set_item(Some(item)).build()?)
    }

    fn delete_marker(&self, owner: &OwnerId, job: &ReportJob) -> Result<Delete, StoreError> {
        Ok(Delete::builder()
            .table_name(self.0.table())
            .set_key(Some(Store::key(
                partition(owner),
                &marker_key(&job.account_id, &job.request_key),
            )))
            .build()?)
    }
}

/// A write whose refusal by its condition is as good as done (the claim
/// moved on, the marker is another job's).
fn refused_or_done<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<(), StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(error) if is_condition_failure(&error) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
