//! DSP seats: which ad exchanges a DSP advertiser has seats on, as last
//! fetched, and the history of those fetches.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::AccountId;

/// One seat of an advertiser on one exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub exchange_id: String,
    pub exchange_name: Option<String>,
    /// The seat id to create deals with.
    pub deal_creation_id: Option<String>,
    /// The seat id that tracks spend.
    pub spend_tracking_id: Option<String>,
}

/// The seats of one account as the last successful refresh found them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatSnapshot {
    pub account_id: AccountId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub taken_at: DateTime<Utc>,
    /// The exchanges the refresh was narrowed to (none: every exchange).
    #[serde(default)]
    pub exchange_ids: Vec<String>,
    pub seats: Vec<Seat>,
    /// Why the listing stopped before Amazon's last page (`page_limit`,
    /// `incomplete`): the seats are those received until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_short: Option<String>,
}

impl SeatSnapshot {
    /// Distinct exchanges among the seats.
    pub fn exchange_count(&self) -> usize {
        let mut exchanges: Vec<&str> = self.seats.iter().map(|s| s.exchange_id.as_str()).collect();
        exchanges.sort_unstable();
        exchanges.dedup();
        exchanges.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOutcome {
    Succeeded,
    Failed,
}

/// One refresh of an account's seats, whatever its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatRefresh {
    pub refresh_id: String,
    pub account_id: AccountId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
    pub outcome: RefreshOutcome,
    pub seat_count: usize,
    pub exchange_count: usize,
    /// Amazon's error code unchanged (or ours: `unavailable`), never a message.
    pub error_code: Option<String>,
    #[serde(default)]
    pub exchange_ids: Vec<String>,
}

impl SeatRefresh {
    pub fn succeeded(snapshot: &SeatSnapshot) -> Self {
        Self {
            refresh_id: uuid::Uuid::new_v4().simple().to_string(),
            account_id: snapshot.account_id.clone(),
            at: snapshot.taken_at,
            outcome: RefreshOutcome::Succeeded,
            seat_count: snapshot.seats.len(),
            exchange_count: snapshot.exchange_count(),
            error_code: None,
            exchange_ids: snapshot.exchange_ids.clone(),
        }
    }

    pub fn failed(
        account_id: &AccountId,
        error_code: &str,
        exchange_ids: &[String],
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            refresh_id: uuid::Uuid::new_v4().simple().to_string(),
            account_id: account_id.clone(),
            at,
            outcome: RefreshOutcome::Failed,
            seat_count: 0,
            exchange_count: 0,
            error_code: Some(error_code.to_owned()),
            exchange_ids: exchange_ids.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_counts_seats_and_distinct_exchanges() {
        let seat = |exchange: &str, id: &str| Seat {
            exchange_id: exchange.into(),
            exchange_name: None,
            deal_creation_id: Some(id.into()),
            spend_tracking_id: None,
        };
        let snapshot = SeatSnapshot {
            account_id: AccountId::parse("acct_1").unwrap(),
            taken_at: Utc::now(),
            exchange_ids: vec![],
            seats: vec![seat("1", "a"), seat("1", "b"), seat("2", "c")],
            cut_short: None,
        };
        let refresh = SeatRefresh::succeeded(&snapshot);
        assert_eq!((refresh.seat_count, refresh.exchange_count), (3, 2));
        assert_eq!(refresh.outcome, RefreshOutcome::Succeeded);
        assert_eq!(refresh.at, snapshot.taken_at);
    }
}
