//! Accounts as discovery found them, one constructor per way Amazon lists
//! one: an Ads profile (joined with its Ads account), a DSP advertiser under
//! an agency profile, an AMC instance, and what only a manager account
//! links (managed-service DSP advertisers, profiles linked for viewing).

use super::DiscoveredAccount;
use crate::amazon::ads::{AdsAccount, AdsProfile, account_status};
use crate::amazon::amc::{AmcAccount, AmcInstance, instance_status};
use crate::amazon::dsp::DspAdvertiser;
use crate::amazon::marketplaces;
use crate::model::account::{AccountRole, AccountStatus, NativeIds};
use crate::model::region::Region;

fn marketplace(id: Option<&str>) -> Option<String> {
    id.and_then(marketplaces::name).map(str::to_owned)
}

/// An Ads profile joined with the Ads account listing it.
pub(super) fn sponsored(
    region: Region,
    profile: AdsProfile,
    ads_accounts: &[AdsAccount],
) -> DiscoveredAccount {
    let ads_account = ads_account_of(&profile.profile_id, ads_accounts);
    let name = profile
        .account_info
        .name
        .clone()
        .or_else(|| ads_account.and_then(|a| a.account_name.clone()))
        .unwrap_or_else(|| format!("Amazon Ads profile {}", profile.profile_id));
    let source_status = ads_account.and_then(|a| a.status.clone());
    DiscoveredAccount {
        region,
        name,
        country_code: profile.country_code,
        currency_code: profile.currency_code,
        timezone: profile.timezone,
        marketplace_name: marketplace(profile.account_info.marketplace_string_id.as_deref()),
        marketplace_id: profile.account_info.marketplace_string_id,
        account_type: profile.account_info.kind,
        status: account_status(source_status.as_deref()),
        source_status,
        // `/v2/profiles` lists only accounts that granted Editor, and the
        // login's own [D-MA]; an account link may say more.
        role: AccountRole::Editor,
        native: NativeIds::SponsoredAds {
            profile_id: profile.profile_id,
            ads_account_id: ads_account.map(|a| a.ads_account_id.clone()),
        },
    }
}

/// A DSP advertiser, in its agency profile's marketplace. DSP lists no
/// status: a listed advertiser is active. Its parent entity is its own
/// entity id where a manager account names one, else its agency's
/// (Amazon documents neither; see `reference/amazon-dsp-amc.md` §3).
pub(super) fn dsp_advertiser(
    region: Region,
    agency: &AdsProfile,
    advertiser: DspAdvertiser,
    entity_id: Option<String>,
) -> DiscoveredAccount {
    let marketplace_id = agency.account_info.marketplace_string_id.clone();
    DiscoveredAccount {
        region,
        name: advertiser
            .name
            .unwrap_or_else(|| format!("DSP advertiser {}", advertiser.advertiser_id)),
        country_code: advertiser.country.or_else(|| agency.country_code.clone()),
        currency_code: advertiser.currency.or_else(|| agency.currency_code.clone()),
        timezone: advertiser.timezone.or_else(|| agency.timezone.clone()),
        marketplace_name: marketplace(marketplace_id.as_deref()),
        marketplace_id,
        account_type: None,
        status: AccountStatus::Active,
        source_status: None,
        role: AccountRole::Unknown,
        native: NativeIds::DspAdvertiser {
            advertiser_id: advertiser.advertiser_id,
            profile_id: Some(agency.profile_id.clone()),
            parent_entity_id: entity_id.or_else(|| agency.account_info.id.clone()),
        },
    }
}

