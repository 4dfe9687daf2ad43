//! Issue 24's measurements, through `scripts/bench` (needs moto): Amazon
//! throttling one account's campaigns (one call per 2 s, `Retry-After: 2`)
//! while 50 warm `ads-proxy` instances call it at once, each within the
//! function's 25 s budget — how many calls Amazon sees in all and per 2-s
//! window, how many callers get Amazon's answer within their budget, how
//! many the cooldown refuses at once, and the table writes it costs; once
//! cold (nobody knew of the throttle) and once primed (one call's 429
//! already recorded). Then 100 calls that each get a permission 401: the
//! LWA refreshes they cause and the calls Amazon sees.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adsconnect::budget::timeouts;
use adsconnect::users::quota::{Limit, QuotaLimits};
use adsconnect_dev::amazon_stub::Endpoint;
use adsconnect_tests::{Request, Response, Stack, campaigns_list, na_seller};
use serde_json::json;
use wiremock::ResponseTemplate;

const USER: &str = "user_2benchStorms";
const INSTANCES: usize = 50;
/// Amazon's window: one call admitted per window, `Retry-After` its length.
const WINDOW: Duration = Duration::from_secs(2);
const PERMISSION_401S: usize = 100;

/// When each call reached the stand-in's endpoint, since `started`.
struct Arrivals {
    times: Arc<Mutex<Vec<Duration>>>,
    poller: tokio::task::JoinHandle<()>,
}

