//! Report schedules: written, read and removed through the users function;
//! the hourly run (the worker's scheduled entrypoint) asking for each due
//! schedule's jobs once, however often it is started.

use adsconnect_tests::*;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Value, json};

use super::{OTHER, USER, reporting_stack};

fn daily(preset: &str) -> Value {
    json!({"preset": preset})
}

fn schedules_path(account: &str) -> String {
    format!("/api/v1/accounts/{account}/report-schedules")
}

/// The account's jobs: (start date, end date) each, oldest range first.
async fn job_ranges(stack: &Stack, account: &str) -> Vec<(String, String)> {
    let page = stack
        .get(
            &format!("/api/v1/accounts/{account}/reports?limit=100"),
            USER,
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let mut ranges: Vec<(String, String)> = page.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            (
                job["start_date"].as_str().unwrap().to_owned(),
                job["end_date"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ranges.sort();
    ranges
}

#[tokio::test]
async fn a_schedule_is_created_read_listed_replaced_and_removed() {
    let (stack, account) = reporting_stack().await;
    let created = stack
        .write_schedule(
            USER,
            &account,
            "daily-campaigns",
            Some(&daily("sp_campaigns")),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["report"], "sp_campaigns");
    assert_eq!(created.body["repull_after_days"], json!([1, 7, 28]));
    assert_eq!(created.body["enabled"], true);
    assert_eq!(created.body["created_by"], USER);
    let next: DateTime<Utc> = created.body["next_run_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(next <= Utc::now() + Days::new(1), "it runs within a day");

    let replaced = stack
        .write_schedule(
            USER,
            &account,
            "daily-campaigns",
            Some(&json!({"preset": "sp_campaigns", "repull_after_days": [3, 1], "enabled": false})),
        )
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(replaced.body["repull_after_days"], json!([1, 3]));
    assert_eq!(replaced.body["enabled"], false);
    assert_eq!(replaced.body["created_at"], created.body["created_at"]);

    let read = stack
        .get(
            &format!("{}/daily-campaigns", schedules_path(&account)),
            USER,
        )
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, replaced.body);
    let listed = stack.get(&schedules_path(&account), USER).await;
    assert_eq!(listed.body["schedules"], json!([replaced.body]));

    let removed = stack
        .write_schedule(USER, &account, "daily-campaigns", None)
        .await;
    assert_eq!(removed.status, 204);
    let gone = stack
        .get(
            &format!("{}/daily-campaigns", schedules_path(&account)),
            USER,
        )
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["error"]["code"], "REPORT_SCHEDULE_NOT_FOUND");
    let again = stack
        .write_schedule(USER, &account, "daily-campaigns", None)
        .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn bad_schedules_are_refused_and_change_nothing() {
    let (stack, account) = reporting_stack().await;
    let refused = [
        ("Upper", json!({"preset": "sp_campaigns"}), 400),
        ("ok", json!({"preset": "sp_campaigns", "hourly": true}), 400),
        (
            "ok",
            json!({"preset": "sp_campaigns", "repull_after_days": [0]}),
            400,
        ),
        (
            "ok",
            json!({"preset": "sp_campaigns", "repull_after_days": [61]}),
            400,
        ),
        (
            "ok",
            json!({"preset": "sp_campaigns", "repull_after_days": [1, 2, 3, 4, 5, 6]}),
            400,
        ),
        ("ok", json!({"preset": "no_such_preset"}), 400),
        ("ok", json!({}), 400),
        ("ok", json!({"preset": "dsp_campaigns"}), 422),
    ];
    for (name, body, status) in refused {
        let answer = stack
            .write_schedule(USER, &account, name, Some(&body))
            .await;
        assert_eq!(answer.status, status, "{name} {body}: {:?}", answer.body);
        assert!(answer.body["error"]["code"].is_string());
    }
    let listed = stack.get(&schedules_path(&account), USER).await;
    assert_eq!(listed.body["schedules"], json!([]));
}

#[tokio::test]
async fn an_account_holds_twenty_schedules_at_most() {
    let (stack, account) = reporting_stack().await;
    for n in 0..20 {
        let answer = stack
            .write_schedule(
                USER,
                &account,
                &format!("s{n}"),
                Some(&daily("sp_campaigns")),
            )
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
    }
    let over = stack
        .write_schedule(USER, &account, "s20", Some(&daily("sp_campaigns")))
        .await;
    assert_eq!(over.status, 422);
    assert_eq!(over.body["error"]["code"], "REPORT_SCHEDULE_LIMIT");
    // Replacing one is no new schedule.
    let replaced = stack
        .write_schedule(USER, &account, "s0", Some(&daily("sp_ad_groups")))
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
}

#[tokio::test]
async fn another_owners_schedules_are_a_404() {
    let (stack, account) = reporting_stack().await;
    stack
        .write_schedule(USER, &account, "mine", Some(&daily("sp_campaigns")))
        .await;
    for answer in [
        stack.get(&schedules_path(&account), OTHER).await,
        stack
            .get(&format!("{}/mine", schedules_path(&account)), OTHER)
            .await,
        stack
            .write_schedule(OTHER, &account, "mine", Some(&daily("sp_campaigns")))
            .await,
        stack.write_schedule(OTHER, &account, "mine", None).await,
    ] {
        assert_eq!(answer.status, 404, "{:?}", answer.body);
        assert_eq!(answer.body["error"]["code"], "ACCOUNT_NOT_FOUND");
    }
    let mine = stack.get(&schedules_path(&account), USER).await;
    assert_eq!(mine.body["schedules"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_run_asks_for_yesterday_and_the_restated_days_once_and_the_jobs_complete() {
    let (stack, account) = reporting_stack().await;
    stack.amazon.set_report_polls_before_completion(0);
    stack
        .write_schedule(USER, &account, "daily", Some(&daily("sp_campaigns")))
        .await;
    // Tomorrow's run: surely due, whatever the time of day now.
    let run_at = Utc::now() + Days::new(1);
    let service = &stack.reports.reports;
    let (first, second) = tokio::join!(
        service.run_due_schedules(run_at, None),
        service.run_due_schedules(run_at, None),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        first.ran + second.ran,
        1,
        "one run took it: {first:?} {second:?}"
    );

    // Yesterday where the account keeps its time (its profile's zone):
    // within a day of the UTC date's.
    let ranges = job_ranges(&stack, &account).await;
    let yesterday: NaiveDate = ranges.last().unwrap().1.parse().unwrap();
    let utc_yesterday = run_at.date_naive() - Days::new(1);
    assert!(
        (yesterday - utc_yesterday).num_days().abs() <= 1,
        "{ranges:?}"
    );
    let day = |back: u64| (yesterday - Days::new(back)).to_string();
    assert_eq!(
        ranges,
        [(day(28), day(28)), (day(7), day(7)), (day(1), day(0)),],
        "yesterday with the day before in one report, and 7 and 28 days before it"
    );
    let schedule = stack
        .get(&format!("{}/daily", schedules_path(&account)), USER)
        .await
        .body;
    assert_eq!(schedule["last_job_ids"].as_array().unwrap().len(), 3);
    assert_eq!(schedule["last_error"], Value::Null);
    let next: DateTime<Utc> = schedule["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(next > run_at, "the next run is the next day's");

    // Started again the same hour: nothing is due.
    let again = service.run_due_schedules(run_at, None).await.unwrap();
    assert_eq!((again.due, again.ran), (0, 0));
    assert_eq!(job_ranges(&stack, &account).await.len(), 3);

    for job in schedule["last_job_ids"].as_array().unwrap() {
        let done = stack
            .run_report(
                USER,
                &account,
                job.as_str().unwrap(),
                std::time::Duration::from_secs(30),
            )
            .await;
        assert_eq!(done["status"], "completed", "{done:?}");
    }
    assert_eq!(
        stack.amazon.created_reports().len(),
        3,
        "three Amazon reports a day"
    );
}

#[tokio::test]
async fn a_disabled_schedule_does_not_run() {
    let (stack, account) = reporting_stack().await;
    stack
        .write_schedule(
            USER,
            &account,
            "paused",
            Some(&json!({"preset": "sp_campaigns", "enabled": false})),
        )
        .await;
    let run_at = Utc::now() + Days::new(1);
    let summary = stack
        .reports
        .reports
        .run_due_schedules(run_at, None)
        .await
        .unwrap();
    assert_eq!(summary.due, 0);
    assert!(job_ranges(&stack, &account).await.is_empty());
}

#[tokio::test]
async fn a_schedule_whose_account_was_removed_stops_and_says_why() {
    let (stack, account) = reporting_stack().await;
    stack
        .write_schedule(USER, &account, "orphan", Some(&daily("sp_campaigns")))
        .await;
    let removed = stack
        .send(
            &stack.users,
            &Request::new("DELETE", &format!("/api/v1/accounts/{account}")),
            Some(USER),
        )
        .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let run_at = Utc::now() + Days::new(1);
    let summary = stack
        .reports
        .reports
        .run_due_schedules(run_at, None)
        .await
        .unwrap();
    assert_eq!((summary.due, summary.failed), (1, 1));
    let again = stack
        .reports
        .reports
        .run_due_schedules(run_at + Days::new(1), None)
        .await
        .unwrap();
    assert_eq!(again.due, 0, "no longer run");
    assert!(stack.amazon.created_reports().is_empty());
}
