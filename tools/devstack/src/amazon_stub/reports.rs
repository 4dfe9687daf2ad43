//! Sponsored Ads and DSP reporting v3 as Amazon runs it (reference
//! amazon-reporting.md §1–§4): a created report is `PENDING`, then
//! `PROCESSING`, then `COMPLETED` with a pre-signed URL to its gzip file on
//! the stand-in's own S3 (`reports_files`), or `FAILED`; a `PENDING` one can
//! be cancelled. Reports belong to the account (profile or DSP advertiser)
//! that created them, in the region that created them, as Amazon scopes
//! them: any login reaching that account reads them. Knobs on
//! [`AmazonWorld`] (and `POST /_stub/reports`) make reports slow, failing,
//! large or their URLs expired; readers tell a test what Amazon saw.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::ads::{REPORT_MEDIA_TYPE, report_account};
use super::reports_control::ReportsControl;
use super::reports_files::FileOrder;
use super::reports_request::{AccountHeader, check};
use super::reports_s3::S3Download;
use super::reports_state::{Completed, Stage, StoredReport};
use super::world::{AmazonWorld, Endpoint, Slow, unauthorized};

pub const REPORT_STATUS_MEDIA_TYPE: &str = "application/vnd.getasyncreportresponse.v3+json";

/// A report as a test reads it.
#[derive(Debug, Clone)]
pub struct CreatedReport {
    pub report_id: String,
    pub account: String,
    pub request_body: Value,
    /// Amazon's status: `PENDING`, `PROCESSING`, `COMPLETED`, `FAILED`.
    pub status: &'static str,
    pub status_polls: usize,
    /// Downloads of its file that were served.
    pub downloads: usize,
}

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    Mock::given(path_regex("^/(na|eu|fe)/reporting/reports/[^/]+$"))
        .respond_with(Slow(ReportStatus(world.clone()), world.clone()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/_s3/reports/[^/]+$"))
        .respond_with(S3Download(world.clone()))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/_stub/reports$"))
        .respond_with(ReportsControl(world.clone()))
        .mount(server)
        .await;
}

/// `GET` (poll) and `DELETE` (cancel) `/{region}/reporting/reports/{id}`.
struct ReportStatus(AmazonWorld);

impl Respond for ReportStatus {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record(request);
        if let Some(scripted) = self.0.scripted(Endpoint::ReportStatus) {
            return scripted;
        }
        let mut segments = request.url.path().split('/').skip(1);
        let region = match segments.next() {
            Some("na") => "na",
            Some("eu") => "eu",
            _ => "fe",
        };
        let id = segments.last().unwrap_or_default();
        let account = match report_account(&self.0, region, request) {
            Ok(account) => account,
            Err(refusal) => return refusal.answer(),
        };
        let answer = match request.method.as_str() {
            "DELETE" => self.0.cancel_report(region, &account, id),
            "GET" => self
                .0
                .poll_report(region, &account, id, &own_base_url(request))
                .ok_or((404, "Report not found".into())),
            _ => Err((405, "Method not allowed".into())),
        };
        match answer {
            Ok(report) => ResponseTemplate::new(200)
                .set_body_raw(report.to_string(), REPORT_STATUS_MEDIA_TYPE),
            Err((status, details)) => ResponseTemplate::new(status)
                .set_body_json(json!({"code": status.to_string(), "details": details})),
        }
    }
}

/// The stand-in's base URL as the caller reached it: its S3 URLs must lead
/// back here, whichever address the caller used.
fn own_base_url(request: &Request) -> String {
    let host = request
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| request.url.authority().to_owned(), str::to_owned);
    format!("http://{host}")
}

impl AmazonWorld {
    /// `POST /reporting/reports` once the call's headers passed: the body
    /// checked as Amazon does (400), Amazon's 425 while an identical
    /// request of the same account is pending, else the new report.
    pub(super) fn create_report(
        &self,
        region: &'static str,
        account: String,
        request: &Request,
    ) -> ResponseTemplate {
        let Some(login) = self.login_for(request) else {
            return unauthorized();
        };
        let header = if request.headers.contains_key("amazon-ads-accountid") {
            AccountHeader::AdvertiserId(&account)
        } else {
            AccountHeader::Scope
        };
        let complete = self.world().reporting.knobs.require_complete_requests;
        let agency_lists = |advertiser: &str| login.agency_lists(region, &account, advertiser);
        let asked = match check(&request.body, complete, header, &agency_lists) {
            Ok(asked) => asked,
            Err(details) => {
                return ResponseTemplate::new(400)
                    .set_body_json(json!({"code": "400", "details": details}));
            }
        };
        let mut world = self.world();
        let duplicate_key = (account.clone(), request.body.clone());
        if let Some(pending) = world.pending_reports.get(&duplicate_key) {
            return ResponseTemplate::new(425).set_body_json(json!({
                "code": "425",
                "detail": format!("The Request is a duplicate of : {pending}")
            }));
        }
        let id = uuid::Uuid::new_v4().to_string();
        world
            .pending_reports
            .insert(duplicate_key.clone(), id.clone());
        let knobs = &mut world.reporting.knobs;
        let failure = (knobs.failing_next > 0).then(|| {
            knobs.failing_next -= 1;
            knobs.failure_reason.clone()
        });
        let now = Utc::now();
        let report = StoredReport {
            id,
            region,
            account,
            duplicate_key,
            request: asked,
            created_at: now,
            updated_at: now,
            polls_left: knobs.polls_before_completion,
            failure,
            stage: Stage::Pending,
            polls: 0,
            downloads: 0,
        };
        let answer = report.answer();
        world.reporting.reports.push(report);
        ResponseTemplate::new(200).set_body_raw(answer.to_string(), REPORT_MEDIA_TYPE)
    }

