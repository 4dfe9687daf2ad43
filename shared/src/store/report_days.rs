//! Stored report days (`REPORTS#<owner>` / `DAY#<account>#<report>#<date>`):
//! for each day of an account's report in the bucket, the pull that last
//! stored it (job, bucket version), its rows and totals, and how many pulls
//! stored it. A day is written together with its lifecycle event (if the
//! pull has one) in one transaction, conditioned on the day as it was read:
//! a concurrent or repeated pull of the day is refused and reads it again,
//! so no event is written twice and none is lost. Days expire (TTL) with
//! the jobs, a year after their last pull.

use aws_sdk_dynamodb::types::{AttributeValue, Put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::reports::{JOB_RETENTION, partition};
use super::tx::{Tx, TxOutcome};
use super::{Store, StoreError, keys, number};
use crate::ids::{AccountId, OwnerId, ReportJobId};
use crate::model::event::AuditEvent;
use crate::model::report::Totals;

const DAY_ENTITY: &str = "report_day";

/// One stored day of an account's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDay {
    pub account_id: AccountId,
    /// The report as jobs name it (a preset, or `custom-<hash>`).
    pub report: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The job of the latest pull.
    pub job_id: ReportJobId,
    /// The bucket's version that pull wrote.
    #[serde(default)]
    pub version_id: Option<String>,
    pub rows: u64,
    pub totals: Totals,
    /// Pulls that stored the day, the first included.
    pub pulls: u32,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub first_stored_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
}

fn day_key(account_id: &AccountId, report: &str, date: &str) -> String {
    format!("DAY#{account_id}#{report}#{date}")
}

/// The report days of the table.
#[derive(Clone, Copy)]
pub struct ReportDays<'a>(pub(super) &'a Store);

impl ReportDays<'_> {
    /// A day of `owner`'s account's report, as last stored (strongly
    /// consistent).
    pub async fn get(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        report: &str,
        date: &str,
    ) -> Result<Option<StoredDay>, StoreError> {
        self.0
            .get_typed(partition(owner), &day_key(account_id, report, date))
            .await
    }

    /// Writes `day` over `read` (the day as read before, `None` when it was
    /// not stored) with `event`, in one transaction. `false`: the day
    /// changed since it was read, nothing was written.
    pub async fn record(
        &self,
        owner: &OwnerId,
        day: &StoredDay,
        read: Option<&StoredDay>,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut item = Store::item(
            day,
            partition(owner),
            &day_key(&day.account_id, &day.report, &day.date),
            DAY_ENTITY,
        )?;
        item.insert(
            keys::TTL.into(),
            number((day.updated_at + JOB_RETENTION).timestamp()),
        );
        let put = Put::builder()
            .table_name(self.0.table())
            .set_item(Some(item))
            .expression_attribute_names("#pk", keys::PK);
        let put = match read {
            None => put.condition_expression("attribute_not_exists(#pk)"),
            // The pull read: its job and count.
            Some(read) => put
                .condition_expression("attribute_exists(#pk) AND job_id = :job AND pulls = :pulls")
                .expression_attribute_values(":job", AttributeValue::S(read.job_id.to_string()))
                .expression_attribute_values(":pulls", number(read.pulls)),
        };
        let mut tx = Tx::default();
        tx.add(put.build()?.into(), ());
        if let Some(event) = event {
            tx.add(self.0.events().write(event)?, ());
        }
        Ok(matches!(self.0.commit(tx).await?, TxOutcome::Committed))
    }
}
