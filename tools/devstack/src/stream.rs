//! The table's DynamoDB stream, delivered to `events-publisher` as Lambda's
//! event source mapping does it: new records read from every shard (moto's
//! DynamoDB Streams), turned into the Lambda event (`Records[]` with
//! DynamoDB-JSON images), and handed to the publisher; records it reports
//! as failed are delivered again next time.

use adsconnect::entrypoints::stream::Publisher;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde_json::{Value, json};

use crate::BoxError;

pub struct StreamPump {
    streams: aws_sdk_dynamodbstreams::Client,
    /// (shard id, next iterator)
    shards: Vec<(String, Option<String>)>,
    /// Records the publisher asked to get again.
    pending: Vec<Value>,
}

impl StreamPump {
    /// Attaches to `table`'s stream from its start.
    pub async fn attach(
        dynamo: &aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> Result<Self, BoxError> {
        let described = dynamo.describe_table().table_name(table).send().await?;
        let arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or("the table has no stream")?
            .to_owned();
        let stream = streams.describe_stream().stream_arn(&arn).send().await?;
        let mut shards = Vec::new();
        for shard in stream
            .stream_description()
            .map(|d| d.shards())
            .unwrap_or_default()
        {
            let Some(id) = shard.shard_id() else { continue };
            let iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await?;
            shards.push((id.to_owned(), iterator.shard_iterator().map(str::to_owned)));
        }
        Ok(Self {
            streams,
            shards,
            pending: Vec::new(),
        })
    }

    /// The Lambda event of every record written since the last call (and
    /// of those the publisher failed), empty when there are none.
    pub async fn next_batch(&mut self) -> Result<Value, BoxError> {
        let mut records = std::mem::take(&mut self.pending);
        for (_, iterator) in &mut self.shards {
            let Some(current) = iterator.clone() else {
                continue;
            };
            let output = self
                .streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await?;
            *iterator = output.next_shard_iterator().map(str::to_owned);
            for record in output.records() {
                records.push(lambda_record(record)?);
            }
        }
        Ok(json!({ "Records": records }))
    }

    /// Delivers the next batch to `publisher`: how many records it held.
    pub async fn pump(&mut self, publisher: &Publisher) -> Result<usize, BoxError> {
        let batch = self.next_batch().await?;
        let records = batch["Records"].as_array().map_or(0, Vec::len);
        if records == 0 {
            return Ok(0);
        }
        let answer = publisher.handle(&batch).await;
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        // As Lambda does: from the first failed record on, again.
        let sequence = |s: &str| s.parse::<u128>().unwrap_or(u128::MAX);
        if let Some(first) = failed.iter().map(|s| sequence(s)).min() {
            self.pending = batch["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| {
                    r["dynamodb"]["SequenceNumber"]
                        .as_str()
                        .is_some_and(|s| sequence(s) >= first)
                })
                .cloned()
                .collect();
        }
        Ok(records)
    }
}

/// One stream record as Lambda's DynamoDB event carries it.
fn lambda_record(record: &aws_sdk_dynamodbstreams::types::Record) -> Result<Value, BoxError> {
    let change = record.dynamodb().ok_or("a record without its change")?;
    let image = match change.new_image() {
        Some(image) => {
            let item: serde_dynamo::Item = image.clone().into();
            serde_json::to_value(item)?
        }
        None => Value::Null,
    };
    Ok(json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str().to_owned()),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region(),
        "dynamodb": {
            "SequenceNumber": change.sequence_number(),
            "NewImage": image,
            "StreamViewType": "NEW_IMAGE",
        },
    }))
}
