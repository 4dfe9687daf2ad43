//! Accounts of every kind: an agency login brings its Ads profiles, the DSP
//! advertisers under its agency profiles and its AMC instances, every page
//! of each; a login without DSP or AMC access has none of that kind; a kind
//! that fails or runs out of time leaves the others intact, warns, and is
//! finished by a later sync.

use std::time::Duration;

use adsconnect::budget::timeouts::USERS;
use adsconnect_tests::proxy::Fault;
use wiremock::ResponseTemplate;

use super::*;

const AGENCY_USER: &str = "user_2agency";

/// An agency's hundreds of accounts keep the single-threaded moto busy for
/// seconds at a time: two such tests side by side push each other's calls
/// past the SDK's attempt timeout, so they take turns.
static AGENCY_SCALE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every page of `user`'s accounts of `kind`, whatever their status (by
/// default the list hides disabled ones).
pub(super) async fn accounts_of(stack: &Stack, user: &str, kind: &str) -> Vec<Value> {
    let mut accounts = Vec::new();
    for status in ["active", "partial", "pending", "disabled"] {
        accounts.extend(pages_of(stack, user, &format!("kind={kind}&status={status}")).await);
    }
    accounts
}

async fn pages_of(stack: &Stack, user: &str, filter: &str) -> Vec<Value> {
    let mut accounts = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/v1/accounts?{filter}&limit=100{cursor}");
        let page = stack.get(&path, user).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        accounts.extend(page.body["accounts"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return accounts,
        }
    }
}

