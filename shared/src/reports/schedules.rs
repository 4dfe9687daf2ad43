//! Report schedules: an account's report pulled every morning for the day
//! before, and each day pulled again `repull_after_days` after its first
//! pull (Amazon restates conversions for weeks). The hourly run
//! ([`ReportService::run_due_schedules`]) asks for each due schedule's
//! jobs as its creator would: the same checks, the same idempotency (a
//! run taken twice joins the jobs still running).

use chrono::{DateTime, Days, NaiveDate, NaiveTime, SubsecRound as _, TimeZone, Utc};
use serde_json::Value;

use super::requesting::{ReportRequest, today_for};
use super::spec::{Spec, SpecError};
use super::{ReportError, ReportService};
use crate::ids::{AccountId, OwnerId, ReportJobId};
use crate::model::acting::Acting;
use crate::model::schedule::{DEFAULT_REPULLS, ReportSchedule};
use crate::store::schedules::DueSchedule;

/// An account's schedules at most: each makes a few Amazon reports a day,
/// and Amazon asks for "1–2 report requests, per advertiser, per day, for
/// each report type".
pub const SCHEDULES_PER_ACCOUNT: usize = 20;
/// Re-pulls per day at most, and how late the latest may be (Amazon keeps
/// Sponsored Ads report data for 60–95 days).
const MOST_REPULLS: usize = 5;
const LATEST_REPULL_DAYS: u16 = 60;
/// When a schedule runs, in the account's time zone: Amazon has the day
/// before's clicks by then (within 12 h) and most of its conversions.
const RUN_TIME: NaiveTime = NaiveTime::from_hms_opt(6, 0, 0).expect("a valid time");
/// How long a run holds a schedule; a run that dies gives it back then.
const RUN_LEASE: chrono::Duration = chrono::Duration::minutes(15);
/// Schedules run at once: each run is a dozen table and queue calls, so
/// an hourly invocation gets through tens of thousands.
const SCHEDULES_AT_ONCE: usize = 8;

/// A schedule as the caller writes it.
#[derive(Debug, Clone)]
pub struct ScheduleRequest {
    pub preset: Option<String>,
    pub configuration: Option<Value>,
    pub repull_after_days: Option<Vec<u16>>,
    pub enabled: Option<bool>,
}

/// What an hourly run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleRunSummary {
    pub due: usize,
    /// Runs that asked for every job.
    pub ran: usize,
    /// Runs that could not ask for some job, or not save their outcome
    /// (those are taken again once their lease ends).
    pub failed: usize,
}

/// Whether `name` can name a schedule (it is a path segment and a key).
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn checked_repulls(days: Option<Vec<u16>>) -> Result<Vec<u16>, SpecError> {
    let Some(mut days) = days else {
        return Ok(DEFAULT_REPULLS.to_vec());
    };
    days.sort_unstable();
    days.dedup();
    if days.len() > MOST_REPULLS || days.iter().any(|d| !(1..=LATEST_REPULL_DAYS).contains(d)) {
        return Err(SpecError::Invalid(
            "repull_after_days",
            format!("at most {MOST_REPULLS} distinct days, each from 1 to {LATEST_REPULL_DAYS}"),
        ));
    }
    Ok(days)
}

/// The first moment on `day` that a schedule may run, in `timezone`.
fn run_time_on(day: NaiveDate, timezone: Option<&str>) -> DateTime<Utc> {
    let local = day.and_time(RUN_TIME);
    match timezone.and_then(|tz| tz.parse::<chrono_tz::Tz>().ok()) {
        // A clock change at 06:00 (none in use today) is taken at its
        // earliest reading, or an hour later if the time was skipped.
        Some(tz) => tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc)),
        None => local.and_utc(),
    }
}

/// The days a run on `today` pulls, as ranges of consecutive days (fewer
/// Amazon reports): yesterday, and each re-pull's day before it.
fn pulled_ranges(today: NaiveDate, repulls: &[u16]) -> Vec<(NaiveDate, NaiveDate)> {
    let yesterday = today - Days::new(1);
    let mut days: Vec<NaiveDate> = std::iter::once(yesterday)
        .chain(repulls.iter().map(|d| yesterday - Days::new(u64::from(*d))))
        .collect();
    days.sort_unstable();
    days.dedup();
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for day in days {
        match ranges.last_mut() {
            Some((_, end)) if *end + Days::new(1) == day => *end = day,
            _ => ranges.push((day, day)),
        }
    }
    ranges
}