pub(super) fn amc_instance(
    region: Region,
    account: &AmcAccount,
    instance: AmcInstance,
) -> DiscoveredAccount {
    DiscoveredAccount {
        region,
        name: instance
            .instance_name
            .or(instance.customer_canonical_name)
            .unwrap_or_else(|| format!("AMC instance {}", instance.instance_id)),
        country_code: None,
        currency_code: None,
        timezone: None,
        marketplace_name: marketplace(Some(&account.marketplace_id)),
        marketplace_id: Some(account.marketplace_id.clone()),
        account_type: None,
        status: instance_status(instance.creation_status.as_deref()),
        role: AccountRole::Unknown,
        source_status: instance.creation_status,
        native: NativeIds::AmcInstance {
            instance_id: instance.instance_id,
            amc_account_id: account.account_id.clone(),
            instance_type: instance.instance_type,
        },
    }
}

fn ads_account_of<'a>(profile_id: &str, ads_accounts: &'a [AdsAccount]) -> Option<&'a AdsAccount> {
    ads_accounts.iter().find(|account| {
        account
            .alternate_ids
            .iter()
            .any(|alt| alt.profile_id.as_deref() == Some(profile_id))
    })
}

/// A DSP advertiser no agency profile lists, reached through a manager
/// account's link: one run by Amazon's managed service [D-DSPACCT]. Calls
/// name it by `Amazon-Ads-AccountId` alone; its link's entity id is its
/// parent entity.
pub(super) fn managed_advertiser(
    region: Region,
    advertiser_id: &str,
    link: ManagedLink<'_>,
    role: AccountRole,
) -> DiscoveredAccount {
    DiscoveredAccount {
        region,
        name: link
            .name
            .map_or_else(|| format!("DSP advertiser {advertiser_id}"), str::to_owned),
        country_code: link
            .marketplace_id
            .and_then(marketplaces::country)
            .map(str::to_owned),
        currency_code: None,
        timezone: None,
        marketplace_name: marketplace(link.marketplace_id),
        marketplace_id: link.marketplace_id.map(str::to_owned),
        account_type: None,
        status: AccountStatus::Active,
        source_status: None,
        role,
        native: NativeIds::DspAdvertiser {
            advertiser_id: advertiser_id.to_owned(),
            profile_id: None,
            parent_entity_id: link.entity_id.map(str::to_owned),
        },
    }
}

/// What a manager account's link says of the account it links.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ManagedLink<'a> {
    pub name: Option<&'a str>,
    pub marketplace_id: Option<&'a str>,
    /// `ENTITY…`, from `/managerAccounts`.
    pub entity_id: Option<&'a str>,
    /// SELLER or VENDOR.
    pub account_type: Option<&'a str>,
}

