//! Refresher: `token-refresher` against moto and the LWA stand-in:
//! exactly-once refreshes, failure classification, deadlines and health.
//!
//! - `happy`: revocations, deadlines, consent expiry, deletion during a
//!   refresh, on-demand refreshes, auto-refresh off;
//! - `storms`: overlapping runs over 200 due connections;
//! - `faults`: LWA refusing the client, throttling and failing, answering
//!   garbage; AWS failing at every call of a refresh;
//! - `leaks`: no secret of these flows in the table, the logs or any answer.

mod faults;
mod happy;
mod leaks;
mod storms;

use std::time::Duration as StdDuration;

use adsconnect::refresh::RefreshConfig;
use adsconnect::store::connections::ConnectionStatus;
use adsconnect_dev::amazon_stub::{Endpoint, Login};
use adsconnect_tests::*;
use chrono::{Duration, Utc};
use serde_json::json;
use wiremock::ResponseTemplate;

const USER: &str = "user_2refresher";

/// A stack where `USER` has signed up, with a `seller` login at Amazon.
async fn stack_with_user() -> Stack {
    let stack = Stack::with_user(USER, "r@example.com").await;
    stack.amazon.add_login("seller", Login::default());
    stack
}

fn has_index_entry(record: &adsconnect::store::connections::ConnectionRecord) -> bool {
    record.refresh_shard.is_some() && record.refresh_due_at.is_some()
}
