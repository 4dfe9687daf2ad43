//! Lifecycle events of stored days, as a consumer of the event bus sees
//! them: a day's first pull is announced once as `Report Ready` with its
//! rows and totals; a later pull with numbers Amazon restated as `Report
//! Restated`, with the numbers before and after; a pull with the same
//! numbers, or a step Lambda delivers again after it stored the days,
//! announces nothing.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use adsconnect::entrypoints::queue;
use adsconnect_dev::amazon_stub::Endpoint;
use adsconnect_tests::*;
use chrono::{Days, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{USER, seller_account};

const PATIENCE: Duration = Duration::from_secs(30);

/// `USER`'s seller account on a stack whose table's stream is published,
/// and the bus's events from then on.
async fn published_stack() -> (Stack, String, EventTap) {
    let (stack, account) =
        seller_account(Stack::with_stream(USER, "restated@example.com").await).await;
    let mut tap = stack.event_tap().await;
    // The connection's own events.
    tap.published().await;
    (stack, account, tap)
}

/// Two complete days.
fn two_days() -> Value {
    let day = |ago| (Utc::now().date_naive() - Days::new(ago)).to_string();
    json!({"preset": "sp_campaigns", "start_date": day(3), "end_date": day(2)})
}

async fn requested(stack: &Stack, account: &str) -> String {
    let answer = stack.request_report(USER, account, &two_days()).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    answer.body["job_id"].as_str().unwrap().to_owned()
}

/// `USER` pulls the two days: the job once it ended.
async fn pulled(stack: &Stack, account: &str) -> Value {
    let job = requested(stack, account).await;
    let done = stack.run_report(USER, account, &job, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    done
}

/// The report events published since the last look, oldest day first:
/// (detail type, detail).
async fn report_events(tap: &mut EventTap) -> Vec<(String, Value)> {
    let mut events: Vec<(String, Value)> = tap
        .published()
        .await
        .into_iter()
        .filter_map(|event| {
            let kind = event["detail-type"].as_str()?;
            kind.starts_with("Report ")
                .then(|| (kind.to_owned(), event["detail"].clone()))
        })
        .collect();
    events.sort_by(|a, b| a.1["date"].as_str().cmp(&b.1["date"].as_str()));
    events
}

fn kinds(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(kind, _)| kind.as_str()).collect()
}

/// A job's stored days, oldest first.
fn days(job: &Value) -> &Vec<Value> {
    job["files"].as_array().unwrap()
}

/// What Amazon's file held for `job`'s days, read back from our copy: the
/// same rows, gzipped as one JSON array.
async fn amazon_file_of(job: &Value) -> Vec<u8> {
    let mut rows = Vec::new();
    for day in days(job) {
        let stored = reqwest::get(day["url"].as_str().unwrap()).await.unwrap();
        assert_eq!(stored.status(), 200);
        let mut text = String::new();
        GzDecoder::new(&stored.bytes().await.unwrap()[..])
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            rows.push(serde_json::from_str::<Value>(line).unwrap());
        }
    }
    let mut gzipped = GzEncoder::new(Vec::new(), Compression::default());
    gzipped
        .write_all(Value::Array(rows).to_string().as_bytes())
        .unwrap();
    gzipped.finish().unwrap()
}

