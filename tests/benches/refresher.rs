//! Refresher throughput against its bound: 1,000 due connections, an LWA
//! stand-in answering after 50 ms, the default concurrency. Prints the
//! measured rate next to concurrency / latency, and the DynamoDB and KMS
//! calls of the run. Run with `scripts/bench` (it starts moto).

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use adsconnect::connections::refresh::RefreshConfig;
use adsconnect_dev::amazon_stub::Login;
use adsconnect_tests::Stack;
use chrono::{Duration, Utc};

const CONNECTIONS: usize = 1_000;
const LWA_LATENCY: StdDuration = StdDuration::from_millis(50);

fn count(calls: Vec<String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in calls {
        *counts.entry(call).or_default() += 1;
    }
    counts
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let stack = Stack::new().await;
    stack.amazon.add_login("seller", Login::default());
    let seeding = Instant::now();
    for i in 0..CONNECTIONS {
        stack
            .seed_connection(
                &format!("user_2bench{}", i % 20),
                &format!("login{i}"),
                Duration::minutes(5),
            )
            .await;
    }
    eprintln!(
        "seeded {CONNECTIONS} connections in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    stack.amazon.set_token_delay(LWA_LATENCY);
    let config = RefreshConfig::default();
    let concurrency = config.concurrency;
    let refresher = stack.refresher(config);
    stack.calls.take();
    stack.kms_calls.take();
    let started = Instant::now();
    let summary = refresher
        .run(Utc::now(), Instant::now() + StdDuration::from_secs(3600))
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let rate = summary.refreshed as f64 / elapsed;
    let bound = concurrency as f64 / LWA_LATENCY.as_secs_f64();
    let dynamo_calls = count(stack.calls.take());
    let kms_calls = count(stack.kms_calls.take());
    // The same run with an instant LWA: what the emulator and our code allow
    // on their own (moto serves one request at a time).
    for i in 0..CONNECTIONS {
        stack
            .seed_connection(
                &format!("user_2floor{}", i % 20),
                &format!("floor{i}"),
                Duration::minutes(5),
            )
            .await;
    }
    stack.kms_calls.take();
    stack.amazon.set_token_delay(StdDuration::ZERO);
    let floor_started = Instant::now();
    let floor = stack
        .refresher(RefreshConfig::default())
        .run(Utc::now(), Instant::now() + StdDuration::from_secs(3600))
        .await
        .unwrap();
    let emulator_ceiling = floor.refreshed as f64 / floor_started.elapsed().as_secs_f64();
    stack.calls.take();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| due connections | {} |", summary.due);
    println!("| refreshed | {} |", summary.refreshed);
    println!("| run time | {elapsed:.2} s |");
    println!("| refreshes per second | {rate:.0} |");
    println!(
        "| bound: concurrency {concurrency} / LWA {} ms | {bound:.0} |",
        LWA_LATENCY.as_millis()
    );
    println!("| ratio to bound | {:.2} |", rate / bound);
    println!(
        "| ceiling: same run, 1,000 more connections, LWA instant | {emulator_ceiling:.0} /s |"
    );
    println!(
        "| ratio to min(bound, emulator ceiling) | {:.2} |",
        rate / bound.min(emulator_ceiling)
    );
    let floor_kms = count(stack.kms_calls.take());
    for (operation, n) in &dynamo_calls {
        println!("| DynamoDB {operation} | {n} |");
    }
    for (operation, n) in &kms_calls {
        println!("| KMS {operation} | {n} |");
    }
    let tally = |calls: &BTreeMap<String, usize>| {
        calls
            .iter()
            .map(|(operation, n)| format!("{n} {operation}"))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let rows = [
        serde_json::json!({"row": 6, "name": "refresher: 1,000 due connections, LWA 50 ms", "ours_per_s": rate, "bound_per_s": bound, "ceiling_per_s": emulator_ceiling, "target_ratio": 0.7}),
        serde_json::json!({"row": 5, "name": "token-refresher run, 1,000 connections", "dynamodb_calls": dynamo_calls.values().sum::<usize>(), "dynamodb": tally(&dynamo_calls), "kms_calls": kms_calls.values().sum::<usize>(), "kms": tally(&kms_calls)}),
        serde_json::json!({"row": 5, "name": "token-refresher run, 1,000 more connections (second run)", "kms_calls": floor_kms.values().sum::<usize>(), "kms": tally(&floor_kms)}),
    ];
    let dir = std::path::Path::new(
        &std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()),
    )
    .join("bench-results");
    std::fs::create_dir_all(&dir).unwrap();
    let lines: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    std::fs::write(dir.join("refresher.jsonl"), lines.join("\n") + "\n").unwrap();
}