fn ids(accounts: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = accounts
        .iter()
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// Makes the next manual sync of `user`'s connection allowed at once (as a
/// minute passing would).
async fn age_sync_slot(stack: &Stack, user: &str, connection: &str) {
    stack
        .set_number(
            &format!("USER#{user}"),
            &format!("CONN#{connection}"),
            "sync_requested_at",
            0,
        )
        .await;
}

async fn sync(stack: &Stack, user: &str, connection: &str) -> Response {
    stack
        .send(&stack.users, &sync_request(connection), Some(user))
        .await
}

#[tokio::test]
async fn an_agency_login_brings_every_kind_every_page_and_stable_ids() {
    let _turn = AGENCY_SCALE.lock().await;
    let stack = stack_with_user(AGENCY_USER).await;
    stack.amazon.add_login("agency", agency_login());
    let (connection, _) = stack.connected(AGENCY_USER, "agency").await;

    let sponsored = accounts_of(&stack, AGENCY_USER, "sponsored_ads").await;
    let dsp = accounts_of(&stack, AGENCY_USER, "dsp_advertiser").await;
    let amc = accounts_of(&stack, AGENCY_USER, "amc_instance").await;
    assert_eq!((sponsored.len(), dsp.len(), amc.len()), (3, 233, 23));
    // Three pages under the NA agency (100, 100, 30), one under the EU one;
    // 23 instances in three pages of the stand-in's 10 for the account with
    // AMC's terms accepted, one refused call for the other.
    let calls = stack.amazon.ads_calls();
    let count = |path: &str| calls.iter().filter(|c| c.path == path).count();
    assert_eq!(count("/na/dsp/advertisers"), 3);
    assert_eq!(count("/eu/dsp/advertisers"), 1);
    assert_eq!(count("/na/amc/instances"), 4);
    let instance_calls: Vec<_> = calls
        .iter()
        .filter(|c| c.path == "/na/amc/instances")
        .collect();
    assert!(instance_calls.iter().all(|c| {
        c.header("amazon-advertising-api-marketplaceid") == Some("ATVPDKIKX0DER")
            && c.query.as_deref().is_some_and(|q| q.contains("limit=100"))
    }));

    let advertiser = dsp
        .iter()
        .find(|a| a["advertiser_id"] == first_advertiser(AGENCY_NA))
        .unwrap();
    assert_eq!(advertiser["kind"], "dsp_advertiser");
    assert_eq!(advertiser["profile_id"], AGENCY_NA.to_string());
    assert_eq!(advertiser["region"], "na");
    assert_eq!(advertiser["marketplace_name"], "Amazon.com");
    assert_eq!(advertiser["currency_code"], "USD");
    assert_eq!(advertiser["timezone"], "America/New_York");
    assert_eq!(advertiser["status"], "active");
    let german = dsp
        .iter()
        .find(|a| a["advertiser_id"] == first_advertiser(AGENCY_EU))
        .unwrap();
    assert_eq!(
        (&german["region"], &german["marketplace_name"]),
        (&json!("eu"), &json!("Amazon.de"))
    );

    let instance = |id: &str| amc.iter().find(|a| a["instance_id"] == id).unwrap();
    for (id, creation, status) in [
        ("amcr1inst000", "SUCCEEDED", "active"),
        ("amcr1inst001", "COMPLETED", "active"),
        ("amcr1inst002", "IN_PROGRESS", "pending"),
        ("amcr1inst003", "REQUESTED", "pending"),
        ("amcr1inst004", "FAILED", "disabled"),
    ] {
        let found = instance(id);
        assert_eq!(
            (&found["source_status"], &found["status"]),
            (&json!(creation), &json!(status)),
            "{id}"
        );
        assert_eq!(found["amc_account_id"], AMC_ACCOUNT);
        assert_eq!(found["marketplace_id"], "ATVPDKIKX0DER");
        assert_eq!(found["instance_type"], "STANDARD");
        assert_eq!(found["profile_id"], Value::Null);
    }
    let seller = sponsored
        .iter()
        .find(|a| a["profile_id"] == "8001")
        .unwrap();
    assert_eq!(seller["marketplace_name"], "Amazon.com");

    // Counts per kind everywhere a dashboard reads them.
    let by_kind = json!({"sponsored_ads": 3, "dsp_advertiser": 233, "amc_instance": 23});
    let full = stack.get("/api/v1/users/me/full", AGENCY_USER).await.body;
    assert_eq!(full["stats"]["by_kind"], by_kind, "{}", full["stats"]);
    assert_eq!(full["stats"]["total_accounts"], 259);
    let health = stack.get("/api/v1/accounts/health", AGENCY_USER).await.body;
    assert_eq!(health["by_kind"], by_kind);
    // The list hides the 4 disabled (FAILED) instances unless asked.
    let page = stack
        .get("/api/v1/accounts?kind=amc_instance&limit=5", AGENCY_USER)
        .await
        .body;
    let listed = json!({"sponsored_ads": 3, "dsp_advertiser": 233, "amc_instance": 19});
    assert_eq!(
        (page["total"].clone(), page["by_kind"].clone()),
        (json!(19), listed)
    );
    assert_eq!(page["accounts"].as_array().unwrap().len(), 5);
    assert_eq!(
        pages_of(&stack, AGENCY_USER, "kind=amc_instance")
            .await
            .len(),
        19
    );
    let bad = stack.get("/api/v1/accounts?kind=dsp", AGENCY_USER).await;
    assert_eq!(bad.status, 400);
    let connection_view = &full["connections"][0];
    assert_eq!(
        connection_view["sync_warnings"],
        json!([]),
        "no access is no failure"
    );
    assert_eq!(connection_view["account_count"], 259);

    // Reconnecting the same login keeps every account id, of every kind.
    let before = [ids(&sponsored), ids(&dsp), ids(&amc)];
    let gone = stack
        .send(
            &stack.users,
            &Request::new("DELETE", &format!("/api/v1/connections/{connection}")),
            Some(AGENCY_USER),
        )
        .await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    stack.connected(AGENCY_USER, "agency").await;
    let after = [
        ids(&accounts_of(&stack, AGENCY_USER, "sponsored_ads").await),
        ids(&accounts_of(&stack, AGENCY_USER, "dsp_advertiser").await),
        ids(&accounts_of(&stack, AGENCY_USER, "amc_instance").await),
    ];
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_login_without_dsp_or_amc_access_has_none_of_them_and_no_warning() {
    let stack = stack_with_user(USER).await;
    // Its FE agency profile has no DSP access (403); it has no AMC (401).
    stack.amazon.add_login("busy", busy_login());
    stack.connected(USER, "busy").await;
    let full = stack.get("/api/v1/users/me/full", USER).await.body;
    assert_eq!(
        full["stats"]["by_kind"],
        json!({"sponsored_ads": 4, "dsp_advertiser": 0, "amc_instance": 0})
    );
    assert_eq!(full["connections"][0]["sync_warnings"], json!([]));
    assert_eq!(full["connections"][0]["health"], "healthy");
    let calls = stack.amazon.ads_calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.path == "/fe/dsp/advertisers")
            .count(),
        1,
        "asked once under the agency profile, not retried"
    );
    assert!(calls.iter().all(|c| c.path != "/na/amc/instances"));
}

