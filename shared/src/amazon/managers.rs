//! Manager accounts: what an agency's or an advertiser's manager account
//! links — its DSP advertisers (managed-service ones among them, which no
//! profile lists), the seller and vendor accounts it may only view — and,
//! where Amazon lets the client use them, the account links that list
//! every link with its role (facts and sources: `reference/amazon-dsp-amc.md`
//! §5–§7).

use std::time::Instant;

use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::ads::{AdsAccount, AdsApi, AdsError};
use super::paging::{self, Listed};
use crate::model::account::AccountRole;
use crate::model::region::Region;
use crate::secrets::Secret;

/// Client libraries ask for this type; Amazon's Postman example asks for
/// none, and either way the body is the same JSON.
const MANAGER_ACCOUNTS_MEDIA_TYPE: &str = "application/vnd.getmanageraccountsresponse.v1+json";
/// `/managerAccounts` lists at most this many links per manager account,
/// without paging [D-MA].
pub const LINKS_LISTED: usize = 50;
/// Account links asked per page: the v1 account listings' largest
/// `maxResults` (Amazon's guide shows 10 and names no maximum).
const LINKS_PAGE: u32 = 100;
/// A runaway `nextToken` chain must end somewhere: 100 pages of 100 links.
const MAX_LINK_PAGES: usize = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerAccount {
    /// `amzn1.ads1.ma1.…`
    pub manager_account_id: String,
    pub manager_account_name: Option<String>,
    #[serde(default)]
    pub linked_accounts: Vec<LinkedAccount>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedAccount {
    /// The linked account's entity id (`ENTITY…`).
    #[serde(default, deserialize_with = "present")]
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    /// DSP_ADVERTISING_ACCOUNT, SELLER, VENDOR or MARKETING_CLOUD.
    pub account_type: Option<String>,
    /// DSP advertisers only: `null` per Amazon's spec, `""` in its examples.
    #[serde(default, deserialize_with = "present")]
    pub dsp_advertiser_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub marketplace_id: Option<String>,
    /// Sellers and vendors: the profile to scope their calls with.
    #[serde(default, deserialize_with = "present")]
    pub profile_id: Option<String>,
}

impl LinkedAccount {
    pub fn is_dsp_advertiser(&self) -> bool {
        self.account_type.as_deref() == Some("DSP_ADVERTISING_ACCOUNT")
    }

    pub fn is_sponsored_ads(&self) -> bool {
        matches!(self.account_type.as_deref(), Some("SELLER" | "VENDOR"))
    }
}

/// An id Amazon sends as a string or a number, `null` or `""` when absent.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(super::ads::optional_number_as_text(d)?.filter(|id| !id.is_empty()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManagerAccounts {
    #[serde(default)]
    manager_accounts: Vec<ManagerAccount>,
}

