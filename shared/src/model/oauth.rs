//! A consent in progress: what the start of the flow remembers for the
//! callback, stored under a hash of the state and single-use.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::region::Region;
use crate::ids::{ConnectionId, UserId};
use crate::tokens::Sealed;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRecord {
    pub user_id: UserId,
    pub region: Region,
    pub return_to: Option<String>,
    /// Set when the consent renews an existing connection.
    pub reauthorize: Option<ConnectionId>,
    /// The PKCE verifier, sealed for this state.
    pub verifier: Sealed,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub expires_at: DateTime<Utc>,
}
