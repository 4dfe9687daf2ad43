//! What the login may do with an account, and how a DSP advertiser is
//! named, with the accounts discovery finds through a manager account: a
//! Viewer account's writes are refused here (403 `READ_ONLY_ACCOUNT`;
//! Amazon, its token and the throttles untouched) while its reads and
//! report creation pass, and Amazon's 401 to its reads is Amazon's answer,
//! never a token renewal; other roles' writes reach Amazon. A
//! managed-service DSP advertiser is named by `Amazon-Ads-AccountId` and
//! never a scope; an agency's advertiser reports with the agency's scope
//! alone.

use adsconnect::entrypoints::credentials::vend;
use adsconnect::model::account::AccountRole;
use adsconnect_dev::amazon_stub::{Login, linked_dsp_advertiser, linked_profile, seats};
use wiremock::ResponseTemplate;

use super::*;

const MANAGER_USER: &str = "user_2proxyManager";
/// A seller the manager account may only view: no `/v2/profiles` lists it.
const VIEWED_PROFILE: &str = "7001";
/// A managed-service advertiser of the manager account: no agency profile
/// lists it.
const MANAGED: &str = "9900000001";
const MANAGED_ENTITY: &str = "ENTITYMANAGED1";

/// The agency login, its NA manager account also linking [`VIEWED_PROFILE`]
/// and [`MANAGED`] as Viewer.
fn manager_login() -> Login {
    let mut login = agency_login();
    login.manager_accounts.get_mut("na").unwrap()[0]["linkedAccounts"]
        .as_array_mut()
        .unwrap()
        .extend([
            linked_profile(
                VIEWED_PROFILE.parse().unwrap(),
                "ENTITYVIEWED1",
                "SELLER",
                "ATVPDKIKX0DER",
                "VIEWER",
            ),
            linked_dsp_advertiser(MANAGED, MANAGED_ENTITY, "ATVPDKIKX0DER", "VIEWER"),
        ]);
    login.seats.insert(MANAGED.to_owned(), seats(3));
    login
}

/// A stack where `MANAGER_USER` connected [`manager_login`].
async fn manager_stack() -> Stack {
    let stack = Stack::with_user(MANAGER_USER, "manager@example.com").await;
    stack.amazon.add_login("manager", manager_login());
    stack.connected(MANAGER_USER, "manager").await;
    stack.amazon.forget_ads_calls();
    stack
}

/// The account of `kind` whose `field` is `value`, as the accounts list
/// shows it.
async fn account(stack: &Stack, kind: &str, field: &str, value: &str) -> Value {
    let mut cursor = String::new();
    loop {
        let path = format!("/api/v1/accounts?kind={kind}&limit=100{cursor}");
        let page = stack.get(&path, MANAGER_USER).await.body;
        let accounts = page["accounts"].as_array().unwrap();
        if let Some(found) = accounts.iter().find(|a| a[field] == value) {
            return found.clone();
        }
        let next = page["next_cursor"].as_str();
        cursor = format!(
            "&cursor={}",
            next.unwrap_or_else(|| panic!("no {kind} {value}"))
        );
    }
}

/// The id of the account `account` found, and its role.
fn id_and_role(account: &Value) -> (String, String) {
    let text = |field: &str| account[field].as_str().unwrap().to_owned();
    (text("account_id"), text("role"))
}

/// The viewed seller's account id.
async fn viewed(stack: &Stack) -> String {
    let (id, role) =
        id_and_role(&account(stack, "sponsored_ads", "profile_id", VIEWED_PROFILE).await);
    assert_eq!(role, "viewer");
    id
}