impl ReportService {
    /// An account's schedules (none for an account that is not the
    /// owner's: a 404).
    pub async fn schedules(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
    ) -> Result<Vec<ReportSchedule>, ReportError> {
        self.owned_account(owner, account_id).await?;
        Ok(self.store.schedules().list(owner, account_id).await?)
    }

    pub async fn schedule(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        name: &str,
    ) -> Result<ReportSchedule, ReportError> {
        self.owned_account(owner, account_id).await?;
        self.store
            .schedules()
            .get(owner, account_id, name)
            .await?
            .ok_or(ReportError::ScheduleNotFound)
    }

    /// Creates or replaces a schedule; `true` if it is new. Its first run
    /// is today's if today's run time has passed (within the hour), else
    /// at the run time.
    pub async fn put_schedule(
        &self,
        acting: &Acting,
        account_id: &AccountId,
        name: &str,
        request: ScheduleRequest,
    ) -> Result<(ReportSchedule, bool), ReportError> {
        if !valid_name(name) {
            return Err(
                SpecError::Invalid("name", "1 to 64 of a-z, 0-9, '-' and '_'".into()).into(),
            );
        }
        let account = self.owned_account(&acting.owner, account_id).await?;
        let repulls = checked_repulls(request.repull_after_days)?;
        // As stored: the answer reads as a later GET does.
        let now = Utc::now().trunc_subsecs(3);
        let today = today_for(account.timezone.as_deref(), now);
        // What the first run will ask for, checked now.
        let earliest = pulled_ranges(today, &repulls)[0].0;
        let spec = Spec::resolve(
            &account,
            request.preset.as_deref(),
            request.configuration.clone(),
            (earliest, today - Days::new(1)),
            today,
        )?;
        let existing = self
            .store
            .schedules()
            .list(&acting.owner, account_id)
            .await?;
        let previous = existing.iter().find(|s| s.name == name);
        if previous.is_none() && existing.len() >= SCHEDULES_PER_ACCOUNT {
            return Err(ReportError::ScheduleLimit);
        }
        let enabled = request.enabled.unwrap_or(true);
        let first_run = run_time_on(today, account.timezone.as_deref()).max(now);
        let schedule = ReportSchedule {
            name: name.to_owned(),
            account_id: account_id.clone(),
            preset: request.preset,
            configuration: request.configuration,
            report: spec.report,
            repull_after_days: repulls,
            enabled,
            created_by: previous.map_or_else(|| acting.user_id.clone(), |p| p.created_by.clone()),
            created_at: previous.map_or(now, |p| p.created_at),
            updated_at: now,
            // A schedule that stays enabled keeps its place.
            next_run_at: match previous {
                Some(p) if p.enabled && enabled => p.next_run_at,
                _ => first_run,
            },
            last_run_at: previous.and_then(|p| p.last_run_at),
            last_job_ids: previous.map(|p| p.last_job_ids.clone()).unwrap_or_default(),
            last_error: previous.and_then(|p| p.last_error.clone()),
        };
        self.store.schedules().put(&acting.owner, &schedule).await?;
        Ok((schedule, previous.is_none()))
    }

    pub async fn delete_schedule(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
        name: &str,
    ) -> Result<(), ReportError> {
        self.owned_account(owner, account_id).await?;
        match self
            .store
            .schedules()
            .delete(owner, account_id, name)
            .await?
        {
            true => Ok(()),
            false => Err(ReportError::ScheduleNotFound),
        }
    }

