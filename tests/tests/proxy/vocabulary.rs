//! Amazon's whole header vocabulary through the proxy: the caller's
//! headers of Amazon's families reach Amazon unchanged, the proxy's own
//! (client ids, the account's identifying headers) are refused when the
//! caller names another value, Ads API v1 works for every kind with v1's
//! headers, and a documented trailing slash passes.

use adsconnect_dev::amazon_stub::{AMC_AUDIENCE_MEDIA_TYPE, CLIENT_ID};

use super::kinds::{AGENCY_USER, agency_stack};
use super::*;

const INSTANCE: &str = "amcr1inst000";

fn audiences(instance_account: &str, method: &str) -> Request {
    Request::new(
        method,
        &format!("/api/v1/accounts/{instance_account}/ads/amc/audiences/query?maxResults=5"),
    )
    .header("Amazon-Advertising-API-EntityId", AMC_ACCOUNT)
    .header("Amazon-Marketing-Cloud-Audience-InstanceId", INSTANCE)
    .header("accept", AMC_AUDIENCE_MEDIA_TYPE)
}

fn v1_campaigns(account: &str, ad_product: &str) -> Request {
    Request::new(
        "POST",
        &format!("/api/v1/accounts/{account}/ads/adsApi/v1/query/campaigns"),
    )
    .json(&json!({"adProductFilter": {"include": [ad_product]}, "maxResults": 10}))
}

/// How many times the call carried `name`.
fn times(call: &adsconnect_dev::amazon_stub::AdsCall, name: &str) -> usize {
    call.headers.iter().filter(|(n, _)| n == name).count()
}

#[tokio::test]
async fn an_amc_audience_call_reaches_amazon_with_the_callers_entity_and_instance() {
    let (stack, [_, _, instance]) = agency_stack().await;
    let create = audiences(&instance, "POST").json(&json!({
        "audienceName": "recent buyers",
        "query": "SELECT user_id FROM conversions",
        "advertiserId": "ADV1"
    }));
    let created = stack.proxy(&create, AGENCY_USER).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["status"], "PENDING");
    let listed = stack.proxy(&audiences(&instance, "GET"), AGENCY_USER).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(
        listed.body["executionDataList"][0]["audienceExecutionId"],
        created.body["audienceExecutionId"]
    );
    assert_eq!(listed.headers["content-type"], AMC_AUDIENCE_MEDIA_TYPE);

    let calls = stack.amazon.ads_calls_to("/amc/audiences/query");
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(
            call.header("amazon-advertising-api-entityid"),
            Some(AMC_ACCOUNT)
        );
        assert_eq!(
            call.header("amazon-marketing-cloud-audience-instanceid"),
            Some(INSTANCE)
        );
        // The instance account's own headers are injected beside them.
        assert_eq!(
            call.header("amazon-advertising-api-advertiserid"),
            Some(AMC_ACCOUNT)
        );
        assert_eq!(call.header("amazon-advertising-api-scope"), None);
    }
    assert_eq!(calls[1].query.as_deref(), Some("maxResults=5"));
    assert_eq!(calls[1].header("accept"), Some(AMC_AUDIENCE_MEDIA_TYPE));
}

#[tokio::test]
async fn amazons_families_pass_and_the_callers_other_headers_stay_behind() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let request = campaigns_list(us)
        .header(
            "Amazon-Advertising-API-Manager-Account",
            "amzn1.ads1.ma1.MGR",
        )
        .header("Amazon-Ads-Request-Tag", "nightly-sync")
        .header("Amazon-Marketing-Cloud-Trace", "t-1")
        .header("accept-language", "de-DE")
        .header("prefer", "return=representation")
        .header("authorization", "Bearer the-callers-clerk-session")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("cookie", "__session=the-callers-cookie")
        .header("keep-alive", "timeout=5")
        .header("te", "trailers")
        .header("upgrade", "h2c")
        .header("x-api-key", "the-callers-api-key")
        .header("x-amz-security-token", "the-callers-aws-token")
        .header("user-agent", "caller-agent/1.0");
    let answer = stack.proxy(&request, USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    for (name, value) in [
        (
            "amazon-advertising-api-manager-account",
            "amzn1.ads1.ma1.MGR",
        ),
        ("amazon-ads-request-tag", "nightly-sync"),
        ("amazon-marketing-cloud-trace", "t-1"),
        ("accept-language", "de-DE"),
        ("prefer", "return=representation"),
    ] {
        assert_eq!(call.header(name), Some(value), "{name}");
    }
    assert!(
        call.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer Atza|")),
        "Amazon's token, not the caller's"
    );
    for name in [
        "proxy-authorization",
        "cookie",
        "keep-alive",
        "te",
        "upgrade",
        "x-api-key",
        "x-amz-security-token",
    ] {
        assert_eq!(call.header(name), None, "{name}");
    }
    assert_ne!(call.header("user-agent"), Some("caller-agent/1.0"));
}

