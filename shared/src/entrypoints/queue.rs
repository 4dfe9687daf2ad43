//! `report-worker`: the report queue's messages in (SQS, through Lambda's
//! event source mapping with `ReportBatchItemFailures`), one job step each
//! (`crate::reports::engine`). A message that can never be read is logged
//! and dropped (the dead-letter queue is for messages that keep failing);
//! one whose step failed is reported as a batch item failure and comes
//! back after the queue's visibility timeout.
//!
//! The same function takes the hourly EventBridge schedule's event: a run
//! of the report schedules that are due (`crate::reports::schedules`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

use super::{BuildServices, OnFirstEvent};
use crate::model::report::JobMessage;
use crate::reports::ReportEngine;

/// Answers every batch; until the service can be built, with an error
/// (Lambda delivers the batch again).
pub async fn serve(reports: impl BuildServices<ReportEngine>) -> Result<(), lambda_runtime::Error> {
    let reports = &OnFirstEvent::new(reports);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let reports = reports.get().await?;
        let deadline = crate::budget::instant_of(event.context.deadline());
        if event.payload.get("Records").is_none() {
            // A minute to save the last runs before the deadline.
            let stop_claiming = deadline
                .and_then(|deadline| deadline.checked_sub(std::time::Duration::from_secs(60)));
            let summary = reports
                .reports
                .run_due_schedules(chrono::Utc::now(), stop_claiming)
                .await?;
            tracing::info!(?summary, "report schedules run");
            return Ok(json!(summary));
        }
        let handled = handle(reports, &event.payload);
        Ok::<Value, lambda_runtime::Error>(match deadline {
            Some(deadline) => crate::budget::scope(deadline, handled).await,
            None => handled.await,
        })
    }))
    .await
}

/// Steps each message's job; `{"batchItemFailures": [...]}` names the
/// messages to deliver again.
pub async fn handle(reports: &ReportEngine, batch: &Value) -> Value {
    let mut failed = Vec::new();
    for record in batch["Records"].as_array().into_iter().flatten() {
        let id = record["messageId"].as_str().unwrap_or_default();
        let message = record["body"]
            .as_str()
            .and_then(|body| serde_json::from_str::<JobMessage>(body).ok());
        let Some(message) = message else {
            tracing::error!(message_id = id, "unreadable report message dropped");
            continue;
        };
        if let Err(error) = reports.step(&message).await {
            tracing::warn!(message_id = id, job_id = %message.job_id, error = %error, "report step to be retried");
            failed.push(json!({"itemIdentifier": id}));
        }
    }
    json!({"batchItemFailures": failed})
}