#[tokio::test]
async fn a_day_is_ready_once_restated_when_amazon_changes_it_and_quiet_when_it_does_not() {
    let (stack, account, mut tap) = published_stack().await;

    let first = pulled(&stack, &account).await;
    let ready = report_events(&mut tap).await;
    assert_eq!(kinds(&ready), ["Report Ready", "Report Ready"]);
    for ((_, detail), day) in ready.iter().zip(days(&first)) {
        assert_eq!(detail["account_id"], account.as_str());
        assert!(detail["connection_id"].is_string(), "{detail}");
        assert_eq!(detail["report"], "sp_campaigns");
        assert_eq!(detail["report_type_id"], "spCampaigns");
        assert_eq!(detail["job_id"], first["job_id"]);
        assert_eq!(detail["date"], day["date"]);
        assert_eq!(detail["rows"], day["rows"]);
        assert_eq!(detail["totals"], day["totals"]);
        assert_eq!(detail["previous"], Value::Null);
        assert!(
            !detail.to_string().contains("http"),
            "no link on the bus: {detail}"
        );
    }

    // The connection's trail shows the days too.
    let connection = ready[0].1["connection_id"].as_str().unwrap();
    let trail = stack
        .get(&format!("/api/v1/connections/{connection}/events"), USER)
        .await;
    assert_eq!(trail.status, 200, "{:?}", trail.body);
    let trail_days: Vec<&Value> = trail.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "report_ready")
        .map(|e| &e["report"]["date"])
        .collect();
    assert_eq!(trail_days.len(), 2, "{:?}", trail.body);
    assert!(
        days(&first)
            .iter()
            .all(|day| trail_days.contains(&&day["date"]))
    );

    // Amazon's next report restates the days' clicks and sales.
    let second = pulled(&stack, &account).await;
    let restated = report_events(&mut tap).await;
    assert_eq!(kinds(&restated), ["Report Restated", "Report Restated"]);
    for (((_, detail), before), after) in restated.iter().zip(days(&first)).zip(days(&second)) {
        assert_ne!(before["totals"], after["totals"], "Amazon restated it");
        assert_eq!(detail["date"], after["date"]);
        assert_eq!(detail["job_id"], second["job_id"]);
        assert_eq!(detail["rows"], after["rows"]);
        assert_eq!(detail["totals"], after["totals"]);
        assert_eq!(
            detail["previous"],
            json!({"rows": before["rows"], "totals": before["totals"]})
        );
    }

    // Amazon answers the same numbers again: stored, and nothing to say.
    stack.amazon.script(
        Endpoint::ReportDownload,
        vec![ResponseTemplate::new(200).set_body_bytes(amazon_file_of(&second).await)],
    );
    let third = pulled(&stack, &account).await;
    let numbers = |job: &Value| -> Vec<(Value, Value)> {
        days(job)
            .iter()
            .map(|day| (day["rows"].clone(), day["totals"].clone()))
            .collect()
    };
    assert_eq!(numbers(&third), numbers(&second));
    assert_eq!(report_events(&mut tap).await, []);
}

#[tokio::test]
async fn a_step_delivered_again_after_storing_its_days_announces_them_once() {
    let (stack, account, mut tap) = published_stack().await;
    stack.amazon.set_report_polls_before_completion(0);
    let job = requested(&stack, &account).await;
    let delivery = stack.report_queue().await;
    let reports = &stack.reports;
    let mut worker = |event: Value| async move { queue::handle(reports, &event).await };
    delivery.deliver(&mut worker).await.unwrap();
    assert_eq!(stack.amazon.created_reports().len(), 1);

    // The step that finds the report done and stores it; as a worker that
    // died after storing, before saving the job, leaves them: the job as
    // it was and the message back on the queue.
    let job_item = |items: Vec<Item>| {
        items
            .into_iter()
            .find(|item| attr_s(item, "sk").is_some_and(|sk| sk.ends_with(&job)))
            .unwrap()
    };
    let before = job_item(stack.items().await);
    let mut message = None;
    let mut storing = |event: Value| {
        message = Some(event.clone());
        async move { queue::handle(reports, &event).await }
    };
    delivery.deliver(&mut storing).await.unwrap();
    let stored = stack.report_job(USER, &account, &job).await.body;
    assert_eq!(stored["status"], "completed", "{stored:?}");
    let ready = report_events(&mut tap).await;
    assert_eq!(kinds(&ready), ["Report Ready", "Report Ready"]);

    stack
        .dynamo
        .put_item()
        .table_name(&stack.table)
        .set_item(Some(before))
        .send()
        .await
        .unwrap();
    let again = queue::handle(reports, &message.unwrap()).await;
    assert_eq!(again, json!({"batchItemFailures": []}));
    let stored = stack.report_job(USER, &account, &job).await.body;
    assert_eq!(stored["status"], "completed", "{stored:?}");
    assert_eq!(report_events(&mut tap).await, [], "announced once");
    assert_eq!(stack.amazon.created_reports().len(), 1);
}
