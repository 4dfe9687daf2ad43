//! Issue 28's measurement, through `scripts/bench` (needs moto): what one
//! report job costs in worker invocations, Amazon calls and AWS calls, for
//! reports Amazon takes longer and longer to generate.
//!
//! Each job runs end to end through the test stack: asked for through the
//! users function, then the report queue delivered to the worker as
//! Lambda's event source mapping delivers it, one invocation per message,
//! until the job ends. Every AWS call of the stack crosses a counting proxy
//! in front of moto; the queue's deliveries (the event source mapping's
//! ReceiveMessage and DeleteMessageBatch) use a client of their own, so
//! what is counted is the route's and the worker's.
//!
//! Amazon's stand-in generates a report in polls, not minutes: a report
//! Amazon takes `T` to make is one that answers `PENDING` to the polls the
//! engine makes before `T` with `EngineConfig::default()`'s waits (60 s,
//! doubling, at most an hour). The jobs run with no wait between steps; the
//! waits longer than SQS's 15-minute delay are relayed by the worker (one
//! invocation and one SendMessage each, measured once at the end), so their
//! number is computed from the same waits.
//!
//! Prints a markdown table and writes
//! `$CARGO_TARGET_DIR/bench-results/report_calls.jsonl` (row 15 of
//! `scripts/bench_table.py`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use adsconnect::entrypoints::queue;
use adsconnect::queue::MAX_DELAY;
use adsconnect::reports::EngineConfig;
use adsconnect_dev::amazon_stub::Endpoint;
use adsconnect_dev::provision;
use adsconnect_dev::queue::QueueDelivery;
use adsconnect_tests::proxy::MotoProxy;
use adsconnect_tests::reports::TEST_VISIBILITY;
use adsconnect_tests::{Item, Stack, attr_s, moto_endpoint, quick_sdk, seller};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Days, Utc};
use serde_json::{Value, json};

const USER: &str = "user_2benchReports";
const PATIENCE: Duration = Duration::from_secs(120);

/// Generation times the table shows: Amazon's report ready at the first
/// poll, and after 15 minutes, an hour, three hours (Amazon: "can take up
/// to three hours").
const GENERATION: [(&str, u64); 4] = [
    ("≤ 1 min", 60),
    ("15 min", 15 * 60),
    ("1 h", 3600),
    ("3 h", 3 * 3600),
];

/// Status polls the engine makes for a report Amazon makes in `seconds`:
/// the k-th poll comes after the first k waits.
fn polls_until(config: &EngineConfig, seconds: u64) -> u32 {
    let mut at = 0;
    (0..)
        .find(|k| {
            at += config.wait_after(*k).as_secs();
            at >= seconds
        })
        .map_or(0, |k| k + 1)
}

/// Worker invocations that only carry a wait on: SQS delays a message 15
/// minutes at most, so a wait `w` takes `⌈w / 15 min⌉` messages.
fn relays_before(config: &EngineConfig, polls: u32) -> u64 {
    (0..polls)
        .map(|k| {
            let wait = config.wait_after(k).as_secs();
            wait.div_ceil(MAX_DELAY.as_secs()).saturating_sub(1)
        })
        .sum()
}

/// An AWS call as the proxy saw it, by service: `("DynamoDB", "PutItem")`.
fn service_of(operation: &str) -> (&'static str, String) {
    let last = |s: &str| s.rsplit('.').next().unwrap_or(s).to_owned();
    if operation.starts_with("DynamoDB_") {
        ("DynamoDB", last(operation))
    } else if operation.starts_with("TrentService.") {
        ("KMS", last(operation))
    } else if operation.starts_with("AmazonSQS.") {
        ("SQS", last(operation))
    } else if operation.starts_with("secretsmanager.") {
        ("Secrets Manager", last(operation))
    } else {
        // S3 is REST: the method says the request's price class.
        let method = operation.split(' ').next().unwrap_or(operation);
        ("S3", method.to_owned())
    }
}

const DYNAMO_READS: [&str; 4] = ["GetItem", "BatchGetItem", "Query", "Scan"];

