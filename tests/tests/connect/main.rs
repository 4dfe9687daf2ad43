//! Connect: `oauth-start` and `oauth-callback` against moto (DynamoDB, KMS)
//! and the Amazon stub (LWA and the three Ads API hosts): the consent URL,
//! the code exchange, discovery of every region's profiles and accounts,
//! sealed tokens.
//!
//! - `happy`: the flow end to end, reconnects, deleted users, KMS call
//!   counts, deletion of what a connect stored;
//! - `attacks`: open redirects at `return_to`, forged, replayed and expired
//!   states, completions by another user, replayed, concurrent or expired, PKCE substitutions, markup and header injection in Amazon's
//!   error parameters, states and ciphertexts moved between users and
//!   connections;
//! - `faults`: AWS failing at every call of a callback and its completion,
//!   KMS refusing, LWA and the Ads API answering garbage, failures or
//!   nothing;
//! - `kinds`: DSP advertisers and AMC instances beside Ads profiles, every
//!   page; no access, a failing kind, and a budget too short for them all;
//! - `managers`: short pages, manager accounts in every region,
//!   managed-service DSP advertisers listed once, more links than Amazon
//!   lists at once, viewer links and roles;
//! - `budgets`: Amazon answering just under each call's timeout: answers
//!   inside the function's time budget, consistent state;
//! - `reauthorization`: a consent by another Amazon login renews nothing;
//! - `leaks`: no secret of these flows in the table, the logs or any answer.

mod attacks;
mod budgets;
mod faults;
mod happy;
mod kinds;
mod leaks;
mod managers;
mod reauthorization;

use adsconnect_dev::amazon_stub::{Endpoint, Login, ads_account, profile};
use adsconnect_tests::*;
use serde_json::{Value, json};

const USER: &str = "user_2amazonA";
const OTHER: &str = "user_2amazonB";

/// A login with profiles in all three regions and 150 Ads accounts (two
/// pages of `/adsAccounts/list`), three of them behind those profiles.
fn busy_login() -> Login {
    let mut ads: Vec<Value> = (0..147)
        .map(|i| ads_account(&format!("amzn1.ads-account.g.filler{i}"), "CREATED", &[]))
        .collect();
    ads.insert(
        10,
        ads_account(
            "amzn1.ads-account.g.us",
            "CREATED",
            &[(1001, "US"), (1002, "CA")],
        ),
    );
    ads.insert(
        120,
        ads_account(
            "amzn1.ads-account.g.de",
            "PARTIALLY_CREATED",
            &[(2001, "DE")],
        ),
    );
    ads.push(ads_account(
        "amzn1.ads-account.g.jp",
        "PENDING",
        &[(3001, "JP")],
    ));
    amazon_login(
        json!({"user_id": "amzn1.account.BUSY", "name": "Busy Seller", "email": "busy@example.com"}),
        vec![
            (
                "na",
                vec![
                    profile(1001, "US", "Acme US", "seller"),
                    profile(1002, "CA", "Acme CA", "vendor"),
                ],
            ),
            ("eu", vec![profile(2001, "DE", "Acme DE", "seller")]),
            ("fe", vec![profile(3001, "JP", "Acme JP", "agency")]),
        ],
        ads,
    )
}

fn small_login(user_id: &str, profile_id: u64) -> Login {
    amazon_login(
        json!({"user_id": user_id, "name": "Small", "email": "small@example.com"}),
        vec![("na", vec![profile(profile_id, "US", "Small US", "seller")])],
        vec![],
    )
}

/// A stack where `user` has signed up.
async fn stack_with_user(user: &str) -> Stack {
    Stack::with_user(user, "a@example.com").await
}
