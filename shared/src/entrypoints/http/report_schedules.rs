//! Report schedules of the caller's accounts: each pulls its report every
//! morning for the day before, and pulls each day again later (Amazon
//! restates it). Written by name (`PUT` creates or replaces), read, listed
//! and removed; another owner's account is a 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::UsersServices;
use super::{ApiError, ErrorResponse, Permitted, StrictJson, ToRead, ToUse};
use crate::ids::{AccountId, ReportJobId, UserId};
use crate::model::schedule::ReportSchedule;
use crate::reports::ReportError;
use crate::reports::schedules::ScheduleRequest;

pub fn routes() -> Router<UsersServices> {
    Router::new()
        .route(
            "/api/v1/accounts/{id}/report-schedules",
            get(list_schedules),
        )
        .route(
            "/api/v1/accounts/{id}/report-schedules/{name}",
            get(get_schedule).put(put_schedule).delete(delete_schedule),
        )
}

/// A schedule to write: a preset or Amazon's configuration, as a report
/// request names it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// A preset's name (as `POST …/reports` takes it).
    pub preset: Option<String>,
    /// Amazon's reporting v3 `configuration`, instead of a preset.
    #[schema(value_type = Option<Object>)]
    pub configuration: Option<Value>,
    /// Days after a day's first pull that it is pulled again: 1 to 60, at
    /// most 5 (default `[1, 7, 28]`, when Amazon restates conversions).
    pub repull_after_days: Option<Vec<u16>>,
    /// Default `true`; a disabled schedule keeps its definition and does
    /// not run.
    pub enabled: Option<bool>,
}

/// A report schedule.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    pub name: String,
    pub account_id: AccountId,
    pub preset: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub configuration: Option<Value>,
    /// The report's folder: the preset's name, or `custom-<hash>`.
    pub report: String,
    pub repull_after_days: Vec<u16>,
    pub enabled: bool,
    /// When it next runs (06:00 in the account's time zone, or within the
    /// hour when that has passed).
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// The jobs its last run asked for (they are in the account's report
    /// history).
    pub last_job_ids: Vec<ReportJobId>,
    /// Why the last run could not ask for a job, as an error code.
    pub last_error: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ReportSchedule> for ScheduleView {
    fn from(schedule: ReportSchedule) -> Self {
        Self {
            name: schedule.name,
            account_id: schedule.account_id,
            preset: schedule.preset,
            configuration: schedule.configuration,
            report: schedule.report,
            repull_after_days: schedule.repull_after_days,
            enabled: schedule.enabled,
            next_run_at: schedule.next_run_at,
            last_run_at: schedule.last_run_at,
            last_job_ids: schedule.last_job_ids,
            last_error: schedule.last_error,
            created_by: schedule.created_by,
            created_at: schedule.created_at,
            updated_at: schedule.updated_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScheduleList {
    /// By name; at most 20.
    pub schedules: Vec<ScheduleView>,
}

fn account_id(id: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(id).map_err(|_| ReportError::AccountNotFound.into())
}

/// An account's report schedules
#[utoipa::path(get, path = "/api/v1/accounts/{id}/report-schedules", tag = "reports", params(("id" = String, Path, description = "An account id")), responses((status = 200, body = ScheduleList), (status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 404, description = "Not found or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn list_schedules(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path(id): Path<String>,
) -> Result<Json<ScheduleList>, ApiError> {
    let schedules = services
        .reports
        .schedules(&acting.owner, &account_id(&id)?)
        .await?;
    Ok(Json(ScheduleList {
        schedules: schedules.into_iter().map(ScheduleView::from).collect(),
    }))
}

/// A report schedule
#[utoipa::path(get, path = "/api/v1/accounts/{id}/report-schedules/{name}", tag = "reports", params(("id" = String, Path, description = "An account id"), ("name" = String, Path, description = "The schedule's name")), responses((status = 200, body = ScheduleView), (status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 404, description = "Not found or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn get_schedule(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Json<ScheduleView>, ApiError> {
    let schedule = services
        .reports
        .schedule(&acting.owner, &account_id(&id)?, &name)
        .await?;
    Ok(Json(schedule.into()))
}

/// Create or replace a report schedule
///
/// Every morning (06:00 in the account's time zone) the schedule asks for
/// the day before, and again for the days `repull_after_days` before that;
/// each pull is kept as a new version of the day's file. A new schedule
/// whose run time today has passed runs within the hour.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/report-schedules/{name}", tag = "reports", params(("id" = String, Path, description = "A sponsored_ads or dsp_advertiser account id"), ("name" = String, Path, description = "1 to 64 of a-z, 0-9, '-' and '_'")), request_body = ScheduleBody, responses((status = 200, description = "Replaced", body = ScheduleView), (status = 201, description = "Created", body = ScheduleView), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `use`", body = ErrorResponse), (status = 404, description = "Not found or not the caller's", body = ErrorResponse), (status = 413, description = "Body too large", body = ErrorResponse), (status = 415, description = "Not JSON", body = ErrorResponse), (status = 422, description = "Not possible for this account (`PRESET_NOT_FOR_ACCOUNT`, `REPORTS_NOT_FOR_ACCOUNT`, `ADVERTISER_MISMATCH`, `RANGE_BEYOND_RETENTION`), or `REPORT_SCHEDULE_LIMIT` (20 per account)", body = ErrorResponse), (status = 429, description = "Over the caller's quota of writes", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn put_schedule(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToUse>,
    Path((id, name)): Path<(String, String)>,
    StrictJson(body): StrictJson<ScheduleBody>,
) -> Result<(StatusCode, Json<ScheduleView>), ApiError> {
    let (schedule, created) = services
        .reports
        .put_schedule(
            &acting,
            &account_id(&id)?,
            &name,
            ScheduleRequest {
                preset: body.preset,
                configuration: body.configuration,
                repull_after_days: body.repull_after_days,
                enabled: body.enabled,
            },
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(schedule.into())))
}

/// Remove a report schedule
///
/// Jobs it already asked for run on.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/report-schedules/{name}", tag = "reports", params(("id" = String, Path, description = "An account id"), ("name" = String, Path, description = "The schedule's name")), responses((status = 204, description = "Removed"), (status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `use`", body = ErrorResponse), (status = 404, description = "Not found or not the caller's", body = ErrorResponse), (status = 429, description = "Over the caller's quota of writes", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn delete_schedule(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToUse>,
    Path((id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    services
        .reports
        .delete_schedule(&acting.owner, &account_id(&id)?, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