#[tokio::test]
async fn a_failing_kind_warns_keeps_the_others_and_disables_nothing_it_could_not_list() {
    let _turn = AGENCY_SCALE.lock().await;
    let stack = stack_with_user(AGENCY_USER).await;
    stack.amazon.add_login("agency", agency_login());
    let (connection, _) = stack.connected(AGENCY_USER, "agency").await;

    // DSP fails in every attempt; AMC is throttled once, then answers.
    stack.amazon.script(
        Endpoint::DspAdvertisers,
        vec![ResponseTemplate::new(503); 6],
    );
    stack.amazon.script(
        Endpoint::AmcAccounts,
        vec![ResponseTemplate::new(429).insert_header("retry-after", "1")],
    );
    stack.amazon.update_login("agency", |login| {
        login
            .amc_instances
            .get_mut(AMC_ACCOUNT)
            .unwrap()
            .retain(|i| i["instanceId"] != "amcr1inst000");
    });
    age_sync_slot(&stack, AGENCY_USER, &connection).await;
    let synced = sync(&stack, AGENCY_USER, &connection).await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    // Six failures: every attempt of both agencies' first pages.
    assert_eq!(
        synced.body["connection"]["sync_warnings"],
        json!([
            {"source": "dsp_advertisers_na", "reason": "unavailable", "listed": 0},
            {"source": "dsp_advertisers_eu", "reason": "unavailable", "listed": 0}
        ]),
    );
    assert_eq!(synced.body["connection"]["health"], "warning");
    let dsp = accounts_of(&stack, AGENCY_USER, "dsp_advertiser").await;
    assert_eq!(dsp.len(), 233);
    assert!(
        dsp.iter().all(|a| a["status"] == "active"),
        "a listing that failed disables nothing"
    );
    let amc = accounts_of(&stack, AGENCY_USER, "amc_instance").await;
    let vanished = amc
        .iter()
        .find(|a| a["instance_id"] == "amcr1inst000")
        .unwrap();
    assert_eq!(
        vanished["status"], "disabled",
        "gone from a complete listing"
    );

    // Healthy again: the warning clears; an advertiser Amazon dropped is disabled.
    stack.amazon.update_login("agency", |login| {
        login
            .dsp_advertisers
            .get_mut(&AGENCY_NA.to_string())
            .unwrap()
            .truncate(200);
    });
    age_sync_slot(&stack, AGENCY_USER, &connection).await;
    let synced = sync(&stack, AGENCY_USER, &connection).await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    assert_eq!(synced.body["connection"]["sync_warnings"], json!([]));
    let dsp = accounts_of(&stack, AGENCY_USER, "dsp_advertiser").await;
    let disabled = dsp.iter().filter(|a| a["status"] == "disabled").count();
    assert_eq!((dsp.len(), disabled), (233, 30));
}

/// What the test gives the completion: with Amazon slow, too little for
/// every page of the NA agency's advertisers.
const COMPLETION_BUDGET: Duration = Duration::from_secs(10);
/// Each write of accounts to the table, as slow on every machine: with the
/// writes the next sync needs, more than the budget the test gives it.
const SLOW_WRITE: Duration = Duration::from_secs(1);
const SLOW_WRITES_BUDGET: Duration = Duration::from_secs(10);
/// Every warning of `synced` says a listing is incomplete, the NA
/// agency's advertisers among them.
fn only_incomplete(synced: &Response) {
    let warnings = synced.body["connection"]["sync_warnings"]
        .as_array()
        .unwrap();
    assert!(
        warnings.iter().all(|w| w["reason"] == "incomplete")
            && warnings.contains(&json!({"source": "dsp_advertisers_na", "reason": "incomplete"})),
        "{warnings:?}"
    );
}

