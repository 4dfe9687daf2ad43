//! Everything a login reaches, of every kind: its Ads profiles in every
//! region (joined with their Ads accounts), the DSP advertisers under each
//! agency profile, and the instances of each AMC account. Calls run a few
//! at a time inside the invocation's time budget; a listing that fails or
//! cannot finish in time becomes a warning, and the rest is kept.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use serde::Serialize;

use super::ads::{AdsAccount, AdsApi, AdsError, AdsProfile, LwaProfile, account_status};
use super::amc::{AmcAccount, AmcInstance, instance_status};
use super::dsp::DspAdvertiser;
use super::marketplaces;
use crate::budget::until;
use crate::model::account::{AccountKind, AccountRole, AccountStatus, NativeIds};
use crate::model::connection::SyncWarning;
use crate::model::region::Region;
use crate::secrets::Secret;

/// DSP and AMC listings asked at once (Amazon's limits are per login).
pub const CONCURRENCY: usize = 4;
/// Discovery ends this long before the invocation must answer: time to
/// store what it found.
const STORE_RESERVE: Duration = Duration::from_secs(2);
/// The reason of a listing cut short by the time budget (a later sync
/// lists it again).
pub const INCOMPLETE: &str = "incomplete";

/// One account as Amazon lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredAccount {
    pub region: Region,
    pub native: NativeIds,
    pub name: String,
    pub country_code: Option<String>,
    pub currency_code: Option<String>,
    pub timezone: Option<String>,
    pub marketplace_id: Option<String>,
    pub marketplace_name: Option<String>,
    pub account_type: Option<String>,
    pub status: AccountStatus,
    pub source_status: Option<String>,
    pub role: AccountRole,
}

/// Accounts of one kind in one region: what a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listing {
    pub kind: AccountKind,
    pub region: Region,
}

impl Listing {
    /// The `sync_warnings` source naming this listing.
    pub fn source(self) -> String {
        let what = match self.kind {
            AccountKind::SponsoredAds => "profiles",
            AccountKind::DspAdvertiser => "dsp_advertisers",
            AccountKind::AmcInstance => "amc_instances",
        };
        format!("{what}_{}", self.region)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub lwa_profile: Option<LwaProfile>,
    pub accounts: Vec<DiscoveredAccount>,
    pub warnings: Vec<SyncWarning>,
    /// Listings that answered in full: an account of theirs no longer
    /// listed is gone at Amazon.
    pub complete: BTreeSet<Listing>,
}

impl Discovery {
    /// Whether at least one region's profiles were read.
    pub fn any_region_answered(&self) -> bool {
        self.complete
            .iter()
            .any(|l| l.kind == AccountKind::SponsoredAds)
    }

    pub fn listed_completely(&self, kind: AccountKind, region: Region) -> bool {
        self.complete.contains(&Listing { kind, region })
    }

