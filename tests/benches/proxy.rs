//! Issue 14's measurements, through `scripts/bench` (needs moto): what
//! `ads-proxy` adds to an Ads API call — the same call made directly to the
//! Amazon stand-in and through the proxy's router (warm, in process), same
//! run, median and p99, also as paired differences per round with the
//! bare table read — the DynamoDB and KMS calls per proxied call, and
//! how many lifecycle events per second `events-publisher` publishes.

use std::time::{Duration, Instant};

use adsconnect::store::quotas::Window;
use adsconnect::users::quota::{Limit, QuotaLimits};
use adsconnect_dev::backend_proof;
use adsconnect_tests::{CAMPAIGNS_MEDIA_TYPE, Stack, campaigns_list, na_seller};
use serde_json::json;

const CALLS: usize = 500;
const USER: &str = "user_2benchProxy";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (median, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{name}: median {median:?}, p99 {p99:?} over {} calls",
        samples.len()
    );
    (median, p99)
}

fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let stack = Stack::with_stream(USER, "bench@example.com").await;
        stack.amazon.add_login("bench", na_seller("Bench", &[9901]));
        let (_, accounts) = stack.connected(USER, "bench").await;
        let account = accounts[0].clone();
        let request = campaigns_list(&account);
        // Quotas far above the bench's pace: it measures the proxy, not fair use.
        let proxy = stack.proxy_with_quotas(unlimited());
        assert_eq!(stack.send(&proxy, &request, Some(USER)).await.status, 200);
        // The token a backend would get from `credentials` (any listed role).
        let sts = adsconnect_tests::moto_endpoint();
        let role = "arn:aws:iam::123456789012:role/bench";
        let session = backend_proof::assume_role(&sts, role).await.unwrap();
        let proof = backend_proof::sign_proof(
            session,
            &sts,
            &format!("{USER}/{account}"),
            backend_proof::GET_CALLER_IDENTITY,
            std::time::SystemTime::now(),
        )
        .unwrap();
        let credentials = stack.startup.credentials(
            stack.access(),
            vec![role.parse().unwrap()],
            adsconnect::aws_identity::sts::Sts::new(&sts).unwrap(),
        );
        let direct_token = adsconnect::entrypoints::credentials::vend(
            &credentials,
            json!({"owner_id": USER, "account_id": account, "proof": proof}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
        let http = reqwest::Client::new();
        let direct = || {
            let mut call = http
                .post(format!("{}/sp/campaigns/list", direct_token.api_host))
                .header("content-type", CAMPAIGNS_MEDIA_TYPE)
                .header("accept", CAMPAIGNS_MEDIA_TYPE)
                .body(r#"{"stateFilter":{"include":["ENABLED"]}}"#);
            for (name, value) in &direct_token.headers {
                call = call.header(*name, value);
            }
            call.send()
        };
        // The one table read alone (moto's latency, not DynamoDB's).
        let user = adsconnect::ids::OwnerId::parse(USER).unwrap();
        let account_id = adsconnect::ids::AccountId::parse(&account).unwrap();
        let connection = stack
            .store
            .accounts()
            .get(&user, &account_id)
            .await
            .unwrap()
            .unwrap()
            .connection_id;
        let read = || {
            stack.store.get_pair(
                stack.store.accounts().read(&user, &account_id),
                stack.store.connections().read(&user, &connection),
            )
        };
        // The quota's one write alone, as the proxy makes it beside the read.
        let count = || async {
            stack
                .store
                .quotas()
                .take(
                    &adsconnect::ids::UserId::parse(USER).unwrap(),
                    "bench",
                    Window {
                        length_ms: 10_000,
                        limit: i64::MAX,
                    },
                    chrono::Utc::now().timestamp_millis(),
                )
                .await
        };
        let mut besides_calls = Vec::new();
        let (mut through, mut straight, mut reads) = (Vec::new(), Vec::new(), Vec::new());
        // Each round's proxied call less its direct call and its read: paired
        // differences, which moto's noise between rounds does not reach.
        let mut besides_read = Vec::new();
        let mut dynamo = Vec::new();
        stack.calls.take();
        stack.kms_calls.take();
        for _ in 0..CALLS {
            let started = Instant::now();
            assert_eq!(stack.send(&proxy, &request, Some(USER)).await.status, 200);
            let proxied = started.elapsed();
            dynamo.extend(stack.calls.take());
            let started = Instant::now();
            assert_eq!(direct().await.unwrap().status(), 200);
            let direct = started.elapsed();
            let started = Instant::now();
            read().await.unwrap();
            let table = started.elapsed();
            let started = Instant::now();
            count().await.unwrap();
            let quota = started.elapsed();
            stack.calls.take();
            besides_read.push(proxied.as_secs_f64() - (direct + table).as_secs_f64());
            besides_calls.push(proxied.as_secs_f64() - (direct + table + quota).as_secs_f64());
            through.push(proxied);
            straight.push(direct);
            reads.push(table);
        }
        let kms = stack.kms_calls.take();
        println!(
            "per proxied call: {} DynamoDB ({:?}), {} KMS",
            dynamo.len() as f64 / CALLS as f64,
            dynamo.first(),
            kms.len() as f64 / CALLS as f64
        );
        let (proxied_median, proxied_p99) = summary("through ads-proxy", through);
        let (direct_median, direct_p99) = summary("direct to the stand-in", straight);
        println!(
            "added by the proxy: median {:?}, p99 {:?}",
            proxied_median.saturating_sub(direct_median),
            proxied_p99.saturating_sub(direct_p99)
        );
        let (read_median, read_p99) = summary("the BatchGetItem alone (moto)", reads);
        println!(
            "added by the proxy besides its table read: median {:?}, p99 {:?}",
            proxied_median.saturating_sub(direct_median + read_median),
            proxied_p99.saturating_sub(direct_p99 + read_p99)
        );
        let paired = |mut rounds: Vec<f64>, p: f64| {
            rounds.sort_by(f64::total_cmp);
            rounds[((rounds.len() as f64 - 1.0) * p).round() as usize] * 1e3
        };
        println!(
            "added by the proxy besides its table read, paired per round: median {:.3} ms, p99 {:.3} ms",
            paired(besides_read.clone(), 0.5),
            paired(besides_read, 0.99)
        );
        // Moto serves one request at a time: the read and the quota's write,
        // side by side in DynamoDB, run one after the other here.
        println!(
            "added by the proxy besides its table read and quota write, paired per round: median {:.3} ms, p99 {:.3} ms",
            paired(besides_calls.clone(), 0.5),
            paired(besides_calls, 0.99)
        );

        // Publisher throughput: 200 connects' worth of audit events.
        let mut tap = stack.event_tap().await;
        tap.published().await;
        for i in 0..200 {
            let login = format!("pub{i}");
            stack
                .amazon
                .add_login(&login, na_seller(&login, &[10_000 + i]));
            stack.connect_flow(USER, &login).await;
        }
        let batch = tap.pump.next_batch().await.unwrap();
        let records = batch["Records"].as_array().unwrap().len();
        let started = Instant::now();
        let answer = tap.publisher.handle(&batch).await;
        let took = started.elapsed();
        assert_eq!(answer["batchItemFailures"], json!([]));
        println!(
            "events-publisher: {records} stream records in {took:?} = {:.0} records/s",
            records as f64 / took.as_secs_f64()
        );
    });
}

/// Quotas no bench reaches.
fn unlimited() -> QuotaLimits {
    QuotaLimits {
        proxy: Limit::per_minute(u32::MAX),
        writes: Limit::per_minute(u32::MAX),
    }
}
