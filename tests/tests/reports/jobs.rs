//! Report jobs end to end: asked for through the users function, stepped by
//! the worker from the queue, Amazon's stand-in generating, failing,
//! throttling and expiring as Amazon does, our copy in moto's S3.

use std::io::Read as _;
use std::time::Duration;

use adsconnect_dev::amazon_stub::Endpoint;
use adsconnect_tests::*;
use chrono::{Days, Utc};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{OTHER, USER, reporting_stack};

const PATIENCE: Duration = Duration::from_secs(30);

fn days_ago(days: u64) -> String {
    (Utc::now().date_naive() - Days::new(days)).to_string()
}

fn sp_campaigns(from: u64, to: u64) -> Value {
    json!({"preset": "sp_campaigns", "start_date": days_ago(from), "end_date": days_ago(to)})
}

async fn requested(stack: &Stack, account: &str, body: &Value) -> String {
    let answer = stack.request_report(USER, account, body).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    answer.body["job_id"].as_str().unwrap().to_owned()
}

/// The rows of a stored file, read through its link.
async fn rows_behind(url: &str) -> Vec<Value> {
    let gzipped = reqwest::get(url).await.unwrap();
    assert_eq!(gzipped.status(), 200);
    let bytes = gzipped.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn a_preset_report_is_created_once_waited_for_and_stored_one_file_per_day() {
    let (stack, account) = reporting_stack().await;
    let answer = stack
        .request_report(USER, &account, &sp_campaigns(3, 1))
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "queued");
    assert_eq!(answer.body["report"], "sp_campaigns");
    let job = answer.body["job_id"].as_str().unwrap();
    assert_eq!(
        answer.headers["location"],
        format!("/api/v1/accounts/{account}/reports/{job}").as_str()
    );

    let done = stack.run_report(USER, &account, job, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    let created = stack.amazon.created_reports();
    assert_eq!(created.len(), 1, "one Amazon report");
    assert_eq!(done["amazon_report_ids"], json!([created[0].report_id]));
    assert_eq!(
        created[0].request_body["configuration"]["reportTypeId"],
        "spCampaigns"
    );
    assert_eq!(created[0].downloads, 1, "one download");
    assert_eq!(done["rows"], 9, "3 days of 3 rows");
    let files = done["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "one file per day");
    for (file, day) in files.iter().zip([3, 2, 1]) {
        assert_eq!(file["date"], days_ago(day));
        let rows = rows_behind(file["url"].as_str().unwrap()).await;
        assert_eq!(rows.len(), 3);
        assert!(
            rows.iter().all(|row| row["date"] == file["date"]),
            "{rows:?}"
        );
        let clicks: u64 = rows.iter().map(|r| r["clicks"].as_u64().unwrap()).sum();
        assert_eq!(file["totals"]["clicks"], clicks);
    }
    assert_eq!(
        stack.report_messages().await,
        0,
        "nothing left on the queue"
    );
}

#[tokio::test]
async fn the_same_request_while_it_runs_answers_with_that_job() {
    let (stack, account) = reporting_stack().await;
    let first = requested(&stack, &account, &sp_campaigns(5, 2)).await;
    let again = requested(&stack, &account, &sp_campaigns(5, 2)).await;
    assert_eq!(first, again);
    let other_range = requested(&stack, &account, &sp_campaigns(5, 3)).await;
    assert_ne!(first, other_range);

    let done = stack.run_report(USER, &account, &first, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    stack
        .run_report(USER, &account, &other_range, PATIENCE)
        .await;
    assert_eq!(stack.amazon.created_reports().len(), 2);
    // Finished, the same request is a new pull.
    let later = requested(&stack, &account, &sp_campaigns(5, 2)).await;
    assert_ne!(later, first);
}

#[tokio::test]
async fn a_worker_killed_after_amazon_created_the_report_adopts_it_from_amazons_425() {
    let (stack, account) = reporting_stack().await;
    let job = requested(&stack, &account, &sp_campaigns(2, 1)).await;
    // Amazon creates the report, then answers slowly: the worker dies
    // first (its invocation ends), and Lambda delivers the message again.
    stack.amazon.set_latency(Duration::from_millis(800));
    let delivery = stack.report_queue().await;
    let reports = &stack.reports;
    let mut dying = |event: Value| async move {
        let step = adsconnect::entrypoints::queue::handle(reports, &event);
        tokio::time::timeout(Duration::from_millis(300), step)
            .await
            .unwrap_or_else(|_| json!({"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}))
    };
    assert_eq!(delivery.deliver(&mut dying).await.unwrap().failed, 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(stack.amazon.created_reports().len(), 1, "Amazon has it");
    stack.amazon.set_latency(Duration::ZERO);

    let done = stack.run_report(USER, &account, &job, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    let created = stack.amazon.created_reports();
    assert_eq!(created.len(), 1, "no second Amazon report");
    assert_eq!(done["amazon_report_ids"], json!([created[0].report_id]));
    assert_eq!(
        stack.amazon.ads_calls_to("/reporting/reports").len(),
        2,
        "the create, then its 425"
    );
}

#[tokio::test]
async fn a_worker_killed_mid_download_stores_one_copy_and_asks_amazon_for_no_second_report() {
    let (stack, account) = reporting_stack().await;
    stack.amazon.set_report_polls_before_completion(0);
    let job = requested(&stack, &account, &sp_campaigns(2, 1)).await;
    let delivery = stack.report_queue().await;
    let reports = &stack.reports;
    let mut worker =
        |event: Value| async move { adsconnect::entrypoints::queue::handle(reports, &event).await };
    delivery.deliver(&mut worker).await.unwrap();
    assert_eq!(stack.amazon.created_reports().len(), 1);

    // The poll answers COMPLETED; the download is under way when it dies.
    stack.amazon.script(
        Endpoint::ReportDownload,
        vec![ResponseTemplate::new(200).set_delay(Duration::from_secs(5))],
    );
    let mut dying = |event: Value| async move {
        let step = adsconnect::entrypoints::queue::handle(reports, &event);
        tokio::time::timeout(Duration::from_millis(1500), step)
            .await
            .unwrap_or_else(|_| {
                json!({"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]})
            })
    };
    assert_eq!(delivery.deliver(&mut dying).await.unwrap().failed, 1);
    assert_eq!(
        stack.amazon.calls(Endpoint::ReportDownload),
        1,
        "killed downloading"
    );
    assert!(
        stack.report_objects().await.is_empty(),
        "nothing stored yet"
    );

    let done = stack.run_report(USER, &account, &job, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    assert_eq!(
        stack.amazon.created_reports().len(),
        1,
        "no second Amazon report"
    );
    let objects = stack.report_objects().await;
    assert_eq!(objects.len(), 2, "one version per day: {objects:?}");
}

#[tokio::test]
async fn throttled_creation_waits_amazons_turn_and_creates_once() {
    let (stack, account) = reporting_stack().await;
    stack.amazon.script(
        Endpoint::Reports,
        vec![
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"code": "429", "details": "Too Many Requests"})),
            // Users report 429s without Retry-After too.
            ResponseTemplate::new(429)
                .set_body_json(json!({"code": "429", "details": "Too Many Requests"})),
        ],
    );
    let job = requested(&stack, &account, &sp_campaigns(2, 1)).await;
    let done = stack.run_report(USER, &account, &job, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    assert_eq!(stack.amazon.created_reports().len(), 1);
    assert_eq!(
        stack.amazon.calls(Endpoint::Reports),
        3,
        "two throttled, one created"
    );
}

#[tokio::test]
async fn a_report_amazon_fails_fails_the_job_with_amazons_reason() {
    let (stack, account) = reporting_stack().await;
    stack
        .amazon
        .fail_next_reports(1, "Report generation failed due to an internal error");
    let job = requested(&stack, &account, &sp_campaigns(2, 1)).await;
    let done = stack.run_report(USER, &account, &job, PATIENCE).await;
    assert_eq!(done["status"], "failed", "{done:?}");
    assert_eq!(done["failure"]["code"], "amazon_failed");
    assert!(
        done["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("internal error")
    );
    assert!(done["files"].as_array().unwrap().is_empty());
    // The request is free again.
    let again = requested(&stack, &account, &sp_campaigns(2, 1)).await;
    assert_ne!(again, job);
}

#[tokio::test]
async fn an_expired_download_url_is_renewed_by_asking_amazon_again() {
    let (stack, account) = reporting_stack().await;
    stack.amazon.script(
        Endpoint::ReportDownload,
        vec![ResponseTemplate::new(403).set_body_raw(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            "application/xml",
        )],
    );
    let job = requested(&stack, &account, &sp_campaigns(2, 1)).await;
    let done = stack.run_report(USER, &account, &job, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    let created = stack.amazon.created_reports();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].downloads, 1, "the renewed URL's download");
    assert_eq!(done["rows"], 6);
}

#[tokio::test]
async fn a_long_range_is_split_into_amazons_longest_reports_and_joined() {
    let (stack, account) = reporting_stack().await;
    let job = requested(&stack, &account, &sp_campaigns(60, 1)).await;
    let done = stack.run_report(USER, &account, &job, PATIENCE).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    let parts = done["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0]["start_date"], days_ago(60));
    assert_eq!(parts[0]["end_date"], days_ago(30), "31 days");
    assert_eq!(parts[1]["start_date"], days_ago(29));
    assert_eq!(stack.amazon.created_reports().len(), 2);
    assert_eq!(done["rows"], 180);
    assert_eq!(done["files"].as_array().unwrap().len(), 60);
}

#[tokio::test]
async fn another_owners_account_or_job_is_a_404() {
    let (stack, account) = reporting_stack().await;
    stack.create_user(OTHER, "other@example.com").await;
    let job = requested(&stack, &account, &sp_campaigns(2, 1)).await;
    let asked = stack
        .request_report(OTHER, &account, &sp_campaigns(2, 1))
        .await;
    assert_eq!(
        (asked.status, asked.error_code()),
        (404, "ACCOUNT_NOT_FOUND")
    );
    let read = stack.report_job(OTHER, &account, &job).await;
    assert_eq!((read.status, read.error_code()), (404, "REPORT_NOT_FOUND"));
    let listed = stack
        .get(&format!("/api/v1/accounts/{account}/reports"), OTHER)
        .await;
    assert_eq!(listed.status, 404);
    let mine = stack
        .get(&format!("/api/v1/accounts/{account}/reports"), USER)
        .await;
    assert_eq!(mine.body["jobs"][0]["job_id"], job.as_str());
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let (stack, account) = reporting_stack().await;
    let before = stack.snapshot().await;
    let tomorrow = (Utc::now().date_naive() + Days::new(2)).to_string();
    for (body, status, code) in [
        (
            json!({"preset": "sp_campaigns", "start_date": days_ago(2), "end_date": days_ago(1), "extra": 1}),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({"preset": "sp_campaigns", "configuration": {}, "start_date": days_ago(2), "end_date": days_ago(1)}),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({"preset": "sp_everything", "start_date": days_ago(2), "end_date": days_ago(1)}),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({"preset": "sp_campaigns", "start_date": days_ago(1), "end_date": days_ago(2)}),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({"preset": "sp_campaigns", "start_date": "2026-13-01", "end_date": days_ago(2)}),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({"configuration": {"adProduct": "SPONSORED_PRODUCTS", "reportTypeId": "spCampaigns", "groupBy": ["campaign"], "columns": ["date"], "timeUnit": "DAILY", "format": "CSV"}, "start_date": days_ago(2), "end_date": days_ago(1)}),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({"preset": "sp_campaigns", "start_date": days_ago(1), "end_date": tomorrow}),
            422,
            "RANGE_IN_FUTURE",
        ),
        (
            json!({"preset": "sp_campaigns", "start_date": days_ago(200), "end_date": days_ago(1)}),
            422,
            "RANGE_BEYOND_RETENTION",
        ),
        (
            json!({"preset": "dsp_campaigns", "start_date": days_ago(2), "end_date": days_ago(1)}),
            422,
            "PRESET_NOT_FOR_ACCOUNT",
        ),
    ] {
        let answer = stack.request_report(USER, &account, &body).await;
        assert_eq!(answer.status, status, "{body}: {:?}", answer.body);
        if status == 422 {
            assert_eq!(answer.error_code(), code, "{body}");
        }
    }
    assert_eq!(stack.snapshot().await, before, "nothing written");
    assert_eq!(stack.report_messages().await, 0, "nothing queued");
    assert!(stack.amazon.created_reports().is_empty());
}
