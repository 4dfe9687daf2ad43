//! `ReportFiles` against a versioned moto bucket, Amazon's pre-signed URL
//! played by wiremock: one object per day, a new version per pull, one
//! copy per pull, summaries, expired URLs, garbage, links to a version.

use std::io::{BufRead, Write};
use std::time::Duration;

use adsconnect::files::{Destination, FilesError, MetricColumns, ReportFiles, StoredFile, Totals};
use adsconnect_dev::provision;
use adsconnect_tests::moto_endpoint;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PREFIX: &str = "USER#user_2files/123456/spCampaigns";
const METRICS: MetricColumns = MetricColumns {
    impressions: &["impressions"],
    clicks: &["clicks"],
    spend: &["cost", "totalCost"],
    sales: &["sales14d"],
};

fn destination<'a>(pull: &'a str, start_date: &'a str, end_date: &'a str) -> Destination<'a> {
    Destination {
        prefix: PREFIX,
        pull,
        metrics: &METRICS,
        start_date,
        end_date,
    }
}

struct Bucket {
    s3: aws_sdk_s3::Client,
    name: String,
    files: ReportFiles,
}

impl Bucket {
    /// A fresh versioned bucket.
    async fn new() -> Self {
        let s3 = adsconnect::startup::s3_client(&provision::emulator_config(&moto_endpoint()));
        let name = format!("reports-{}", uuid::Uuid::new_v4().simple());
        provision::ensure_report_bucket(&s3, &name).await.unwrap();
        let http = adsconnect::tls::http_client().build().unwrap();
        let files = ReportFiles::new(s3.clone(), &name, http);
        Self { s3, name, files }
    }

    /// The rows of `file`'s version, one JSON value per line.
    async fn rows(&self, file: &StoredFile) -> Vec<Value> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(&file.key)
            .set_version_id(file.version_id.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(object.content_type(), Some("application/x-ndjson"));
        assert_eq!(object.content_encoding(), None);
        let metadata = object.metadata().unwrap();
        assert_eq!(metadata.get("rows"), Some(&file.rows.to_string()));
        let bytes = object.body.collect().await.unwrap().into_bytes();
        assert_eq!(bytes.len() as u64, file.bytes);
        gunzip_lines(&bytes)
    }

