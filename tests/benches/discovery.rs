//! Issue 26's measurement, through `scripts/bench` (needs moto): what one
//! connect costs in calls to Amazon's Ads API and to AWS, for logins from
//! a seller to an agency whose manager account links 120 advertisers, and
//! how long its discovery takes when every Amazon answer takes 100 ms
//! (calls run a few at a time, so the time is the longest chain of pages,
//! not the sum). Prints a markdown table.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adsconnect_dev::amazon_stub::{Endpoint, Login};
use adsconnect_tests::{Stack, agency_login, many_links, seller};

/// Every Amazon answer's latency in the timed run: far above moto's, so
/// the time shows how discovery's calls are arranged.
const AMAZON_LATENCY: Duration = Duration::from_millis(100);

/// Makes a scenario's login afresh for each of its runs.
type LoginOf = fn() -> Login;

fn with_links(count: usize, beta: bool) -> Login {
    let mut login = agency_login();
    login.manager_accounts = many_links(count, "VIEWER").into_iter().collect();
    login.account_links_beta = beta;
    login
}

/// The path without its region, e.g. `/dsp/advertisers`.
fn endpoint(path: &str) -> String {
    let rest = path.trim_start_matches('/');
    rest.split_once('/')
        .map_or(rest, |(_, endpoint)| endpoint)
        .to_owned()
}

struct Measured {
    accounts: usize,
    ads_calls: BTreeMap<String, usize>,
    aws_calls: BTreeMap<String, usize>,
    took: Duration,
}

async fn measure(name: &str, login: Login, latency: Duration) -> Measured {
    let user = format!("user_2benchDiscovery{}", name.len());
    let stack = Stack::with_user(&user, "discovery@example.com").await;
    stack.amazon.add_login(name, login);
    let query = stack.consented(&user, name).await;
    stack.amazon.forget_ads_calls();
    stack.calls.take();
    stack.amazon.set_latency(latency);
    let started = Instant::now();
    let callback = stack.amazon_redirect(&query).await;
    let completion = adsconnect_tests::query_of(&callback.location())["completion"].clone();
    let done = stack.complete(&user, &completion).await;
    let took = started.elapsed();
    assert_eq!(done.status, 200, "{:?}", done.body);
    // The stand-in records the calls of its account endpoints; profiles,
    // Ads accounts and the LWA profile it only counts.
    let mut ads_calls: BTreeMap<String, usize> = [
        ("v2/profiles", Endpoint::Profiles("na")),
        ("v2/profiles", Endpoint::Profiles("eu")),
        ("v2/profiles", Endpoint::Profiles("fe")),
        ("adsAccounts/list", Endpoint::AdsAccounts),
        ("LWA user profile", Endpoint::UserProfile),
    ]
    .into_iter()
    .fold(BTreeMap::new(), |mut counts, (what, endpoint)| {
        *counts.entry(what.to_owned()).or_default() += stack.amazon.calls(endpoint);
        counts
    });
    for call in stack.amazon.ads_calls() {
        *ads_calls.entry(endpoint(&call.path)).or_default() += 1;
    }
    let mut aws_calls = BTreeMap::new();
    for call in stack.calls.take() {
        *aws_calls.entry(call).or_default() += 1;
    }
    let accounts = done.body["connection"]["account_count"]
        .as_u64()
        .unwrap_or_default() as usize;
    Measured {
        accounts,
        ads_calls,
        aws_calls,
        took,
    }
}

fn listed(calls: &BTreeMap<String, usize>) -> String {
    calls
        .iter()
        .map(|(what, n)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        println!("| row | login | accounts | Ads API calls per connect | AWS calls per connect | connect with Amazon at 100 ms a call |");
        println!("|---|---|---|---|---|---|");
        let logins: [(&str, LoginOf); 4] = [
            ("seller: 3 profiles in 2 regions", seller),
            ("agency: 2 agency profiles, 233 DSP advertisers, 23 AMC instances, 1 manager account", agency_login),
            ("agency + a manager account linking 120 managed-service advertisers, account links (beta)", || with_links(120, true)),
            ("the same without account links: 50 listed, the rest warned", || with_links(120, false)),
        ];
        for (name, login) in logins {
            let counted = measure(name, login(), Duration::ZERO).await;
            let timed = measure(name, login(), AMAZON_LATENCY).await;
            let total: usize = counted.ads_calls.values().sum();
            let aws: usize = counted.aws_calls.values().sum();
            println!(
                "| 13 | {name} | {} | {total}: {} | {aws}: {} | {:.2} s |",
                counted.accounts,
                listed(&counted.ads_calls),
                listed(&counted.aws_calls),
                timed.took.as_secs_f64(),
            );
        }
    });
}