impl Arrivals {
    /// Polls the stand-in's count (every millisecond: far finer than a window).
    fn watch(stack: &Stack, endpoint: Endpoint, started: Instant) -> Self {
        let times = Arc::new(Mutex::new(Vec::new()));
        let (amazon, seen) = (stack.amazon.clone(), Arc::clone(&times));
        let poller = tokio::spawn(async move {
            let mut counted = amazon.calls(endpoint);
            loop {
                let now = amazon.calls(endpoint);
                let at = started.elapsed();
                seen.lock().unwrap().extend((counted..now).map(|_| at));
                counted = now;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        Self { times, poller }
    }

    fn stop(self) -> Vec<Duration> {
        self.poller.abort();
        std::mem::take(&mut self.times.lock().unwrap())
    }
}

fn throttled_by(answer: &Response) -> &str {
    answer
        .headers
        .get("adsconnect-throttled-by")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

fn count(operations: &[String], name: &str) -> usize {
    operations.iter().filter(|o| *o == name).count()
}

/// A login of its own (its own connection, so its own throttle map).
async fn account(stack: &Stack, login: &str, profile: u64) -> String {
    stack.amazon.add_login(login, na_seller(login, &[profile]));
    stack.connected(USER, login).await.1[0].clone()
}

async fn storm(stack: &Stack, name: &str, login: &str, profile: u64, primed: bool) {
    let account = account(stack, login, profile).await;
    let request = campaigns_list(&account);
    // Separate processes, as Lambda runs concurrent calls, each warm.
    let proxies: Vec<_> = (0..INSTANCES)
        .map(|_| stack.proxy_with_quotas(unlimited()))
        .collect();
    for proxy in &proxies {
        assert_eq!(stack.send(proxy, &request, Some(USER)).await.status, 200);
    }
    stack
        .amazon
        .throttle(Endpoint::Campaigns, WINDOW, Some(WINDOW.as_secs()));
    if primed {
        // The first call opens Amazon's window; the second is refused and
        // its throttle recorded (it does not wait: its 429 is the answer).
        assert_eq!(stack.proxy(&request, USER).await.status, 200);
        let refused = stack
            .proxy(&request.clone().header("adsconnect-wait", "never"), USER)
            .await;
        assert_eq!(
            (refused.status, throttled_by(&refused)),
            (429, "amazon"),
            "{:?}",
            refused.body
        );
    }
    let refreshes = stack.amazon.refresh_requests().len();
    stack.calls.take();
    stack.kms_calls.take();
    let started = Instant::now();
    let arrivals = Arrivals::watch(stack, Endpoint::Campaigns, started);
    let answers = futures::future::join_all(
        proxies
            .iter()
            .map(|proxy| stack.send_within(proxy, &request, Some(USER), timeouts::ADS_PROXY)),
    )
    .await;
    let took = started.elapsed();
    // The last arrival may come just before the last answer.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let arrivals = arrivals.stop();
    let dynamo = stack.calls.take();
    let kms = stack.kms_calls.take().len();
    stack.amazon.unthrottle(Endpoint::Campaigns);

    let window_of = |at: Duration| (at.as_secs_f64() / WINDOW.as_secs_f64()) as usize;
    let mut windows = vec![0; window_of(took) + 1];
    for at in &arrivals {
        windows[window_of(*at).min(window_of(took))] += 1;
    }
    // How many answers had this status and throttling header, and how long
    // their median and slowest took.
    let outcome = |status: u16, by: &str| {
        let mut times: Vec<Duration> = answers
            .iter()
            .filter(|(a, _)| a.status == status && throttled_by(a) == by)
            .map(|(_, t)| *t)
            .collect();
        times.sort();
        let at = |i: usize| times.get(i).copied().unwrap_or_default();
        format!(
            "{} (median {:.2?}, slowest {:.2?})",
            times.len(),
            at(times.len() / 2),
            at(times.len().saturating_sub(1))
        )
    };
    let admitted = answers.iter().filter(|(a, _)| a.status == 200).count();
    let succeeded = answers
        .iter()
        .filter(|(a, t)| a.status == 200 && *t <= timeouts::ADS_PROXY)
        .count();
    let mut others: Vec<(u16, String)> = answers
        .iter()
        .filter(|(a, _)| !matches!(a.status, 200 | 429))
        .map(|(a, _)| (a.status, a.error_code().to_owned()))
        .collect();
    others.dedup();
    println!(
        "storm {name}: {INSTANCES} concurrent calls, each within {:?}",
        timeouts::ADS_PROXY
    );
    println!(
        "  Amazon saw {} calls; per {}-s window: {windows:?}",
        arrivals.len(),
        WINDOW.as_secs()
    );
    println!(
        "  Amazon admitted {admitted}, refused {} with 429",
        arrivals.len() - admitted
    );
    println!("  succeeded within budget: {succeeded}, of which");
    println!("    not delayed: {}", outcome(200, "-"));
    println!(
        "    after waiting in the cooldown: {}",
        outcome(200, "cooldown")
    );
    println!(
        "    after Amazon's 429 and a retry: {}",
        outcome(200, "amazon")
    );
    println!("  429 from the cooldown: {}", outcome(429, "cooldown"));
    println!("  429 from Amazon, handed back: {}", outcome(429, "amazon"));
    println!("  other answers: {others:?}; the storm took {took:.2?}");
    println!(
        "  DynamoDB: {} UpdateItem (one quota count per call, throttle records and slot claims), {} BatchGetItem, {} in all; KMS {kms}; LWA refreshes {}",
        count(&dynamo, "UpdateItem"),
        count(&dynamo, "BatchGetItem"),
        dynamo.len(),
        stack.amazon.refresh_requests().len() - refreshes
    );

    // The throttle map stays on the item: a warm call still reads it with
    // its one table read.
    tokio::time::sleep(WINDOW).await;
    stack.calls.take();
    for _ in 0..20 {
        assert_eq!(
            stack.send(&proxies[0], &request, Some(USER)).await.status,
            200
        );
    }
    println!(
        "  afterwards, per warm call: {} DynamoDB",
        stack.calls.take().len() as f64 / 20.0
    );
}

async fn permission_401s(stack: &Stack) {
    let account = account(stack, "perm", 9951).await;
    let request: Request = campaigns_list(&account);
    let proxy = stack.proxy_with_quotas(unlimited());
    assert_eq!(stack.send(&proxy, &request, Some(USER)).await.status, 200);
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![
            ResponseTemplate::new(401).set_body_json(
                json!({"code": "UNAUTHORIZED", "details": "Not authorized to access scope"})
            );
            PERMISSION_401S
        ],
    );
    let (refreshes, amazon) = (
        stack.amazon.refresh_requests().len(),
        stack.amazon.calls(Endpoint::Campaigns),
    );
    stack.calls.take();
    let mut statuses = Vec::new();
    for _ in 0..PERMISSION_401S {
        statuses.push(stack.send(&proxy, &request, Some(USER)).await.status);
    }
    let dynamo = stack.calls.take();
    statuses.dedup();
    println!(
        "{PERMISSION_401S} calls answered a permission 401: statuses {statuses:?}, LWA refreshes {}, Amazon calls {}, DynamoDB {} ({} writes)",
        stack.amazon.refresh_requests().len() - refreshes,
        stack.amazon.calls(Endpoint::Campaigns) - amazon,
        dynamo.len(),
        dynamo.iter().filter(|o| *o != "BatchGetItem").count()
    );
}

fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let stack = Stack::with_user(USER, "storms@example.com").await;
        storm(&stack, "(a) cold", "cold", 9931, false).await;
        storm(&stack, "(b) primed", "primed", 9941, true).await;
        permission_401s(&stack).await;
    });
}

/// Quotas no bench reaches: it measures throttling, not fair use.
fn unlimited() -> QuotaLimits {
    QuotaLimits {
        proxy: Limit::per_minute(u32::MAX),
        writes: Limit::per_minute(u32::MAX),
    }
}
