//! The report queue delivered to `report-worker` as Lambda's SQS event
//! source mapping does it with `ReportBatchItemFailures`: a batch of the
//! messages visible now (moto's SQS honours `DelaySeconds`), handed over as
//! Lambda's SQS event; the messages the answer does not list as failed are
//! deleted, the failed ones left to reappear after their visibility
//! timeout (and, after the redrive policy's receives, to move to the
//! dead-letter queue).
//!
//! Short polls: moto serves one request at a time (scripts/moto_server.py),
//! so a long poll would stall every other call of the local stack while it
//! waits; [`QueueDelivery::run`] pauses between empty polls instead.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{Map, Value, json};

use crate::BoxError;

/// The template's `BatchSize` for the worker (`ReportWorkerQueue`).
pub const BATCH_SIZE: i32 = 10;

/// What one delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Messages received and handed over.
    pub messages: usize,
    /// Of those, the ones left on the queue.
    pub failed: usize,
}

pub struct QueueDelivery {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    region: String,
    visibility_timeout: Option<i32>,
}

impl QueueDelivery {
    /// Delivers the queue at `queue_url` (its ARN, the event's
    /// `eventSourceARN`, is read from it).
    pub async fn attach(sqs: aws_sdk_sqs::Client, queue_url: &str) -> Result<Self, BoxError> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or("GetQueueAttributes returned no QueueArn")?;
        let region = sqs
            .config()
            .region()
            .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
        Ok(Self {
            sqs,
            queue_url: queue_url.to_owned(),
            queue_arn,
            region,
            visibility_timeout: None,
        })
    }

    /// How long a received message stays hidden, instead of the queue's
    /// own timeout (the template's 90 minutes): a failed message comes
    /// back within a test's patience.
    #[must_use]
    pub fn with_visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = Some(i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX));
        self
    }

    /// Receives the messages visible now (up to [`BATCH_SIZE`]) and, if
    /// there are any, hands them to `handler` as one Lambda SQS event;
    /// deletes those its `SqsBatchResponse` does not list as failed. An
    /// answer that is not a batch response, or that names a message not in
    /// the batch, fails the whole batch, as it does on Lambda.
    pub async fn deliver<F, Fut>(&self, handler: &mut F) -> Result<Delivered, BoxError>
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = Value>,
    {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(BATCH_SIZE)
            .wait_time_seconds(0)
            .set_visibility_timeout(self.visibility_timeout)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(Delivered::default());
        }
        let records: Vec<Value> = messages.iter().map(|m| self.lambda_record(m)).collect();
        let answer = handler(json!({ "Records": records })).await;

        let ids: HashSet<&str> = messages.iter().filter_map(Message::message_id).collect();
        let failed = failed_ids(&answer, &ids)
            .unwrap_or_else(|| ids.iter().map(|id| (*id).to_owned()).collect());
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| m.message_id().is_some_and(|id| !failed.contains(id)))
            .enumerate()
            .map(|(n, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .set_receipt_handle(m.receipt_handle.clone())
                    .build()
            })
            .collect::<Result<_, _>>()?;
        if !done.is_empty() {
            let deleted = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(done))
                .send()
                .await?;
            if let Some(refused) = deleted.failed.first() {
                return Err(format!("DeleteMessageBatch refused: {}", refused.code).into());
            }
        }
        Ok(Delivered {
            messages: messages.len(),
            failed: failed.len(),
        })
    }

    /// Delivers for as long as the task runs, pausing `idle` after a poll
    /// that found nothing (or failed: the stack logs it and goes on).
    pub async fn run<F, Fut>(self, mut handler: F, idle: Duration)
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = Value>,
    {
        loop {
            match self.deliver(&mut handler).await {
                Ok(delivered) if delivered.messages > 0 => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "report queue: delivery failed"),
            }
            tokio::time::sleep(idle).await;
        }
    }

    /// One message as Lambda's SQS event carries it (`aws_lambda_events`'
    /// `SqsMessage`).
    fn lambda_record(&self, message: &Message) -> Value {
        let attributes: Map<String, Value> = message
            .attributes
            .iter()
            .flatten()
            .map(|(name, value)| (name.as_str().to_owned(), Value::from(value.as_str())))
            .collect();
        json!({
            "messageId": message.message_id(),
            "receiptHandle": message.receipt_handle(),
            "body": message.body(),
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": message.md5_of_body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        })
    }
}

/// The message ids an `SqsBatchResponse` lists as failed; `None` when the
/// answer is not one, or names a message not in the batch (`ids`): Lambda
/// then counts the whole batch as failed.
fn failed_ids(answer: &Value, ids: &HashSet<&str>) -> Option<HashSet<String>> {
    let failures = match answer {
        Value::Null => return Some(HashSet::new()),
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return Some(HashSet::new()),
            Some(Value::Array(failures)) => failures,
            Some(_) => return None,
        },
        _ => return None,
    };
    failures
        .iter()
        .map(|failure| {
            failure["itemIdentifier"]
                .as_str()
                .filter(|id| ids.contains(id))
                .map(str::to_owned)
        })
        .collect()
}
