//! Amazon's reporting v3 calls and answers, for one account (reference
//! amazon-reporting.md §1–§4): create `POST /reporting/reports`, status
//! `GET /reporting/reports/{reportId}`, and the `425` that names the report
//! Amazon already makes for an identical request. The calls go through the
//! proxy's path (`crate::connections::proxying`) so that they take their
//! turn in the connection's throttling like every other call.

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::proxy::Outbound;
use crate::secrets::Secret;

/// The media type of a create (Amazon's samples send it on the GET too).
pub const CREATE_MEDIA_TYPE: &str = "application/vnd.createasyncreportrequest.v3+json";
const STATUS_MEDIA_TYPE: &str = "application/vnd.getasyncreportresponse.v3+json";
const REPORTS_PATH: &str = "/reporting/reports";

/// The create call of one report.
pub fn create(
    name: &str,
    configuration: &Value,
    start_date: NaiveDate,
    end_date: NaiveDate,
) -> Outbound {
    let body = json!({
        "name": name,
        "startDate": start_date.to_string(),
        "endDate": end_date.to_string(),
        "configuration": configuration,
    });
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(CREATE_MEDIA_TYPE));
    Outbound {
        method: Method::POST,
        path: REPORTS_PATH.to_owned(),
        query: None,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

/// The status call of report `report_id` (a uuid Amazon gave; anything
/// else is refused before it becomes a path).
pub fn status(report_id: &str) -> Option<Outbound> {
    let shaped = (1..=64).contains(&report_id.len())
        && report_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !shaped {
        return None;
    }
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(CREATE_MEDIA_TYPE));
    headers.insert(ACCEPT, HeaderValue::from_static(STATUS_MEDIA_TYPE));
    Some(Outbound {
        method: Method::GET,
        path: format!("{REPORTS_PATH}/{report_id}"),
        query: None,
        headers,
        body: Bytes::new(),
    })
}

/// Where Amazon's report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AmazonStatus {
    Pending,
    Processing,
    Completed,
    Failed,
    #[serde(other)]
    Unknown,
}

/// Amazon's report as its create and status calls answer it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmazonReport {
    pub report_id: String,
    pub status: AmazonStatus,
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub configuration: Option<Value>,
    /// Pre-signed: it carries S3's security token, so it is a secret.
    #[serde(default, deserialize_with = "secret_url")]
    pub url: Option<Secret>,
    #[serde(default)]
    pub url_expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

fn secret_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

impl AmazonReport {
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }

    /// Whether this report is the one asked for: Amazon has called a
    /// SUMMARY request a duplicate of a DAILY one of the same type
    /// (reference §4), so an adopted report must match dates and
    /// configuration (Amazon answers `filters: null` for none).
    pub fn matches(&self, configuration: &Value, start: NaiveDate, end: NaiveDate) -> bool {
        let Some(theirs) = &self.configuration else {
            return false;
        };
        let same = |field: &str| theirs.get(field) == configuration.get(field);
        let filters = |c: &Value| match c.get("filters") {
            None | Some(Value::Null) => Value::Array(Vec::new()),
            Some(filters) => filters.clone(),
        };
        self.start_date == Some(start)
            && self.end_date == Some(end)
            && [
                "adProduct",
                "reportTypeId",
                "groupBy",
                "columns",
                "timeUnit",
            ]
            .into_iter()
            .all(same)
            && filters(theirs) == filters(configuration)
    }
}

/// The report a `425` says an identical request already made:
/// `{"code":"425","detail":"The Request is a duplicate of : <reportId>"}`
/// (`detail`, not `details`; both read).
pub fn duplicate_of(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = value
        .get("detail")
        .or_else(|| value.get("details"))?
        .as_str()?;
    let id = text.rsplit([':', ' ']).find(|part| !part.is_empty())?;
    let shaped =
        (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    shaped.then(|| id.to_owned())
}

/// Amazon's reason for refusing a call, short and free of anything the
/// caller sent.
pub fn refusal(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = ["details", "detail", "message", "code"]
        .iter()
        .find_map(|field| value.get(field).and_then(Value::as_str))
        .unwrap_or("no reason given");
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_names_the_pending_report() {
        let body = br#"{"code":"425","detail":"The Request is a duplicate of : 2b3a7e0c-43b1-4a8b-9d3e-2c8f1a9b0c11"}"#;
        assert_eq!(
            duplicate_of(body).as_deref(),
            Some("2b3a7e0c-43b1-4a8b-9d3e-2c8f1a9b0c11")
        );
        assert_eq!(
            duplicate_of(br#"{"code":"425","details":"too early"}"#),
            None
        );
        assert_eq!(duplicate_of(b"not json"), None);
    }

    #[test]
    fn an_adopted_report_must_be_the_one_asked_for() {
        let daily = json!({"adProduct": "SPONSORED_PRODUCTS", "reportTypeId": "spCampaigns",
            "groupBy": ["campaign"], "columns": ["date", "clicks"], "timeUnit": "DAILY",
            "format": "GZIP_JSON"});
        let report = |configuration: Value| AmazonReport {
            report_id: "r".into(),
            status: AmazonStatus::Pending,
            start_date: NaiveDate::from_ymd_opt(2026, 12, 1),
            end_date: NaiveDate::from_ymd_opt(2026, 12, 3),
            configuration: Some(configuration),
            url: None,
            url_expires_at: None,
            failure_reason: None,
        };
        let (start, end) = (
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        );
        let mut amazons = daily.clone();
        amazons["filters"] = Value::Null;
        assert!(report(amazons).matches(&daily, start, end));
        let mut summary = daily.clone();
        summary["timeUnit"] = json!("SUMMARY");
        assert!(!report(summary).matches(&daily, start, end));
        assert!(!report(daily.clone()).matches(&daily, start, start));
    }

    #[test]
    fn only_amazons_report_ids_become_paths() {
        assert!(status("2b3a7e0c-43b1-4a8b-9d3e-2c8f1a9b0c11").is_some());
        assert!(status("../profiles").is_none());
        assert!(status("").is_none());
    }
}
