//! Amazon's throttling, as a test sets it per endpoint: one call admitted
//! per window, across every login (Amazon's limits are per application and
//! unit, not per caller), the others answered 429 — with `Retry-After` or,
//! as report creation sometimes does, without.

use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::ResponseTemplate;

use super::world::{AmazonWorld, Endpoint};

pub(super) struct Throttle {
    every: Duration,
    retry_after: Option<u64>,
    last_admitted: Option<Instant>,
}

impl Throttle {
    /// Amazon's 429 for a call arriving at `now`, or `None` when the call
    /// is admitted (it then opens the next window). Refused calls do not
    /// move the window: Amazon did not process them.
    pub(super) fn refusal(&mut self, now: Instant) -> Option<ResponseTemplate> {
        let admitted = self
            .last_admitted
            .is_none_or(|last| now.duration_since(last) >= self.every);
        if admitted {
            self.last_admitted = Some(now);
            return None;
        }
        let answer = ResponseTemplate::new(429)
            .set_body_json(json!({"code": "TOO_MANY_REQUESTS", "details": "Too Many Requests"}));
        Some(match self.retry_after {
            Some(seconds) => answer.insert_header("Retry-After", seconds.to_string()),
            None => answer,
        })
    }
}

impl AmazonWorld {
    /// From now on `endpoint` admits at most one call per `every` and
    /// answers the others 429, with `Retry-After: retry_after` when given.
    /// Refused calls are still recorded and counted.
    pub fn throttle(&self, endpoint: Endpoint, every: Duration, retry_after: Option<u64>) {
        self.world().throttles.insert(
            endpoint,
            Throttle {
                every,
                retry_after,
                last_admitted: None,
            },
        );
    }

    pub fn unthrottle(&self, endpoint: Endpoint) {
        self.world().throttles.remove(&endpoint);
    }
}

/// `POST /_stub/throttle {"endpoint": "reports", "every_seconds", "retry_after"}`
/// throttles an endpoint of the running stand-in, `DELETE` (same body
/// without the timing) lifts it: how the dashboard's browser tests make
/// Amazon throttle the local stack. Never part of a deployment.
pub(super) struct ThrottleControl(pub(super) AmazonWorld);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleOrder {
    endpoint: String,
    every_seconds: Option<u64>,
    retry_after: Option<u64>,
}

impl wiremock::Respond for ThrottleControl {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let order = serde_json::from_slice::<ThrottleOrder>(&request.body).ok();
        let endpoint = order.as_ref().and_then(|o| match o.endpoint.as_str() {
            "campaigns" => Some(Endpoint::Campaigns),
            "reports" => Some(Endpoint::Reports),
            "report_status" => Some(Endpoint::ReportStatus),
            "v1_campaigns" => Some(Endpoint::V1Campaigns),
            "amc_audiences" => Some(Endpoint::AmcAudiences),
            _ => None,
        });
        let (Some(order), Some(endpoint)) = (order, endpoint) else {
            return ResponseTemplate::new(400).set_body_json(json!({
                "error": "expected {\"endpoint\": \"campaigns|reports|report_status|v1_campaigns|amc_audiences\", \"every_seconds\", \"retry_after\"}"
            }));
        };
        if request.method == wiremock::http::Method::DELETE {
            self.0.unthrottle(endpoint);
        } else {
            let every = Duration::from_secs(order.every_seconds.unwrap_or(60));
            self.0.throttle(endpoint, every, order.retry_after);
        }
        ResponseTemplate::new(204)
    }
}
