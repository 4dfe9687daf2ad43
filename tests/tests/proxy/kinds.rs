//! Every kind of account gets its own headers, through the proxy and from
//! the credentials function: an Ads profile its scope; a DSP advertiser its
//! `Amazon-Ads-AccountId` (and `parentEntityId`) with its agency's scope; an
//! AMC instance its AdvertiserId and MarketplaceId, and no scope.

use adsconnect::entrypoints::credentials::vend;

use super::*;

pub(super) const AGENCY_USER: &str = "user_2proxyAgency";

/// `AGENCY_USER` connected the agency login: one account id per kind (the
/// seller profile, the first NA advertiser, an AMC instance).
pub(super) async fn agency_stack() -> (Stack, [String; 3]) {
    let stack = Stack::with_user(AGENCY_USER, "agency@example.com").await;
    stack.amazon.add_login("agency", agency_login());
    stack.connected(AGENCY_USER, "agency").await;
    let one = |query: &'static str, pick: fn(&Value) -> bool| {
        let stack = &stack;
        async move {
            let mut cursor = String::new();
            loop {
                let path = format!("/api/v1/accounts?{query}&limit=100{cursor}");
                let page = stack.get(&path, AGENCY_USER).await.body;
                if let Some(found) = page["accounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|a| pick(a))
                {
                    return found["account_id"].as_str().unwrap().to_owned();
                }
                cursor = format!("&cursor={}", page["next_cursor"].as_str().unwrap());
            }
        }
    };
    let sponsored = one("kind=sponsored_ads", |a| a["profile_id"] == "8001").await;
    let advertiser = one("kind=dsp_advertiser", |a| {
        a["advertiser_id"] == first_advertiser(AGENCY_NA).as_str()
    })
    .await;
    let instance = one("kind=amc_instance", |a| a["instance_id"] == "amcr1inst000").await;
    stack.amazon.forget_ads_calls();
    (stack, [sponsored, advertiser, instance])
}

#[tokio::test]
async fn each_kinds_calls_carry_its_own_headers_and_amazon_accepts_them() {
    let (stack, [sponsored, advertiser, instance]) = agency_stack().await;

    let seats = Request::new(
        "POST",
        &format!("/api/v1/accounts/{advertiser}/ads/dsp/v1/seats/advertisers/current/list"),
    )
    .header("content-type", "application/json")
    .header("accept", "application/json")
    .body(br#"{"maxResults": 5}"#.to_vec());
    let answer = stack.proxy(&seats, AGENCY_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["advertiserSeats"][0]["currentSeats"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    let instances = Request::new(
        "GET",
        &format!("/api/v1/accounts/{instance}/ads/amc/instances?limit=5"),
    )
    .header("content-type", "application/json");
    let answer = stack.proxy(&instances, AGENCY_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["instances"].as_array().unwrap().len(), 5);

    let answer = stack.proxy(&campaigns_list(&sponsored), AGENCY_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 3);
    let (dsp, amc, ads) = (&calls[0], &calls[1], &calls[2]);
    assert_eq!(
        (
            dsp.header("amazon-ads-accountid"),
            dsp.header("amazon-advertising-api-scope"),
            dsp.header("parententityid"),
        ),
        (
            Some(first_advertiser(AGENCY_NA).as_str()),
            Some(AGENCY_NA.to_string().as_str()),
            Some(FIRST_ADVERTISER_ENTITY),
        )
    );
    assert_eq!(
        (
            amc.header("amazon-advertising-api-advertiserid"),
            amc.header("amazon-advertising-api-marketplaceid"),
            amc.header("amazon-advertising-api-scope"),
            amc.query.as_deref(),
        ),
        (
            Some(AMC_ACCOUNT),
            Some("ATVPDKIKX0DER"),
            None,
            Some("limit=5")
        )
    );
    assert_eq!(
        (
            ads.header("amazon-advertising-api-scope"),
            ads.header("amazon-ads-accountid"),
        ),
        (Some("8001"), None)
    );
}

#[tokio::test]
async fn a_backends_credentials_name_the_kind_and_its_headers() {
    let (stack, [_, advertiser, instance]) = agency_stack().await;
    let function = super::credentials::function(&stack);
    let dsp = vend(
        &function,
        super::credentials::payload(AGENCY_USER, &advertiser).await,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        dsp.kind,
        adsconnect::model::account::AccountKind::DspAdvertiser
    );
    assert_eq!(
        dsp.profile_id.as_deref(),
        Some(AGENCY_NA.to_string().as_str())
    );
    assert_eq!(
        dsp.headers["Amazon-Ads-AccountId"],
        first_advertiser(AGENCY_NA)
    );
    assert_eq!(dsp.headers["parentEntityId"], FIRST_ADVERTISER_ENTITY);

    let amc = vend(
        &function,
        super::credentials::payload(AGENCY_USER, &instance).await,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        amc.kind,
        adsconnect::model::account::AccountKind::AmcInstance
    );
    assert_eq!(amc.profile_id, None);
    assert_eq!(
        amc.headers["Amazon-Advertising-API-AdvertiserId"],
        AMC_ACCOUNT
    );
    assert_eq!(
        amc.headers["Amazon-Advertising-API-MarketplaceId"],
        "ATVPDKIKX0DER"
    );
    assert!(!amc.headers.contains_key("Amazon-Advertising-API-Scope"));
    let as_json = serde_json::to_value(&amc).unwrap();
    assert_eq!(as_json["kind"], "amc_instance");
    // Enough to call Amazon directly.
    let mut call = reqwest::Client::new()
        .get(format!("{}/amc/instances", amc.api_host))
        .header("content-type", "application/json");
    for (name, value) in &amc.headers {
        call = call.header(*name, value);
    }
    assert_eq!(call.send().await.unwrap().status(), 200);
}