    /// Runs every schedule due at `now`, a few at a time, claiming none
    /// after `stop_claiming` (the invocation's deadline draws near; the
    /// rest stay due for the next hourly run). Each asks for its day's jobs
    /// and moves to its next run; one whose jobs could not be asked for
    /// (its account gone, the table or queue failing) records why.
    pub async fn run_due_schedules(
        &self,
        now: DateTime<Utc>,
        stop_claiming: Option<std::time::Instant>,
    ) -> Result<ScheduleRunSummary, ReportError> {
        use futures::StreamExt as _;
        let due = self.store.schedules().due(now).await?;
        let mut summary = ScheduleRunSummary {
            due: due.len(),
            ..Default::default()
        };
        let lease_until = now + RUN_LEASE;
        let outcomes: Vec<Result<Option<bool>, ReportError>> = futures::stream::iter(due)
            .map(|due| self.run_claimed(due, now, lease_until, stop_claiming))
            .buffer_unordered(SCHEDULES_AT_ONCE)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Ok(Some(true)) => summary.ran += 1,
                Ok(Some(false)) | Err(_) => summary.failed += 1,
                Ok(None) => {}
            }
        }
        Ok(summary)
    }

    /// Claims and runs `due`: `None` if it was not taken, else whether its
    /// run asked for every job.
    async fn run_claimed(
        &self,
        due: DueSchedule,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        stop_claiming: Option<std::time::Instant>,
    ) -> Result<Option<bool>, ReportError> {
        if stop_claiming.is_some_and(|stop| std::time::Instant::now() >= stop) {
            return Ok(None);
        }
        let Some(schedule) = self.store.schedules().claim(&due, lease_until).await? else {
            return Ok(None);
        };
        let ran = self.run(&due.owner, schedule, now).await;
        self.store
            .schedules()
            .finish(&due.owner, &ran, lease_until)
            .await?;
        Ok(Some(ran.last_error.is_none()))
    }

    /// One run of `schedule`: its jobs asked for; the schedule as it is to
    /// be saved.
    async fn run(
        &self,
        owner: &OwnerId,
        mut schedule: ReportSchedule,
        now: DateTime<Utc>,
    ) -> ReportSchedule {
        let account = match self.store.accounts().get(owner, &schedule.account_id).await {
            Ok(Some(account)) => account,
            // Removed (or its owner erased): the schedule stops, and says why.
            Ok(None) => {
                schedule.enabled = false;
                schedule.last_run_at = Some(now);
                schedule.last_job_ids = Vec::new();
                schedule.last_error = Some(ReportError::AccountNotFound.code().to_owned());
                return schedule;
            }
            Err(error) => {
                tracing::warn!(error = %error, "a schedule's account could not be read");
                schedule.last_error = Some("UNAVAILABLE".into());
                // Taken again by the next hourly run, when the lease ends.
                schedule.next_run_at = now + RUN_LEASE;
                return schedule;
            }
        };
        let timezone = account.timezone.as_deref();
        let today = today_for(timezone, now);
        let acting = Acting {
            owner: owner.clone(),
            user_id: schedule.created_by.clone(),
        };
        let mut job_ids: Vec<ReportJobId> = Vec::new();
        let mut error = None;
        for (start_date, end_date) in pulled_ranges(today, &schedule.repull_after_days) {
            let request = ReportRequest {
                preset: schedule.preset.clone(),
                configuration: schedule.configuration.clone(),
                start_date,
                end_date,
            };
            match self.request_for(&acting, &account, request).await {
                Ok(requested) => job_ids.push(requested.job.job_id),
                Err(failure) => {
                    tracing::warn!(schedule = %schedule.name, error = %failure, "a scheduled report was not requested");
                    error = Some(failure.code());
                }
            }
        }
        schedule.last_run_at = Some(now);
        schedule.last_job_ids = job_ids;
        schedule.last_error = error.map(str::to_owned);
        schedule.next_run_at = run_time_on(today + Days::new(1), timezone);
        schedule
    }

    async fn owned_account(
        &self,
        owner: &OwnerId,
        account_id: &AccountId,
    ) -> Result<crate::model::account::AccountRecord, ReportError> {
        self.store
            .accounts()
            .get(owner, account_id)
            .await?
            .ok_or(ReportError::AccountNotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_run_pulls_yesterday_and_each_repulled_day_joining_neighbours() {
        let ranges = pulled_ranges(day("2026-03-30"), &[1, 7, 28]);
        assert_eq!(
            ranges,
            [
                (day("2026-03-01"), day("2026-03-01")),
                (day("2026-03-22"), day("2026-03-22")),
                (day("2026-03-28"), day("2026-03-29")),
            ]
        );
    }

    #[test]
    fn the_run_time_is_six_in_the_morning_where_the_account_is() {
        let winter = run_time_on(day("2026-01-15"), Some("America/Los_Angeles"));
        assert_eq!(winter.to_rfc3339(), "2026-01-15T14:00:00+00:00");
        let summer = run_time_on(day("2026-07-15"), Some("America/Los_Angeles"));
        assert_eq!(summer.to_rfc3339(), "2026-07-15T13:00:00+00:00");
        assert_eq!(
            run_time_on(day("2026-07-15"), None).to_rfc3339(),
            "2026-07-15T06:00:00+00:00"
        );
    }

    #[test]
    fn repulls_are_checked_sorted_and_default_to_amazons_restatements() {
        assert_eq!(checked_repulls(None).unwrap(), [1, 7, 28]);
        assert_eq!(checked_repulls(Some(vec![7, 3, 7])).unwrap(), [3, 7]);
        assert!(checked_repulls(Some(vec![0])).is_err());
        assert!(checked_repulls(Some(vec![61])).is_err());
        assert!(checked_repulls(Some(vec![1, 2, 3, 4, 5, 6])).is_err());
        assert!(valid_name("daily-sp_1") && !valid_name("Daily") && !valid_name(""));
    }
}
