//! `events-publisher`: the table's DynamoDB stream in, connection lifecycle
//! events on EventBridge out (through `crate::publish`). Only committed
//! audit events become events (the stream carries what was written), each
//! with its audit event id for consumers' de-duplication (delivery is at
//! least once). A record that can never be read is logged and skipped, so
//! it does not block its shard; records whose publishing failed are
//! reported as batch item failures and retried by Lambda.

use std::collections::{BTreeSet, HashMap};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

use super::{BuildServices, OnFirstEvent};
use crate::ids::OwnerId;
use crate::model::event::AuditEvent;
use crate::publish;
use crate::store::partition::OwnerPartition;
use crate::store::{Store, events};

pub struct Publisher {
    pub store: Store,
    pub events: aws_sdk_eventbridge::Client,
    /// `EVENT_BUS_NAME` (`default`: the account's default bus).
    pub bus: String,
}

/// Answers every stream batch; until the publisher can be built, with an
/// error (Lambda delivers the batch again).
pub async fn serve(publisher: impl BuildServices<Publisher>) -> Result<(), lambda_runtime::Error> {
    let publisher = &OnFirstEvent::new(publisher);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let publisher = publisher.get().await?;
        Ok::<Value, lambda_runtime::Error>(publisher.handle(&event.payload).await)
    }))
    .await
}

/// One stream record that holds an audit event.
struct Committed {
    sequence_number: String,
    event: AuditEvent,
}

/// The audit events of a stream batch; what is not one is skipped, what
/// cannot be read is logged and skipped.
fn committed(batch: &Value) -> Vec<Committed> {
    let mut found = Vec::new();
    for record in batch["Records"].as_array().into_iter().flatten() {
        let id = record["eventID"].as_str().unwrap_or("unknown");
        if record["eventName"] != "INSERT" {
            continue;
        }
        let parsed = events::event_from_stream_image(&record["dynamodb"]["NewImage"]);
        match (parsed, record["dynamodb"]["SequenceNumber"].as_str()) {
            (Ok(None), _) => {}
            (Ok(Some(event)), Some(sequence)) => found.push(Committed {
                sequence_number: sequence.to_owned(),
                event,
            }),
            (Err(reason), _) => {
                tracing::error!(record = id, %reason, "unreadable audit event skipped");
            }
            (Ok(Some(_)), None) => tracing::error!(
                record = id,
                "stream record without a sequence number skipped"
            ),
        }
    }
    found
}

impl Publisher {
    /// Handles one stream batch: `{"batchItemFailures": [...]}` names the
    /// records to deliver again.
    pub async fn handle(&self, batch: &Value) -> Value {
        let records = committed(batch);
        let mut failed: Vec<String> = Vec::new();
        let mut partitions: HashMap<OwnerId, Option<OwnerPartition>> = HashMap::new();
        let mut entries = Vec::new();
        for record in &records {
            if publish::detail_type(record.event.kind).is_none() {
                continue;
            }
            let owner = &record.event.owner;
            if !partitions.contains_key(owner) {
                let read = self.store.partitions().read(owner).await;
                if let Err(e) = &read {
                    tracing::warn!(error = %e, "owner's items unreadable; their events are retried");
                }
                partitions.insert(owner.clone(), read.ok());
            }
            let Some(partition) = &partitions[owner] else {
                failed.push(record.sequence_number.clone());
                continue;
            };
            if let Some(entry) = publish::entry(&record.event, partition, &self.bus) {
                entries.push((record.sequence_number.clone(), entry));
            }
        }
        failed.extend(publish::put(&self.events, &entries).await);
        let published = entries.len() - failed.len().min(entries.len());
        tracing::info!(
            records = records.len(),
            published,
            failed = failed.len(),
            "stream batch handled"
        );
        let failures: Vec<Value> = failed
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|sequence| json!({ "itemIdentifier": sequence }))
            .collect();
        json!({ "batchItemFailures": failures })
    }
}