/// `POST /sp/campaigns` (create one campaign) for `account`.
fn campaign_create(account: &str) -> Request {
    Request::new(
        "POST",
        &format!("/api/v1/accounts/{account}/ads/sp/campaigns"),
    )
    .header("content-type", CAMPAIGNS_MEDIA_TYPE)
    .header("accept", CAMPAIGNS_MEDIA_TYPE)
    .body(br#"{"campaigns":[{"name":"New","state":"PAUSED"}]}"#.to_vec())
}

/// `POST /reporting/reports` for `account`.
fn report_create(account: &str) -> Request {
    Request::new(
        "POST",
        &format!("/api/v1/accounts/{account}/ads/reporting/reports"),
    )
    .header("content-type", REPORT_MEDIA_TYPE)
    .body(br#"{"name":"Spend","configuration":{"adProduct":"DEMAND_SIDE_PLATFORM"}}"#.to_vec())
}

#[tokio::test]
async fn a_viewers_write_is_refused_without_calling_amazon_and_its_reads_and_reports_pass() {
    let stack = manager_stack().await;
    let viewed = viewed(&stack).await;
    // A token about to expire: a write refused must not renew it.
    let connection = connection_item(&stack, MANAGER_USER).await;
    let (pk, sk) = (
        attr_s(&connection, "pk").unwrap(),
        attr_s(&connection, "sk").unwrap(),
    );
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).timestamp_millis();
    stack.set_number(pk, sk, "access_expires_at", soon).await;
    let connection = connection_item(&stack, MANAGER_USER).await;

    let base = format!("/api/v1/accounts/{viewed}/ads");
    let writes = [
        campaign_create(&viewed),
        Request::new("PUT", &format!("{base}/sp/campaigns")).json(&json!({})),
        Request::new("PATCH", &format!("{base}/sp/campaigns")).json(&json!({})),
        Request::new("DELETE", &format!("{base}/sp/campaigns/1")),
        Request::new("POST", &format!("{base}/sp/campaigns/delete")).json(&json!({})),
    ];
    for write in &writes {
        let answer = stack.proxy(write, MANAGER_USER).await;
        assert_eq!(answer.status, 403, "{:?}", answer.body);
        assert_eq!(answer.error_code(), "READ_ONLY_ACCOUNT");
        assert_eq!(
            answer.body["error"]["message"],
            "this account is linked to your manager account as Viewer: Amazon allows reads and reports only"
        );
        assert!(answer.body["error"]["request_id"].is_string());
    }
    assert!(stack.amazon.ads_calls().is_empty(), "Amazon not called");
    assert_eq!(stack.amazon.calls(Endpoint::CampaignWrites), 0);
    assert!(
        stack.amazon.refresh_requests().is_empty(),
        "the token untouched"
    );
    assert_eq!(
        connection_item(&stack, MANAGER_USER).await,
        connection,
        "no refresh and no throttle written"
    );

    // Reads and reports are renewed as usual (the token expires in 30 s).
    let read = stack.proxy(&campaigns_list(&viewed), MANAGER_USER).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    let report = stack.proxy(&report_create(&viewed), MANAGER_USER).await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    assert_eq!(report.body["status"], "PENDING");
    assert_eq!(stack.amazon.ads_calls().len(), 2);
}

#[tokio::test]
async fn a_viewers_read_that_amazon_answers_401_is_amazons_answer_and_renews_nothing() {
    let stack = manager_stack().await;
    let viewed = viewed(&stack).await;
    let before = connection_item(&stack, MANAGER_USER).await;
    // Worded like a refused token: for a Viewer it is Amazon's "not with this role".
    let bare = json!({"code": "UNAUTHORIZED", "details": "Not authorized"});
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![ResponseTemplate::new(401).set_body_json(&bare)],
    );
    let answer = stack.proxy(&campaigns_list(&viewed), MANAGER_USER).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body, bare, "as Amazon sent it");
    assert_eq!(stack.amazon.ads_calls().len(), 1, "no retry");
    assert!(stack.amazon.refresh_requests().is_empty(), "no renewal");
    let after = connection_item(&stack, MANAGER_USER).await;
    assert_eq!(after, before, "the connection is not marked");
}

#[tokio::test]
async fn editor_and_unknown_accounts_writes_reach_amazon() {
    let stack = manager_stack().await;
    let (seller, role) = id_and_role(&account(&stack, "sponsored_ads", "profile_id", "8001").await);
    assert_eq!(role, "editor");
    let answer = stack.proxy(&campaign_create(&seller), MANAGER_USER).await;
    assert_eq!(answer.status, 207, "{:?}", answer.body);
    assert_eq!(stack.amazon.calls(Endpoint::CampaignWrites), 1);

    let instance = account(&stack, "amc_instance", "instance_id", "amcr1inst000").await;
    let (instance, role) = id_and_role(&instance);
    assert_eq!(role, "unknown");
    let audience = Request::new(
        "POST",
        &format!("/api/v1/accounts/{instance}/ads/amc/audiences/query"),
    )
    .header("Amazon-Advertising-API-EntityId", AMC_ACCOUNT)
    .header("Amazon-Marketing-Cloud-Audience-InstanceId", "amcr1inst000")
    .json(&json!({"audienceName": "a", "query": "SELECT 1"}));
    let answer = stack.proxy(&audience, MANAGER_USER).await;
    assert_ne!(
        answer.error_code(),
        "READ_ONLY_ACCOUNT",
        "{:?}",
        answer.body
    );
    assert_eq!(stack.amazon.ads_calls_to("/amc/audiences/query").len(), 1);
}

