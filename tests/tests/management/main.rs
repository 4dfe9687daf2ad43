//! Management: the caller's connections, accounts and settings (`users`):
//! isolation, crypto-shredding, re-authorize, sync, defaults, pagination,
//! health, settings validation.
//!
//! - `happy`: disconnect, re-authorize, sync, pages, deleting accounts and
//!   the health summary, settings patched and reset;
//! - `attacks`: other users' ids, settings and accounts, invalid patches;
//! - `seats`: DSP seats — snapshot, every page, once a minute, history,
//!   Amazon's error codes, other kinds, bad input;
//! - `storms`: default switches at once;
//! - `default_account`: at most one default, always the one the settings
//!   name, after every step of a seeded sequence and under concurrency;
//! - `faults`: AWS failing at every call of each multi-write operation, all
//!   or nothing;
//! - `leaks`: no secret of these flows in the table, the logs or any answer;
//! - `quotas`: a user over their quota of writes waits, others do not;
//! - `search`: the accounts list searched by name and id, sorted every way
//!   over pages, cursors tied to their sort.

mod attacks;
mod default_account;
mod faults;
mod happy;
mod leaks;
mod quotas;
mod search;
mod seats;
mod storms;

use adsconnect_dev::amazon_stub::{Login, profile};
use adsconnect_dev::amazon_stub::{agency_profile, dsp_advertisers};
use adsconnect_tests::*;
use serde_json::{Value, json};

const A: &str = "user_2alice";
const B: &str = "user_2bob";

/// The user of the settings tests.
const USER: &str = "user_2usersApi";

async fn two_users() -> (Stack, String, String) {
    let stack = Stack::new().await;
    for user in [A, B] {
        stack
            .create_user(user, &format!("{user}@example.com"))
            .await;
    }
    stack.amazon.add_login(
        "alice",
        na_login("alice", &[(101, "Alice US"), (102, "Alice CA")]),
    );
    stack
        .amazon
        .add_login("bob", na_login("bob", &[(201, "Bob US")]));
    let a = stack.connect_flow(A, "alice").await["connection_id"].clone();
    let b = stack.connect_flow(B, "bob").await["connection_id"].clone();
    (stack, a, b)
}

/// `login` also reaches an agency profile with one DSP advertiser (with 3
/// seats).
fn with_dsp_advertiser(login: &mut Login) {
    login.profiles.entry("na").or_default().push(agency_profile(
        AGENCY_NA,
        "US",
        "ATVPDKIKX0DER",
        "Agency",
    ));
    login
        .dsp_advertisers
        .insert(AGENCY_NA.to_string(), dsp_advertisers(AGENCY_NA, 1));
    login.seats.insert(
        first_advertiser(AGENCY_NA),
        adsconnect_dev::amazon_stub::seats(3),
    );
}

/// The ids of the first 100 accounts `user` lists with `filter` (e.g.
/// `kind=dsp_advertiser&`, or `""`).
async fn listed_account_ids(stack: &Stack, user: &str, filter: &str) -> Vec<String> {
    let body = stack
        .get(&format!("/api/v1/accounts?{filter}limit=100"), user)
        .await
        .body;
    body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn dsp_account_ids(stack: &Stack, user: &str) -> Vec<String> {
    listed_account_ids(stack, user, "kind=dsp_advertiser&").await
}

async fn account_ids(stack: &Stack, user: &str) -> Vec<String> {
    listed_account_ids(stack, user, "").await
}

/// A stack where `USER` has signed up.
async fn stack_with_user() -> Stack {
    Stack::with_user(USER, "ada@example.com").await
}
