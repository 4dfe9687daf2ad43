//! Managed reports of the caller's accounts: ask for one (`202` with its
//! job; the same request while it runs answers with that job), read a job
//! (with short-lived links to our copy once stored), list an account's
//! jobs. Another owner's account or job is a 404.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header::LOCATION};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::UsersServices;
use super::connections::{PageQuery, decode_cursor, page_limit};
use super::{ApiError, ErrorResponse, Permitted, StrictJson, StrictQuery, ToRead, ToUse};
use crate::ids::{AccountId, ReportJobId};
use crate::model::report::{JobFailure, JobStatus, PartStatus, ReportJob, Totals};
use crate::reports::ReportError;
use crate::reports::requesting::ReportRequest;
use crate::reports::spec::SpecError;

pub fn routes() -> Router<UsersServices> {
    Router::new()
        .route(
            "/api/v1/accounts/{id}/reports",
            get(list_reports).post(request_report),
        )
        .route("/api/v1/accounts/{id}/reports/{job_id}", get(get_report))
}

impl From<ReportError> for ApiError {
    fn from(error: ReportError) -> Self {
        let code = error.code();
        match error {
            ReportError::AccountNotFound => ApiError::not_found(code, "no account with this id"),
            ReportError::JobNotFound => ApiError::not_found(code, "no report job with this id"),
            ReportError::ScheduleNotFound => {
                ApiError::not_found(code, "no report schedule with this name")
            }
            ReportError::ScheduleLimit => ApiError::unprocessable(
                code,
                None,
                "the account has as many report schedules as it may (20)",
            ),
            ReportError::Spec(SpecError::Invalid(field, message)) => {
                ApiError::invalid_field(field, message)
            }
            ReportError::Spec(SpecError::Unprocessable(code, message)) => {
                ApiError::unprocessable(code, None, message)
            }
            ReportError::Unavailable(cause) => ApiError::unavailable(cause),
        }
    }
}

/// A report to make: a preset or Amazon's configuration, over a range.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequestBody {
    /// `sp_campaigns`, `sp_ad_groups`, `sp_targeting`, `sp_search_terms`,
    /// `sp_advertised_products`, `sb_campaigns`, `sd_campaigns` (a
    /// sponsored_ads account) or `dsp_campaigns` (a dsp_advertiser one).
    pub preset: Option<String>,
    /// Amazon's reporting v3 `configuration` (`adProduct`, `reportTypeId`,
    /// `groupBy`, `columns`, `filters`, `timeUnit`, `format` GZIP_JSON),
    /// instead of a preset.
    #[schema(value_type = Option<Object>)]
    pub configuration: Option<Value>,
    /// First day (inclusive), in the account's time zone.
    #[schema(value_type = String, format = Date)]
    pub start_date: NaiveDate,
    /// Last day (inclusive); a range longer than Amazon allows for the
    /// report type is split into several Amazon reports.
    #[schema(value_type = String, format = Date)]
    pub end_date: NaiveDate,
}

/// One Amazon report of a job.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportPartView {
    #[schema(value_type = String, format = Date)]
    pub start_date: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub end_date: NaiveDate,
    pub status: PartStatus,
    /// Amazon's `reportId`, once created.
    pub amazon_report_id: Option<String>,
    pub rows: u64,
}

/// One stored day of a job's copy.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportFileView {
    /// The day its rows are of (a summary report: its first day).
    pub date: String,
    pub rows: u64,
    pub totals: Totals,
    /// Gzipped JSON lines; valid until `expires_at`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A report job.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportJobView {
    pub job_id: ReportJobId,
    pub account_id: AccountId,
    pub status: JobStatus,
    /// The preset's name, or `custom-<hash>` for a configuration.
    pub report: String,
    #[schema(value_type = Object)]
    pub configuration: Value,
    #[schema(value_type = String, format = Date)]
    pub start_date: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub end_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Seconds from creation until it finished (or until now).
    pub waited_seconds: i64,
    pub amazon_report_ids: Vec<String>,
    pub parts: Vec<ReportPartView>,
    pub rows: u64,
    pub totals: Totals,
    pub failure: Option<JobFailure>,
    /// Links to the stored days (a completed job read by its id).
    pub files: Vec<ReportFileView>,
}

