//! DSP seats of the caller's `dsp_advertiser` accounts: the last snapshot,
//! a refresh (at most once a minute per account), and the refresh history.
//! Another user's account, or one of another kind, is a 404.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::UsersServices;
use super::connections::{PageQuery, decode_cursor, invalid_cursor, page_limit};
use super::{ApiError, ErrorResponse, Permitted, StrictJsonOrEmpty, StrictQuery, ToManage, ToRead};
use crate::connections::seats::{SEAT_REFRESH_INTERVAL_SECONDS, SeatsRefreshed};
use crate::ids::{AccountId, OwnerId};
use crate::model::account::{AccountRecord, NativeIds};
use crate::model::seats::{RefreshOutcome, Seat, SeatRefresh, SeatSnapshot};
use crate::store::seats::HistoryCursor;

/// At most this many exchanges in one refresh's filter.
const MAX_EXCHANGE_FILTER: usize = 50;

pub fn routes() -> Router<UsersServices> {
    Router::new()
        .route("/api/v1/accounts/{id}/seats", get(get_seats))
        .route("/api/v1/accounts/{id}/seats/refresh", post(refresh_seats))
        .route("/api/v1/accounts/{id}/seats/history", get(seat_history))
}

fn not_a_dsp_account() -> ApiError {
    ApiError::not_found(
        "ACCOUNT_NOT_FOUND",
        "no DSP advertiser account with this id",
    )
}

/// One seat on one exchange.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeatView {
    pub exchange_id: String,
    pub exchange_name: Option<String>,
    /// The seat id to create deals with.
    pub deal_creation_id: Option<String>,
    /// The seat id that tracks spend.
    pub spend_tracking_id: Option<String>,
}

impl From<Seat> for SeatView {
    fn from(seat: Seat) -> Self {
        Self {
            exchange_id: seat.exchange_id,
            exchange_name: seat.exchange_name,
            deal_creation_id: seat.deal_creation_id,
            spend_tracking_id: seat.spend_tracking_id,
        }
    }
}

/// The account's seats as the last successful refresh found them
/// (`taken_at` null and no seats before the first one).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeatsView {
    pub account_id: AccountId,
    pub advertiser_id: String,
    pub taken_at: Option<DateTime<Utc>>,
    /// The exchanges that refresh was narrowed to (empty: every exchange).
    pub exchange_ids: Vec<String>,
    pub exchange_count: usize,
    pub seats: Vec<SeatView>,
    /// Set when that refresh stopped before Amazon's last page (`page_limit`:
    /// 50 pages of 200 seats; `incomplete`: the time budget): the seats
    /// are those received until then.
    pub cut_short: Option<String>,
}

impl SeatsView {
    fn of(account: &AccountRecord, snapshot: Option<SeatSnapshot>) -> Self {
        let advertiser_id = match &account.native {
            NativeIds::DspAdvertiser { advertiser_id, .. } => advertiser_id.clone(),
            _ => String::new(),
        };
        let exchange_count = snapshot.as_ref().map_or(0, SeatSnapshot::exchange_count);
        let (taken_at, exchange_ids, seats, cut_short) = match snapshot {
            Some(s) => (Some(s.taken_at), s.exchange_ids, s.seats, s.cut_short),
            None => (None, Vec::new(), Vec::new(), None),
        };
        Self {
            account_id: account.account_id.clone(),
            advertiser_id,
            taken_at,
            exchange_ids,
            exchange_count,
            seats: seats.into_iter().map(SeatView::from).collect(),
            cut_short,
        }
    }
}

/// One refresh, whatever its outcome.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeatRefreshView {
    pub refresh_id: String,
    pub at: DateTime<Utc>,
    pub outcome: RefreshOutcome,
    pub seat_count: usize,
    pub exchange_count: usize,
    /// Amazon's error code unchanged (`unavailable` when Amazon did not answer).
    pub error_code: Option<String>,
    pub exchange_ids: Vec<String>,
}

