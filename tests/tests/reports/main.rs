//! Reports: managed report jobs (`jobs`: created once, waited for on the
//! queue, stored per day; the same request joined; Amazon's 425, 429,
//! FAILED and expired URLs; a worker killed mid-step; other owners' jobs;
//! bad requests), DSP reports for agency and managed-service advertisers
//! (`dsp`), no secret anywhere (`leaks`), our copy of Amazon's files in S3
//! (`files`), daily schedules and their runs (`schedules`), and each stored
//! day's `Report Ready` / `Report Restated` lifecycle events
//! (`restatements`). The memory and speed of storing a large report are
//! measured by `benches/report_storing.rs`.

mod dsp;
mod files;
mod jobs;
mod leaks;
mod restatements;
mod schedules;

use adsconnect_tests::*;

const USER: &str = "user_2reportsA";
const OTHER: &str = "user_2reportsB";

/// A stack where `USER` connected the seller: its US profile's account.
async fn reporting_stack() -> (Stack, String) {
    seller_account(Stack::with_user(USER, "r@example.com").await).await
}

/// `stack` once `USER` connected the seller: its US profile's account.
async fn seller_account(stack: Stack) -> (Stack, String) {
    stack.amazon.add_login("seller", seller());
    stack.amazon.require_complete_report_requests(true);
    stack.connected(USER, "seller").await;
    let accounts = stack
        .get("/api/v1/accounts?kind=sponsored_ads&limit=100", USER)
        .await
        .body;
    let account = accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["profile_id"] == "5001")
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    stack.amazon.forget_ads_calls();
    (stack, account)
}
