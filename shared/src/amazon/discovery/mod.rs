//! Everything a login reaches, of every kind: its Ads profiles in every
//! region (joined with their Ads accounts), the DSP advertisers under each
//! agency profile, the instances of each AMC account, and what its manager
//! accounts link in every region (managed-service DSP advertisers, profiles
//! linked for viewing, each link's role). Calls run a few at a time inside
//! the invocation's time budget; a listing that fails, or stops before
//! Amazon's end, becomes a warning saying how far it got, and the rest is
//! kept.

mod found;
mod links;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use serde::Serialize;

use self::found::{amc_instance, dsp_advertiser, sponsored};
use self::links::{LinksOutcome, ManagerLinks};
use super::ads::{AdsApi, AdsError, AdsProfile, LwaProfile};
use super::amc::{AmcAccount, AmcInstance};
use super::dsp::DspAdvertiser;
use super::managers::AccountLink;
use super::paging::Listed;
use crate::budget::until;
use crate::model::account::{AccountKind, AccountRole, AccountStatus, NativeIds};
use crate::model::connection::SyncWarning;
use crate::model::region::Region;
use crate::secrets::Secret;

/// DSP, AMC and account-link listings asked at once (Amazon's limits are
/// per login).
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
    /// Regions whose profiles were read.
    pub regions_answered: BTreeSet<Region>,
}

impl Discovery {
    /// Whether at least one region's profiles were read.
    pub fn any_region_answered(&self) -> bool {
        !self.regions_answered.is_empty()
    }

    pub fn listed_completely(&self, kind: AccountKind, region: Region) -> bool {
        self.complete.contains(&Listing { kind, region })
    }

    /// `listing` did not answer in full: no account of it counts as gone,
    /// and the user sees why (once per listing; how far it got is counted
    /// when discovery ends).
    fn fall_short(&mut self, listing: Listing, reason: &str) {
        self.complete.remove(&listing);
        self.warn(&listing.source(), reason);
    }

    /// One warning per source: the first reason stands.
    fn warn(&mut self, source: &str, reason: &str) {
        if !self.warnings.iter().any(|w| w.source == source) {
            self.warnings.push(SyncWarning {
                source: source.into(),
                reason: reason.into(),
                listed: None,
            });
        }
    }

    /// A warning that counts its own items (`listed` adds up across the
    /// parts of one source).
    fn warn_listed(&mut self, source: &str, reason: &str, listed: usize) {
        self.warn(source, reason);
        if let Some(warning) = self.warnings.iter_mut().find(|w| w.source == source) {
            let listed = u32::try_from(listed).unwrap_or(u32::MAX);
            warning.listed = Some(warning.listed.unwrap_or(0).saturating_add(listed));
        }
    }

    /// How far each account listing that warned got: the accounts of its
    /// kind and region kept.
    fn count_listed(&mut self) {
        for warning in &mut self.warnings {
            let listing = Region::ALL.into_iter().find_map(|region| {
                AccountKind::ALL
                    .into_iter()
                    .map(|kind| Listing { kind, region })
                    .find(|l| l.source() == warning.source)
            });
            if let Some(listing) = listing {
                let kept = self
                    .accounts
                    .iter()
                    .filter(|a| a.native.kind() == listing.kind && a.region == listing.region)
                    .count();
                warning.listed = Some(u32::try_from(kept).unwrap_or(u32::MAX));
            }
        }
    }

    /// Takes what a paged listing received; one that stopped early warns.
    fn take<T>(&mut self, listing: Listing, listed: Listed<T>) -> Vec<T> {
        if let Some(cut) = listed.cut {
            self.fall_short(listing, cut.reason());
        }
        listed.items
    }
}

/// A listing of the second round, after profiles, AMC accounts and manager
/// accounts are known.
enum Task {
    Advertisers(Region, AdsProfile),
    Instances(Region, AmcAccount),
    Links(Region, String),
}

enum Outcome {
    Advertisers(Result<Listed<DspAdvertiser>, AdsError>),
    Instances(Result<Listed<AmcInstance>, AdsError>),
    Links(Result<Listed<AccountLink>, AdsError>),
}

impl Task {
    fn listing(&self) -> Option<Listing> {
        let (kind, region) = match self {
            Self::Advertisers(region, _) => (AccountKind::DspAdvertiser, region),
            Self::Instances(region, _) => (AccountKind::AmcInstance, region),
            Self::Links(..) => return None,
        };
        Some(Listing {
            kind,
            region: *region,
        })
    }
}

