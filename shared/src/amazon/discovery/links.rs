//! What manager accounts add to discovery: the entity id of each DSP
//! advertiser they link, the roles their account links report, and the
//! accounts only they reach — managed-service DSP advertisers and profiles
//! linked for viewing. Links beyond what Amazon lists (50 per manager
//! account in `/managerAccounts`) come from account links where Amazon
//! admits the client to them; otherwise the remainder is reported.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::found::{ManagedLink, linked_profile, managed_advertiser};
use super::{DiscoveredAccount, Discovery, Listing};
use crate::amazon::ads::{AdsAccount, AdsError};
use crate::amazon::managers::{AccountLink, LINKS_LISTED, LinkedAccount, ManagerAccount};
use crate::amazon::marketplaces;
use crate::amazon::paging::Listed;
use crate::model::account::{AccountKind, AccountRole};
use crate::model::region::Region;

/// How asking one manager account's account links went.
pub(super) enum LinksOutcome {
    Listed(Listed<AccountLink>),
    Failed(AdsError),
    /// The time budget ended it before its first page came back.
    Unfinished,
}

/// The manager accounts of every region that answered, and their links.
#[derive(Default)]
pub(super) struct ManagerLinks {
    managers: BTreeMap<Region, Vec<ManagerAccount>>,
    links: HashMap<(Region, String), LinksOutcome>,
}

/// Roles and entity ids by the id Amazon links an account by.
#[derive(Default)]
pub(super) struct LinkFacts {
    pub entity_ids: HashMap<String, String>,
    roles_by_advertiser: HashMap<String, AccountRole>,
    roles_by_profile: HashMap<String, AccountRole>,
}

impl LinkFacts {
    pub fn advertiser_role(&self, advertiser_id: &str) -> Option<AccountRole> {
        self.roles_by_advertiser.get(advertiser_id).copied()
    }

    pub fn profile_role(&self, profile_id: &str) -> Option<AccountRole> {
        self.roles_by_profile.get(profile_id).copied()
    }
}

impl ManagerLinks {
    pub fn add_region(&mut self, region: Region, managers: Vec<ManagerAccount>) {
        self.managers.insert(region, managers);
    }

    pub fn add_links(&mut self, region: Region, manager_account_id: &str, outcome: LinksOutcome) {
        self.links
            .insert((region, manager_account_id.to_owned()), outcome);
    }

    pub fn facts(&self, ads_accounts: &[AdsAccount]) -> LinkFacts {
        let mut facts = LinkFacts::default();
        for link in self
            .managers
            .values()
            .flatten()
            .flat_map(|m| &m.linked_accounts)
        {
            if let (true, Some(advertiser), Some(entity)) = (
                link.is_dsp_advertiser(),
                &link.dsp_advertiser_id,
                &link.account_id,
            ) {
                facts.entity_ids.insert(advertiser.clone(), entity.clone());
            }
        }
        for outcome in self.links.values() {
            let LinksOutcome::Listed(listed) = outcome else {
                continue;
            };
            for link in &listed.items {
                let role = link.role();
                if role == AccountRole::Unknown {
                    continue;
                }
                if let Some(advertiser) = link
                    .dsp_advertiser_id()
                    .filter(|_| link.is_dsp_advertiser())
                {
                    facts
                        .roles_by_advertiser
                        .insert(advertiser.to_owned(), role);
                }
                for (profile, _) in link.profiles(ads_accounts) {
                    facts.roles_by_profile.insert(profile.to_owned(), role);
                }
            }
        }
        facts
    }

