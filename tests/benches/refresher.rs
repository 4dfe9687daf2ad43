//! Refresher throughput against its bound: 1,000 due connections, an LWA
//! stand-in answering after 50 ms, the default concurrency. Prints the
//! measured rate next to concurrency / latency, and the DynamoDB and KMS
//! calls of the run. Run with `scripts/bench` (it starts moto).

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use adsconnect::refresh::RefreshConfig;
use adsconnect_dev::amazon_stub::Login;
use adsconnect_tests::Stack;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use futures::StreamExt;

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
    // The emulator's own ceiling: the same writes (1 UpdateItem + 2 PutItem per
    // connection) at the same concurrency, with no LWA and none of our code.
    let floor_started = Instant::now();
    futures::stream::iter(0..CONNECTIONS)
        .for_each_concurrent(concurrency, |i| {
            let stack = &stack;
            async move {
                let key = |kind: &str| {
                    [
                        ("pk".to_owned(), AttributeValue::S(format!("FLOOR#{i}"))),
                        ("sk".to_owned(), AttributeValue::S(kind.to_owned())),
                    ]
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>()
                };
                let put = |kind: &str| {
                    stack
                        .dynamo
                        .put_item()
                        .table_name(&stack.table)
                        .set_item(Some(key(kind)))
                };
                put("A").send().await.unwrap();
                stack
                    .dynamo
                    .update_item()
                    .table_name(&stack.table)
                    .set_key(Some(key("A")))
                    .update_expression("SET v = :v")
                    .expression_attribute_values(":v", AttributeValue::N("1".into()))
                    .send()
                    .await
                    .unwrap();
                put("B").send().await.unwrap();
            }
        })
        .await;
    let emulator_ceiling = CONNECTIONS as f64 / floor_started.elapsed().as_secs_f64();
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
        "| emulator ceiling: the same 3 writes per connection, no LWA | {emulator_ceiling:.0} /s |"
    );
    println!(
        "| ratio to min(bound, emulator ceiling) | {:.2} |",
        rate / bound.min(emulator_ceiling)
    );
    for (operation, n) in dynamo_calls {
        println!("| DynamoDB {operation} | {n} |");
    }
    for (operation, n) in kms_calls {
        println!("| KMS {operation} | {n} |");
    }
}
