//! `events-publisher`: the table's DynamoDB stream in, connection lifecycle
//! events on EventBridge out. Only committed audit events become events
//! (the stream carries what was written), each with its audit event id for
//! consumers' de-duplication (delivery is at least once). A record that can
//! never be read is logged and skipped, so it does not block its shard;
//! records whose publishing failed are reported as batch item failures and
//! retried by Lambda.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{Value, json};

use crate::ids::UserId;
use crate::model::event::{AuditEvent, EventKind};
use crate::store::Store;
use crate::store::partition::UserPartition;

pub const SOURCE: &str = "adsconnect";
/// EventBridge takes at most 10 entries per PutEvents.
const ENTRIES_PER_CALL: usize = 10;

/// The EventBridge detail type of each published kind; the others (routine
/// refreshes and syncs) are not published.
pub fn detail_type(kind: EventKind) -> Option<&'static str> {
    Some(match kind {
        EventKind::Connected => "Connection Connected",
        EventKind::Reauthorized => "Connection Reauthorized",
        EventKind::NeedsReauth => "Connection Needs Reauthorization",
        EventKind::Disconnected => "Connection Disconnected",
        EventKind::RefreshFailed => "Refresh Failing",
        EventKind::ConsentExpiring => "Consent Expiring Soon",
        EventKind::Refreshed | EventKind::Synced => return None,
    })
}

pub struct Publisher {
    pub store: Store,
    pub events: aws_sdk_eventbridge::Client,
    /// `EVENT_BUS_NAME` (`default`: the account's default bus).
    pub bus: String,
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
        let image = &record["dynamodb"]["NewImage"];
        if record["eventName"] != "INSERT" || image["entity"]["S"] != "event" {
            continue;
        }
        let parsed = serde_json::from_value::<serde_dynamo::Item>(image.clone())
            .map_err(|e| e.to_string())
            .and_then(|item| serde_dynamo::from_item(item).map_err(|e| e.to_string()));
        match (parsed, record["dynamodb"]["SequenceNumber"].as_str()) {
            (Ok(event), Some(sequence)) => found.push(Committed {
                sequence_number: sequence.to_owned(),
                event,
            }),
            (Err(reason), _) => {
                tracing::error!(record = id, %reason, "unreadable audit event skipped");
            }
            (_, None) => tracing::error!(
                record = id,
                "stream record without a sequence number skipped"
            ),
        }
    }
    found
}

/// The EventBridge detail: ids, the reason, and what the user's settings say
/// about notifying them. Never a token.
fn detail(event: &AuditEvent, partition: &UserPartition) -> Value {
    let settings = partition.profile.as_ref().map(|p| &p.settings);
    let connection = partition
        .connections
        .iter()
        .find(|c| c.connection_id == event.connection_id);
    let account_ids: Vec<&str> = partition
        .accounts
        .iter()
        .filter(|a| a.connection_id == event.connection_id)
        .map(|a| a.account_id.as_str())
        .collect();
    json!({
        "event_id": event.event_id,
        "kind": event.kind,
        "user_id": event.user_id,
        "connection_id": event.connection_id,
        "account_ids": account_ids,
        "reason": event.detail,
        "at": event.at,
        "consent_expires_at": connection.map(|c| c.consent_expires_at),
        "amazon_email": connection.and_then(|c| c.amazon_email.clone()),
        "notifications_enabled": settings.is_none_or(|s| s.notifications_enabled),
        "email_notifications": settings.is_none_or(|s| s.email_notifications),
    })
}

impl Publisher {
    /// Handles one stream batch: `{"batchItemFailures": [...]}` names the
    /// records to deliver again.
    pub async fn handle(&self, batch: &Value) -> Value {
        let records = committed(batch);
        let mut failed: Vec<String> = Vec::new();
        let mut partitions: HashMap<UserId, Option<UserPartition>> = HashMap::new();
        let mut entries: Vec<(String, PutEventsRequestEntry)> = Vec::new();
        for record in &records {
            let Some(detail_type) = detail_type(record.event.kind) else {
                continue;
            };
            let user = &record.event.user_id;
            if !partitions.contains_key(user) {
                let read = self.store.read_partition(user).await;
                if let Err(e) = &read {
                    tracing::warn!(error = %e, "user's items unreadable; their events are retried");
                }
                partitions.insert(user.clone(), read.ok());
            }
            let Some(partition) = &partitions[user] else {
                failed.push(record.sequence_number.clone());
                continue;
            };
            let entry = PutEventsRequestEntry::builder()
                .source(SOURCE)
                .detail_type(detail_type)
                .detail(detail(&record.event, partition).to_string())
                .event_bus_name(&self.bus)
                .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(
                    record.event.at.timestamp_millis(),
                ))
                .build();
            entries.push((record.sequence_number.clone(), entry));
        }
        for chunk in entries.chunks(ENTRIES_PER_CALL) {
            failed.extend(self.put(chunk).await);
        }
        let published = entries.len() - failed.len().min(entries.len());
        tracing::info!(
            records = records.len(),
            published,
            failed = failed.len(),
            "stream batch handled"
        );
        let failures: Vec<Value> = failed
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|sequence| json!({ "itemIdentifier": sequence }))
            .collect();
        json!({ "batchItemFailures": failures })
    }

    /// Publishes `chunk`; returns the sequence numbers that failed.
    async fn put(&self, chunk: &[(String, PutEventsRequestEntry)]) -> Vec<String> {
        let sent = self
            .events
            .put_events()
            .set_entries(Some(chunk.iter().map(|(_, e)| e.clone()).collect()))
            .send()
            .await;
        match sent {
            Err(e) => {
                tracing::warn!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "PutEvents failed");
                chunk.iter().map(|(sequence, _)| sequence.clone()).collect()
            }
            Ok(output) => {
                let by_position: BTreeMap<usize, bool> = output
                    .entries()
                    .iter()
                    .enumerate()
                    .map(|(i, result)| (i, result.error_code().is_some()))
                    .collect();
                chunk
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| by_position.get(i).copied().unwrap_or(true))
                    .map(|(_, (sequence, _))| sequence.clone())
                    .collect()
            }
        }
    }
}
