//! The reporting stand-in over HTTP, as the report engine meets it.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use serde_json::{Map, Value, json};
use wiremock::{MockServer, ResponseTemplate};

use super::{
    AmazonWorld, Endpoint, Login, REPORT_MEDIA_TYPE, REPORT_STATUS_MEDIA_TYPE, agency_profile,
    dsp_advertisers, linked_dsp_advertiser, manager_account, profile,
};

const TOKEN: &str = "Atza|reports-test";
const SELLER: &str = "5001";
const AGENCY: &str = "7001";
/// Managed service: named by `Amazon-Ads-AccountId`.
const MANAGED: &str = "9988776655";
/// `dsp_advertisers(4242, 3)`, as the agency profile lists them.
const AGENCY_ADVERTISERS: [&str; 3] = ["4242000000", "4242000001", "4242000002"];

struct StandIn {
    world: AmazonWorld,
    server: MockServer,
    http: reqwest::Client,
}

async fn stand_in() -> StandIn {
    let world = AmazonWorld::default();
    world.add_login(
        "ana",
        Login {
            profiles: HashMap::from([(
                "na",
                vec![
                    profile(5001, "US", "Seller", "seller"),
                    agency_profile(7001, "US", "ATVPDKIKX0DER", "Agency"),
                ],
            )]),
            dsp_advertisers: HashMap::from([(AGENCY.to_owned(), dsp_advertisers(4242, 3))]),
            manager_accounts: HashMap::from([(
                "na",
                vec![manager_account(
                    "amzn1.ads-account.m.1",
                    "Manager",
                    vec![linked_dsp_advertiser(
                        MANAGED,
                        "ENTITYM",
                        "ATVPDKIKX0DER",
                        "ADMIN",
                    )],
                )],
            )]),
            ..Login::default()
        },
    );
    world
        .world()
        .access_tokens
        .insert(TOKEN.into(), "ana".into());
    world.require_complete_report_requests(true);
    let server = world.serve(None).await;
    let http = adsconnect::tls::http_client().build().unwrap();
    StandIn {
        world,
        server,
        http,
    }
}