impl From<SeatRefresh> for SeatRefreshView {
    fn from(refresh: SeatRefresh) -> Self {
        Self {
            refresh_id: refresh.refresh_id,
            at: refresh.at,
            outcome: refresh.outcome,
            seat_count: refresh.seat_count,
            exchange_count: refresh.exchange_count,
            error_code: refresh.error_code,
            exchange_ids: refresh.exchange_ids,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeatHistoryPage {
    pub refreshes: Vec<SeatRefreshView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatRefreshRequest {
    /// Only these exchanges (at most 50); absent or empty: every exchange.
    #[serde(default)]
    pub exchange_ids: Vec<String>,
}

/// The filter as Amazon gets it: distinct ids of the shape exchanges have.
fn exchange_filter(mut ids: Vec<String>) -> Result<Vec<String>, ApiError> {
    let shaped = |id: &String| {
        (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if ids.len() > MAX_EXCHANGE_FILTER || !ids.iter().all(shaped) {
        return Err(ApiError::invalid_field(
            "exchange_ids",
            "`exchange_ids` must be at most 50 exchange ids (letters, digits, - and _)",
        ));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

async fn dsp_account(
    services: &UsersServices,
    owner: &OwnerId,
    id: &str,
) -> Result<AccountRecord, ApiError> {
    let id = AccountId::parse(id).map_err(|_| not_a_dsp_account())?;
    services
        .manage
        .dsp_account(owner, &id)
        .await?
        .ok_or_else(not_a_dsp_account)
}

/// A DSP advertiser's seats
///
/// The last snapshot taken of the account's seats.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/seats", tag = "seats", params(("id" = String, Path, description = "A dsp_advertiser account id")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = SeatsView), (status = 404, description = "Not found, not the caller's, or not a DSP advertiser", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn get_seats(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path(id): Path<String>,
) -> Result<Json<SeatsView>, ApiError> {
    let account = dsp_account(&services, &acting.owner, &id).await?;
    let snapshot = services
        .store
        .seats()
        .snapshot(&acting.owner, &account.account_id)
        .await?;
    Ok(Json(SeatsView::of(&account, snapshot)))
}

/// Refresh a DSP advertiser's seats
///
/// Fetches every page of the account's seats from Amazon now.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/seats/refresh", tag = "seats", params(("id" = String, Path, description = "A dsp_advertiser account id")), request_body(content = Option<SeatRefreshRequest>, description = "Optional; the body may be empty"), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `manage`", body = ErrorResponse), (status = 200, body = SeatsView), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, not the caller's, or not a DSP advertiser", body = ErrorResponse), (status = 409, description = "Needs re-authorization", body = ErrorResponse), (status = 429, description = "At most one refresh a minute per account", body = ErrorResponse), (status = 502, description = "Amazon refused (`AMAZON_REFUSED` with `amazon_code`) or failed", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn refresh_seats(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToManage>,
    Path(id): Path<String>,
    StrictJsonOrEmpty(request): StrictJsonOrEmpty<SeatRefreshRequest>,
) -> Result<Json<SeatsView>, ApiError> {
    let filter = exchange_filter(request.exchange_ids)?;
    let account = dsp_account(&services, &acting.owner, &id).await?;
    let wait = SEAT_REFRESH_INTERVAL_SECONDS.unsigned_abs();
    match services
        .manage
        .refresh_seats(&acting.owner, &account, &filter)
        .await?
    {
        SeatsRefreshed::Done(snapshot) => Ok(Json(SeatsView::of(&account, Some(snapshot)))),
        SeatsRefreshed::NotFound => Err(not_a_dsp_account()),
        SeatsRefreshed::NeedsReauth(connection_id) => Err(ApiError::needs_reauth(&connection_id)),
        SeatsRefreshed::Wait(seconds) => Err(ApiError::too_many_requests(seconds)),
        SeatsRefreshed::Refused { status, code } => {
            Err(ApiError::amazon_refused(status, &code).retry_after(wait))
        }
        // The attempt used this minute's refresh: the next may come after it.
        SeatsRefreshed::AdsUnavailable => Err(ApiError::upstream(
            "ADS_UNAVAILABLE",
            "the Amazon Ads API did not answer",
            "seat listing failed",
        )
        .retry_after(wait)),
        SeatsRefreshed::LwaUnavailable => Err(ApiError::upstream(
            "LWA_UNAVAILABLE",
            "Login with Amazon did not refresh the token",
            "refresh failed",
        )
        .retry_after(wait)),
        SeatsRefreshed::TokensUnavailable => {
            Err(ApiError::unavailable("stored tokens could not be opened"))
        }
    }
}

/// A DSP advertiser's seat refreshes
///
/// Every refresh of the account's seats, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/seats/history", tag = "seats", params(("id" = String, Path, description = "A dsp_advertiser account id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = SeatHistoryPage), (status = 400, description = "Invalid input", body = ErrorResponse), (status = 404, description = "Not found, not the caller's, or not a DSP advertiser", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn seat_history(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path(id): Path<String>,
    StrictQuery(query): StrictQuery<PageQuery>,
) -> Result<Json<SeatHistoryPage>, ApiError> {
    let limit = page_limit(query.limit, 20)?;
    let account = dsp_account(&services, &acting.owner, &id).await?;
    // A cursor names a position inside this account's history only.
    let after = query
        .cursor
        .as_deref()
        .map(|cursor| {
            HistoryCursor::parse(&account.account_id, &decode_cursor(cursor)?)
                .ok_or_else(invalid_cursor)
        })
        .transpose()?;
    let (refreshes, next) = services
        .store
        .seats()
        .history(
            &acting.owner,
            &account.account_id,
            limit as i32,
            after.as_ref(),
        )
        .await?;
    Ok(Json(SeatHistoryPage {
        refreshes: refreshes.into_iter().map(SeatRefreshView::from).collect(),
        next_cursor: next.map(|cursor| URL_SAFE_NO_PAD.encode(cursor.as_str())),
    }))
}
