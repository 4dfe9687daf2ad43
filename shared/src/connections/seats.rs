//! DSP seats of a user's `dsp_advertiser` accounts: the last snapshot, a
//! refresh from Amazon at most once a minute per account, and the history
//! of refreshes. Accounts of other kinds have no seats (not found).

use chrono::{SubsecRound, Utc};

use super::manage::{Manage, Synced};
use super::tokens::TokenPair;
use crate::amazon::dsp::SeatsError;
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::model::account::{AccountRecord, NativeIds};
use crate::model::seats::{SeatRefresh, SeatSnapshot};
use crate::store::StoreError;
use crate::store::slot::Slot;

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

impl Manage {
    /// The caller's account `account_id` when it is a DSP advertiser.
    pub async fn dsp_account(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
    ) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self
            .store
            .accounts()
            .get(user_id, account_id)
            .await?
            .filter(|a| matches!(a.native, NativeIds::DspAdvertiser { .. })))
    }

    /// Fetches every page of the caller's DSP `account`'s seats now
    /// (narrowed to `exchange_ids` when given) and records the refresh,
    /// whatever its outcome.
    pub async fn refresh_seats(
        &self,
        user_id: &UserId,
        account: &AccountRecord,
        exchange_ids: &[String],
    ) -> Result<SeatsRefreshed, StoreError> {
        let account_id = &account.account_id;
        let NativeIds::DspAdvertiser {
            advertiser_id,
            parent_entity_id,
            ..
        } = &account.native
        else {
            return Ok(SeatsRefreshed::NotFound);
        };
        let Some(connection) = self
            .store
            .connections()
            .get(user_id, &account.connection_id)
            .await?
        else {
            return Ok(SeatsRefreshed::NotFound);
        };
        if !connection.status.is_live() {
            return Ok(SeatsRefreshed::NeedsReauth(connection.connection_id));
        }
        let now = Utc::now();
        let slot = self
            .store
            .seats()
            .claim_refresh(
                user_id,
                account_id,
                now.timestamp(),
                SEAT_REFRESH_INTERVAL_SECONDS,
            )
            .await?;
        if let Slot::Wait(seconds) = slot {
            return Ok(SeatsRefreshed::Wait(seconds));
        }
        let connection = match self.fresh(&connection).await? {
            Ok(connection) => connection,
            Err(Synced::NeedsReauth) => {
                return Ok(SeatsRefreshed::NeedsReauth(connection.connection_id));
            }
            Err(Synced::TokensUnavailable) => return Ok(SeatsRefreshed::TokensUnavailable),
            Err(_) => return Ok(SeatsRefreshed::LwaUnavailable),
        };
        let tokens = match TokenPair::open(self.cipher(), &connection).await {
            Ok(Some(tokens)) => tokens,
            Ok(None) => return Ok(SeatsRefreshed::NeedsReauth(connection.connection_id)),
            Err(error) => {
                tracing::error!(error = %error, "tokens did not open for a seat refresh");
                return Ok(SeatsRefreshed::TokensUnavailable);
            }
        };
        let listed = self
            .ads
            .dsp_seats(
                account.region,
                advertiser_id,
                parent_entity_id.as_deref(),
                exchange_ids,
                &tokens.access_token,
            )
            .await;
        // To the millisecond, as stored: the answer and later reads agree.
        let at = Utc::now().trunc_subsecs(3);
        let (refresh, snapshot, outcome) = match listed {
            Ok(seats) => {
                let snapshot = SeatSnapshot {
                    account_id: account_id.clone(),
                    taken_at: at,
                    exchange_ids: exchange_ids.to_vec(),
                    seats,
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
        };
        self.store
            .seats()
            .record_refresh(user_id, &refresh, snapshot.as_ref())
            .await?;
        Ok(outcome)
    }
}
