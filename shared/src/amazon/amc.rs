//! Amazon Marketing Cloud: the AMC accounts a login reaches, and each one's
//! instances (facts: `reference/amazon-dsp-amc.md`; the original system
//! sent neither header and read fields that do not exist).

use std::time::Instant;

use serde::Deserialize;

use super::ads::{AdsApi, AdsError};
use super::paging::{self, Listed};
use crate::model::account::AccountStatus;
use crate::model::region::Region;
use crate::secrets::Secret;

/// Amazon's largest page of instances; sent, as sources disagree on the default.
const INSTANCES_PAGE: u32 = 100;
/// A runaway `nextToken` chain must end somewhere.
const MAX_PAGES: usize = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmcAccount {
    /// `ENTITY…`: the `Amazon-Advertising-API-AdvertiserId` of its calls.
    pub account_id: String,
    pub account_name: Option<String>,
    pub marketplace_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmcInstance {
    pub instance_id: String,
    pub instance_name: Option<String>,
    pub customer_canonical_name: Option<String>,
    pub instance_type: Option<String>,
    pub creation_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountPage {
    #[serde(default)]
    amc_accounts: Vec<AmcAccount>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstancePage {
    #[serde(default)]
    instances: Vec<AmcInstance>,
    next_token: Option<String>,
}

/// An instance's `creationStatus` as an account status: usable once
/// SUCCEEDED (or COMPLETED), pending while requested, submitted or in
/// progress, disabled when creation FAILED. An unknown value is pending:
/// nothing should use an instance Amazon has not said is ready.
pub fn instance_status(creation_status: Option<&str>) -> AccountStatus {
    match creation_status {
        Some("SUCCEEDED" | "COMPLETED") => AccountStatus::Active,
        Some("FAILED") => AccountStatus::Disabled,
        _ => AccountStatus::Pending,
    }
}

impl AdsApi {
    /// Every AMC account the login reaches on `region`'s host.
    pub async fn amc_accounts(
        &self,
        region: Region,
        access_token: &Secret,
        stop_at: Option<Instant>,
    ) -> Result<Listed<AmcAccount>, AdsError> {
        paging::by_token(MAX_PAGES, stop_at, |next_token| async move {
            let query: Vec<(&str, String)> =
                next_token.into_iter().map(|t| ("nextToken", t)).collect();
            let page: AccountPage = self
                .get_json(region, "/amc/accounts", access_token, &[], &query)
                .await?;
            Ok((page.amc_accounts, page.next_token))
        })
        .await
    }

    /// Every instance of AMC account `account`, page by page.
    pub async fn amc_instances(
        &self,
        region: Region,
        account: &AmcAccount,
        access_token: &Secret,
        stop_at: Option<Instant>,
    ) -> Result<Listed<AmcInstance>, AdsError> {
        let headers = [
            (
                "Amazon-Advertising-API-AdvertiserId",
                account.account_id.as_str(),
            ),
            (
                "Amazon-Advertising-API-MarketplaceId",
                account.marketplace_id.as_str(),
            ),
            ("Content-Type", "application/json"),
        ];
        let headers = &headers;
        paging::by_token(MAX_PAGES, stop_at, |next_token| async move {
            let mut query = vec![("limit", INSTANCES_PAGE.to_string())];
            query.extend(next_token.map(|t| ("nextToken", t)));
            let page: InstancePage = self
                .get_json(region, "/amc/instances", access_token, headers, &query)
                .await?;
            Ok((page.instances, page.next_token))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_statuses_map_to_account_statuses() {
        for (amazon, ours) in [
            (Some("SUCCEEDED"), AccountStatus::Active),
            (Some("COMPLETED"), AccountStatus::Active),
            (Some("REQUESTED"), AccountStatus::Pending),
            (Some("SUBMITTED"), AccountStatus::Pending),
            (Some("IN_PROGRESS"), AccountStatus::Pending),
            (Some("FAILED"), AccountStatus::Disabled),
            (Some("SOMETHING_NEW"), AccountStatus::Pending),
            (None, AccountStatus::Pending),
        ] {
            assert_eq!(instance_status(amazon), ours, "{amazon:?}");
        }
    }

    #[test]
    fn instance_pages_parse_amazons_fields_and_a_null_token() {
        let page: InstancePage = serde_json::from_str(
            r#"{"instances": [{"instanceId": "amcr1aaaa1a", "instanceName": "Main",
                "customerCanonicalName": "acme", "instanceType": "STANDARD",
                "creationStatus": "SUCCEEDED", "creationDatetime": null, "entities": ["NA"],
                "apiEndpoint": null, "advertiserTypes": ["DISPLAY"],
                "optionalDatasets": [{"label": "x", "activationTime": "2025-01-01T00:00:00Z"}]}],
                "nextToken": null}"#,
        )
        .unwrap();
        assert_eq!(page.instances[0].instance_id, "amcr1aaaa1a");
        assert!(page.next_token.is_none());
    }
}