/// Which account header a call names its account with.
#[derive(Clone, Copy)]
enum As {
    Scope(&'static str),
    Advertiser(&'static str),
}

fn sp_body(start: &str, end: &str) -> Value {
    json!({"name": "SP daily", "startDate": start, "endDate": end, "configuration": {
        "adProduct": "SPONSORED_PRODUCTS", "reportTypeId": "spCampaigns", "groupBy": ["campaign"],
        "columns": ["date", "campaignId", "campaignName", "impressions", "clicks", "cost",
                    "purchases14d", "sales14d"],
        "timeUnit": "DAILY", "format": "GZIP_JSON"}})
}

fn dsp_body(advertisers: &[&str]) -> Value {
    json!({"startDate": "2026-11-01", "endDate": "2026-11-02", "configuration": {
        "adProduct": "DEMAND_SIDE_PLATFORM", "reportTypeId": "dspCampaign", "groupBy": ["campaign"],
        "columns": ["date", "orderId", "advertiserId", "impressions", "totalCost"],
        "filters": [{"field": "advertiserId", "values": advertisers}],
        "timeUnit": "DAILY", "format": "GZIP_JSON"}})
}

impl StandIn {
    fn call(&self, method: reqwest::Method, path: &str, account: As) -> reqwest::RequestBuilder {
        let call = self
            .http
            .request(method, format!("{}/na{path}", self.server.uri()))
            .bearer_auth(TOKEN)
            .header("Amazon-Advertising-API-ClientId", super::CLIENT_ID);
        match account {
            As::Scope(profile) => call.header("Amazon-Advertising-API-Scope", profile),
            As::Advertiser(advertiser) => call.header("Amazon-Ads-AccountId", advertiser),
        }
    }

    async fn create(&self, account: As, body: &Value) -> (u16, Value) {
        let answer = self
            .call(reqwest::Method::POST, "/reporting/reports", account)
            .header("content-type", REPORT_MEDIA_TYPE)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }

    async fn poll(&self, account: As, id: &str) -> (u16, Value) {
        let path = format!("/reporting/reports/{id}");
        let answer = self
            .call(reqwest::Method::GET, &path, account)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        if status == 200 {
            assert_eq!(answer.headers()["content-type"], REPORT_STATUS_MEDIA_TYPE);
            assert!(answer.headers().contains_key("x-amzn-requestid"));
        }
        // A scripted answer may have no body.
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// Polls until the report leaves `PENDING`/`PROCESSING` (a large file
    /// is written while the polls go on).
    async fn finished(&self, account: As, id: &str) -> Value {
        for _ in 0..600 {
            let (_, report) = self.poll(account, id).await;
            if !["PENDING", "PROCESSING"].contains(&report["status"].as_str().unwrap()) {
                return report;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("report {id} never finished");
    }

    /// A report of `body` created, completed and downloaded: its rows.
    async fn rows_of(&self, account: As, body: &Value) -> Vec<Map<String, Value>> {
        let (status, created) = self.create(account, body).await;
        assert_eq!(status, 200, "{created}");
        let report = self
            .finished(account, created["reportId"].as_str().unwrap())
            .await;
        serde_json::from_slice(&self.download(&report).await).unwrap()
    }

    /// The gunzipped file a completed report's URL serves.
    async fn download(&self, report: &Value) -> Vec<u8> {
        let answer = self
            .http
            .get(report["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-type"], "binary/octet-stream");
        let gzip = answer.bytes().await.unwrap();
        assert_eq!(Some(gzip.len() as u64), report["fileSize"].as_u64());
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut json)
            .unwrap();
        json
    }
}

#[tokio::test]
async fn a_report_is_created_polled_to_completion_and_downloaded() {
    let amazon = stand_in().await;
    let body = sp_body("2026-11-01", "2026-11-03");
    let (status, created) = amazon.create(As::Scope(SELLER), &body).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["configuration"]["filters"], Value::Null);
    for field in ["url", "fileSize", "generatedAt", "failureReason"] {
        assert_eq!(created[field], Value::Null, "{field}");
    }
    let id = created["reportId"].as_str().unwrap();
    let statuses = [
        amazon.poll(As::Scope(SELLER), id).await.1["status"].clone(),
        amazon.poll(As::Scope(SELLER), id).await.1["status"].clone(),
    ];
    assert_eq!(statuses, ["PENDING", "PROCESSING"]);
    let (_, report) = amazon.poll(As::Scope(SELLER), id).await;
    assert_eq!(report["status"], "COMPLETED");
    let url = report["url"].as_str().unwrap();
    assert!(url.starts_with(&format!(
        "{}/_s3/reports/{id}.json.gz?",
        amazon.server.uri()
    )));
    assert!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=3600"));
    assert!(report["urlExpiresAt"].is_string() && report["generatedAt"].is_string());

    let rows: Vec<Map<String, Value>> =
        serde_json::from_slice(&amazon.download(&report).await).unwrap();
    assert_eq!(rows.len(), 3 * 3, "three rows on each of three days");
    let columns: HashSet<&str> = body["configuration"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for row in &rows {
        assert_eq!(
            row.keys().map(String::as_str).collect::<HashSet<_>>(),
            columns
        );
        assert!(row["campaignId"].as_u64().unwrap() < 1 << 53);
        assert!(row["cost"].is_f64() && row["clicks"].is_u64());
    }
    let dates: Vec<&str> = rows.iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates[..4],
        ["2026-11-01", "2026-11-01", "2026-11-01", "2026-11-02"]
    );
    let seen = &amazon.world.created_reports()[0];
    assert_eq!((seen.status_polls, seen.downloads), (3, 1));
    assert_eq!(seen.request_body, body);
}

#[tokio::test]
async fn dsp_ids_above_2_to_the_53_arrive_exactly() {
    let amazon = stand_in().await;
    let (status, created) = amazon
        .create(As::Advertiser(MANAGED), &dsp_body(&[MANAGED]))
        .await;
    assert_eq!(status, 200, "{created}");
    let report = amazon
        .finished(
            As::Advertiser(MANAGED),
            created["reportId"].as_str().unwrap(),
        )
        .await;
    let text = String::from_utf8(amazon.download(&report).await).unwrap();
    let rows: Vec<Map<String, Value>> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 2 * 3);
    for row in rows {
        let order = row["orderId"].as_u64().unwrap();
        assert!(order > 1 << 53);
        assert!(
            text.contains(&format!("\"orderId\":{order}")),
            "parsed exactly"
        );
        assert_eq!(row["advertiserId"].as_u64(), Some(9_988_776_655));
    }
}

#[tokio::test]
async fn a_duplicate_is_425_until_the_first_completes() {
    let amazon = stand_in().await;
    let body = sp_body("2026-11-01", "2026-11-01");
    let (_, first) = amazon.create(As::Scope(SELLER), &body).await;
    let (status, duplicate) = amazon.create(As::Scope(SELLER), &body).await;
    assert_eq!(status, 425);
    let id = first["reportId"].as_str().unwrap();
    assert_eq!(
        duplicate["detail"],
        format!("The Request is a duplicate of : {id}")
    );
    amazon.finished(As::Scope(SELLER), id).await;
    let (status, again) = amazon.create(As::Scope(SELLER), &body).await;
    assert_eq!(status, 200);
    assert_ne!(again["reportId"], first["reportId"]);
}

#[tokio::test]
async fn a_failing_report_ends_failed_with_its_reason() {
    let amazon = stand_in().await;
    amazon.world.fail_next_reports(1, "Internal error");
    let (_, created) = amazon
        .create(As::Scope(SELLER), &sp_body("2026-11-01", "2026-11-01"))
        .await;
    let report = amazon
        .finished(As::Scope(SELLER), created["reportId"].as_str().unwrap())
        .await;
    assert_eq!(report["status"], "FAILED");
    assert_eq!(report["failureReason"], "Internal error");
    assert_eq!(report["url"], Value::Null);
    assert_eq!(amazon.world.created_reports()[0].status, "FAILED");
}

#[tokio::test]
async fn an_expired_url_is_403_and_a_new_poll_issues_a_working_one() {
    let amazon = stand_in().await;
    let (_, created) = amazon
        .create(As::Scope(SELLER), &sp_body("2026-11-01", "2026-11-01"))
        .await;
    let id = created["reportId"].as_str().unwrap();
    let report = amazon.finished(As::Scope(SELLER), id).await;
    amazon.world.expire_report_urls();
    let expired = amazon
        .http
        .get(report["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 403);
    let xml = expired.text().await.unwrap();
    assert!(xml.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"));
    let (_, fresh) = amazon.poll(As::Scope(SELLER), id).await;
    assert_ne!(fresh["url"], report["url"]);
    amazon.download(&fresh).await;
    assert_eq!(amazon.world.created_reports()[0].downloads, 1);
}

#[tokio::test]
async fn a_download_with_an_authorization_header_is_400() {
    let amazon = stand_in().await;
    let (_, created) = amazon
        .create(As::Scope(SELLER), &sp_body("2026-11-01", "2026-11-01"))
        .await;
    let report = amazon
        .finished(As::Scope(SELLER), created["reportId"].as_str().unwrap())
        .await;
    let refused = amazon
        .http
        .get(report["url"].as_str().unwrap())
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("<Code>InvalidArgument</Code><Message>Only one auth mechanism allowed")
    );
    let forged = report["url"]
        .as_str()
        .unwrap()
        .replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(amazon.http.get(forged).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn a_later_report_restates_a_dates_numbers() {
    let amazon = stand_in().await;
    let first = amazon
        .rows_of(As::Scope(SELLER), &sp_body("2026-11-01", "2026-11-01"))
        .await;
    let again = amazon
        .rows_of(As::Scope(SELLER), &sp_body("2026-11-01", "2026-11-01"))
        .await;
    for (before, after) in first.iter().zip(&again) {
        assert_eq!(before["campaignId"], after["campaignId"], "same entities");
        assert_eq!(before["impressions"], after["impressions"]);
        assert_ne!(before["clicks"], after["clicks"]);
        let grew = |name: &str| after[name].as_f64().unwrap() > before[name].as_f64().unwrap();
        assert!(grew("purchases14d") && grew("sales14d"));
    }
}

#[tokio::test]
async fn a_dsp_report_names_advertisers_its_account_header_allows() {
    let amazon = stand_in().await;
    let managed = As::Advertiser(MANAGED);
    let mut unfiltered = dsp_body(&[]);
    unfiltered["configuration"]
        .as_object_mut()
        .unwrap()
        .remove("filters");
    for (body, why) in [
        (unfiltered, "no advertiser filter"),
        (dsp_body(&[AGENCY_ADVERTISERS[0]]), "another advertiser"),
        (
            dsp_body(&[MANAGED, AGENCY_ADVERTISERS[0]]),
            "two advertisers",
        ),
    ] {
        let (status, answer) = amazon.create(managed, &body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("400")),
            "{why}"
        );
    }
    let agency = As::Scope(AGENCY);
    let (status, answer) = amazon.create(agency, &dsp_body(&AGENCY_ADVERTISERS)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = amazon.create(agency, &dsp_body(&[MANAGED])).await;
    assert_eq!(status, 400, "not listed by the agency");
    let many: Vec<String> = (0..101).map(|i| format!("4242{i:06}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, _) = amazon.create(agency, &dsp_body(&many)).await;
    assert_eq!(status, 400, "over 100 advertisers");
    let (status, _) = amazon
        .create(As::Scope(SELLER), &dsp_body(&[AGENCY_ADVERTISERS[0]]))
        .await;
    assert_eq!(status, 400, "a seller profile lists no advertisers");
}

#[tokio::test]
async fn a_range_longer_than_the_types_is_400() {
    let amazon = stand_in().await;
    let (status, answer) = amazon
        .create(As::Scope(SELLER), &sp_body("2026-10-01", "2026-11-01"))
        .await;
    assert_eq!(status, 400);
    assert!(answer["details"].as_str().unwrap().contains("31 days"));
    let (status, _) = amazon
        .create(As::Scope(SELLER), &sp_body("2026-10-01", "2026-10-31"))
        .await;
    assert_eq!(status, 200, "31 days");
    let mut long = sp_body("2025-01-01", "2026-12-31");
    long["configuration"]["adProduct"] = "SPONSORED_BRANDS".into();
    long["configuration"]["reportTypeId"] = "sbPurchasedProduct".into();
    assert_eq!(amazon.create(As::Scope(SELLER), &long).await.0, 200);
    let mut bad = sp_body("2026-11-02", "2026-11-01");
    assert_eq!(amazon.create(As::Scope(SELLER), &bad).await.0, 400);
    bad = sp_body("2026-11-01", "2026-11-01");
    bad["configuration"]["format"] = "CSV".into();
    assert_eq!(amazon.create(As::Scope(SELLER), &bad).await.0, 400);
}

#[tokio::test]
async fn another_accounts_report_is_404_and_a_pending_one_can_be_cancelled() {
    let amazon = stand_in().await;
    let body = sp_body("2026-11-01", "2026-11-01");
    let (_, created) = amazon.create(As::Scope(SELLER), &body).await;
    let id = created["reportId"].as_str().unwrap();
    let (status, answer) = amazon.poll(As::Scope(AGENCY), id).await;
    assert_eq!(
        (status, answer["details"].as_str()),
        (404, Some("Report not found"))
    );
    let path = format!("/reporting/reports/{id}");
    let cancelled = amazon
        .call(reqwest::Method::DELETE, &path, As::Scope(SELLER))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(amazon.poll(As::Scope(SELLER), id).await.0, 404);
    assert_eq!(
        amazon.create(As::Scope(SELLER), &body).await.0,
        200,
        "no longer a duplicate"
    );
}

#[tokio::test]
async fn status_polls_can_be_scripted_and_the_control_sets_knobs() {
    let amazon = stand_in().await;
    amazon.world.script(
        Endpoint::ReportStatus,
        vec![ResponseTemplate::new(429).insert_header("Retry-After", "1")],
    );
    let control = amazon
        .http
        .post(format!("{}/_stub/reports", amazon.server.uri()))
        .json(&json!({"polls_before_completion": 0, "rows_per_day": 5, "padding_bytes": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 200);
    let (_, created) = amazon
        .create(As::Scope(SELLER), &sp_body("2026-11-01", "2026-11-01"))
        .await;
    let id = created["reportId"].as_str().unwrap();
    assert_eq!(amazon.poll(As::Scope(SELLER), id).await.0, 429);
    let (_, report) = amazon.poll(As::Scope(SELLER), id).await;
    assert_eq!(report["status"], "COMPLETED", "no polls before completion");
    let json = amazon.download(&report).await;
    assert!(json.len() > 5 * 100);
    let rows: Vec<Value> = serde_json::from_slice(&json).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(amazon.world.calls(Endpoint::ReportStatus), 2);
}

#[tokio::test]
async fn a_100_mb_report_is_written_while_polls_answer_processing() {
    let amazon = stand_in().await;
    amazon.world.set_report_size(2_000, 1_500);
    let (_, created) = amazon
        .create(As::Scope(SELLER), &sp_body("2026-10-01", "2026-10-31"))
        .await;
    let report = amazon
        .finished(As::Scope(SELLER), created["reportId"].as_str().unwrap())
        .await;
    let json = amazon.download(&report).await;
    assert!(json.len() > 100_000_000, "{} bytes", json.len());
    assert!(
        report["fileSize"].as_u64().unwrap() < 10_000_000,
        "compressed"
    );
    let rows: Vec<Map<String, Value>> = serde_json::from_slice(&json).unwrap();
    assert_eq!(rows.len(), 31 * 2_000);
}
