//! Entries as Amazon's endpoints list them, to build a [`super::Login`] from.

use serde_json::{Value, json};

/// The time zone Amazon gives a marketplace's profiles (the one its
/// reports' days and budgets run on).
fn marketplace_timezone(country: &str) -> &'static str {
    match country {
        "UK" | "GB" => "Europe/London",
        "DE" | "FR" | "IT" | "ES" | "NL" | "SE" | "PL" | "BE" => "Europe/Paris",
        "AE" | "SA" | "EG" => "Asia/Dubai",
        "IN" => "Asia/Kolkata",
        "JP" => "Asia/Tokyo",
        "AU" => "Australia/Sydney",
        "SG" => "Asia/Singapore",
        _ => "America/Los_Angeles",
    }
}

/// A profile as `/v2/profiles` lists it.
pub fn profile(id: u64, country: &str, name: &str, kind: &str) -> Value {
    json!({
        "profileId": id, "countryCode": country, "currencyCode": "USD", "dailyBudget": 999999999.0,
        "timezone": marketplace_timezone(country),
        "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "id": format!("A{id}"), "type": kind,
                        "name": name, "validPaymentMethod": true}
    })
}

/// An Ads account as `/adsAccounts/list` lists it.
pub fn ads_account(id: &str, status: &str, profile_ids: &[(u64, &str)]) -> Value {
    json!({
        "adsAccountId": id, "accountName": format!("Account {id}"), "status": status,
        "alternateIds": profile_ids.iter().map(|(p, c)| json!({"countryCode": c, "entityId": "ENTITY1", "profileId": p})).collect::<Vec<_>>(),
        "countryCodes": profile_ids.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
    })
}

/// An agency profile as `/v2/profiles` lists it (entity id `ENTITY<id>`).
pub fn agency_profile(id: u64, country: &str, marketplace: &str, name: &str) -> Value {
    json!({
        "profileId": id, "countryCode": country, "currencyCode": "USD",
        "timezone": marketplace_timezone(country),
        "accountInfo": {"marketplaceStringId": marketplace, "id": format!("ENTITY{id}"),
                        "type": "agency", "name": name}
    })
}

/// `count` DSP advertisers with ids `<prefix>000…`.
pub fn dsp_advertisers(prefix: u64, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            json!({"advertiserId": format!("{prefix}{i:06}"), "name": format!("Advertiser {prefix}-{i}"),
                   "currency": "USD", "url": "https://brand.example", "country": "US",
                   "timezone": "America/New_York"})
        })
        .collect()
}

/// An AMC account as `/amc/accounts` lists it.
pub fn amc_account(id: &str, marketplace: &str) -> Value {
    json!({"accountId": id, "accountName": format!("AMC {id}"), "marketplaceId": marketplace})
}

/// An AMC instance as `/amc/instances` lists it.
pub fn amc_instance(id: &str, status: &str) -> Value {
    json!({
        "instanceId": id, "instanceName": format!("Instance {id}"), "customerCanonicalName": id,
        "instanceType": "STANDARD", "creationStatus": status,
        "creationDatetime": if status == "REQUESTED" { Value::Null } else { json!("2025-06-01T00:00:00Z") },
        "entities": ["NA"], "apiEndpoint": Value::Null, "s3BucketName": format!("amc-{id}"),
        "s3BucketRegion": "us-east-1", "awsAccountId": "123456789012",
        "dataUploadAwsAccountId": "123456789012", "advertiserTypes": ["DISPLAY"], "optionalDatasets": []
    })
}

/// `count` seats on exchanges `1..=count`.
pub fn seats(count: usize) -> Vec<Value> {
    (1..=count)
        .map(|i| {
            json!({"exchangeId": i.to_string(), "exchangeName": format!("Exchange {i}"),
                   "dealCreationId": format!("deal-{i}"), "spendTrackingId": format!("spend-{i}")})
        })
        .collect()
}

/// A manager account as `GET /managerAccounts` lists it, linking `links`
/// (built with [`linked_dsp_advertiser`] and [`linked_profile`]; any number:
/// the stand-in answers the first 50, as Amazon does).
pub fn manager_account(id: &str, name: &str, links: Vec<Value>) -> Value {
    json!({"managerAccountId": id, "managerAccountName": name, "linkedAccounts": links})
}

/// A DSP advertiser linked to a manager account (a managed-service one when
/// no agency profile lists it), with the manager account's `role` on it
/// (`ADMIN`, `EDITOR`, `VIEWER`; stand-in only, never in `/managerAccounts`
/// answers).
pub fn linked_dsp_advertiser(
    advertiser_id: &str,
    entity_id: &str,
    marketplace_id: &str,
    role: &str,
) -> Value {
    json!({
        "accountId": entity_id, "accountName": format!("Advertiser {advertiser_id}"),
        "accountType": "DSP_ADVERTISING_ACCOUNT", "dspAdvertiserId": advertiser_id,
        "marketplaceId": marketplace_id, "profileId": "", "role": role
    })
}

/// A sponsored-ads account (`account_type` `SELLER` or `VENDOR`) linked to a
/// manager account through its profile, with the manager account's `role`
/// on it (stand-in only). A `VIEWER` link's profile is reachable only
/// through this link, not through `/v2/profiles`.
pub fn linked_profile(
    profile_id: u64,
    entity_id: &str,
    account_type: &str,
    marketplace_id: &str,
    role: &str,
) -> Value {
    json!({
        "accountId": entity_id, "accountName": format!("Linked {profile_id}"),
        "accountType": account_type, "dspAdvertiserId": "", "marketplaceId": marketplace_id,
        "profileId": profile_id.to_string(), "role": role
    })
}
