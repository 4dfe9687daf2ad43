//! What a login reaches, as Amazon decides it from a call's account headers
//! (reference amazon-dsp-amc.md §5, §6, §8): the profiles a scope header may
//! name on a region's host, and the DSP advertisers `Amazon-Ads-AccountId`
//! may name.

use serde_json::Value;

use super::world::Login;

/// What a login may do with a profile it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Its own profile, or one linked with Editor or Admin rights.
    ReadWrite,
    /// Linked with Viewer rights: reads and reports, no edits (§5).
    ReadOnly,
}

impl Login {
    /// The login's manager accounts in `region`, with every link.
    pub(super) fn manager_accounts_in(&self, region: &str) -> &[Value] {
        self.manager_accounts.get(region).map_or(&[], Vec::as_slice)
    }

    /// The links of the login's manager accounts in `region`.
    pub(super) fn links_in(&self, region: &str) -> impl Iterator<Item = &Value> {
        self.manager_accounts_in(region)
            .iter()
            .flat_map(|manager| manager["linkedAccounts"].as_array().into_iter().flatten())
    }

    /// What the login may do with profile `scope` on `region`'s host: one
    /// of its `/v2/profiles` there, or a seller or vendor account a manager
    /// account of that region links. `/v2/profiles` lists only accounts
    /// that granted Editor, so a Viewer-linked account is reachable only
    /// through its link's `profileId` (§5).
    pub(super) fn scope_access(&self, region: &str, scope: &str) -> Option<Access> {
        let listed = self.profiles.get(region).is_some_and(|profiles| {
            profiles.iter().any(|p| {
                p["profileId"]
                    .as_u64()
                    .is_some_and(|id| id.to_string() == scope)
            })
        });
        if listed {
            return Some(Access::ReadWrite);
        }
        let link = self.links_in(region).find(|link| {
            ["SELLER", "VENDOR"].contains(&link["accountType"].as_str().unwrap_or_default())
                && link["profileId"] == scope
        })?;
        Some(if link["role"] == "VIEWER" {
            Access::ReadOnly
        } else {
            Access::ReadWrite
        })
    }

    /// Whether `scope` is an agency profile of the login on `region`'s host
    /// that lists DSP advertiser `advertiser`: what Amazon wants when a
    /// call names both (else "No matching advertiser found for scope").
    pub(super) fn agency_lists(&self, region: &str, scope: &str, advertiser: &str) -> bool {
        let agency = self.profiles.get(region).is_some_and(|profiles| {
            profiles.iter().any(|p| {
                p["profileId"]
                    .as_u64()
                    .is_some_and(|id| id.to_string() == scope)
                    && p["accountInfo"]["type"] == "agency"
            })
        });
        agency && self.lists(scope, advertiser)
    }

    /// Whether the login reaches DSP advertiser `advertiser` on `region`'s
    /// host: listed under one of its agency profiles there, or linked by
    /// one of its manager accounts there (a managed-service advertiser, §6).
    pub(super) fn reaches_advertiser_in(&self, region: &str, advertiser: &str) -> bool {
        let under_agency = self.profiles.get(region).is_some_and(|profiles| {
            profiles.iter().any(|p| {
                p["profileId"]
                    .as_u64()
                    .is_some_and(|id| self.lists(&id.to_string(), advertiser))
            })
        });
        under_agency || self.links_advertiser(region, advertiser)
    }

    /// [`Self::reaches_advertiser_in`] any region: the DSP endpoints that are
    /// not regional in the stand-in (seats, reports) ask this.
    pub(super) fn reaches_advertiser(&self, advertiser: &str) -> bool {
        self.dsp_advertisers
            .values()
            .flatten()
            .any(|a| a["advertiserId"] == advertiser)
            || self
                .manager_accounts
                .keys()
                .any(|region| self.links_advertiser(region, advertiser))
    }

    fn lists(&self, agency: &str, advertiser: &str) -> bool {
        self.dsp_advertisers
            .get(agency)
            .is_some_and(|listed| listed.iter().any(|a| a["advertiserId"] == advertiser))
    }

    fn links_advertiser(&self, region: &str, advertiser: &str) -> bool {
        self.links_in(region).any(|link| {
            link["accountType"] == "DSP_ADVERTISING_ACCOUNT"
                && link["dspAdvertiserId"] == advertiser
        })
    }
}
