//! The connections put to work: `ads-proxy` (Ads API calls for the
//! caller's account, credentials injected) and `credentials` (fresh tokens
//! for the app's backends), against moto and the Amazon stand-in's Ads
//! endpoints, which check what Amazon checks.
//!
//! - `happy`: the right host, credentials and scope; what is passed through
//!   and back; DynamoDB and KMS calls per call;
//! - `attacks`: other users' accounts, paths that try to escape (however
//!   encoded), the allow-list by path and method, sizes;
//! - `vocabulary`: Amazon's header families passed, the proxy's own headers
//!   refused on conflict, Ads API v1 for every kind, a trailing slash;
//! - `faults`: 401 → one refresh and one retry, 429/5xx handed back, a
//!   connection needing re-authorization, Amazon silent or too large;
//! - `throttling`: cooldowns shared by every instance, waited out or
//!   refused at once, 425, 5xx retried only when idempotent, a storm, the
//!   accounts list;
//! - `refusals`: permission 401s handed back without a refresh, renewals
//!   at most once a minute;
//! - `observability`: the log line of each call, no secret in any;
//! - `quotas`: a user over their quota of calls waits, others do not;
//! - `storms`: concurrent calls on an expired token refresh it once;
//! - `saturation`: sign-in and the token refresh work while the proxy is
//!   saturated, and the template keeps their capacity apart;
//! - `credentials`: the Invoke API's answers and typed errors;
//! - `callers`: who gets a token: a listed role, proven by a signed
//!   GetCallerIdentity bound to the owner and account, recent, used once;
//! - `kinds`: each kind's headers (DSP advertisers, AMC instances), through
//!   the proxy and in a backend's credentials;
//! - `roles`: a Viewer account's writes refused without calling Amazon, its
//!   reads, reports and 401s; managed-service and agency DSP advertisers'
//!   account headers (one, never both, on reports);
//! - `leaks`: no token or secret in the proxy's answers or any log line.

mod attacks;
mod callers;
mod credentials;
mod events;
mod faults;
mod happy;
mod kinds;
mod leaks;
mod observability;
mod quotas;
mod refusals;
mod roles;
mod saturation;
mod storms;
mod throttling;
mod vocabulary;

use adsconnect_dev::amazon_stub::Endpoint;
use adsconnect_tests::*;
use serde_json::{Value, json};

const USER: &str = "user_2proxyA";
const OTHER: &str = "user_2proxyB";

/// A stack where `USER` has connected `seller`: the account ids by profile.
async fn connected_stack() -> (Stack, Accounts) {
    let stack = Stack::with_user(USER, "p@example.com").await;
    stack.amazon.add_login("seller", seller());
    stack.connected(USER, "seller").await;
    let accounts = Accounts::of(&stack, USER).await;
    stack.calls.take();
    stack.kms_calls.take();
    stack.amazon.forget_ads_calls();
    (stack, accounts)
}

/// A user's Ads profile account ids, by Amazon profile id.
struct Accounts(Vec<(String, String)>);

impl Accounts {
    async fn of(stack: &Stack, user: &str) -> Self {
        let body = stack
            .get("/api/v1/accounts?kind=sponsored_ads&limit=100", user)
            .await
            .body;
        Self(
            body["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["profile_id"].as_str().unwrap().to_owned(),
                        a["account_id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
        )
    }

    fn of_profile(&self, profile: &str) -> &str {
        &self.0.iter().find(|(p, _)| p == profile).unwrap().1
    }
}

/// The connection's stored item.
async fn connection_item(stack: &Stack, user: &str) -> Item {
    stack
        .items()
        .await
        .into_iter()
        .find(|i| {
            attr_s(i, "pk") == Some(&format!("USER#{user}"))
                && attr_s(i, "sk").is_some_and(|sk| sk.starts_with("CONN#"))
        })
        .unwrap()
}

/// Sets a time attribute of `user`'s connection to `from_now` ahead (as
/// time passing would); returns the new value (epoch ms).
async fn connection_time_in(stack: &Stack, attribute: &str, from_now: chrono::Duration) -> i64 {
    let item = connection_item(stack, USER).await;
    let (pk, sk) = (attr_s(&item, "pk").unwrap(), attr_s(&item, "sk").unwrap());
    let at = (chrono::Utc::now() + from_now).timestamp_millis();
    stack.set_number(pk, sk, attribute, at).await;
    at
}

fn number(item: &Item, name: &str) -> i64 {
    match &item[name] {
        aws_sdk_dynamodb::types::AttributeValue::N(n) => n.parse().unwrap(),
        other => panic!("{name}: {other:?}"),
    }
}
