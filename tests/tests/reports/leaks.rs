//! Secrets never leak from report jobs: with every log line captured at
//! TRACE level while a Sponsored Ads and a DSP report are asked for, made,
//! downloaded and stored, no token, key or Amazon download URL is in the
//! table, the logs, the queue's messages, the stored files or any answer.

use std::io::Read as _;
use std::time::{Duration, Instant};

use adsconnect::entrypoints::queue;
use adsconnect_tests::leaks::{Secrets, Transcript, USER, assert_none_leaked};
use chrono::{Days, Utc};
use serde_json::{Value, json};

/// Signs of Amazon's pre-signed download URL (its path on the stand-in's
/// S3, its security token and signature parameters).
const AMAZON_URL_SIGNS: [&str; 3] = ["/_s3/reports/", "X-Amz-Security-Token=", "X-Amz-Signature="];

#[tokio::test]
async fn no_secret_is_in_the_table_the_logs_the_queue_the_files_or_any_answer() {
    let (logs, stack, proxy) = adsconnect_tests::leaks::stack().await;
    stack.amazon.require_complete_report_requests(true);
    let t = Transcript::new(&stack);
    stack.create_user(USER, "s@example.com").await;
    let done = t.consent_and_complete(&t.connect().await).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let account = |kind: &str, field: &str, value: &str| {
        let t = &t;
        let (kind, field, value) = (kind.to_owned(), field.to_owned(), value.to_owned());
        async move {
            let page = t
                .users(
                    "GET",
                    &format!("/api/v1/accounts?kind={kind}&limit=100"),
                    None,
                )
                .await;
            page.body["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a[field.as_str()] == value.as_str())
                .and_then(|a| a["account_id"].as_str())
                .unwrap()
                .to_owned()
        }
    };
    let yesterday = (Utc::now().date_naive() - Days::new(1)).to_string();
    let mut messages = Vec::new();
    for (account, preset) in [
        (
            account("sponsored_ads", "profile_id", "9001").await,
            "sp_campaigns",
        ),
        (
            account("dsp_advertiser", "advertiser_id", "9201000000").await,
            "dsp_campaigns",
        ),
    ] {
        let path = format!("/api/v1/accounts/{account}/reports");
        let body = json!({"preset": preset, "start_date": yesterday, "end_date": yesterday});
        let asked = t.users("POST", &path, Some(body)).await;
        assert_eq!(asked.status, 202, "{:?}", asked.body);
        let job = format!("{path}/{}", asked.body["job_id"].as_str().unwrap());
        let delivery = stack.report_queue().await;
        let reports = &stack.reports;
        let started = Instant::now();
        loop {
            let mut recording = |event: Value| {
                messages.push(event.to_string());
                async move { queue::handle(reports, &event).await }
            };
            delivery.deliver(&mut recording).await.unwrap();
            let read = t.users("GET", &job, None).await;
            if read.body["status"] == "completed" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{:?}",
                read.body
            );
        }
        t.users("GET", &path, None).await;
    }
    t.dump().await;

    // The stored files, as a query engine would read them.
    let mut files = Vec::new();
    for (key, version) in stack.report_objects().await {
        let object = stack
            .s3
            .get_object()
            .bucket(&stack.report_bucket)
            .key(&key)
            .version_id(version)
            .send()
            .await
            .unwrap();
        let bytes = object.body.collect().await.unwrap().into_bytes();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        files.push(text);
    }
    assert_eq!(files.len(), 2, "a day of each report");
    t.dumps.lock().unwrap().push(messages.join("\n"));
    t.dumps.lock().unwrap().push(files.join("\n"));

    let logs = logs.text();
    let stored = t.dumps.lock().unwrap().join("\n");
    for sign in AMAZON_URL_SIGNS {
        assert!(
            !logs.contains(sign),
            "Amazon's download URL in the logs ({sign})"
        );
        assert!(
            !stored.contains(sign),
            "Amazon's download URL stored ({sign})"
        );
    }
    let mut secrets = Secrets::new(&t.jwt);
    secrets.amazon(&stack, 4);
    secrets.data_keys(&proxy, 1);
    assert_none_leaked(&secrets, &[], &logs, &t);
}