/// The managed-service advertiser's account id (a Viewer's, with no
/// agency profile).
async fn managed(stack: &Stack) -> String {
    let found = account(stack, "dsp_advertiser", "advertiser_id", MANAGED).await;
    assert_eq!(found["profile_id"], Value::Null);
    let (id, role) = id_and_role(&found);
    assert_eq!(role, "viewer");
    id
}

#[tokio::test]
async fn a_managed_service_advertisers_calls_carry_its_account_id_and_never_a_scope() {
    let stack = manager_stack().await;
    let advertiser = managed(&stack).await;
    let seats = Request::new(
        "POST",
        &format!("/api/v1/accounts/{advertiser}/ads/dsp/v1/seats/advertisers/current/list"),
    )
    .header("content-type", "application/json")
    .header("accept", "application/json")
    .body(br#"{"maxResults": 5}"#.to_vec());
    let answer = stack.proxy(&seats, MANAGER_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let answer = stack.proxy(&report_create(&advertiser), MANAGER_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let v1 = Request::new(
        "POST",
        &format!("/api/v1/accounts/{advertiser}/ads/adsApi/v1/query/campaigns"),
    )
    .json(&json!({"adProductFilter": {"include": ["AMAZON_DSP"]}, "maxResults": 10}));
    let answer = stack.proxy(&v1, MANAGER_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(
            call.header("amazon-ads-accountid"),
            Some(MANAGED),
            "{}",
            call.path
        );
        assert_eq!(
            call.header("amazon-advertising-api-scope"),
            None,
            "{}",
            call.path
        );
    }
    assert_eq!(calls[0].header("parententityid"), Some(MANAGED_ENTITY));

    // A caller's scope is refused, whatever it names; Amazon not called.
    stack.amazon.forget_ads_calls();
    let scoped = report_create(&advertiser).header("amazon-advertising-api-scope", "8100");
    let answer = stack.proxy(&scoped, MANAGER_USER).await;
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "OWNED_HEADER");
    // Its writes are a Viewer's.
    let create = Request::new(
        "POST",
        &format!("/api/v1/accounts/{advertiser}/ads/adsApi/v1/create/campaigns"),
    )
    .json(&json!({"campaigns": []}));
    let answer = stack.proxy(&create, MANAGER_USER).await;
    assert_eq!(
        answer.error_code(),
        "READ_ONLY_ACCOUNT",
        "{:?}",
        answer.body
    );
    assert!(stack.amazon.ads_calls().is_empty());
}

#[tokio::test]
async fn an_agency_advertisers_report_carries_the_agency_scope_alone() {
    let stack = manager_stack().await;
    let found = account(
        &stack,
        "dsp_advertiser",
        "advertiser_id",
        &first_advertiser(AGENCY_NA),
    )
    .await;
    let advertiser = found["account_id"].as_str().unwrap();
    let answer = stack.proxy(&report_create(advertiser), MANAGER_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (
            calls[0].header("amazon-advertising-api-scope"),
            calls[0].header("amazon-ads-accountid"),
            calls[0].header("parententityid"),
        ),
        (Some(AGENCY_NA.to_string().as_str()), None, None)
    );

    // Amazon refuses both headers together: the caller may not add the
    // account id the proxy leaves out, even the advertiser's own.
    stack.amazon.forget_ads_calls();
    let both =
        report_create(advertiser).header("amazon-ads-accountid", &first_advertiser(AGENCY_NA));
    let answer = stack.proxy(&both, MANAGER_USER).await;
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "OWNED_HEADER");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Amazon-Ads-AccountId")
    );
    assert!(stack.amazon.ads_calls().is_empty());
}

#[tokio::test]
async fn a_backends_credentials_carry_the_accounts_role() {
    let stack = manager_stack().await;
    let advertiser = managed(&stack).await;
    let function = super::credentials::function(&stack);
    let granted = vend(
        &function,
        super::credentials::payload(MANAGER_USER, &advertiser).await,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(granted.role, AccountRole::Viewer);
    assert_eq!(granted.profile_id, None);
    assert_eq!(granted.headers["Amazon-Ads-AccountId"], MANAGED);
    assert!(!granted.headers.contains_key("Amazon-Advertising-API-Scope"));
    let as_json = serde_json::to_value(&granted).unwrap();
    assert_eq!(as_json["role"], "viewer");
}