/// A seller's or vendor's profile that `/v2/profiles` does not list but a
/// manager account links: reachable only through the link's profile id,
/// which Amazon documents for Viewer links [D-MA].
pub(super) fn linked_profile(
    region: Region,
    profile_id: &str,
    link: ManagedLink<'_>,
    ads_accounts: &[AdsAccount],
    role: AccountRole,
) -> DiscoveredAccount {
    let ads_account = ads_account_of(profile_id, ads_accounts);
    let source_status = ads_account.and_then(|a| a.status.clone());
    DiscoveredAccount {
        region,
        name: link
            .name
            .map(str::to_owned)
            .or_else(|| ads_account.and_then(|a| a.account_name.clone()))
            .unwrap_or_else(|| format!("Amazon Ads profile {profile_id}")),
        country_code: link
            .marketplace_id
            .and_then(marketplaces::country)
            .map(str::to_owned),
        currency_code: None,
        timezone: None,
        marketplace_name: marketplace(link.marketplace_id),
        marketplace_id: link.marketplace_id.map(str::to_owned),
        account_type: link.account_type.map(str::to_ascii_lowercase),
        status: account_status(source_status.as_deref()),
        source_status,
        role,
        native: NativeIds::SponsoredAds {
            profile_id: profile_id.to_owned(),
            ads_account_id: ads_account.map(|a| a.ads_account_id.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::ads::AlternateId;

    fn profile(json: &str) -> AdsProfile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_profile_joins_its_ads_account_and_names_its_marketplace() {
        let profile = profile(
            r#"{"profileId": 3991703629696934, "countryCode": "US",
                "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "id": "A2X", "type": "seller", "name": "Acme"}}"#,
        );
        let ads = vec![AdsAccount {
            ads_account_id: "amzn1.ads-account.g.1".into(),
            account_name: Some("Acme Global".into()),
            status: Some("PARTIALLY_CREATED".into()),
            alternate_ids: vec![AlternateId {
                country_code: Some("US".into()),
                profile_id: Some("3991703629696934".into()),
            }],
        }];
        let joined = sponsored(Region::Na, profile, &ads);
        assert_eq!(
            joined.native,
            NativeIds::SponsoredAds {
                profile_id: "3991703629696934".into(),
                ads_account_id: Some("amzn1.ads-account.g.1".into())
            }
        );
        assert_eq!(joined.status, AccountStatus::Partial);
        assert_eq!(joined.source_status.as_deref(), Some("PARTIALLY_CREATED"));
        assert_eq!(joined.name, "Acme");
        assert_eq!(joined.marketplace_name.as_deref(), Some("Amazon.com"));
    }

    #[test]
    fn an_advertiser_keeps_its_agency_and_inherits_what_it_lacks() {
        let agency = profile(
            r#"{"profileId": 77, "countryCode": "DE", "currencyCode": "EUR", "timezone": "Europe/Berlin",
                "accountInfo": {"marketplaceStringId": "A1PA6795UKMFR9", "id": "ENTITY9", "type": "agency", "name": "Agency"}}"#,
        );
        assert!(agency.is_dsp_agency());
        let advertiser: DspAdvertiser =
            serde_json::from_str(r#"{"advertiserId": "592207944055236095", "currency": "GBP"}"#)
                .unwrap();
        let found = dsp_advertiser(Region::Eu, &agency, advertiser.clone(), None);
        assert_eq!(
            found.native,
            NativeIds::DspAdvertiser {
                advertiser_id: "592207944055236095".into(),
                profile_id: Some("77".into()),
                parent_entity_id: Some("ENTITY9".into())
            }
        );
        assert_eq!(found.currency_code.as_deref(), Some("GBP"));
        assert_eq!(found.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(found.marketplace_name.as_deref(), Some("Amazon.de"));
        assert_eq!(found.name, "DSP advertiser 592207944055236095");
        let linked = dsp_advertiser(Region::Eu, &agency, advertiser, Some("ENTITYADV".into()));
        assert!(matches!(
            linked.native,
            NativeIds::DspAdvertiser { parent_entity_id: Some(ref id), .. } if id == "ENTITYADV"
        ));
    }

    #[test]
    fn attribution_and_seller_profiles_are_no_dsp_agencies() {
        let attribution = profile(
            r#"{"profileId": 1, "accountInfo": {"type": "agency", "subType": "AMAZON_ATTRIBUTION"}}"#,
        );
        let seller = profile(r#"{"profileId": 2, "accountInfo": {"type": "seller"}}"#);
        assert!(!attribution.is_dsp_agency());
        assert!(!seller.is_dsp_agency());
    }

    #[test]
    fn a_managed_service_advertiser_has_no_agency_and_its_links_entity() {
        let link = ManagedLink {
            name: Some("Managed Co"),
            marketplace_id: Some("A1PA6795UKMFR9"),
            entity_id: Some("ENTITYMANAGED"),
            account_type: None,
        };
        let found = managed_advertiser(Region::Eu, "592207944055236099", link, AccountRole::Viewer);
        assert_eq!(
            found.native,
            NativeIds::DspAdvertiser {
                advertiser_id: "592207944055236099".into(),
                profile_id: None,
                parent_entity_id: Some("ENTITYMANAGED".into())
            }
        );
        assert_eq!(found.country_code.as_deref(), Some("DE"));
        assert_eq!(found.marketplace_name.as_deref(), Some("Amazon.de"));
        assert_eq!(found.role, AccountRole::Viewer);
    }
}
