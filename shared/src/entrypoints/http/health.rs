//! `GET /api/v1/health`: public, cheap enough to poll every minute, and
//! true: one bounded read of the table, which also brings the token
//! refresher's last run (each run records itself). `ok` (200) when the table
//! answers and a run succeeded within three schedule intervals; otherwise
//! `degraded` (503) naming the failing check. Never cached; never an
//! internal detail (no table name, endpoint or error text).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::UsersServices;
use crate::model::service::{RefresherRuns, RunCounts};

/// The table read is given this long; a table slower than that is not healthy.
const TABLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Missed schedule intervals before the refresher counts as stale.
const STALE_AFTER_INTERVALS: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    /// The table did not answer (in time).
    Unavailable,
    /// No successful run for three schedule intervals.
    Stale,
    /// No run recorded yet (a new stack): not a failure.
    NotRunYet,
    /// The table did not answer, so the refresher's state is unknown.
    Unknown,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefresherCheck {
    pub status: CheckStatus,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last run's counts.
    pub last_run: Option<RunCounts>,
    /// How often the schedule starts a run, in seconds.
    pub schedule_interval_seconds: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Checks {
    pub table: CheckStatus,
    pub refresher: RefresherCheck,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok` or `degraded`.
    pub status: &'static str,
    pub version: &'static str,
    pub checks: Checks,
}

/// The verdict on what the read found (`None`: the table did not answer).
pub fn assess(
    read: Option<Option<RefresherRuns>>,
    interval: chrono::Duration,
    now: DateTime<Utc>,
) -> HealthReport {
    let schedule_interval_seconds = interval.num_seconds();
    let (table, refresher) = match read {
        None => (
            CheckStatus::Unavailable,
            RefresherCheck {
                status: CheckStatus::Unknown,
                last_run_at: None,
                last_success_at: None,
                last_run: None,
                schedule_interval_seconds,
            },
        ),
        Some(runs) => {
            let status = match &runs {
                None => CheckStatus::NotRunYet,
                Some(runs) => match runs.last_success_at {
                    Some(at) if now - at <= interval * STALE_AFTER_INTERVALS => CheckStatus::Ok,
                    _ => CheckStatus::Stale,
                },
            };
            (
                CheckStatus::Ok,
                RefresherCheck {
                    status,
                    last_run_at: runs.as_ref().map(|r| r.last_run_at),
                    last_success_at: runs.as_ref().and_then(|r| r.last_success_at),
                    last_run: runs.map(|r| r.last_run),
                    schedule_interval_seconds,
                },
            )
        }
    };
    let healthy = table == CheckStatus::Ok
        && matches!(refresher.status, CheckStatus::Ok | CheckStatus::NotRunYet);
    HealthReport {
        status: if healthy { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        checks: Checks { table, refresher },
    }
}

/// Service health
///
/// Whether the table answers and the token refresher ran recently; no session
/// needed.
#[utoipa::path(get, path = "/api/v1/health", tag = "service", responses((status = 200, description = "Every check passed", body = HealthReport), (status = 503, description = "Degraded: `checks` says which", body = HealthReport)), security())]
pub async fn health(State(services): State<UsersServices>) -> Response {
    let read = tokio::time::timeout(TABLE_TIMEOUT, services.store.service().refresher_runs()).await;
    let read = match read {
        Ok(Ok(runs)) => Some(runs),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "health: the table did not answer");
            None
        }
        Err(_) => {
            tracing::warn!("health: the table did not answer in time");
            None
        }
    };
    let interval = services.manage.refresher.config.schedule_interval;
    let health = assess(read, interval, Utc::now());
    let status = if health.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, Json(health)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(success_minutes_ago: Option<i64>, now: DateTime<Utc>) -> RefresherRuns {
        RefresherRuns {
            last_run_at: now - chrono::Duration::minutes(1),
            last_success_at: success_minutes_ago.map(|m| now - chrono::Duration::minutes(m)),
            last_run: RunCounts::default(),
        }
    }

    #[test]
    fn the_verdict_names_the_failing_check() {
        let now = Utc::now();
        let every = chrono::Duration::minutes(5);
        let fresh = assess(Some(Some(runs(Some(14), now))), every, now);
        assert_eq!(
            (fresh.status, fresh.checks.refresher.status),
            ("ok", CheckStatus::Ok)
        );
        let stale = assess(Some(Some(runs(Some(16), now))), every, now);
        assert_eq!(
            (stale.status, stale.checks.refresher.status),
            ("degraded", CheckStatus::Stale)
        );
        let never_succeeded = assess(Some(Some(runs(None, now))), every, now);
        assert_eq!(never_succeeded.checks.refresher.status, CheckStatus::Stale);
        let new_stack = assess(Some(None), every, now);
        assert_eq!(
            (new_stack.status, new_stack.checks.refresher.status),
            ("ok", CheckStatus::NotRunYet)
        );
        let down = assess(None, every, now);
        assert_eq!(
            (down.status, down.checks.table, down.checks.refresher.status),
            ("degraded", CheckStatus::Unavailable, CheckStatus::Unknown)
        );
    }
}