/// How many DSP advertisers the user has: one read of their items, where
/// listing them pages through them all again for every page.
async fn dsp_count(stack: &Stack) -> u64 {
    let full = stack.get("/api/v1/users/me/full", AGENCY_USER).await;
    assert_eq!(full.status, 200, "{:?}", full.body);
    full.body["stats"]["by_kind"]["dsp_advertiser"]
        .as_u64()
        .unwrap()
}

fn sync_request(connection: &str) -> Request {
    Request::new("POST", &format!("/api/v1/connections/{connection}/sync"))
}

#[tokio::test]
async fn what_the_time_budget_cannot_list_is_left_to_a_later_sync_never_a_timeout() {
    let _turn = AGENCY_SCALE.lock().await;
    let (stack, proxy) = proxied_agency_stack().await;
    stack.create_user(AGENCY_USER, "a@example.com").await;
    let mut login = agency_login();
    // Three pages under the NA agency: with Amazon slow, more than the
    // completion's budget leaves.
    login.dsp_advertisers.insert(
        AGENCY_NA.to_string(),
        adsconnect_dev::amazon_stub::dsp_advertisers(AGENCY_NA, 300),
    );
    stack.amazon.add_login("agency", login);
    let query = stack.consented(AGENCY_USER, "agency").await;
    let callback = stack.amazon_redirect(&query).await;
    let completion = query_of(&callback.location())["completion"].clone();

    stack.amazon.set_latency(Duration::from_millis(2500));
    let (done, took) = stack
        .send_within(
            &stack.callback,
            &Request::new("POST", "/api/v1/amazon/complete")
                .json(&json!({ "completion": completion })),
            Some(AGENCY_USER),
            COMPLETION_BUDGET,
        )
        .await;
    assert!(took < COMPLETION_BUDGET, "completion took {took:?}");
    assert_eq!(done.status, 200, "{:?}", done.body);
    let warnings = done.body["connection"]["sync_warnings"].clone();
    let cut = warnings
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["source"] == "dsp_advertisers_na")
        .unwrap_or_else(|| panic!("{warnings}"));
    assert_eq!(cut["reason"], "incomplete", "{warnings}");
    let partial = accounts_of(&stack, AGENCY_USER, "dsp_advertiser").await;
    assert!(partial.len() < 303, "{}", partial.len());
    // How far it got: the NA advertisers kept.
    let kept_na = partial.iter().filter(|a| a["region"] == "na").count();
    assert_eq!(cut["listed"], kept_na, "{warnings}");
    assert_eq!(
        accounts_of(&stack, AGENCY_USER, "sponsored_ads")
            .await
            .len(),
        3
    );

    // Amazon answers quickly again, but the table slowly: the sync lists
    // everything, keeps what it could write in its budget, and says the
    // rest is missing.
    stack.amazon.set_latency(Duration::ZERO);
    let connection = done.body["connection_id"].as_str().unwrap().to_owned();
    proxy.fail_after(
        "DynamoDB_20120810.TransactWriteItems",
        0,
        Fault::Delay(SLOW_WRITE),
    );
    let (synced, took) = stack
        .send_within(
            &stack.users,
            &sync_request(&connection),
            Some(AGENCY_USER),
            SLOW_WRITES_BUDGET,
        )
        .await;
    proxy.heal();
    assert!(took < SLOW_WRITES_BUDGET, "sync took {took:?}");
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    only_incomplete(&synced);
    let mut stored = dsp_count(&stack).await;
    assert!((partial.len() as u64) < stored && stored < 303, "{stored}");

    // Later syncs, each in the function's budget, write what is missing
    // first, until nothing is.
    loop {
        age_sync_slot(&stack, AGENCY_USER, &connection).await;
        let (synced, took) = stack
            .send_within(
                &stack.users,
                &sync_request(&connection),
                Some(AGENCY_USER),
                USERS,
            )
            .await;
        assert!(took < USERS, "sync took {took:?}");
        assert_eq!(synced.status, 200, "{:?}", synced.body);
        if synced.body["connection"]["sync_warnings"] == json!([]) {
            // All of them active: the active listing alone holds all 303.
            let active = pages_of(&stack, AGENCY_USER, "kind=dsp_advertiser&status=active").await;
            assert_eq!(active.len(), 303);
            return;
        }
        only_incomplete(&synced);
        let now = dsp_count(&stack).await;
        assert!(now > stored, "no progress: {now} accounts");
        stored = now;
    }
}