impl AdsApi {
    /// Everything the login reaches, with its LWA profile when
    /// `with_profile` (the login granted the `profile` scope and who it is
    /// matters).
    pub async fn discover(&self, access_token: &Secret, with_profile: bool) -> Discovery {
        let cutoff =
            crate::budget::answer_by().map(|at| at.checked_sub(STORE_RESERVE).unwrap_or(at));
        let per_region = |region: Region| async move {
            tokio::join!(
                self.profiles(region, access_token),
                until(cutoff, self.amc_accounts(region, access_token, cutoff)),
                until(cutoff, self.manager_accounts(region, access_token)),
            )
        };
        let regions =
            join_all(Region::ALL.map(|region| async move { (region, per_region(region).await) }));
        let lwa_profile = async {
            match with_profile {
                true => self.lwa_profile(access_token).await.map(Some),
                false => Ok(None),
            }
        };
        let ads_accounts = until(cutoff, self.ads_accounts(access_token, cutoff));
        let (lwa_profile, regions, ads_accounts) = tokio::join!(lwa_profile, regions, ads_accounts);

        let mut discovery = Discovery::default();
        discovery.lwa_profile = lwa_profile.unwrap_or_else(|e| {
            discovery.warn("lwa_profile", e.code());
            None
        });
        let ads_accounts = match ads_accounts {
            Some(Ok(listed)) => {
                if let Some(cut) = listed.cut {
                    discovery.warn_listed("ads_accounts", cut.reason(), listed.items.len());
                }
                listed.items
            }
            Some(Err(e)) => {
                discovery.warn("ads_accounts", e.code());
                Vec::new()
            }
            None => {
                discovery.warn("ads_accounts", INCOMPLETE);
                Vec::new()
            }
        };
        let mut tasks = Vec::new();
        let mut profiles_listed: BTreeMap<Region, HashSet<String>> = BTreeMap::new();
        let mut managers = ManagerLinks::default();
        for (region, (profiles, amc_accounts, manager_accounts)) in regions {
            let listing = |kind| Listing { kind, region };
            match profiles {
                Ok(profiles) => {
                    discovery.regions_answered.insert(region);
                    discovery.complete.extend(
                        [AccountKind::SponsoredAds, AccountKind::DspAdvertiser].map(listing),
                    );
                    let ids = profiles.iter().map(|p| p.profile_id.clone()).collect();
                    profiles_listed.insert(region, ids);
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
                Err(e) => {
                    discovery
                        .complete
                        .remove(&listing(AccountKind::DspAdvertiser));
                    discovery.fall_short(listing(AccountKind::SponsoredAds), e.code());
                }
            }
            let amc = listing(AccountKind::AmcInstance);
            discovery.complete.insert(amc);
            match amc_accounts {
                Some(Ok(accounts)) => tasks.extend(
                    discovery
                        .take(amc, accounts)
                        .into_iter()
                        .map(|account| Task::Instances(region, account)),
                ),
                Some(Err(e)) if e.is_no_access() => {}
                Some(Err(e)) => discovery.fall_short(amc, e.code()),
                None => discovery.fall_short(amc, INCOMPLETE),
            }
            match manager_accounts {
                Some(Ok(accounts)) => {
                    tasks.extend(
                        accounts
                            .iter()
                            .map(|m| Task::Links(region, m.manager_account_id.clone())),
                    );
                    managers.add_region(region, accounts);
                }
                // A login without manager accounts may be refused them.
                Some(Err(e)) if e.is_no_access() => managers.add_region(region, Vec::new()),
                failed => {
                    // What only they link may be missing: nothing of theirs
                    // counts as gone.
                    let reason =
                        failed.map_or(INCOMPLETE, |e| e.err().map_or(INCOMPLETE, |e| e.code()));
                    discovery.warn(&links::source(region), reason);
                    for kind in [AccountKind::SponsoredAds, AccountKind::DspAdvertiser] {
                        discovery.complete.remove(&listing(kind));
                    }
                }
            }
        }
        let outcomes = self.run(&tasks, access_token, cutoff).await;
        let mut advertisers = Vec::new();
        for (task, outcome) in tasks.iter().zip(outcomes) {
            match (task, outcome) {
                (Task::Links(region, manager), outcome) => {
                    let outcome = match outcome {
                        Some(Outcome::Links(Ok(listed))) => LinksOutcome::Listed(listed),
                        Some(Outcome::Links(Err(e))) => LinksOutcome::Failed(e),
                        _ => LinksOutcome::Unfinished,
                    };
                    managers.add_links(*region, manager, outcome);
                }
                (task, None) => {
                    if let Some(listing) = task.listing() {
                        discovery.fall_short(listing, INCOMPLETE);
                    }
                }
                (task, Some(Outcome::Advertisers(Err(e)) | Outcome::Instances(Err(e)))) => {
                    if let (false, Some(listing)) = (e.is_no_access(), task.listing()) {
                        discovery.fall_short(listing, e.code());
                    }
                }
                (Task::Advertisers(region, profile), Some(Outcome::Advertisers(Ok(listed)))) => {
                    let listing = Listing {
                        kind: AccountKind::DspAdvertiser,
                        region: *region,
                    };
                    let found = discovery.take(listing, listed);
                    advertisers.extend(found.into_iter().map(|a| (*region, profile, a)));
                }
                (Task::Instances(region, account), Some(Outcome::Instances(Ok(listed)))) => {
                    let listing = Listing {
                        kind: AccountKind::AmcInstance,
                        region: *region,
                    };
                    let found = discovery.take(listing, listed);
                    discovery.accounts.extend(
                        found
                            .into_iter()
                            .map(|instance| amc_instance(*region, account, instance)),
                    );
                }
                _ => unreachable!("each task lists its own kind"),
            }
        }
        let facts = managers.facts(&ads_accounts);
        for account in &mut discovery.accounts {
            if let NativeIds::SponsoredAds { profile_id, .. } = &account.native
                && let Some(role) = facts.profile_role(profile_id)
            {
                account.role = role;
            }
        }
        let agency_listed: HashSet<String> = advertisers
            .iter()
            .map(|(_, _, a)| a.advertiser_id.clone())
            .collect();
        let agencies_complete: HashSet<Region> = Region::ALL
            .into_iter()
            .filter(|r| discovery.listed_completely(AccountKind::DspAdvertiser, *r))
            .collect();
        for (region, profile, advertiser) in advertisers {
            let entity = facts.entity_ids.get(&advertiser.advertiser_id).cloned();
            let role = facts.advertiser_role(&advertiser.advertiser_id);
            let mut found = dsp_advertiser(region, profile, advertiser, entity);
            found.role = role.unwrap_or(found.role);
            discovery.accounts.push(found);
        }
        let linked = managers.accounts(
            &facts,
            &profiles_listed,
            &agency_listed,
            &agencies_complete,
            &ads_accounts,
        );
        discovery.accounts.extend(linked);
        managers.report_shortfalls(&mut discovery, &ads_accounts);
        // A native id is unique per kind; one listed twice (an advertiser
        // under two agency profiles) is kept once.
        discovery.accounts.sort_by(|a, b| {
            (a.native.kind(), a.native.native_id()).cmp(&(b.native.kind(), b.native.native_id()))
        });
        discovery.accounts.dedup_by(|a, b| {
            a.native.kind() == b.native.kind() && a.native.native_id() == b.native.native_id()
        });
        discovery.count_listed();
        discovery
    }

    async fn list(
        &self,
        index: usize,
        task: &Task,
        access_token: &Secret,
        cutoff: Option<Instant>,
    ) -> (usize, Outcome) {
        let outcome = match task {
            Task::Advertisers(region, profile) => Outcome::Advertisers(
                self.dsp_advertisers(*region, &profile.profile_id, access_token, cutoff)
                    .await,
            ),
            Task::Instances(region, account) => Outcome::Instances(
                self.amc_instances(*region, account, access_token, cutoff)
                    .await,
            ),
            Task::Links(region, manager) => Outcome::Links(
                self.account_links(*region, manager, access_token, cutoff)
                    .await,
            ),
        };
        (index, outcome)
    }

    /// Runs `tasks` [`CONCURRENCY`] at a time until `cutoff`: each one's
    /// outcome, in order, or `None` where it did not finish in time.
    async fn run(
        &self,
        tasks: &[Task],
        access_token: &Secret,
        cutoff: Option<Instant>,
    ) -> Vec<Option<Outcome>> {
        let mut outcomes: Vec<Option<Outcome>> = tasks.iter().map(|_| None).collect();
        let listings: Vec<_> = tasks
            .iter()
            .enumerate()
            .map(|(index, task)| self.list(index, task, access_token, cutoff))
            .collect();
        let work = futures::stream::iter(listings)
            .buffer_unordered(CONCURRENCY)
            .for_each(|(index, outcome)| {
                outcomes[index] = Some(outcome);
                std::future::ready(())
            });
        // What finished by the cutoff is kept; the rest is dropped unfinished.
        until(cutoff, work).await;
        outcomes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
