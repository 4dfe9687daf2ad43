//! The connection lifecycle: the one owner of every rule of a connection's
//! life. `lifecycle` holds the pure transitions (record + what happened +
//! now → new record + audit event); the use cases (`consent`, `refresh`,
//! `manage`) read through the store, ask Amazon and KMS, apply a
//! transition and hand the result to the store. Data flows one way:
//! `api → connections → (store, amazon, tokens) → model`.

pub mod access;
pub mod accounts;
pub mod changes;
pub mod connect;
pub mod consent;
pub mod health;
pub mod lifecycle;
pub mod manage;
pub mod moving;
pub mod proxying;
pub mod refresh;
pub mod returns;
pub mod saving;
pub mod seats;
pub mod tokens;

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::amazon::discovery::Discovery;
use crate::ids::{ConnectionId, OwnerId};
use crate::model::account::NativeIds;
use crate::model::connection::AmazonIdentity;

/// Refresh tokens issued since 2026-06-30 die 365 days after consent.
pub const CONSENT_LIFETIME: Duration = Duration::days(365);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stable per (user, Amazon login): connecting the same login again lands
/// on the same connection.
pub fn connection_id_for(owner: &OwnerId, amazon_identity: &AmazonIdentity) -> ConnectionId {
    let digest = Sha256::digest(format!("{owner}|{}", amazon_identity.as_str()).as_bytes());
    ConnectionId::parse(&format!("conn_{}", &hex(&digest)[..24]))
        .unwrap_or_else(|_| unreachable!("hex is a valid id"))
}

/// What identifies the Amazon login behind a discovery: its LWA user id when
/// the `profile` scope was granted, else a hash of the profiles it reaches.
pub fn amazon_identity(discovery: &Discovery) -> AmazonIdentity {
    if let Some(profile) = &discovery.lwa_profile {
        return AmazonIdentity::lwa(&profile.user_id);
    }
    // Ads profiles only: the same login keeps its identity whatever DSP
    // or AMC lists.
    let mut ids: Vec<&str> = discovery
        .accounts
        .iter()
        .filter_map(|a| match &a.native {
            NativeIds::SponsoredAds { profile_id, .. } => Some(profile_id.as_str()),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    let digest = Sha256::digest(ids.join(",").as_bytes());
    AmazonIdentity::by_profiles(&hex(&digest)[..32])
}
