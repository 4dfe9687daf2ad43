//! A user's advertising accounts: paged list, read, remove, default, and a
//! health summary. Scoped to the caller like every route (another user's id
//! is a 404).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::UsersServices;
use super::account_order::{AccountSort, matches, page, search_term};
use super::connections::{conflict, page_limit};
use super::users::provision;
use super::views::{AccountView, KindCounts};
use super::{ApiError, ErrorResponse, NoInput, Permitted, StrictQuery, ToManage, ToRead};
use crate::connections::health::{Health, assess};
use crate::connections::manage::{DefaultSet, Removed};
use crate::ids::{AccountId, OwnerId};
use crate::model::account::{AccountKind, AccountStatus};
use crate::model::acting::Acting;
use crate::settings::Settings;
use crate::store::partition::OwnerPartition;

pub fn routes() -> Router<UsersServices> {
    Router::new()
        .route("/api/v1/accounts", get(list_accounts))
        .route("/api/v1/accounts/health", get(accounts_health))
        .route(
            "/api/v1/accounts/{id}",
            get(get_account).delete(delete_account),
        )
        .route("/api/v1/accounts/{id}/default", put(set_default))
}

fn account_not_found() -> ApiError {
    ApiError::not_found("ACCOUNT_NOT_FOUND", "account not found")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountsQuery {
    status: Option<AccountStatus>,
    kind: Option<AccountKind>,
    q: Option<String>,
    sort: Option<AccountSort>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountPage {
    pub accounts: Vec<AccountView>,
    pub next_cursor: Option<String>,
    /// Accounts matching the filters and `q`, over every page.
    pub total: usize,
    /// The same, per kind (before the `kind` filter: for a tab per kind).
    pub by_kind: KindCounts,
}

/// The caller's accounts, a page at a time
///
/// Accounts in `sort` order (default `name`; `-` before a field for
/// descending; ties by name, then account id), `limit` at a time (default:
/// the user's `items_per_page`), of one `kind` if asked, matching `q` if
/// given. Without `status`, disabled accounts show only with
/// `show_disconnected_accounts`, and accounts needing re-authorization only
/// with `show_expired_accounts`. A `cursor` continues the sort it came from
/// (another sort refuses it with 400).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(("status" = Option<AccountStatus>, Query), ("kind" = Option<AccountKind>, Query), ("q" = Option<String>, Query, max_length = 100, description = "Search: a part of the name (any case), or the start of an id the account shows (account, profile, advertiser, instance, Ads account, AMC account); blank is no search"), ("sort" = Option<AccountSort>, Query, description = "`name` (default), `marketplace`, `status` or `last_synced`; `-` first for descending. Accounts without a marketplace or never synced come last either way"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, with the same `sort`")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = AccountPage), (status = 400, description = "Invalid input: an unknown `sort` or `status` (INVALID_QUERY), a `q` over 100 characters, a bad `limit`, or a cursor this API did not return for this `sort` (INVALID_FIELD naming it)", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn list_accounts(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    StrictQuery(query): StrictQuery<AccountsQuery>,
) -> Result<Json<AccountPage>, ApiError> {
    let term = search_term(query.q.as_deref())?;
    let (partition, settings) = workspace_with_preferences(&services, &acting).await?;
    let limit = page_limit(query.limit, u32::from(settings.items_per_page.get()))? as usize;
    let mut accounts = AccountView::all(&partition, &acting.user_id, Utc::now());
    accounts.retain(|a| {
        let shown = match query.status {
            Some(status) => a.status == status,
            None => {
                (settings.show_disconnected_accounts || a.status != AccountStatus::Disabled)
                    && (settings.show_expired_accounts || a.health != Health::NeedsReauth)
            }
        };
        shown && term.as_deref().is_none_or(|term| matches(a, term))
    });
    let by_kind = KindCounts::of(accounts.iter().map(|a| a.kind));
    if let Some(kind) = query.kind {
        accounts.retain(|a| a.kind == kind);
    }
    let total = accounts.len();
    let (accounts, next_cursor) = page(
        accounts,
        query.sort.unwrap_or_default(),
        query.cursor.as_deref(),
        limit,
    )?;
    Ok(Json(AccountPage {
        accounts,
        next_cursor,
        total,
        by_kind,
    }))
}

/// The caller's account `id` as a view.
async fn own_account(
    services: &UsersServices,
    acting: &Acting,
    id: &AccountId,
) -> Result<AccountView, ApiError> {
    let partition = services.store.partitions().read(&acting.owner).await?;
    AccountView::all(&partition, &acting.user_id, Utc::now())
        .into_iter()
        .find(|a| &a.account_id == id)
        .ok_or_else(account_not_found)
}

/// One account
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path, description = "Account id")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = AccountView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn get_account(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| account_not_found())?;
    own_account(&services, &acting, &id).await.map(Json)
}