    /// One poll of report `id` of `account`: moves it on a stage; `None` if
    /// `account` has no such report in `region`. The poll that completes it
    /// writes its file on a thread of its own and waits a moment for it: a
    /// small file is there at once, a large one is `PROCESSING` until it is
    /// (a wiremock answer cannot wait long without stalling the caller).
    fn poll_report(&self, region: &str, account: &str, id: &str, base: &str) -> Option<Value> {
        let order = {
            let mut world = self.world();
            let world = &mut *world;
            let reporting = &mut world.reporting;
            let report = reporting
                .reports
                .iter_mut()
                .find(|r| r.id == id && r.region == region && r.account == account)
                .filter(|r| !matches!(r.stage, Stage::Cancelled))?;
            report.polls += 1;
            match report.stage {
                Stage::Pending | Stage::Processing if report.polls_left > 0 => {
                    report.polls_left -= 1;
                    if report.polls > 1 && matches!(report.stage, Stage::Pending) {
                        report.stage = Stage::Processing;
                        report.updated_at = Utc::now();
                    }
                    None
                }
                Stage::Pending | Stage::Processing => {
                    // No longer pending: the same request may be made again.
                    world.pending_reports.remove(&report.duplicate_key);
                    report.updated_at = Utc::now();
                    if let Some(reason) = report.failure.clone() {
                        report.stage = Stage::Failed(reason);
                        None
                    } else {
                        report.stage = Stage::Generating;
                        let request = &report.request;
                        let days = request
                            .start
                            .iter_days()
                            .take_while(|day| *day <= request.end)
                            .map(|day| {
                                let key = (account.to_owned(), request.report_type.clone(), day);
                                let pull = reporting.pulls.entry(key).or_default();
                                *pull += 1;
                                (day, *pull)
                            })
                            .collect();
                        Some(FileOrder::new(
                            account,
                            request.clone(),
                            days,
                            reporting.knobs.rows_per_day,
                            reporting.knobs.padding_bytes,
                        ))
                    }
                }
                Stage::Generating | Stage::Completed(_) | Stage::Failed(_) | Stage::Cancelled => {
                    None
                }
            }
        };
        if let Some(order) = order {
            let (written, wait) = std::sync::mpsc::channel();
            let world = self.clone();
            let report = id.to_owned();
            std::thread::spawn(move || {
                let file = Arc::new(order.write());
                world.complete_report(&report, file);
                // The poll may have stopped waiting: nobody to tell then.
                let _ = written.send(());
            });
            let _ = wait.recv_timeout(Duration::from_secs(1));
        }
        let mut world = self.world();
        let lifetime = world.reporting.knobs.url_lifetime_seconds;
        let report = world.reporting.reports.iter_mut().find(|r| r.id == id)?;
        let extension = report.file_extension();
        if let Stage::Completed(completed) = &mut report.stage {
            completed.issue(base, id, extension, lifetime);
        }
        Some(report.answer())
    }

    /// Report `report`'s file is written: it is `COMPLETED`.
    fn complete_report(&self, report: &str, file: Arc<Vec<u8>>) {
        let mut world = self.world();
        if let Some(report) = world.reporting.reports.iter_mut().find(|r| r.id == report) {
            let now = Utc::now();
            report.stage = Stage::Completed(Completed {
                file,
                generated_at: now,
                urls: HashMap::new(),
                latest: None,
            });
            report.updated_at = now;
        }
    }

    /// `DELETE` of report `id` of `account`: only a `PENDING` one can be
    /// cancelled; it then answers as `CANCELLED` and is gone for polls.
    fn cancel_report(&self, region: &str, account: &str, id: &str) -> Result<Value, (u16, String)> {
        let mut world = self.world();
        let world = &mut *world;
        let report = world
            .reporting
            .reports
            .iter_mut()
            .find(|r| r.id == id && r.region == region && r.account == account)
            .filter(|r| !matches!(r.stage, Stage::Cancelled))
            .ok_or((404, "Report not found".to_owned()))?;
        if !matches!(report.stage, Stage::Pending) {
            return Err((
                400,
                format!(
                    "Report {id} is {}: only a PENDING report can be cancelled",
                    report.stage.name()
                ),
            ));
        }
        world.pending_reports.remove(&report.duplicate_key);
        report.stage = Stage::Cancelled;
        report.updated_at = Utc::now();
        Ok(report.answer())
    }

    /// Every report created so far is done: the same request may be made
    /// again, and each report not yet complete completes at its next poll.
    pub fn finish_reports(&self) {
        let mut world = self.world();
        world.pending_reports.clear();
        for report in &mut world.reporting.reports {
            report.polls_left = 0;
        }
    }

    /// Every report URL issued so far has expired (S3 answers 403); a new
    /// poll of the report issues a fresh one.
    pub fn expire_report_urls(&self) {
        let now = Utc::now() - chrono::Duration::seconds(1);
        for report in &mut self.world().reporting.reports {
            if let Stage::Completed(completed) = &mut report.stage {
                completed.urls.values_mut().for_each(|expiry| *expiry = now);
                if let Some((_, expiry)) = &mut completed.latest {
                    *expiry = now;
                }
            }
        }
    }

    /// Every report created so far, in order.
    pub fn created_reports(&self) -> Vec<CreatedReport> {
        self.world()
            .reporting
            .reports
            .iter()
            .map(|report| CreatedReport {
                report_id: report.id.clone(),
                account: report.account.clone(),
                request_body: serde_json::from_slice(&report.duplicate_key.1)
                    .unwrap_or(Value::Null),
                status: report.stage.name(),
                status_polls: report.polls,
                downloads: report.downloads,
            })
            .collect()
    }
}
