//! Lifecycle events on EventBridge — a connection's, and its accounts'
//! reports' — what each audit event kind is published as, its detail, and
//! the PutEvents calls.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{Value, json};

use crate::ids::OwnerId;
use crate::model::event::{AuditEvent, EventKind};
use crate::store::partition::OwnerPartition;

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
        EventKind::Moved => "Connection Moved",
        EventKind::ReportReady => "Report Ready",
        EventKind::ReportRestated => "Report Restated",
        EventKind::Refreshed | EventKind::Synced => return None,
    })
}

/// The EventBridge detail: ids, the reason, a report event's day and its
/// numbers, and what the user's settings say about notifying them. Never a
/// token, and no personal data: a bus's readers are many, and a notifier
/// finds the address from the user id.
fn detail(event: &AuditEvent, partition: &OwnerPartition) -> Value {
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
    let mut detail = json!({
        "event_id": event.event_id,
        "kind": event.kind,
        "owner_id": event.owner,
        // Kept for consumers written before organizations: the owner when
        // it is a user.
        "user_id": match &event.owner {
            OwnerId::User(user_id) => Some(user_id),
            OwnerId::Org(_) => None,
        },
        "org_id": event.owner.org(),
        "actor_id": event.actor,
        "connection_id": event.connection_id,
        "account_ids": account_ids,
        "reason": event.detail,
        "at": event.at,
        "consent_expires_at": connection.map(|c| c.consent_expires_at),
        "notifications_enabled": settings.is_none_or(|s| s.notifications_enabled),
        "email_notifications": settings.is_none_or(|s| s.email_notifications),
    });
    if let (Some(day), Some(fields)) = (&event.report, detail.as_object_mut()) {
        // The day and its numbers: where it is stored and how to fetch it
        // is the API's (`GET …/reports/{job}`), never a link on the bus.
        fields.extend([
            ("account_id".to_owned(), json!(day.account_id)),
            ("report".to_owned(), json!(day.report)),
            ("report_type_id".to_owned(), json!(day.report_type_id)),
            ("date".to_owned(), json!(day.date)),
            ("job_id".to_owned(), json!(day.job_id)),
            ("rows".to_owned(), json!(day.rows)),
            ("totals".to_owned(), json!(day.totals)),
            ("previous".to_owned(), json!(day.previous)),
        ]);
    }
    detail
}

/// The EventBridge entry of `event` on `bus`; none for a kind that is not
/// published.
pub fn entry(
    event: &AuditEvent,
    partition: &OwnerPartition,
    bus: &str,
) -> Option<PutEventsRequestEntry> {
    Some(
        PutEventsRequestEntry::builder()
            .source(SOURCE)
            .detail_type(detail_type(event.kind)?)
            .detail(detail(event, partition).to_string())
            .event_bus_name(bus)
            .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(
                event.at.timestamp_millis(),
            ))
            .build(),
    )
}

/// Publishes `entries`, each keyed by its stream record's sequence number;
/// returns the keys of those that failed.
pub async fn put(
    events: &aws_sdk_eventbridge::Client,
    entries: &[(String, PutEventsRequestEntry)],
) -> Vec<String> {
    let mut failed = Vec::new();
    for chunk in entries.chunks(ENTRIES_PER_CALL) {
        failed.extend(put_chunk(events, chunk).await);
    }
    failed
}

/// Publishes `chunk`; returns the sequence numbers that failed.
async fn put_chunk(
    events: &aws_sdk_eventbridge::Client,
    chunk: &[(String, PutEventsRequestEntry)],
) -> Vec<String> {
    let sent = events
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