/// One link of a manager account, as Ads API v1's account links list it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLink {
    /// A DSP advertiser's legacy numeric id, or an Ads account's
    /// `amzn1.ads-account.g.…`.
    #[serde(deserialize_with = "super::ads::number_as_text")]
    pub account_id: String,
    pub account_name: Option<String>,
    /// ADVERTISER_ACCOUNT or MANAGER_ACCOUNT.
    pub account_type: Option<String>,
    /// SPONSORED_ADS and/or ADSP.
    #[serde(default)]
    pub ad_product_groups: Vec<String>,
    #[serde(default)]
    pub alternate_ids: Vec<LinkAlternateId>,
    #[serde(default)]
    pub permission_set: Option<PermissionSet>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkAlternateId {
    #[serde(default, deserialize_with = "present")]
    pub dsp_advertiser_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub profile_id: Option<String>,
    pub country_code: Option<String>,
    /// NA, EU or FE.
    pub region: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSet {
    pub role: Option<LinkRole>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkRole {
    pub role_name: Option<String>,
}

impl AccountLink {
    pub fn is_dsp_advertiser(&self) -> bool {
        self.account_type.as_deref() != Some("MANAGER_ACCOUNT")
            && self.ad_product_groups.iter().any(|g| g == "ADSP")
    }

    /// The DSP advertiser id: its alternate id, else the link's own id
    /// while Amazon still uses the legacy numeric form [D-LA].
    pub fn dsp_advertiser_id(&self) -> Option<&str> {
        self.alternate_ids
            .iter()
            .find_map(|alt| alt.dsp_advertiser_id.as_deref())
            .or_else(|| {
                let id = self.account_id.as_str();
                id.bytes().all(|b| b.is_ascii_digit()).then_some(id)
            })
    }

    /// The sponsored-ads profiles the link reaches (one per country), each
    /// with its country when known: its own alternate ids, else those
    /// `/adsAccounts/list` gives the Ads account it names (Amazon's guide
    /// shows sponsored-ads links whose alternate ids are empty [D-LA]).
    pub fn profiles<'a>(
        &'a self,
        ads_accounts: &'a [AdsAccount],
    ) -> Vec<(&'a str, Option<&'a str>)> {
        let own: Vec<_> = self
            .alternate_ids
            .iter()
            .filter_map(|alt| Some((alt.profile_id.as_deref()?, alt.country_code.as_deref())))
            .collect();
        if !own.is_empty() {
            return own;
        }
        ads_accounts
            .iter()
            .filter(|account| account.ads_account_id == self.account_id)
            .flat_map(|account| &account.alternate_ids)
            .filter_map(|alt| Some((alt.profile_id.as_deref()?, alt.country_code.as_deref())))
            .collect()
    }

    /// A link to an advertiser's sponsored-ads account (not a DSP
    /// advertiser, not a child manager account).
    pub fn is_sponsored_ads(&self) -> bool {
        self.account_type.as_deref() != Some("MANAGER_ACCOUNT") && !self.is_dsp_advertiser()
    }

    /// The region Amazon names for the link, if it names one.
    pub fn region(&self) -> Option<Region> {
        self.alternate_ids
            .iter()
            .find_map(|alt| alt.region.as_deref()?.to_ascii_lowercase().parse().ok())
    }

    /// The role the link grants the manager account; one we do not know is
    /// `unknown` (nothing refused on our side).
    pub fn role(&self) -> AccountRole {
        let name = self
            .permission_set
            .as_ref()
            .and_then(|p| p.role.as_ref())
            .and_then(|r| r.role_name.as_deref());
        match name {
            Some("ADMIN") => AccountRole::Admin,
            Some("EDITOR") => AccountRole::Editor,
            Some("VIEWER") => AccountRole::Viewer,
            _ => AccountRole::Unknown,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkPage {
    #[serde(default)]
    account_links: Vec<AccountLink>,
    next_token: Option<String>,
}

impl AdsApi {
    /// `GET /managerAccounts` on `region`'s host: the manager accounts with
    /// their links in that region's marketplaces (regional, like profiles
    /// [D-MA]).
    pub async fn manager_accounts(
        &self,
        region: Region,
        access_token: &Secret,
    ) -> Result<Vec<ManagerAccount>, AdsError> {
        let listed: ManagerAccounts = self
            .get_json(
                region,
                "/managerAccounts",
                access_token,
                &[("Accept", MANAGER_ACCOUNTS_MEDIA_TYPE)],
                &[],
            )
            .await?;
        Ok(listed.manager_accounts)
    }

    /// Every CHILD link of `manager_account_id`, following `nextToken`
    /// (`POST /adsApi/v1/query/accountLinks`, in closed beta: a client not
    /// admitted is refused, [`AdsError::is_no_access`]).
    pub async fn account_links(
        &self,
        region: Region,
        manager_account_id: &str,
        access_token: &Secret,
        stop_at: Option<Instant>,
    ) -> Result<Listed<AccountLink>, AdsError> {
        let client_id = self.client_id.expose();
        // Amazon's guide names the older client-id header; v1 calls name
        // the newer one: both carry the same id.
        let headers = [
            ("Amazon-Ads-ClientId", client_id),
            ("Amazon-Ads-Manager-AccountId", manager_account_id),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        let headers = &headers;
        paging::by_token(MAX_LINK_PAGES, stop_at, |next_token| async move {
            let mut body = json!({
                "relationshipTypeFilter": {"include": ["CHILD"]},
                "maxResults": LINKS_PAGE,
            });
            if let Some(token) = next_token {
                body["nextToken"] = json!(token);
            }
            let page: LinkPage = self
                .post_json(
                    region,
                    "/adsApi/v1/query/accountLinks",
                    access_token,
                    headers,
                    &body,
                )
                .await?;
            Ok((page.account_links, page.next_token))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_null_ids_are_absent_as_amazons_examples_and_spec_differ() {
        let managers: ManagerAccounts = serde_json::from_str(
            r#"{"managerAccounts": [{"managerAccountId": "amzn1.ads1.ma1.x", "managerAccountName": "M",
                "linkedAccounts": [
                  {"accountId": "ENTITY1", "accountType": "DSP_ADVERTISING_ACCOUNT",
                   "dspAdvertiserId": "592207944055236095", "marketplaceId": "ATVPDKIKX0DER", "profileId": ""},
                  {"accountId": "ENTITY2", "accountType": "SELLER", "dspAdvertiserId": null,
                   "marketplaceId": "ATVPDKIKX0DER", "profileId": 3991703629696934}]}]}"#,
        )
        .unwrap();
        let links = &managers.manager_accounts[0].linked_accounts;
        assert!(links[0].is_dsp_advertiser());
        assert_eq!(links[0].profile_id, None);
        assert_eq!(links[1].dsp_advertiser_id, None);
        assert_eq!(links[1].profile_id.as_deref(), Some("3991703629696934"));
        assert!(links[1].is_sponsored_ads());
    }

    #[test]
    fn an_account_link_names_its_advertiser_region_and_role() {
        let link: AccountLink = serde_json::from_str(
            r#"{"accountId": "592207944055236095", "accountName": "A", "accountType": "ADVERTISER_ACCOUNT",
                "adProductGroups": ["ADSP"], "alternateIds": [{"dspAdvertiserId": "592207944055236095", "region": "EU"}],
                "countryCode": ["DE"], "permissionSet": {"role": {"roleName": "VIEWER"},
                "customPermissionSet": [{"permissionName": "REPORTS_LIMITED"}]}, "relationshipType": "CHILD"}"#,
        )
        .unwrap();
        assert!(link.is_dsp_advertiser());
        assert_eq!(link.dsp_advertiser_id(), Some("592207944055236095"));
        assert_eq!(link.region(), Some(Region::Eu));
        assert_eq!(link.role(), AccountRole::Viewer);
        let legacy: AccountLink = serde_json::from_str(
            r#"{"accountId": 592207944055236096, "adProductGroups": ["ADSP"],
                "permissionSet": {"role": {"roleName": "OWNER_OF_SOMETHING_NEW"}}}"#,
        )
        .unwrap();
        assert_eq!(legacy.dsp_advertiser_id(), Some("592207944055236096"));
        assert_eq!(legacy.role(), AccountRole::Unknown);
        assert_eq!(legacy.region(), None);
    }

    #[test]
    fn a_sponsored_ads_link_without_alternate_ids_reaches_its_ads_accounts_profiles() {
        let link: AccountLink = serde_json::from_str(
            r#"{"accountId": "amzn1.ads-account.g.9", "accountType": "ADVERTISER_ACCOUNT",
                "adProductGroups": ["SPONSORED_ADS"], "alternateIds": []}"#,
        )
        .unwrap();
        let ads: Vec<AdsAccount> = serde_json::from_str(
            r#"[{"adsAccountId": "amzn1.ads-account.g.9", "alternateIds": [
                 {"countryCode": "US", "profileId": 11}, {"countryCode": "DE", "profileId": 12}]},
                {"adsAccountId": "amzn1.ads-account.g.other", "alternateIds": [{"profileId": 13}]}]"#,
        )
        .unwrap();
        assert!(link.is_sponsored_ads());
        assert_eq!(
            link.profiles(&ads),
            [("11", Some("US")), ("12", Some("DE"))]
        );
        assert_eq!(link.profiles(&[]), []);
    }
}
