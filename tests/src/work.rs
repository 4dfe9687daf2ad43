//! The connections put to work: calls through `ads-proxy` and credentials
//! from the `credentials` function, as a browser and a backend make them.

use adsconnect::connections::access::Access;
use adsconnect::connections::refresh::RefreshConfig;
use adsconnect::entrypoints::http as api;
use axum::Router;

use adsconnect::users::quota::QuotaLimits;

use crate::stack::{Request, Response, Stack, connect_service};

pub use adsconnect_dev::amazon_stub::{CAMPAIGNS_MEDIA_TYPE, REPORT_MEDIA_TYPE};

/// `POST /sp/campaigns/list` for `account` through the proxy, as `user`.
pub fn campaigns_list(account: &str) -> Request {
    Request::new(
        "POST",
        &format!("/api/v1/accounts/{account}/ads/sp/campaigns/list"),
    )
    .header("content-type", CAMPAIGNS_MEDIA_TYPE)
    .header("accept", CAMPAIGNS_MEDIA_TYPE)
    .body(br#"{"stateFilter":{"include":["ENABLED"]}}"#.to_vec())
}

impl Stack {
    /// Sends `request` to the stack's `ads-proxy` as `user`.
    pub async fn proxy(&self, request: &Request, user: &str) -> Response {
        self.send(&self.proxy, request, Some(user)).await
    }

    /// An `ads-proxy` in a process of its own whose users have `limits`.
    pub fn proxy_with_quotas(&self, limits: QuotaLimits) -> Router {
        api::proxy_router(api::ProxyServices {
            quotas: self.startup.quotas(limits),
            ..self.startup.proxy(self.access(), Vec::new())
        })
    }

    /// A `users` function in a process of its own whose users have `limits`.
    pub fn users_with_quotas(&self, limits: QuotaLimits) -> Router {
        let connect = connect_service(&self.startup, &self.kms_key_id, &self.amazon_config);
        let services = self
            .startup
            .users(
                self.clerk.uri(),
                connect,
                RefreshConfig::default(),
                self.reports.reports.clone(),
            )
            .expect("the users function's services");
        api::users_router(api::UsersServices {
            quotas: self.startup.quotas(limits),
            ..services
        })
    }

    /// An `ads-proxy` in a process of its own, allowing only `allowed`.
    pub fn proxy_allowing(&self, allowed: &[&str]) -> Router {
        api::proxy_router(
            self.startup.proxy(
                self.access(),
                allowed
                    .iter()
                    .map(|p| p.parse().expect("an allow rule"))
                    .collect(),
            ),
        )
    }

    /// Account access as `ads-proxy` or `credentials` builds it, in a
    /// process of its own (cold caches).
    pub fn access(&self) -> Access {
        self.startup
            .access(
                self.startup.cipher(&self.kms_key_id),
                &self.amazon_config,
                RefreshConfig::default(),
            )
            .unwrap()
    }
}

/// The lifecycle events path of one stack: the table's stream pumped into
/// `events-publisher`, publishing to a bus of its own, whose rule sends
/// every `adsconnect` event to an SQS queue the test reads.
pub struct EventTap {
    pub publisher: adsconnect::entrypoints::stream::Publisher,
    pub pump: adsconnect_dev::stream::StreamPump,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Stack {
    pub async fn event_tap(&self) -> EventTap {
        let events = aws_sdk_eventbridge::Client::new(&self.sdk);
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let bus = format!("bus-{}", self.table);
        events.create_event_bus().name(&bus).send().await.unwrap();
        let queue = sqs
            .create_queue()
            .queue_name(&self.table)
            .send()
            .await
            .unwrap();
        let queue_url = queue.queue_url().unwrap().to_owned();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        events
            .put_rule()
            .name("adsconnect-to-queue")
            .event_bus_name(&bus)
            .event_pattern(r#"{"source": ["adsconnect"]}"#)
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule("adsconnect-to-queue")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let pump = adsconnect_dev::stream::StreamPump::attach(
            &self.dynamo,
            aws_sdk_dynamodbstreams::Client::new(&self.sdk),
            &self.table,
        )
        .await
        .unwrap();
        self.calls.take();
        EventTap {
            publisher: adsconnect::entrypoints::stream::Publisher {
                store: self.store.clone(),
                events,
                bus,
            },
            pump,
            sqs,
            queue_url,
        }
    }
}

impl EventTap {
    /// Delivers what the stream holds, then every event that reached the
    /// queue since the last call: the EventBridge envelopes.
    pub async fn published(&mut self) -> Vec<serde_json::Value> {
        self.pump.pump(&self.publisher).await.unwrap();
        let mut events = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = received.messages();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                events.push(serde_json::from_str(message.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}