    /// `listing` did not answer in full: no account of it counts as gone,
    /// and the user sees why (once per listing).
    fn fall_short(&mut self, listing: Listing, reason: &str) {
        self.complete.remove(&listing);
        let source = listing.source();
        if !self.warnings.iter().any(|w| w.source == source) {
            self.warnings.push(SyncWarning {
                source,
                reason: reason.into(),
                listed: None,
            });
        }
    }
}

/// A listing of the second round, after profiles and AMC accounts are known.
enum Task {
    Advertisers(Region, AdsProfile),
    Instances(Region, AmcAccount),
}

enum Listed {
    Advertisers(Result<Vec<DspAdvertiser>, AdsError>),
    Instances(Result<Vec<AmcInstance>, AdsError>),
}

impl Task {
    fn listing(&self) -> Listing {
        match self {
            Self::Advertisers(region, _) => Listing {
                kind: AccountKind::DspAdvertiser,
                region: *region,
            },
            Self::Instances(region, _) => Listing {
                kind: AccountKind::AmcInstance,
                region: *region,
            },
        }
    }
}

impl AdsApi {
    /// Everything the login reaches, with its LWA profile when
    /// `with_profile` (the login granted the `profile` scope and who it is
    /// matters).
    pub async fn discover(&self, access_token: &Secret, with_profile: bool) -> Discovery {
        let cutoff =
            crate::budget::answer_by().map(|at| at.checked_sub(STORE_RESERVE).unwrap_or(at));
        let profiles = join_all(
            Region::ALL
                .map(|region| async move { (region, self.profiles(region, access_token).await) }),
        );
        let amc_accounts = join_all(Region::ALL.map(|region| async move {
            let listed = until(cutoff, self.amc_accounts(region, access_token)).await;
            (region, listed)
        }));
        let lwa_profile = async {
            match with_profile {
                true => self.lwa_profile(access_token).await.map(Some),
                false => Ok(None),
            }
        };
        let entity_ids = until(cutoff, self.dsp_entity_ids(access_token));
        let (lwa_profile, regions, ads_accounts, amc_accounts, entity_ids) = tokio::join!(
            lwa_profile,
            profiles,
            self.ads_accounts(access_token),
            amc_accounts,
            entity_ids
        );
        // Only what the seats API wants as `parentEntityId`: without it the
        // agency's entity id stands in, so a failure here is no warning.
        let entity_ids = match entity_ids {
            Some(Ok(ids)) => ids,
            Some(Err(e)) => {
                tracing::debug!(reason = e.code(), "manager accounts not read");
                HashMap::new()
            }
            None => HashMap::new(),
        };
        let mut discovery = Discovery::default();
        discovery.lwa_profile = lwa_profile.unwrap_or_else(|e| {
            warn(&mut discovery.warnings, "lwa_profile", e.code());
            None
        });
        let ads_accounts = ads_accounts.unwrap_or_else(|e| {
            warn(&mut discovery.warnings, "ads_accounts", e.code());
            Vec::new()
        });
        let mut tasks = Vec::new();
        for (region, result) in regions {
            let listing = |kind| Listing { kind, region };
            match result {
                Ok(profiles) => {
                    discovery
                        .complete
                        .insert(listing(AccountKind::SponsoredAds));
                    discovery
                        .complete
                        .insert(listing(AccountKind::DspAdvertiser));
                    for profile in profiles {
                        if profile.is_dsp_agency() {
                            tasks.push(Task::Advertisers(region, profile.clone()));
                        }
                        discovery
                            .accounts
                            .push(sponsored(region, profile, &ads_accounts));
                    }
                }
                // DSP advertisers are listed under the region's profiles:
                // their listing is incomplete too, and the one warning says why.
                Err(e) => discovery.fall_short(listing(AccountKind::SponsoredAds), e.code()),
            }
        }
        for (region, result) in amc_accounts {
            let listing = Listing {
                kind: AccountKind::AmcInstance,
                region,
            };
            discovery.complete.insert(listing);
            match result {
                Some(Ok(accounts)) => tasks.extend(
                    accounts
                        .into_iter()
                        .map(|account| Task::Instances(region, account)),
                ),
                Some(Err(e)) if e.is_no_access() => {}
                Some(Err(e)) => discovery.fall_short(listing, e.code()),
                None => discovery.fall_short(listing, INCOMPLETE),
            }
        }
        let listed = self.run(&tasks, access_token, cutoff).await;
        for (task, listed) in tasks.iter().zip(listed) {
            match (task, listed) {
                (_, None) => discovery.fall_short(task.listing(), INCOMPLETE),
                (_, Some(Listed::Advertisers(Err(e)) | Listed::Instances(Err(e)))) => {
                    if !e.is_no_access() {
                        discovery.fall_short(task.listing(), e.code());
                    }
                }
                (Task::Advertisers(region, profile), Some(Listed::Advertisers(Ok(found)))) => {
                    discovery
                        .accounts
                        .extend(found.into_iter().map(|advertiser| {
                            let entity = entity_ids.get(&advertiser.advertiser_id).cloned();
                            dsp_advertiser(*region, profile, advertiser, entity)
                        }));
                }
                (Task::Instances(region, account), Some(Listed::Instances(Ok(found)))) => {
                    discovery.accounts.extend(
                        found
                            .into_iter()
                            .map(|instance| amc_instance(*region, account, instance)),
                    );
                }
                _ => unreachable!("each task lists its own kind"),
            }
        }
        // A native id is unique per kind; one listed twice (an advertiser
        // under two agency profiles) is kept once.
        discovery.accounts.sort_by(|a, b| {
            (a.native.kind(), a.native.native_id()).cmp(&(b.native.kind(), b.native.native_id()))
        });
        discovery.accounts.dedup_by(|a, b| {
            a.native.kind() == b.native.kind() && a.native.native_id() == b.native.native_id()
        });
        discovery
    }

