//! The report engine's queue (SQS): a job's next step as a message,
//! delayed by as long as the job should wait — up to SQS's longest delay
//! (15 minutes); a longer wait is carried in the message and waited again
//! by the worker, costing an invocation and no Amazon call.

use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;

use crate::model::report::JobMessage;

/// SQS's longest per-message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Debug, thiserror::Error)]
#[error("the report queue failed: {0}")]
pub struct QueueError(String);

#[derive(Clone)]
pub struct ReportQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl ReportQueue {
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            sqs,
            url: url.into(),
        }
    }

    /// Sends `message` to be received after `delay` (SQS's longest delay at
    /// most: the message's `not_before_ms` says when it is really due).
    pub async fn send(&self, message: &JobMessage, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError(e.to_string()))?;
        let seconds = delay.min(MAX_DELAY).as_secs();
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(i32::try_from(seconds).unwrap_or(900))
            .send()
            .await
            .map_err(|e| QueueError(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}
