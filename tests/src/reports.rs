//! Report jobs: asking for one through the users function, and the report
//! queue delivered to the worker (`report-worker`'s entrypoint, as Lambda's
//! event source mapping delivers it) until the job ends.

use std::time::{Duration, Instant};

use adsconnect::entrypoints::queue;
use adsconnect_dev::queue::QueueDelivery;
use serde_json::Value;

use crate::stack::{Request, Response, Stack};

/// How long a received message stays hidden in tests: a failed step comes
/// back this soon (the template's is 90 minutes).
pub const TEST_VISIBILITY: Duration = Duration::from_secs(2);

impl Stack {
    /// `user` asks for a report of `account` with `body`.
    pub async fn request_report(&self, user: &str, account: &str, body: &Value) -> Response {
        self.send(
            &self.users,
            &Request::new("POST", &format!("/api/v1/accounts/{account}/reports")).json(body),
            Some(user),
        )
        .await
    }

    /// `user` writes `account`'s report schedule `name` (`body`: `None`
    /// removes it).
    pub async fn write_schedule(
        &self,
        user: &str,
        account: &str,
        name: &str,
        body: Option<&Value>,
    ) -> Response {
        let path = format!("/api/v1/accounts/{account}/report-schedules/{name}");
        let request = match body {
            Some(body) => Request::new("PUT", &path).json(body),
            None => Request::new("DELETE", &path),
        };
        self.send(&self.users, &request, Some(user)).await
    }

    /// The job as `user` reads it.
    pub async fn report_job(&self, user: &str, account: &str, job: &str) -> Response {
        self.get(&format!("/api/v1/accounts/{account}/reports/{job}"), user)
            .await
    }

    /// The report queue, delivered as Lambda delivers it.
    pub async fn report_queue(&self) -> QueueDelivery {
        QueueDelivery::attach(self.sqs.clone(), &self.report_queue_url)
            .await
            .unwrap()
            .with_visibility_timeout(TEST_VISIBILITY)
    }

    /// Delivers the report queue to the worker until `job` of `user`'s
    /// `account` ends (or `patience` runs out); the job as read then.
    pub async fn run_report(
        &self,
        user: &str,
        account: &str,
        job: &str,
        patience: Duration,
    ) -> Value {
        let delivery = self.report_queue().await;
        let reports = &self.reports;
        let mut worker = |event: Value| async move { queue::handle(reports, &event).await };
        let started = Instant::now();
        loop {
            let delivered = delivery.deliver(&mut worker).await.unwrap();
            let read = self.report_job(user, account, job).await;
            assert_eq!(read.status, 200, "{:?}", read.body);
            let status = read.body["status"].as_str().unwrap_or_default();
            if matches!(status, "completed" | "failed") || started.elapsed() > patience {
                return read.body;
            }
            if delivered.messages == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Messages on the report queue, visible or not.
    pub async fn report_messages(&self) -> usize {
        use aws_sdk_sqs::types::QueueAttributeName as Name;
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.report_queue_url)
            .attribute_names(Name::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        [
            Name::ApproximateNumberOfMessages,
            Name::ApproximateNumberOfMessagesNotVisible,
            Name::ApproximateNumberOfMessagesDelayed,
        ]
        .iter()
        .map(|name| {
            attributes
                .get(name)
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        })
        .sum()
    }

    /// Every stored version in the report bucket: (key, version id).
    pub async fn report_objects(&self) -> Vec<(String, String)> {
        let listed = self
            .s3
            .list_object_versions()
            .bucket(&self.report_bucket)
            .send()
            .await
            .unwrap();
        let mut versions: Vec<(String, String)> = listed
            .versions()
            .iter()
            .map(|v| {
                (
                    v.key().unwrap_or_default().to_owned(),
                    v.version_id().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        versions.sort();
        versions
    }
}