    async fn list(&self, index: usize, task: &Task, access_token: &Secret) -> (usize, Listed) {
        let listed = match task {
            Task::Advertisers(region, profile) => Listed::Advertisers(
                self.dsp_advertisers(*region, &profile.profile_id, access_token)
                    .await,
            ),
            Task::Instances(region, account) => {
                Listed::Instances(self.amc_instances(*region, account, access_token).await)
            }
        };
        (index, listed)
    }

    /// Runs `tasks` [`CONCURRENCY`] at a time until `cutoff`: each one's
    /// outcome, in order, or `None` where it did not finish in time.
    async fn run(
        &self,
        tasks: &[Task],
        access_token: &Secret,
        cutoff: Option<Instant>,
    ) -> Vec<Option<Listed>> {
        let mut outcomes: Vec<Option<Listed>> = tasks.iter().map(|_| None).collect();
        let listings: Vec<_> = tasks
            .iter()
            .enumerate()
            .map(|(index, task)| self.list(index, task, access_token))
            .collect();
        let work = futures::stream::iter(listings)
            .buffer_unordered(CONCURRENCY)
            .for_each(|(index, listed)| {
                outcomes[index] = Some(listed);
                std::future::ready(())
            });
        // What finished by the cutoff is kept; the rest is dropped unfinished.
        until(cutoff, work).await;
        outcomes
    }
}

fn warn(warnings: &mut Vec<SyncWarning>, source: &str, reason: &str) {
    warnings.push(SyncWarning {
        source: source.into(),
        reason: reason.into(),
        listed: None,
    });
}

fn marketplace(id: Option<&String>) -> Option<String> {
    id.and_then(|id| marketplaces::name(id)).map(str::to_owned)
}

/// An Ads profile joined with the Ads account listing it.
fn sponsored(
    region: Region,
    profile: AdsProfile,
    ads_accounts: &[AdsAccount],
) -> DiscoveredAccount {
    let ads_account = ads_accounts.iter().find(|account| {
        account
            .alternate_ids
            .iter()
            .any(|alt| alt.profile_id.as_deref() == Some(profile.profile_id.as_str()))
    });
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
        marketplace_name: marketplace(profile.account_info.marketplace_string_id.as_ref()),
        marketplace_id: profile.account_info.marketplace_string_id,
        account_type: profile.account_info.kind,
        status: account_status(source_status.as_deref()),
        source_status,
        // `/v2/profiles` lists only accounts that granted Editor, and the login's own.
        role: AccountRole::Editor,
        native: NativeIds::SponsoredAds {
            profile_id: profile.profile_id,
            ads_account_id: ads_account.map(|a| a.ads_account_id.clone()),
        },
    }
}

/// A DSP advertiser, in its agency profile's marketplace. DSP lists no
/// status: a listed advertiser is active. Its parent entity is its own
/// entity id where the manager accounts name one, else its agency's
/// (Amazon documents neither; see `reference/amazon-dsp-amc.md`).
fn dsp_advertiser(
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
        marketplace_name: marketplace(marketplace_id.as_ref()),
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

fn amc_instance(region: Region, account: &AmcAccount, instance: AmcInstance) -> DiscoveredAccount {
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
    fn a_listing_that_falls_short_warns_once_and_is_not_complete() {
        let mut discovery = Discovery::default();
        let listing = Listing {
            kind: AccountKind::DspAdvertiser,
            region: Region::Fe,
        };
        discovery.complete.insert(listing);
        discovery.fall_short(listing, "unavailable");
        discovery.fall_short(listing, INCOMPLETE);
        assert!(!discovery.listed_completely(AccountKind::DspAdvertiser, Region::Fe));
        assert_eq!(discovery.warnings.len(), 1);
        assert_eq!(discovery.warnings[0].source, "dsp_advertisers_fe");
        assert!(!discovery.any_region_answered());
    }
}