#[tokio::test]
async fn an_owned_header_with_another_value_is_a_400_naming_it_and_amazon_is_not_called() {
    let (stack, [sponsored, advertiser, instance]) = agency_stack().await;
    let amc_instances = format!("/api/v1/accounts/{instance}/ads/amc/instances");
    let seats = format!("/api/v1/accounts/{advertiser}/ads/dsp/v1/seats/advertisers/current/list");
    let cases = [
        (
            campaigns_list(&sponsored),
            "Amazon-Advertising-API-Scope",
            "5001",
        ),
        (
            campaigns_list(&sponsored),
            "Amazon-Advertising-API-ClientId",
            "amzn1.application-oa2-client.someone-else",
        ),
        // Owned in both spellings, even where the proxy sends only one.
        (
            campaigns_list(&sponsored),
            "Amazon-Ads-ClientId",
            "amzn1.application-oa2-client.someone-else",
        ),
        (
            Request::new("POST", &seats).json(&json!({})),
            "Amazon-Ads-AccountId",
            "8100999999",
        ),
        (
            Request::new("POST", &seats).json(&json!({})),
            "Amazon-Advertising-API-Scope",
            "8200",
        ),
        (
            Request::new("GET", &amc_instances),
            "Amazon-Advertising-API-AdvertiserId",
            "ENTITYAMCNOTERMS",
        ),
        (
            Request::new("GET", &amc_instances),
            "Amazon-Advertising-API-MarketplaceId",
            "A1PA6795UKMFR9",
        ),
    ];
    for (request, name, value) in cases {
        let answer = stack
            .proxy(
                &request.header(&name.to_ascii_lowercase(), value),
                AGENCY_USER,
            )
            .await;
        assert_eq!(answer.status, 400, "{name}: {:?}", answer.body);
        assert_eq!(answer.error_code(), "OWNED_HEADER", "{name}");
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(
            message
                .to_ascii_lowercase()
                .contains(&name.to_ascii_lowercase()),
            "{name} named in {message:?}"
        );
        assert!(!message.contains(value), "the value is not echoed");
    }
    assert!(stack.amazon.ads_calls().is_empty());
}

#[tokio::test]
async fn an_owned_header_with_the_accounts_own_value_passes_once() {
    let (stack, [_, advertiser, instance]) = agency_stack().await;
    let seats = Request::new(
        "POST",
        &format!("/api/v1/accounts/{advertiser}/ads/dsp/v1/seats/advertisers/current/list"),
    )
    .json(&json!({"maxResults": 5}))
    .header("Amazon-Ads-AccountId", &first_advertiser(AGENCY_NA))
    .header("Amazon-Advertising-API-Scope", &AGENCY_NA.to_string())
    .header("Amazon-Advertising-API-ClientId", CLIENT_ID);
    let answer = stack.proxy(&seats, AGENCY_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let instances = Request::new(
        "GET",
        &format!("/api/v1/accounts/{instance}/ads/amc/instances"),
    )
    .header("content-type", "application/json")
    .header("Amazon-Advertising-API-AdvertiserId", AMC_ACCOUNT)
    .header("Amazon-Advertising-API-MarketplaceId", "ATVPDKIKX0DER");
    let answer = stack.proxy(&instances, AGENCY_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 2);
    for name in [
        "amazon-ads-accountid",
        "amazon-advertising-api-scope",
        "amazon-advertising-api-clientid",
    ] {
        assert_eq!(times(&calls[0], name), 1, "{name}");
    }
    for name in [
        "amazon-advertising-api-advertiserid",
        "amazon-advertising-api-marketplaceid",
    ] {
        assert_eq!(times(&calls[1], name), 1, "{name}");
    }
}

#[tokio::test]
async fn ads_api_v1_works_for_every_kind_with_v1s_headers() {
    let (stack, [sponsored, advertiser, instance]) = agency_stack().await;
    let ads = stack
        .proxy(&v1_campaigns(&sponsored, "SPONSORED_PRODUCTS"), AGENCY_USER)
        .await;
    assert_eq!(ads.status, 200, "{:?}", ads.body);
    assert_eq!(ads.body["campaigns"][0]["campaignId"], "800101");
    let dsp = stack
        .proxy(&v1_campaigns(&advertiser, "AMAZON_DSP"), AGENCY_USER)
        .await;
    assert_eq!(dsp.status, 200, "{:?}", dsp.body);
    assert_eq!(
        dsp.body["campaigns"][0]["campaignId"],
        format!("{}01", first_advertiser(AGENCY_NA))
    );
    // An AMC instance owns no `Amazon-Ads-AccountId`: the caller names the
    // advertiser a v1 call is about.
    let amc = v1_campaigns(&instance, "AMAZON_DSP")
        .header("Amazon-Ads-AccountId", &first_advertiser(AGENCY_NA));
    let amc = stack.proxy(&amc, AGENCY_USER).await;
    assert_eq!(amc.status, 200, "{:?}", amc.body);

    let calls = stack.amazon.ads_calls_to("/adsApi/v1/query/campaigns");
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(call.header("amazon-ads-clientid"), Some(CLIENT_ID));
        assert!(call.path.starts_with("/na/"), "{}", call.path);
    }
    let (ads, dsp, amc) = (&calls[0], &calls[1], &calls[2]);
    assert_eq!(ads.header("amazon-advertising-api-scope"), Some("8001"));
    assert_eq!(
        dsp.header("amazon-ads-accountid"),
        Some(first_advertiser(AGENCY_NA).as_str())
    );
    assert_eq!(
        (
            dsp.header("amazon-advertising-api-scope"),
            dsp.header("parententityid")
        ),
        (None, None),
        "v1 names a DSP advertiser by Amazon-Ads-AccountId alone"
    );
    assert_eq!(
        amc.header("amazon-advertising-api-advertiserid"),
        Some(AMC_ACCOUNT)
    );
    assert_eq!(times(amc, "amazon-ads-accountid"), 1);
}

#[tokio::test]
async fn a_documented_trailing_slash_reaches_amazon_with_it() {
    let (stack, [_, _, instance]) = agency_stack().await;
    let updates = Request::new(
        "GET",
        &format!("/api/v1/accounts/{instance}/ads/amc/instances/{INSTANCE}/advertisers/updates/"),
    );
    let answer = stack.proxy(&updates, AGENCY_USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["advertiserUpdate"]["status"], "COMPLETE");
    let calls = stack.amazon.ads_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].path,
        format!("/na/amc/instances/{INSTANCE}/advertisers/updates/")
    );
}
