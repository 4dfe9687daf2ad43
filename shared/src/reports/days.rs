//! A pull's days against what was stored of them before: a day's first
//! pull is `report_ready`, a pull with other rows or totals (Amazon
//! restates a day for weeks) `report_restated`, the same numbers again
//! only counted. Each day is written with its event in one transaction
//! (`store::report_days`), so a step delivered again, finding the day
//! recorded by its own job, adds no second event.

use chrono::{DateTime, Utc};

use super::ReportEngine;
use crate::ids::{ConnectionId, OwnerId};
use crate::model::event::{AuditEvent, DayNumbers, EventKind, ReportDay};
use crate::model::report::{ReportJob, StoredFile};
use crate::store::StoreError;
use crate::store::report_days::StoredDay;

/// Reads and writes of one day before giving up to other pulls of it
/// writing first.
const ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum DaysError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the report's account is gone")]
    AccountGone,
    #[error("other pulls of the day kept writing first")]
    Contended,
}

/// What a pull of a day changed: the lifecycle event's kind, and for a
/// restatement the numbers before.
type Change = (EventKind, Option<DayNumbers>);

impl ReportEngine {
    /// Records the days `files` of `job` hold, each with its event.
    pub(super) async fn record_days(
        &self,
        owner: &OwnerId,
        job: &ReportJob,
        files: &[StoredFile],
    ) -> Result<(), DaysError> {
        let store = &self.reports.store;
        let account = store
            .accounts()
            .get(owner, &job.account_id)
            .await?
            .ok_or(DaysError::AccountGone)?;
        for file in files {
            let mut attempts = 0;
            while !self
                .record_day(owner, &account.connection_id, job, file)
                .await?
            {
                attempts += 1;
                if attempts == ATTEMPTS {
                    return Err(DaysError::Contended);
                }
            }
        }
        Ok(())
    }

    /// `false`: another pull of the day wrote between the read and the write.
    async fn record_day(
        &self,
        owner: &OwnerId,
        connection_id: &ConnectionId,
        job: &ReportJob,
        file: &StoredFile,
    ) -> Result<bool, StoreError> {
        let days = self.reports.store.report_days();
        let stored = days
            .get(owner, &job.account_id, &job.spec.report, &file.date)
            .await?;
        let now = Utc::now();
        let Some((day, change)) = pulled(stored.as_ref(), job, file, now) else {
            return Ok(true);
        };
        let event = change.map(|(kind, previous)| {
            let about = ReportDay {
                account_id: job.account_id.clone(),
                report: job.spec.report.clone(),
                report_type_id: job.spec.configuration["reportTypeId"]
                    .as_str()
                    .map(str::to_owned),
                date: file.date.clone(),
                job_id: job.job_id.clone(),
                rows: file.rows,
                totals: file.totals,
                previous,
            };
            AuditEvent::report(owner, connection_id, kind, about, now)
        });
        days.record(owner, &day, stored.as_ref(), event.as_ref())
            .await
    }
}

/// The day after `file`'s pull by `job`, and what the pull changed; `None`
/// when `job` recorded it already.
fn pulled(
    stored: Option<&StoredDay>,
    job: &ReportJob,
    file: &StoredFile,
    now: DateTime<Utc>,
) -> Option<(StoredDay, Option<Change>)> {
    let change = match stored {
        None => Some((EventKind::ReportReady, None)),
        Some(day) if day.job_id == job.job_id => return None,
        Some(day) if day.rows != file.rows || day.totals != file.totals => Some((
            EventKind::ReportRestated,
            Some(DayNumbers {
                rows: day.rows,
                totals: day.totals,
            }),
        )),
        Some(_) => None,
    };
    let day = StoredDay {
        account_id: job.account_id.clone(),
        report: job.spec.report.clone(),
        date: file.date.clone(),
        job_id: job.job_id.clone(),
        version_id: file.version_id.clone(),
        rows: file.rows,
        totals: file.totals,
        pulls: stored.map_or(1, |day| day.pulls + 1),
        first_stored_at: stored.map_or(now, |day| day.first_stored_at),
        updated_at: now,
    };
    Some((day, change))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::ids::{AccountId, ReportJobId, UserId};
    use crate::model::report::{JobStatus, JobWork, ReportSpec, Totals};

    fn job(id: &str) -> ReportJob {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        ReportJob {
            job_id: ReportJobId::parse(id).unwrap(),
            account_id: AccountId::parse("acct_1").unwrap(),
            requested_by: UserId::parse("user_1").unwrap(),
            spec: ReportSpec {
                report: "sp_campaigns".into(),
                configuration: serde_json::json!({"reportTypeId": "spCampaigns"}),
                start_date: day,
                end_date: day,
            },
            request_key: "k".into(),
            status: JobStatus::Generating,
            parts: Vec::new(),
            failure: None,
            created_at: at,
            updated_at: at,
            finished_at: None,
            step: 1,
            work: JobWork::default(),
        }
    }

    fn file(rows: u64, clicks: u64) -> StoredFile {
        StoredFile {
            key: "o/a/sp_campaigns/date=2026-11-30/x.json.gz".into(),
            version_id: Some("v".into()),
            date: "2026-11-30".into(),
            rows,
            totals: Totals {
                impressions: 1000,
                clicks,
                spend: 12.5,
                sales: 40.0,
            },
            bytes: 100,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_days_pulls_are_ready_then_restated_then_only_counted() {
        let (first, second, third) = (job("rep_1"), job("rep_2"), job("rep_3"));
        let (day, change) = pulled(None, &first, &file(3, 10), at(0)).unwrap();
        assert_eq!(change, Some((EventKind::ReportReady, None)));
        assert_eq!((day.pulls, day.first_stored_at), (1, at(0)));

        let (day, change) = pulled(Some(&day), &second, &file(3, 12), at(60)).unwrap();
        let before = DayNumbers {
            rows: 3,
            totals: file(3, 10).totals,
        };
        assert_eq!(change, Some((EventKind::ReportRestated, Some(before))));
        assert_eq!(
            (day.pulls, day.first_stored_at, day.updated_at),
            (2, at(0), at(60))
        );

        let (day, change) = pulled(Some(&day), &third, &file(3, 12), at(120)).unwrap();
        assert_eq!(change, None, "the same numbers: no event");
        assert_eq!((day.pulls, &day.job_id), (3, &third.job_id));
        // Its step delivered again: nothing to write.
        assert!(pulled(Some(&day), &third, &file(3, 12), at(180)).is_none());
    }

    #[test]
    fn other_rows_alone_restate_a_day() {
        let (day, _) = pulled(None, &job("rep_1"), &file(3, 10), at(0)).unwrap();
        let (_, change) = pulled(Some(&day), &job("rep_2"), &file(4, 10), at(1)).unwrap();
        assert_eq!(
            change.map(|(kind, _)| kind),
            Some(EventKind::ReportRestated)
        );
    }
}