impl ReportJobView {
    fn of(job: ReportJob) -> Self {
        let mut totals = Totals::default();
        for file in job.files() {
            totals.add(&file.totals);
        }
        let waited = job.finished_at.unwrap_or_else(Utc::now) - job.created_at;
        Self {
            amazon_report_ids: job.amazon_report_ids(),
            rows: job.rows(),
            totals,
            waited_seconds: waited.num_seconds().max(0),
            parts: job
                .parts
                .iter()
                .map(|part| ReportPartView {
                    start_date: part.start_date,
                    end_date: part.end_date,
                    status: part.status,
                    amazon_report_id: part.amazon_report_id.clone(),
                    rows: part.rows(),
                })
                .collect(),
            job_id: job.job_id,
            account_id: job.account_id,
            status: job.status,
            report: job.spec.report,
            configuration: job.spec.configuration,
            start_date: job.spec.start_date,
            end_date: job.spec.end_date,
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at,
            failure: job.failure,
            files: Vec::new(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportJobPage {
    pub jobs: Vec<ReportJobView>,
    pub next_cursor: Option<String>,
}

fn account_id(id: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(id).map_err(|_| ReportError::AccountNotFound.into())
}

/// Request a report
///
/// Creates a report job for the account: Amazon's reports are requested,
/// waited for and copied into the stack's bucket by the report worker.
/// The same request (account, configuration and range) while a job for it
/// runs answers with that job.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/reports", tag = "reports", params(("id" = String, Path, description = "A sponsored_ads or dsp_advertiser account id")), request_body = ReportRequestBody, responses((status = 202, description = "The job (new, or the one already running for this request)", body = ReportJobView), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `use`", body = ErrorResponse), (status = 404, description = "Not found or not the caller's", body = ErrorResponse), (status = 413, description = "Body too large", body = ErrorResponse), (status = 415, description = "Not JSON", body = ErrorResponse), (status = 422, description = "Not possible for this account or range (`PRESET_NOT_FOR_ACCOUNT`, `REPORTS_NOT_FOR_ACCOUNT`, `ADVERTISER_MISMATCH`, `RANGE_IN_FUTURE`, `RANGE_BEYOND_RETENTION`, `RANGE_TOO_LONG`)", body = ErrorResponse), (status = 429, description = "Over the caller's quota of writes", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn request_report(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToUse>,
    Path(id): Path<String>,
    StrictJson(body): StrictJson<ReportRequestBody>,
) -> Result<Response, ApiError> {
    let account_id = account_id(&id)?;
    let requested = services
        .reports
        .request(
            &acting,
            &account_id,
            ReportRequest {
                preset: body.preset,
                configuration: body.configuration,
                start_date: body.start_date,
                end_date: body.end_date,
            },
        )
        .await?;
    let location = format!(
        "/api/v1/accounts/{account_id}/reports/{}",
        requested.job.job_id
    );
    let mut response =
        (StatusCode::ACCEPTED, Json(ReportJobView::of(requested.job))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// A report job
///
/// Its status, Amazon's report ids, rows and totals, and once stored a
/// short-lived link to each stored day.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/reports/{job_id}", tag = "reports", params(("id" = String, Path, description = "An account id"), ("job_id" = String, Path, description = "A report job id")), responses((status = 200, body = ReportJobView), (status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 404, description = "Not found or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn get_report(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Json<ReportJobView>, ApiError> {
    let account_id = account_id(&id)?;
    let job_id =
        ReportJobId::parse(&job_id).map_err(|_| ApiError::from(ReportError::JobNotFound))?;
    let job = services
        .reports
        .job(&acting.owner, &account_id, &job_id)
        .await?;
    let links = services.reports.links(&job).await?;
    let mut view = ReportJobView::of(job);
    view.files = links
        .into_iter()
        .map(|(file, link)| ReportFileView {
            date: file.date,
            rows: file.rows,
            totals: file.totals,
            url: link.url,
            expires_at: link.expires_at,
        })
        .collect();
    Ok(Json(view))
}

/// An account's report jobs
///
/// Newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/reports", tag = "reports", params(("id" = String, Path, description = "An account id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)), responses((status = 200, body = ReportJobPage), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 404, description = "Not found or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn list_reports(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path(id): Path<String>,
    StrictQuery(query): StrictQuery<PageQuery>,
) -> Result<Json<ReportJobPage>, ApiError> {
    let limit = page_limit(query.limit, 20)?;
    let account_id = account_id(&id)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let (jobs, next) = services
        .reports
        .jobs(&acting.owner, &account_id, limit as i32, after.as_deref())
        .await?;
    Ok(Json(ReportJobPage {
        jobs: jobs.into_iter().map(ReportJobView::of).collect(),
        next_cursor: next.map(|cursor| URL_SAFE_NO_PAD.encode(cursor)),
    }))
}
