//! Report schedules (`SCHED#<account>#<name>` in the owner's reports
//! partition) and the `schedule-due` index the hourly run reads: an
//! enabled schedule carries `schedule_shard` / `schedule_due_at` (epoch
//! seconds), a disabled one does not (a sparse index, read only for what is
//! due; sharded so no one partition of the index takes every schedule).
//!
//! A run claims a schedule by moving its due time from the one the index
//! showed to a lease's end; it then asks for its jobs and moves the due
//! time to the next run. A run that dies in between leaves the lease to
//! expire, and the next hourly run takes the schedule again.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::reports::{PARTITION_PREFIX, partition};
use super::{
    DueIndex, Item, Store, StoreError, is_condition_failure, keys, number, string_attribute,
};
use crate::ids::{AccountId, OwnerId};
use crate::model::schedule::ReportSchedule;

pub const SCHEDULE_SHARDS: u8 = 8;
const SHARD: &str = "schedule_shard";
const DUE: &str = "schedule_due_at";
/// The `schedule-due` index, as `template.yaml` defines it.
const DUE_INDEX: DueIndex = DueIndex {
    name: "schedule-due",
    shards: SCHEDULE_SHARDS,
    shard_attribute: SHARD,
    due_attribute: DUE,
};
const PREFIX: &str = "SCHED#";

fn account_prefix(account_id: &AccountId) -> String {
    format!("{PREFIX}{account_id}#")
}

fn schedule_key(account_id: &AccountId, name: &str) -> String {
    format!("{}{name}", account_prefix(account_id))
}

fn shard(owner: &OwnerId, account_id: &AccountId, name: &str) -> String {
    let digest = Sha256::digest(format!("{owner}/{account_id}/{name}").as_bytes());
    format!("{:02}", digest[0] % SCHEDULE_SHARDS)
}

/// A schedule the index shows due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    pub owner: OwnerId,
    pub account_id: AccountId,
    pub name: String,
    /// As the index showed it: the claim's condition.
    due_at: i64,
}

/// The report schedules of the table.
#[derive(Clone, Copy)]
pub struct Schedules<'a>(pub(super) &'a Store);

impl Schedules<'_> {
    /// An account's schedules, by name.
    pub async fn list(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
    ) -> Result<Vec<ReportSchedule>, StoreError> {
        self.0
            .query_partition(partition(owner), Some(&account_prefix(account_id)), true)
            .await?
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .collect()
    }

    pub async fn get(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        name: &str,
    ) -> Result<Option<ReportSchedule>, StoreError> {
        self.0
            .get_typed(partition(owner), &schedule_key(account_id, name))
            .await
    }

    /// Writes `schedule` as it now stands (created or replaced).
    pub async fn put(&self, owner: &OwnerId, schedule: &ReportSchedule) -> Result<(), StoreError> {
        self.0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(self.item(owner, schedule)?))
            .send()
            .await?;
        Ok(())
    }

    /// Removes a schedule; `false` if there was none.
    pub async fn delete(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        name: &str,
    ) -> Result<bool, StoreError> {
        let output = self
            .0
            .client
            .delete_item()
            .table_name(self.0.table())
            .set_key(Some(Store::key(
                partition(owner),
                &schedule_key(account_id, name),
            )))
            .return_values(ReturnValue::AllOld)
            .send()
            .await?;
        Ok(output.attributes.is_some())
    }

    /// Every enabled schedule due by `now`, from all shards at once.
    pub async fn due(&self, now: DateTime<Utc>) -> Result<Vec<DueSchedule>, StoreError> {
        let items = self.0.due_items(&DUE_INDEX, now.timestamp()).await?;
        let mut due: Vec<DueSchedule> = items.iter().filter_map(due_schedule).collect();
        due.sort_by_key(|d| d.due_at);
        Ok(due)
    }

    /// Takes `due` until `lease_until` if it is still as the index showed
    /// it; the schedule as it stands, or `None` (another run has it, or it
    /// was changed or removed).
    pub async fn claim(
        &self,
        due: &DueSchedule,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ReportSchedule>, StoreError> {
        let result = self
            .0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(Store::key(
                partition(&due.owner),
                &schedule_key(&due.account_id, &due.name),
            )))
            .update_expression("SET #due = :lease")
            .condition_expression("#due = :due")
            .expression_attribute_names("#due", DUE)
            .expression_attribute_values(":due", number(due.due_at))
            .expression_attribute_values(":lease", number(lease_until.timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(serde_dynamo::from_item(
                output.attributes.unwrap_or_default(),
            )?)),
            Err(error) if is_condition_failure(&error) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Saves a claimed schedule after its run (its next run set); not if
    /// someone changed it meanwhile (their change stands).
    pub async fn finish(
        &self,
        owner: &OwnerId,
        schedule: &ReportSchedule,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = self
            .0
            .client
            .put_item()
            .table_name(self.0.table())
            .set_item(Some(self.item(owner, schedule)?))
            .condition_expression("#due = :lease")
            .expression_attribute_names("#due", DUE)
            .expression_attribute_values(":lease", number(lease_until.timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    fn item(&self, owner: &OwnerId, schedule: &ReportSchedule) -> Result<Item, StoreError> {
        let mut item = Store::item(
            schedule,
            partition(owner),
            &schedule_key(&schedule.account_id, &schedule.name),
            "report_schedule",
        )?;
        if schedule.enabled {
            item.insert(
                SHARD.into(),
                AttributeValue::S(shard(owner, &schedule.account_id, &schedule.name)),
            );
            item.insert(DUE.into(), number(schedule.next_run_at.timestamp()));
        }
        Ok(item)
    }
}

/// A due schedule from its index entry (its keys).
fn due_schedule(item: &Item) -> Option<DueSchedule> {
    let owner = string_attribute(item, keys::PK).strip_prefix(PARTITION_PREFIX)?;
    let rest = string_attribute(item, keys::SK).strip_prefix(PREFIX)?;
    let (account_id, name) = rest.split_once('#')?;
    Some(DueSchedule {
        owner: OwnerId::parse(owner).ok()?,
        account_id: AccountId::parse(account_id).ok()?,
        name: name.to_owned(),
        due_at: item.get(DUE)?.as_n().ok()?.parse().ok()?,
    })
}
