//! Amazon throttling a connection: per region and API family (the unit
//! Amazon's limits apply to, `crate::amazon::paths::throttle_family`), when
//! the next call may go to Amazon and how far apart calls are spaced until
//! Amazon answers normally again. Kept on the connection item, which every
//! proxied call reads anyway, so every running instance sees it at no cost.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::region::Region;

/// One throttled unit's queue: the next free slot and the spacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    /// When the next call may go to Amazon (epoch milliseconds).
    pub until_ms: i64,
    /// How far apart calls go while Amazon throttles (milliseconds).
    pub step_ms: i64,
}

impl Throttle {
    pub fn until(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.until_ms).unwrap_or_default()
    }

    pub fn is_running(&self, now: DateTime<Utc>) -> bool {
        self.until_ms > now.timestamp_millis()
    }
}

/// A connection's throttled units, keyed `<region>/<family>`.
pub type Throttles = BTreeMap<String, Throttle>;

/// The key of `family` in `region`.
pub fn unit_key(region: Region, family: &str) -> String {
    format!("{}/{family}", region.as_str())
}

/// The units of `region` still throttled at `now`: (family, until).
pub fn running_in(
    throttles: &Throttles,
    region: Region,
    now: DateTime<Utc>,
) -> Vec<(String, DateTime<Utc>)> {
    let prefix = format!("{}/", region.as_str());
    throttles
        .iter()
        .filter(|(_, throttle)| throttle.is_running(now))
        .filter_map(|(key, throttle)| {
            key.strip_prefix(&prefix)
                .map(|family| (family.to_owned(), throttle.until()))
        })
        .collect()
}
