//! DSP seats of a user's `dsp_advertiser` accounts: the last snapshot, a
//! refresh from Amazon at most once a minute per account
//! ([`Manage::refresh_seats`](super::manage::Manage::refresh_seats)), and
//! the history of refreshes. Accounts of other kinds have no seats (not
//! found).

use chrono::{SubsecRound, Utc};

use crate::amazon::dsp::SeatsError;
use crate::amazon::paging::Listed;
use crate::ids::{AccountId, ConnectionId};
use crate::model::seats::{Seat, SeatRefresh, SeatSnapshot};

/// At most one seat refresh per account per minute.
pub const SEAT_REFRESH_INTERVAL_SECONDS: i64 = 60;
/// The history's code for a refresh that failed on our side of Amazon.
const UNAVAILABLE: &str = "unavailable";

#[derive(Debug)]
pub enum SeatsRefreshed {
    Done(SeatSnapshot),
    NotFound,
    NeedsReauth(ConnectionId),
    /// At most one a minute: this many seconds remain.
    Wait(u64),
    /// Amazon refused; recorded in the history with its code.
    Refused {
        status: u16,
        code: String,
    },
    AdsUnavailable,
    LwaUnavailable,
    TokensUnavailable,
}

/// What a seat refresh records and answers, from what Amazon listed (or
/// why it did not), stamped to the millisecond as stored: the answer and
/// later reads agree.
pub(super) fn recorded(
    account_id: &AccountId,
    exchange_ids: &[String],
    listed: Result<Listed<Seat>, SeatsError>,
) -> (SeatRefresh, Option<SeatSnapshot>, SeatsRefreshed) {
    let at = Utc::now().trunc_subsecs(3);
    match listed {
        Ok(listed) => {
            let cut_short = listed.cut.map(|cut| cut.reason().to_owned());
            if let Some(reason) = &cut_short {
                tracing::warn!(%account_id, reason, seats = listed.items.len(), "seat listing stopped before Amazon's last page");
            }
            let snapshot = SeatSnapshot {
                account_id: account_id.clone(),
                taken_at: at,
                exchange_ids: exchange_ids.to_vec(),
                seats: listed.items,
                cut_short,
            };
            let refresh = SeatRefresh::succeeded(&snapshot);
            (
                refresh,
                Some(snapshot.clone()),
                SeatsRefreshed::Done(snapshot),
            )
        }
        Err(SeatsError::Refused { status, code }) => {
            tracing::warn!(%account_id, status, code = %code, "Amazon refused a seat refresh");
            let refresh = SeatRefresh::failed(account_id, &code, exchange_ids, at);
            (refresh, None, SeatsRefreshed::Refused { status, code })
        }
        Err(error) => {
            tracing::warn!(%account_id, error = %error, "seats unavailable");
            let refresh = SeatRefresh::failed(account_id, UNAVAILABLE, exchange_ids, at);
            (refresh, None, SeatsRefreshed::AdsUnavailable)
        }
    }
}
