//! The service's own items (`SERVICE#refresher` / `RUNS`): the refresher's
//! last run, written by every run and read by the health check.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{Item, Store, StoreError, keys, millis};
use crate::model::service::{RefresherRuns, RunCounts};

fn refresher_key() -> Item {
    Store::key("SERVICE#refresher".to_owned(), "RUNS")
}

/// The service's own records.
#[derive(Clone, Copy)]
pub struct ServiceRecords<'a>(pub(super) &'a Store);

impl ServiceRecords<'_> {
    /// Records a run that finished at `at` (its success time too when it
    /// succeeded): one UpdateItem, whatever was there before.
    pub async fn record_refresher_run(
        &self,
        counts: &RunCounts,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut update = "SET #entity = :entity, last_run_at = :at, last_run = :run".to_owned();
        if counts.succeeded {
            update.push_str(", last_success_at = :at");
        }
        self.0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(refresher_key()))
            .update_expression(update)
            .expression_attribute_names("#entity", keys::ENTITY)
            .expression_attribute_values(":entity", AttributeValue::S("service".into()))
            .expression_attribute_values(":at", millis(at))
            .expression_attribute_values(":run", serde_dynamo::to_attribute_value(counts)?)
            .send()
            .await?;
        Ok(())
    }

    /// The refresher's runs, if one was ever recorded (an eventually
    /// consistent read: the cheapest the table serves).
    pub async fn refresher_runs(&self) -> Result<Option<RefresherRuns>, StoreError> {
        let output = self
            .0
            .client
            .get_item()
            .table_name(self.0.table())
            .set_key(Some(refresher_key()))
            .send()
            .await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }
}
