//! Webhooks: Clerk's `user.*` and `session.*` events as `clerk-webhook`
//! receives them from Svix, against moto.
//!
//! - `happy`: each event's effect, ordering by version, deletion for good;
//! - `attacks`: bad, missing, stale and rotated-out signatures, oversized
//!   and non-JSON bodies;
//! - `storms`: the same delivery many times at once, a seeded storm of
//!   shuffled and duplicated events, a write racing a deletion;
//! - `faults`: a deletion failing part way, finished by Svix's retry;
//! - `leaks`: no secret of these flows in the table, the logs or any answer.

mod attacks;
mod faults;
mod happy;
mod leaks;
mod storms;

use adsconnect_tests::*;
use serde_json::json;

const USER: &str = "user_2webhookUser";

fn outcome(response: &Response) -> String {
    response.body["outcome"].as_str().unwrap_or("").to_owned()
}
