//! How the stand-in's reporting behaves, as a test sets it on
//! [`AmazonWorld`] and the local stack through `POST /_stub/reports`
//! (beside `/_stub/throttle`).

use std::time::Duration;

use serde_json::json;
use wiremock::{Request, Respond, ResponseTemplate};

use super::world::AmazonWorld;

impl AmazonWorld {
    /// Reports created from now on answer `polls` polls as `PENDING` (the
    /// first) or `PROCESSING`, and complete at the next one (default 2).
    pub fn set_report_polls_before_completion(&self, polls: usize) {
        self.world().reporting.knobs.polls_before_completion = polls;
    }

    /// The next `count` reports created end `FAILED` with `reason` where
    /// they would have completed.
    pub fn fail_next_reports(&self, count: usize, reason: &str) {
        let knobs = &mut self.world().reporting.knobs;
        knobs.failing_next = count;
        knobs.failure_reason = reason.to_owned();
    }

    /// URLs issued from now on expire after `lifetime` (default 1 h, as
    /// Amazon's; whole seconds).
    pub fn set_report_url_lifetime(&self, lifetime: Duration) {
        self.world().reporting.knobs.url_lifetime_seconds = lifetime.as_secs();
    }

    /// Files of reports completing from now on hold `rows_per_day` rows per
    /// date (default 3), each followed by `padding_bytes` of JSON
    /// whitespace: a 100 MB+ report without millions of rows.
    pub fn set_report_size(&self, rows_per_day: usize, padding_bytes: usize) {
        let knobs = &mut self.world().reporting.knobs;
        knobs.rows_per_day = rows_per_day;
        knobs.padding_bytes = padding_bytes;
    }

    /// Whether a create must carry every field Amazon requires (dates,
    /// adProduct, reportTypeId, groupBy, columns, timeUnit, format, a DSP
    /// report's advertiser filter). Off by default: the proxy's
    /// pass-through tests post partial bodies; fields present are always
    /// checked.
    pub fn require_complete_report_requests(&self, required: bool) {
        self.world().reporting.knobs.require_complete_requests = required;
    }
}

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