/// Remove an account
///
/// Removes one account; removing the last account of a connection
/// disconnects it.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path, description = "Account id")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `manage`", body = ErrorResponse), (status = 204, description = "Removed"), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse), (status = 409, description = "Changed meanwhile", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn delete_account(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| account_not_found())?;
    match services.manage.remove_account(&acting, &id).await? {
        Removed::Done => Ok(StatusCode::NO_CONTENT),
        Removed::NotFound => Err(account_not_found()),
        Removed::KeptChanging => Err(conflict()),
    }
}

/// Make an account the default
///
/// Makes one account the default: the `default_account_id` setting is the
/// one place that says which, so there is never a second.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/default", tag = "accounts", params(("id" = String, Path, description = "Account id")), responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `manage`", body = ErrorResponse), (status = 200, body = AccountView), (status = 404, description = "Not found, or not the caller's", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn set_default(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToManage>,
    Path(id): Path<String>,
    _: NoInput,
) -> Result<Json<AccountView>, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| account_not_found())?;
    let mut outcome = services.manage.set_default(&acting, &id).await?;
    if matches!(outcome, DefaultSet::NoProfile) {
        provision(&services, &acting.user_id).await?;
        outcome = services.manage.set_default(&acting, &id).await?;
    }
    match outcome {
        DefaultSet::Done(partition) => AccountView::all(&partition, &acting.user_id, Utc::now())
            .into_iter()
            .find(|a| a.account_id == id)
            .map(Json)
            .ok_or_else(account_not_found),
        DefaultSet::NotFound | DefaultSet::NoProfile => Err(account_not_found()),
    }
}

#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct HealthCounts {
    pub healthy: usize,
    pub warning: usize,
    pub error: usize,
    pub needs_reauth: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountsHealth {
    pub total: usize,
    pub counts: HealthCounts,
    pub by_kind: KindCounts,
    /// Accounts whose connection needs the user (or is failing).
    pub needs_action: Vec<AccountView>,
    pub soonest_consent_expiry: Option<DateTime<Utc>>,
}

/// Account health counts
///
/// For a dashboard banner: counts by health, what needs action, and the
/// soonest consent expiry.
#[utoipa::path(get, path = "/api/v1/accounts/health", tag = "accounts", responses((status = 403, description = "PERMISSION_REQUIRED: an organization is active and the caller's role or permissions there do not include `read`", body = ErrorResponse), (status = 200, body = AccountsHealth), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security(("clerk_session" = [])))]
pub(crate) async fn accounts_health(
    State(services): State<UsersServices>,
    Permitted { acting, .. }: Permitted<ToRead>,
) -> Result<Json<AccountsHealth>, ApiError> {
    let partition = services.store.partitions().read(&acting.owner).await?;
    let now = Utc::now();
    let soonest_consent_expiry = partition
        .connections
        .iter()
        .filter(|c| assess(c, now).0 != Health::NeedsReauth)
        .map(|c| c.consent_expires_at)
        .min();
    let accounts = AccountView::all(&partition, &acting.user_id, now);
    let mut counts = HealthCounts::default();
    for account in &accounts {
        *match account.health {
            Health::Healthy => &mut counts.healthy,
            Health::Warning => &mut counts.warning,
            Health::Error => &mut counts.error,
            Health::NeedsReauth => &mut counts.needs_reauth,
        } += 1;
    }
    let total = accounts.len();
    let by_kind = KindCounts::of(accounts.iter().map(|a| a.kind));
    let needs_action = accounts
        .into_iter()
        .filter(|a| matches!(a.health, Health::Error | Health::NeedsReauth))
        .collect();
    Ok(Json(AccountsHealth {
        total,
        counts,
        by_kind,
        needs_action,
        soonest_consent_expiry,
    }))
}

/// The workspace's partition, and the caller's preferences: in their own
/// partition's profile (the same Query), or for an organization's, from
/// their profile read beside it.
async fn workspace_with_preferences(
    services: &UsersServices,
    acting: &Acting,
) -> Result<(OwnerPartition, Settings), ApiError> {
    let partitions = services.store.partitions();
    let (partition, profile) = match &acting.owner {
        OwnerId::User(_) => {
            let partition = partitions.read(&acting.owner).await?;
            let profile = partition.profile.clone();
            (partition, profile)
        }
        OwnerId::Org(_) => {
            let profiles = services.store.profiles();
            let (partition, profile) = tokio::try_join!(
                partitions.read(&acting.owner),
                profiles.get(&acting.user_id)
            )?;
            (partition, profile)
        }
    };
    Ok((partition, profile.map(|p| p.settings).unwrap_or_default()))
}
