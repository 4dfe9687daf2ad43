//! The local stack's control of reporting (beside `/_stub/throttle`).

use serde_json::json;
use wiremock::{Request, Respond, ResponseTemplate};

use super::world::AmazonWorld;

/// `POST /_stub/reports` with any of the knobs (`polls_before_completion`,
/// `fail_next` and `failure_reason`, `url_lifetime_seconds`,
/// `expire_urls: true`, `rows_per_day`, `padding_bytes`,
/// `require_complete_requests`) sets them on the running stand-in and
/// answers all of them: how the dashboard and a developer make reports
/// slow, failing, large or expired. Never part of a deployment.
pub(super) struct ReportsControl(pub(super) AmazonWorld);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportsOrder {
    polls_before_completion: Option<usize>,
    fail_next: Option<usize>,
    failure_reason: Option<String>,
    url_lifetime_seconds: Option<u64>,
    #[serde(default)]
    expire_urls: bool,
    rows_per_day: Option<usize>,
    padding_bytes: Option<usize>,
    require_complete_requests: Option<bool>,
}

impl Respond for ReportsControl {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let order = match serde_json::from_slice::<ReportsOrder>(&request.body) {
            Ok(order) => order,
            Err(e) => {
                return ResponseTemplate::new(400).set_body_json(json!({"error": e.to_string()}));
            }
        };
        if order.expire_urls {
            self.0.expire_report_urls();
        }
        let mut world = self.0.world();
        let knobs = &mut world.reporting.knobs;
        let set = |knob: &mut usize, value: Option<usize>| *knob = value.unwrap_or(*knob);
        set(
            &mut knobs.polls_before_completion,
            order.polls_before_completion,
        );
        set(&mut knobs.failing_next, order.fail_next);
        set(&mut knobs.rows_per_day, order.rows_per_day);
        set(&mut knobs.padding_bytes, order.padding_bytes);
        if let Some(reason) = order.failure_reason {
            knobs.failure_reason = reason;
        }
        if let Some(seconds) = order.url_lifetime_seconds {
            knobs.url_lifetime_seconds = seconds;
        }
        if let Some(required) = order.require_complete_requests {
            knobs.require_complete_requests = required;
        }
        ResponseTemplate::new(200).set_body_json(&*knobs)
    }
}