#[derive(Default)]
struct Counts(BTreeMap<(&'static str, String), usize>);

impl Counts {
    fn add(&mut self, operations: Vec<String>) {
        for operation in operations {
            *self.0.entry(service_of(&operation)).or_default() += 1;
        }
    }

    fn of(&self, service: &str) -> usize {
        self.0
            .iter()
            .filter(|((s, _), _)| *s == service)
            .map(|(_, n)| n)
            .sum()
    }

    fn dynamo_reads(&self) -> usize {
        self.0
            .iter()
            .filter(|((s, op), _)| *s == "DynamoDB" && DYNAMO_READS.contains(&op.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    /// `3 (PutItem, UpdateItem ×2)` for one service.
    fn listed(&self, service: &str) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .filter(|((s, _), _)| *s == service)
            .map(|((_, op), n)| {
                if *n == 1 {
                    op.clone()
                } else {
                    format!("{op} ×{n}")
                }
            })
            .collect();
        if parts.is_empty() {
            "0".into()
        } else {
            format!("{} ({})", self.of(service), parts.join(", "))
        }
    }

    fn json(&self) -> Value {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for ((service, op), n) in &self.0 {
            *by.entry(format!("{service} {op}")).or_default() += n;
        }
        json!(by)
    }
}

/// Amazon's counters, read before and after a job.
fn amazon_counts(stack: &Stack) -> [usize; 4] {
    [
        Endpoint::Reports,
        Endpoint::ReportStatus,
        Endpoint::ReportDownload,
        Endpoint::Token,
    ]
    .map(|endpoint| stack.amazon.calls(endpoint))
}

/// DynamoDB's item size (attribute names and values; numbers counted at
/// their digits' half plus one, as DynamoDB stores them).
fn item_size(item: &Item) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + value(v) + 1).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| value(v) + 1).sum::<usize>(),
            AttributeValue::Ss(ss) => ss.iter().map(String::len).sum(),
            _ => 1,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

struct Job {
    label: String,
    days: u64,
    polls: usize,
    amazon: [usize; 4],
    request: Counts,
    worker: Counts,
    invocations: usize,
    worker_time: Duration,
    job_item_bytes: usize,
    status: String,
    owner: String,
    account: String,
    job_id: String,
}

struct Bench {
    stack: Stack,
    proxy: MotoProxy,
    delivery: QueueDelivery,
    account: String,
}

impl Bench {
    async fn new() -> Self {
        let proxy = MotoProxy::start(&moto_endpoint()).await.unwrap();
        let stack = Stack::with_sdk(quick_sdk(&proxy.endpoint)).await;
        stack.create_user(USER, "reports@example.com").await;
        stack.amazon.add_login("seller", seller());
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
        // Lambda's poller is not the worker: its calls are not counted.
        let direct = aws_sdk_sqs::Client::new(&provision::emulator_config(&moto_endpoint()));
        let delivery = QueueDelivery::attach(direct, &stack.report_queue_url)
            .await
            .unwrap()
            .with_visibility_timeout(TEST_VISIBILITY);
        Self {
            stack,
            proxy,
            delivery,
            account,
        }
    }

    /// One `days`-day job (ending `ending` days ago) whose Amazon report
    /// answers `PENDING` to `pending` polls.
    async fn job(&self, label: &str, days: u64, ending: u64, pending: usize) -> Job {
        let (stack, proxy) = (&self.stack, &self.proxy);
        stack.amazon.set_report_polls_before_completion(pending);
        let today = Utc::now().date_naive();
        let body = json!({
            "preset": "sp_campaigns",
            "start_date": (today - Days::new(ending + days - 1)).to_string(),
            "end_date": (today - Days::new(ending)).to_string(),
        });
        let before = amazon_counts(stack);
        proxy.clear();
        let answer = stack.request_report(USER, &self.account, &body).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
        let job_id = answer.body["job_id"].as_str().unwrap().to_owned();
        let mut request = Counts::default();
        request.add(proxy.take_calls());

        let times = Mutex::new(Vec::new());
        let mut worker = Counts::default();
        let started = Instant::now();
        let read = loop {
            let times = &times;
            let reports = &stack.reports;
            let mut handler = |event: Value| async move {
                let began = Instant::now();
                let answer = queue::handle(reports, &event).await;
                times.lock().unwrap().push(began.elapsed());
                answer
            };
            let delivered = self.delivery.deliver(&mut handler).await.unwrap();
            worker.add(proxy.take_calls());
            let read = stack.report_job(USER, &self.account, &job_id).await;
            proxy.clear();
            let status = read.body["status"].as_str().unwrap_or_default();
            if matches!(status, "completed" | "failed") || started.elapsed() > PATIENCE {
                break read.body;
            }
            if delivered.messages == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let after = amazon_counts(stack);
        let times = times.into_inner().unwrap();
        let item = stack
            .items()
            .await
            .into_iter()
            .find(|item| attr_s(item, "sk").is_some_and(|sk| sk.ends_with(&job_id)))
            .unwrap();
        let owner = attr_s(&item, "pk")
            .unwrap()
            .trim_start_matches("REPORTS#")
            .to_owned();
        Job {
            label: label.to_owned(),
            days,
            polls: after[1] - before[1],
            amazon: [0, 1, 2, 3].map(|i| after[i] - before[i]),
            request,
            worker,
            invocations: times.len(),
            worker_time: times.iter().sum(),
            job_item_bytes: item_size(&item),
            status: read["status"].as_str().unwrap_or_default().to_owned(),
            owner,
            account: self.account.clone(),
            job_id,
        }
    }

    /// One relay: a message due in two hours, handed to the worker, which
    /// sends it back delayed (what every wait past 15 minutes costs).
    async fn relay(&self, job: &Job) -> (Counts, Duration) {
        let due = Utc::now().timestamp_millis() + 2 * 3600 * 1000;
        let message = json!({
            "owner_id": job.owner,
            "account_id": job.account,
            "job_id": job.job_id,
            "step": 1000,
            "not_before_ms": due,
        });
        let direct = aws_sdk_sqs::Client::new(&provision::emulator_config(&moto_endpoint()));
        direct
            .send_message()
            .queue_url(&self.stack.report_queue_url)
            .message_body(message.to_string())
            .send()
            .await
            .unwrap();
        self.proxy.clear();
        let reports = &self.stack.reports;
        let took = &Mutex::new(Duration::ZERO);
        let mut handler = |event: Value| async move {
            let began = Instant::now();
            let answer = queue::handle(reports, &event).await;
            *took.lock().unwrap() = began.elapsed();
            answer
        };
        let delivered = self.delivery.deliver(&mut handler).await.unwrap();
        assert_eq!(delivered.messages, 1);
        let mut counts = Counts::default();
        counts.add(self.proxy.take_calls());
        let took = *took.lock().unwrap();
        (counts, took)
    }
}

fn results_path() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = PathBuf::from(target).join("bench-results");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("report_calls.jsonl")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let config = EngineConfig::default();
    let bench = Bench::new().await;
    // The worker's process reads the connection's data key once (KMS
    // Decrypt), then keeps it: a warm-up job pays it, measured apart.
    let cold = bench.job("warm-up", 2, 40, 0).await;
    let cold_kms = cold.worker.of("KMS");

    let mut jobs = Vec::new();
    for (n, (label, seconds)) in GENERATION.iter().enumerate() {
        let polls = polls_until(&config, *seconds);
        let ending = 1 + 2 * n as u64;
        let job = bench
            .job(label, 2, ending, polls.saturating_sub(1) as usize)
            .await;
        jobs.push((job, *seconds, polls));
    }
    let one_day = bench.job("≤ 1 min", 1, 20, 0).await;
    jobs.push((one_day, 60, polls_until(&config, 60)));
    let (relay, relay_time) = bench.relay(&jobs[0].0).await;

    let mut lines = Vec::new();
    println!(
        "| generation | days | status | worker invocations (steps + relays) | Amazon: create, status polls, download (LWA) | DynamoDB (worker) | SQS sends | S3 | KMS | worker time (moto) | the request's AWS calls |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (job, seconds, polls) in &jobs {
        let relays = relays_before(&config, *polls);
        let polls_target = ((*seconds as f64 / config.first_poll.as_secs_f64()) + 1.0)
            .log2()
            .ceil() as usize;
        println!(
            "| {} | {} | {} | {} ({} + {relays}) | {}, {}, {} ({}) | {} | {} | {} | {} | {:.1} ms | {}; {} |",
            job.label,
            job.days,
            job.status,
            job.invocations as u64 + relays,
            job.invocations,
            job.amazon[0],
            job.amazon[1],
            job.amazon[2],
            job.amazon[3],
            job.worker.listed("DynamoDB"),
            job.worker.of("SQS") as u64 + relays,
            job.worker.listed("S3"),
            job.worker.of("KMS"),
            ms(job.worker_time),
            job.request.listed("DynamoDB"),
            job.request.listed("SQS"),
        );
        lines.push(json!({
            "row": 15,
            "generation": job.label,
            "generation_s": seconds,
            "days": job.days,
            "status": job.status,
            "steps": job.invocations,
            "relays": relays,
            "invocations": job.invocations as u64 + relays,
            "amazon_create": job.amazon[0],
            "amazon_polls": job.polls,
            "amazon_download": job.amazon[2],
            "lwa_refreshes": job.amazon[3],
            "polls_target": polls_target,
            "worker_calls": job.worker.json(),
            "dynamodb_reads": job.worker.dynamo_reads(),
            "dynamodb_writes": job.worker.of("DynamoDB") - job.worker.dynamo_reads(),
            "sqs_sends": job.worker.of("SQS") as u64 + relays,
            "s3_calls": job.worker.of("S3"),
            "kms_calls": job.worker.of("KMS"),
            "request_calls": job.request.json(),
            "worker_ms": ms(job.worker_time),
            "job_item_bytes": job.job_item_bytes,
        }));
    }
    println!(
        "\nA relay (a wait past 15 minutes carried on): {} SQS, {} DynamoDB, {:.1} ms. The worker's first job in a process: {cold_kms} KMS.",
        relay.listed("SQS"),
        relay.of("DynamoDB"),
        ms(relay_time)
    );
    lines.push(json!({
        "row": 15,
        "relay_calls": relay.json(),
        "relay_ms": ms(relay_time),
        "cold_kms_calls": cold_kms,
    }));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(results_path(), text).unwrap();
}
