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