    /// How many versions each key has.
    async fn versions(&self) -> Vec<(String, usize)> {
        let listing = self
            .s3
            .list_object_versions()
            .bucket(&self.name)
            .send()
            .await
            .unwrap();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for version in listing.versions() {
            *counts.entry(version.key().unwrap().to_owned()).or_default() += 1;
        }
        counts.into_iter().collect()
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

fn gunzip_lines(bytes: &[u8]) -> Vec<Value> {
    std::io::BufReader::new(MultiGzDecoder::new(bytes))
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect()
}

/// Amazon's report storage answering every GET of the report with
/// `response`; the URL carries a token like Amazon's.
async fn amazon_serving(response: ResponseTemplate) -> (MockServer, String) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/report-1.json.gz"))
        .respond_with(response)
        .mount(&server)
        .await;
    let url = format!(
        "{}/report-1.json.gz?X-Amz-Security-Token=secret-token&X-Amz-Expires=3599",
        server.uri()
    );
    (server, url)
}

async fn report(rows: &Value) -> (MockServer, String) {
    amazon_serving(ResponseTemplate::new(200).set_body_bytes(gzip(rows.to_string().as_bytes())))
        .await
}

/// Three days, two campaigns a day; `restated` adds to the second day's
/// numbers as a later pull would.
fn daily(restated: u64) -> Value {
    let mut rows = Vec::new();
    for day in ["2024-07-01", "2024-07-02", "2024-07-03"] {
        for campaign in [158410630682987_u64, 123042566401569500] {
            let extra = if day == "2024-07-02" { restated } else { 0 };
            rows.push(json!({
                "date": day, "campaignId": campaign, "campaignName": "Summer \"sale\" ✓",
                "impressions": 100 + extra, "clicks": 4, "cost": 1.25, "sales14d": 12.34,
            }));
        }
    }
    Value::Array(rows)
}

fn rows_of(report: &Value, date: &str) -> Vec<Value> {
    let rows = report.as_array().unwrap().iter();
    rows.filter(|row| {
        row.get("date")
            .and_then(Value::as_str)
            .is_none_or(|d| d == date)
    })
    .cloned()
    .collect()
}

#[tokio::test]
async fn a_daily_report_lands_as_one_versioned_object_per_day() {
    let bucket = Bucket::new().await;
    let input = daily(0);
    let (_amazon, url) = report(&input).await;
    let stored = bucket
        .files
        .store(&url, &destination("job_1/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap();
    let days: Vec<_> = stored
        .iter()
        .map(|f| (f.date.as_str(), f.key.as_str(), f.rows))
        .collect();
    assert_eq!(
        days,
        [
            (
                "2024-07-01",
                "USER#user_2files/123456/spCampaigns/date=2024-07-01/rows.json.gz",
                2
            ),
            (
                "2024-07-02",
                "USER#user_2files/123456/spCampaigns/date=2024-07-02/rows.json.gz",
                2
            ),
            (
                "2024-07-03",
                "USER#user_2files/123456/spCampaigns/date=2024-07-03/rows.json.gz",
                2
            ),
        ]
    );
    for file in &stored {
        assert!(file.version_id.is_some());
        assert_eq!(
            file.totals,
            Totals {
                impressions: 200,
                clicks: 8,
                spend: 2.5,
                sales: 24.68
            }
        );
        assert_eq!(bucket.rows(file).await, rows_of(&input, &file.date));
    }
}

#[tokio::test]
async fn a_later_pull_is_a_new_version_and_the_earlier_one_stays_readable() {
    let bucket = Bucket::new().await;
    let (first, second) = (daily(0), daily(7));
    let (_amazon, url) = report(&first).await;
    let earlier = bucket
        .files
        .store(&url, &destination("job_1/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap();
    let (_amazon, url) = report(&second).await;
    let later = bucket
        .files
        .store(&url, &destination("job_2/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap();
    assert_eq!(
        later[1].totals.impressions,
        earlier[1].totals.impressions + 14
    );
    for (earlier, later) in earlier.iter().zip(&later) {
        assert_eq!(earlier.key, later.key);
        assert_ne!(earlier.version_id, later.version_id);
        assert_eq!(bucket.rows(earlier).await, rows_of(&first, &earlier.date));
        assert_eq!(bucket.rows(later).await, rows_of(&second, &later.date));
    }
    assert!(
        bucket
            .versions()
            .await
            .iter()
            .all(|(_, versions)| *versions == 2)
    );
}

#[tokio::test]
async fn the_same_pull_again_stores_no_second_copy() {
    let bucket = Bucket::new().await;
    let (_amazon, url) = report(&daily(0)).await;
    let to = destination("job_1/0", "2024-07-01", "2024-07-03");
    let first = bucket.files.store(&url, &to).await.unwrap();
    let again = bucket.files.store(&url, &to).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(bucket.versions().await.len(), 3);
    assert!(
        bucket
            .versions()
            .await
            .iter()
            .all(|(_, versions)| *versions == 1)
    );
}

#[tokio::test]
async fn summary_rows_go_to_the_first_day_named_after_the_last() {
    let bucket = Bucket::new().await;
    let input = json!([
        {"campaignId": 1, "impressions": 10, "clicks": 1, "totalCost": 0.5, "startDate": "2024-07-01", "endDate": "2024-07-31"},
        {"campaignId": 2, "impressions": 5, "clicks": 0, "totalCost": 0.25, "startDate": "2024-07-01", "endDate": "2024-07-31"},
    ]);
    let (_amazon, url) = report(&input).await;
    let stored = bucket
        .files
        .store(&url, &destination("job_3/0", "2024-07-01", "2024-07-31"))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].key,
        "USER#user_2files/123456/spCampaigns/date=2024-07-01/summary-2024-07-31.json.gz"
    );
    assert_eq!((stored[0].date.as_str(), stored[0].rows), ("2024-07-01", 2));
    assert_eq!(
        stored[0].totals,
        Totals {
            impressions: 15,
            clicks: 1,
            spend: 0.75,
            sales: 0.0
        }
    );
    assert_eq!(bucket.rows(&stored[0]).await, rows_of(&input, ""));
}

#[tokio::test]
async fn an_expired_url_asks_for_a_fresh_one() {
    let bucket = Bucket::new().await;
    let expired = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"#;
    let (_amazon, url) = amazon_serving(ResponseTemplate::new(403).set_body_string(expired)).await;
    let error = bucket
        .files
        .store(&url, &destination("job_1/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap_err();
    assert!(matches!(error, FilesError::Expired), "{error:?}");
    assert!(bucket.versions().await.is_empty());
}

#[tokio::test]
async fn other_refusals_are_download_failures_without_the_url() {
    let bucket = Bucket::new().await;
    let (_amazon, url) = amazon_serving(ResponseTemplate::new(503)).await;
    let error = bucket
        .files
        .store(&url, &destination("job_1/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap_err();
    assert!(matches!(error, FilesError::Download(_)), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("secret-token"));
}

#[tokio::test]
async fn a_download_cut_midway_is_a_download_failure() {
    let bucket = Bucket::new().await;
    let mut body = gzip(daily(0).to_string().as_bytes());
    body.truncate(body.len() / 2);
    let route = axum::routing::get(move || {
        let chunks = futures::stream::iter([
            Ok(axum::body::Bytes::from(body.clone())),
            Err(std::io::Error::other("connection lost")),
        ]);
        async move { axum::body::Body::from_stream(chunks) }
    });
    let url = serve(axum::Router::new().route("/report.json.gz", route)).await;
    let error = bucket
        .files
        .store(&url, &destination("job_1/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap_err();
    assert!(matches!(error, FilesError::Download(_)), "{error:?}");
    assert!(bucket.versions().await.is_empty());
}

#[tokio::test]
async fn garbage_is_malformed_and_stores_nothing() {
    let bucket = Bucket::new().await;
    for body in [
        b"secret not gzip at all".to_vec(),
        gzip(br#"{"secret": "an object, not an array"}"#),
        gzip(br#"[{"date": "2024-07-01", "clicks": 1}, "secret"]"#),
        gzip(br#"[{"date": "2024-07-01", "clicks": 1},"#),
    ] {
        let (_amazon, url) = amazon_serving(ResponseTemplate::new(200).set_body_bytes(body)).await;
        let error = bucket
            .files
            .store(&url, &destination("job_1/0", "2024-07-01", "2024-07-03"))
            .await
            .unwrap_err();
        assert!(matches!(error, FilesError::Malformed(_)), "{error:?}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    assert!(bucket.versions().await.is_empty());
}

#[tokio::test]
async fn the_download_sends_no_authorization_header() {
    let bucket = Bucket::new().await;
    let (amazon, url) = report(&daily(0)).await;
    Mock::given(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(400))
        .with_priority(1)
        .mount(&amazon)
        .await;
    let to = destination("job_1/0", "2024-07-01", "2024-07-03");
    assert_eq!(bucket.files.store(&url, &to).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_link_downloads_that_exact_version() {
    let bucket = Bucket::new().await;
    let (first, second) = (daily(0), daily(7));
    let (_amazon, url) = report(&first).await;
    let earlier = bucket
        .files
        .store(&url, &destination("job_1/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap();
    let (_amazon, url) = report(&second).await;
    bucket
        .files
        .store(&url, &destination("job_2/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap();
    let before = chrono::Utc::now();
    let link = bucket
        .files
        .link(&earlier[1], Duration::from_secs(900))
        .await
        .unwrap();
    let after = chrono::Utc::now();
    assert!(link.expires_at >= before + Duration::from_secs(899));
    assert!(link.expires_at <= after + Duration::from_secs(900));
    let http = adsconnect::tls::http_client().build().unwrap();
    let download = http.get(&link.url).send().await.unwrap();
    assert_eq!(download.status(), 200);
    let bytes = download.bytes().await.unwrap();
    assert_eq!(gunzip_lines(&bytes), rows_of(&first, "2024-07-02"));
}

/// Serves `app` on a free port: the URL of its `/report.json.gz`.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/report.json.gz")
}
