//! DSP reports through Amazon's current reporting (v3, `DEMAND_SIDE_PLATFORM`):
//! an advertiser reached through its agency's profile reports under the
//! agency's scope, a managed-service advertiser (linked to a manager
//! account, no agency profile) by `Amazon-Ads-AccountId` alone — never both
//! headers, as Amazon requires — each filtered to its own advertiser.

use std::time::Duration;

use adsconnect_dev::amazon_stub::{
    Login, agency_profile, dsp_advertisers, linked_dsp_advertiser, manager_account,
};
use adsconnect_tests::*;
use chrono::{Days, Utc};
use serde_json::{Value, json};

use super::USER;

const AGENCY: u64 = 8100;
const MANAGED: &str = "9900000001";

/// An agency with two advertisers under its NA profile, and a manager
/// account linking a managed-service advertiser.
fn dsp_login() -> Login {
    Login {
        dsp_advertisers: [(AGENCY.to_string(), dsp_advertisers(AGENCY, 2))]
            .into_iter()
            .collect(),
        manager_accounts: [(
            "na",
            vec![manager_account(
                "amzn1.ads1.ma1.dsp",
                "DSP Manager",
                vec![linked_dsp_advertiser(
                    MANAGED,
                    "ENTITYMANAGED1",
                    "ATVPDKIKX0DER",
                    "ADMIN",
                )],
            )],
        )]
        .into_iter()
        .collect(),
        ..amazon_login(
            json!({"user_id": "amzn1.account.DSP", "name": "DSP", "email": "dsp@example.com"}),
            vec![(
                "na",
                vec![agency_profile(AGENCY, "US", "ATVPDKIKX0DER", "Agency US")],
            )],
            vec![],
        )
    }
}

/// `USER` connected [`dsp_login`]: the DSP advertiser accounts by
/// advertiser id.
async fn dsp_stack() -> (Stack, Vec<Value>) {
    let stack = Stack::with_user(USER, "dsp@example.com").await;
    stack.amazon.add_login("dsp", dsp_login());
    stack.amazon.require_complete_report_requests(true);
    stack.connected(USER, "dsp").await;
    let accounts = stack
        .get("/api/v1/accounts?kind=dsp_advertiser&limit=100", USER)
        .await
        .body["accounts"]
        .as_array()
        .unwrap()
        .clone();
    stack.amazon.forget_ads_calls();
    (stack, accounts)
}

fn account_of<'a>(accounts: &'a [Value], advertiser: &str) -> &'a str {
    accounts
        .iter()
        .find(|a| a["advertiser_id"] == advertiser)
        .unwrap_or_else(|| panic!("no advertiser {advertiser}: {accounts:?}"))["account_id"]
        .as_str()
        .unwrap()
}

fn yesterday() -> String {
    (Utc::now().date_naive() - Days::new(1)).to_string()
}

#[tokio::test]
async fn agency_and_managed_service_advertisers_report_through_v3_with_one_account_header() {
    let (stack, accounts) = dsp_stack().await;
    let agency_advertiser = first_advertiser(AGENCY);
    for advertiser in [agency_advertiser.as_str(), MANAGED] {
        let account = account_of(&accounts, advertiser);
        let body =
            json!({"preset": "dsp_campaigns", "start_date": yesterday(), "end_date": yesterday()});
        let asked = stack.request_report(USER, account, &body).await;
        assert_eq!(asked.status, 202, "{:?}", asked.body);
        let job = asked.body["job_id"].as_str().unwrap().to_owned();
        let done = stack
            .run_report(USER, account, &job, Duration::from_secs(30))
            .await;
        assert_eq!(done["status"], "completed", "{advertiser}: {done:?}");
        assert_eq!(done["rows"], 3);

        let create = stack
            .amazon
            .ads_calls_to("/reporting/reports")
            .pop()
            .unwrap();
        let scope = create.header("amazon-advertising-api-scope");
        let account_header = create.header("amazon-ads-accountid");
        if advertiser == MANAGED {
            assert_eq!((scope, account_header), (None, Some(MANAGED)));
        } else {
            assert_eq!(
                (scope, account_header),
                (Some(AGENCY.to_string().as_str()), None)
            );
        }
        let created = stack.amazon.created_reports().pop().unwrap();
        assert_eq!(
            created.request_body["configuration"]["filters"],
            json!([{"field": "advertiserId", "values": [advertiser]}])
        );
        assert_eq!(
            created.request_body["configuration"]["adProduct"],
            "DEMAND_SIDE_PLATFORM"
        );
        // DSP ids above 2^53 arrive exactly in our copy.
        let url = done["files"][0]["url"].as_str().unwrap();
        let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        let row: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert!(row["orderId"].as_u64().unwrap() > 1 << 53, "{row}");
    }
}

#[tokio::test]
async fn sponsored_ads_presets_are_refused_for_a_dsp_advertiser() {
    let (stack, accounts) = dsp_stack().await;
    let account = account_of(&accounts, MANAGED);
    let body =
        json!({"preset": "sp_campaigns", "start_date": yesterday(), "end_date": yesterday()});
    let answer = stack.request_report(USER, account, &body).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (422, "PRESET_NOT_FOR_ACCOUNT")
    );
}