    /// The accounts only a manager account reaches, in the regions whose
    /// other listings let us tell: a DSP advertiser no agency profile
    /// lists (`agency_listed`), where `agencies_complete` says that
    /// region's agency listings answered in full; a profile its region's
    /// `/v2/profiles` (`profiles`) does not list. Each is listed once.
    pub fn accounts(
        &self,
        facts: &LinkFacts,
        profiles: &BTreeMap<Region, HashSet<String>>,
        agency_listed: &HashSet<String>,
        agencies_complete: &HashSet<Region>,
        ads_accounts: &[AdsAccount],
    ) -> Vec<DiscoveredAccount> {
        let mut found = Vec::new();
        let mut seen: HashSet<(AccountKind, String)> = HashSet::new();
        let mut advertiser = |region: Region, id: &str, link: ManagedLink<'_>| {
            if agencies_complete.contains(&region)
                && !agency_listed.contains(id)
                && seen.insert((AccountKind::DspAdvertiser, id.to_owned()))
            {
                // ADSP Reports, the managed-service link, is read-only [D-ADSP].
                let role = facts.advertiser_role(id).unwrap_or(AccountRole::Viewer);
                found.push(managed_advertiser(region, id, link, role));
            }
        };
        for (region, managers) in &self.managers {
            for link in managers.iter().flat_map(|m| &m.linked_accounts) {
                if let (true, Some(id)) = (link.is_dsp_advertiser(), &link.dsp_advertiser_id) {
                    advertiser(*region, id, managed_link(link));
                }
            }
        }
        for ((host, _), outcome) in &self.links {
            let LinksOutcome::Listed(listed) = outcome else {
                continue;
            };
            for link in listed.items.iter().filter(|l| l.is_dsp_advertiser()) {
                if let Some(id) = link.dsp_advertiser_id() {
                    let region = link.region().unwrap_or(*host);
                    let name = link.account_name.as_deref();
                    let entity_id = facts.entity_ids.get(id).map(String::as_str);
                    advertiser(
                        region,
                        id,
                        ManagedLink {
                            name,
                            entity_id,
                            ..ManagedLink::default()
                        },
                    );
                }
            }
        }
        let mut profile = |region: Region, id: &str, link: ManagedLink<'_>| {
            let listed = profiles.get(&region);
            if listed.is_some_and(|listed| !listed.contains(id))
                && seen.insert((AccountKind::SponsoredAds, id.to_owned()))
            {
                // `/v2/profiles` lists every account that granted Editor:
                // one reached only through a link is a Viewer's [D-MA].
                let role = facts.profile_role(id).unwrap_or(AccountRole::Viewer);
                found.push(linked_profile(region, id, link, ads_accounts, role));
            }
        };
        for (region, managers) in &self.managers {
            for link in managers.iter().flat_map(|m| &m.linked_accounts) {
                if let (true, Some(id)) = (link.is_sponsored_ads(), &link.profile_id) {
                    profile(*region, id, managed_link(link));
                }
            }
        }
        for ((host, _), outcome) in &self.links {
            let LinksOutcome::Listed(listed) = outcome else {
                continue;
            };
            for link in listed.items.iter().filter(|l| l.is_sponsored_ads()) {
                let name = link.account_name.as_deref();
                for (id, country) in link.profiles(ads_accounts) {
                    let region = country
                        .and_then(marketplaces::region_of_country)
                        .or_else(|| link.region())
                        .unwrap_or(*host);
                    profile(
                        region,
                        id,
                        ManagedLink {
                            name,
                            ..ManagedLink::default()
                        },
                    );
                }
            }
        }
        found
    }

    /// Reports each manager account whose links could not all be read:
    /// account links cut short, or `/managerAccounts`' 50 reached without
    /// account links to read the rest. Its region's sponsored-ads and DSP
    /// listings are then not complete (an account missing from them may be
    /// among the unread links).
    pub fn report_shortfalls(&self, discovery: &mut Discovery, ads_accounts: &[AdsAccount]) {
        // Past `/managerAccounts`' 50, a sponsored-ads link with no profile
        // id anywhere cannot be scoped by any call: counted, never dropped
        // in silence (some may be among the 50 listed with their profile).
        for (region, managers) in &self.managers {
            for manager in managers
                .iter()
                .filter(|m| m.linked_accounts.len() >= LINKS_LISTED)
            {
                let key = (*region, manager.manager_account_id.clone());
                let Some(LinksOutcome::Listed(listed)) = self.links.get(&key) else {
                    continue;
                };
                let unaddressable = listed
                    .items
                    .iter()
                    .filter(|l| l.is_sponsored_ads() && l.profiles(ads_accounts).is_empty())
                    .count();
                if unaddressable > 0 {
                    discovery.warn_listed(&source(*region), "links_without_profile", unaddressable);
                }
            }
        }
        for (region, managers) in &self.managers {
            for manager in managers {
                let key = (*region, manager.manager_account_id.clone());
                let linked = manager.linked_accounts.len();
                let shortfall = match self.links.get(&key) {
                    Some(LinksOutcome::Listed(listed)) => {
                        listed.cut.map(|cut| (cut.reason(), listed.items.len()))
                    }
                    // Not admitted to account links (closed beta): the
                    // links past Amazon's 50 cannot be read at all.
                    Some(LinksOutcome::Failed(e)) if linked >= LINKS_LISTED => {
                        let reason = if e.is_no_access() {
                            "link_limit"
                        } else {
                            e.code()
                        };
                        Some((reason, linked))
                    }
                    None if linked >= LINKS_LISTED => Some(("link_limit", linked)),
                    Some(LinksOutcome::Unfinished) if linked >= LINKS_LISTED => {
                        Some((super::INCOMPLETE, linked))
                    }
                    _ => None,
                };
                if let Some((reason, listed)) = shortfall {
                    discovery.warn_listed(&source(*region), reason, listed);
                    for kind in [AccountKind::SponsoredAds, AccountKind::DspAdvertiser] {
                        discovery.complete.remove(&Listing {
                            kind,
                            region: *region,
                        });
                    }
                }
            }
        }
    }
}

/// The `sync_warnings` source of a region's manager accounts.
pub(super) fn source(region: Region) -> String {
    format!("manager_accounts_{region}")
}

fn managed_link(link: &LinkedAccount) -> ManagedLink<'_> {
    ManagedLink {
        name: link.account_name.as_deref(),
        marketplace_id: link.marketplace_id.as_deref(),
        entity_id: link.account_id.as_deref(),
        account_type: link.account_type.as_deref(),
    }
}
