//! A consent in progress: what the start of the flow remembers for the
//! callback (the state), and what the callback keeps for the completion
//! (the pending grant). Both single-use, stored under a hash of the value
//! the browser carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::acting::Acting;
use super::region::Region;
use super::sealed::Sealed;
use crate::ids::{ConnectionId, OrgId, OwnerId, UserId};

/// What a state (or a completion) is stored under, and the context its
/// verifier (or tokens) are sealed for: a table dump yields no value that
/// works in a browser.
pub fn state_hash(state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRecord {
    pub user_id: UserId,
    /// The organization the connection will belong to; none for the
    /// user's own (and for states written before organizations existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    pub region: Region,
    pub return_to: Option<String>,
    /// Set when the consent renews an existing connection.
    pub reauthorize: Option<ConnectionId>,
    /// The PKCE verifier, sealed for this state.
    pub verifier: Sealed,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub expires_at: DateTime<Utc>,
}

/// A consent Amazon granted but nobody has completed yet: the tokens of the
/// code exchange, sealed for this grant and its user, waiting for that
/// signed-in user's `POST /amazon/complete`. Stored under a hash of the
/// completion handed to the browser, single-use, gone after 10 minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingGrant {
    /// The user who started the consent: the only one who may complete it.
    pub user_id: UserId,
    /// The organization the connection will belong to, as the state said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    pub region: Region,
    pub reauthorize: Option<ConnectionId>,
    pub scopes: Vec<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub access_expires_at: DateTime<Utc>,
    /// The token pair, sealed for this grant.
    pub tokens: Sealed,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub expires_at: DateTime<Utc>,
}

/// Who a consent connects for: its user, in the organization it was
/// started in (if any).
fn acting(user_id: &UserId, org_id: Option<&OrgId>) -> Acting {
    Acting {
        owner: org_id.map_or_else(
            || OwnerId::User(user_id.clone()),
            |org| OwnerId::Org(org.clone()),
        ),
        user_id: user_id.clone(),
    }
}

impl StateRecord {
    pub fn acting(&self) -> Acting {
        acting(&self.user_id, self.org_id.as_ref())
    }
}

impl PendingGrant {
    pub fn acting(&self) -> Acting {
        acting(&self.user_id, self.org_id.as_ref())
    }
}
