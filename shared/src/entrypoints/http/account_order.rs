//! Searching and sorting the accounts list, and the cursor that carries a
//! place in one sort order from page to page. The whole list is already in
//! memory (one partition read), so none of this costs a DynamoDB call.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ApiError;
use super::connections::invalid_cursor;
use super::views::AccountView;
use crate::ids::AccountId;
use crate::model::account::AccountStatus;

/// The longest `q`, in characters: longer than any name or id it can match.
pub const MAX_SEARCH_LENGTH: usize = 100;

/// Bounds the decoding of a cursor; ours carry one name (a few hundred
/// bytes at most), far below it.
const MAX_CURSOR_LENGTH: usize = 2048;

/// The order of the accounts list: a field, ascending, or descending with
/// `-`. Ties are broken by name (A to Z), then account id, so every account
/// has one place and pages never repeat or skip one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AccountSort {
    /// The name, case-insensitively.
    #[default]
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDescending,
    /// The marketplace's name (else its id); accounts without one last.
    #[serde(rename = "marketplace")]
    Marketplace,
    #[serde(rename = "-marketplace")]
    MarketplaceDescending,
    /// active, partial, pending, disabled.
    #[serde(rename = "status")]
    Status,
    #[serde(rename = "-status")]
    StatusDescending,
    /// Oldest sync first; never-synced accounts last.
    #[serde(rename = "last_synced")]
    LastSynced,
    #[serde(rename = "-last_synced")]
    LastSyncedDescending,
}

impl AccountSort {
    fn descending(self) -> bool {
        matches!(
            self,
            Self::NameDescending
                | Self::MarketplaceDescending
                | Self::StatusDescending
                | Self::LastSyncedDescending
        )
    }

    /// Where `account` stands in this order.
    fn place(self, account: &AccountView) -> Place {
        let value = match self {
            Self::Name | Self::NameDescending => None,
            Self::Marketplace | Self::MarketplaceDescending => account
                .marketplace_name
                .as_ref()
                .or(account.marketplace_id.as_ref())
                .map(|m| SortValue::Text(m.to_lowercase())),
            Self::Status | Self::StatusDescending => {
                Some(SortValue::Rank(status_rank(account.status)))
            }
            Self::LastSynced | Self::LastSyncedDescending => {
                account.last_synced_at.map(SortValue::Time)
            }
        };
        Place {
            value,
            name: account.name.to_lowercase(),
            account_id: account.account_id.clone(),
        }
    }

    /// Whether `place` could have come from this order (a forged cursor's
    /// value of another kind is refused, not compared).
    fn fits(self, place: &Place) -> bool {
        match (self, &place.value) {
            (Self::Name | Self::NameDescending, value) => value.is_none(),
            (_, None) => !matches!(self, Self::Status | Self::StatusDescending),
            (Self::Marketplace | Self::MarketplaceDescending, Some(SortValue::Text(_)))
            | (Self::Status | Self::StatusDescending, Some(SortValue::Rank(_)))
            | (Self::LastSynced | Self::LastSyncedDescending, Some(SortValue::Time(_))) => true,
            _ => false,
        }
    }

    fn compare(self, a: &Place, b: &Place) -> Ordering {
        let directed = |ordering: Ordering| {
            if self.descending() {
                ordering.reverse()
            } else {
                ordering
            }
        };
        let first = match (self, &a.value, &b.value) {
            (Self::Name | Self::NameDescending, _, _) => directed(a.name.cmp(&b.name)),
            (_, Some(x), Some(y)) => directed(x.cmp(y)),
            // Without the value: last, whichever the direction.
            (_, Some(_), None) => Ordering::Less,
            (_, None, Some(_)) => Ordering::Greater,
            (_, None, None) => Ordering::Equal,
        };
        first
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.account_id.cmp(&b.account_id))
    }
}

fn status_rank(status: AccountStatus) -> u8 {
    match status {
        AccountStatus::Active => 0,
        AccountStatus::Partial => 1,
        AccountStatus::Pending => 2,
        AccountStatus::Disabled => 3,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum SortValue {
    Text(String),
    Rank(u8),
    Time(DateTime<Utc>),
}

/// An account's place in one order: the sorted value, the folded name, the
/// id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Place {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<SortValue>,
    name: String,
    account_id: AccountId,
}

/// What a cursor says: the order it was made in and the last account
/// listed. A place rather than an offset, so accounts added or removed
/// between pages move nothing else; under other filters or another `q` it is
/// still only a place in the same order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    sort: AccountSort,
    after: Place,
}

/// `q` trimmed and lower-cased, `None` when blank; refused when longer than
/// [`MAX_SEARCH_LENGTH`] as sent (the bound the OpenAPI document states).
pub fn search_term(q: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(q) = q else {
        return Ok(None);
    };
    if q.chars().count() > MAX_SEARCH_LENGTH {
        return Err(ApiError::invalid_field(
            "q",
            "`q` must be at most 100 characters",
        ));
    }
    let q = q.trim();
    Ok((!q.is_empty()).then(|| q.to_lowercase()))
}

/// Whether `account` matches the (lower-cased) search term: a part of its
/// name, or the start of one of its ids.
pub fn matches(account: &AccountView, term: &str) -> bool {
    account.name.to_lowercase().contains(term)
        || [
            Some(account.account_id.as_str()),
            account.profile_id.as_deref(),
            account.advertiser_id.as_deref(),
            account.instance_id.as_deref(),
            account.ads_account_id.as_deref(),
            account.amc_account_id.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|id| {
            id.get(..term.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(term))
        })
}

/// Sorts `accounts` in `sort` order, keeps those after the cursor's place,
/// and cuts a page of `limit`: the page and the next page's cursor.
pub fn page(
    accounts: Vec<AccountView>,
    sort: AccountSort,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<AccountView>, Option<String>), ApiError> {
    let after = cursor.map(|c| decode(c, sort)).transpose()?;
    let mut placed: Vec<(Place, AccountView)> = accounts
        .into_iter()
        .map(|account| (sort.place(&account), account))
        .filter(|(place, _)| {
            after
                .as_ref()
                .is_none_or(|after| sort.compare(place, after) == Ordering::Greater)
        })
        .collect();
    placed.sort_by(|(a, _), (b, _)| sort.compare(a, b));
    let more = placed.len() > limit;
    placed.truncate(limit);
    let next = more
        .then(|| placed.last().map(|(place, _)| encode(sort, place)))
        .flatten();
    Ok((
        placed.into_iter().map(|(_, account)| account).collect(),
        next,
    ))
}

fn encode(sort: AccountSort, place: &Place) -> String {
    let cursor = Cursor {
        sort,
        after: place.clone(),
    };
    // Plain data with string keys: serializing it cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode(cursor: &str, sort: AccountSort) -> Result<Place, ApiError> {
    if cursor.len() > MAX_CURSOR_LENGTH {
        return Err(invalid_cursor());
    }
    let cursor: Cursor = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(invalid_cursor)?;
    if cursor.sort != sort {
        return Err(ApiError::invalid_field(
            "cursor",
            "`cursor` belongs to another `sort`: send the sort it was listed in, or start again without it",
        ));
    }
    if !sort.fits(&cursor.after) {
        return Err(invalid_cursor());
    }
    Ok(cursor.after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(value: Option<SortValue>, name: &str, id: &str) -> Place {
        Place {
            value,
            name: name.to_owned(),
            account_id: AccountId::parse(id).unwrap(),
        }
    }

    #[test]
    fn accounts_without_the_value_come_last_in_both_directions() {
        let synced = place(Some(SortValue::Rank(0)), "b", "acct_2");
        let missing = place(None, "a", "acct_1");
        for sort in [AccountSort::Marketplace, AccountSort::MarketplaceDescending] {
            assert_eq!(sort.compare(&synced, &missing), Ordering::Less, "{sort:?}");
        }
    }

    #[test]
    fn ties_go_by_name_then_id_whatever_the_direction() {
        let a = place(Some(SortValue::Rank(1)), "alpha", "acct_9");
        let b = place(Some(SortValue::Rank(1)), "beta", "acct_1");
        let b2 = place(Some(SortValue::Rank(1)), "beta", "acct_2");
        for sort in [AccountSort::Status, AccountSort::StatusDescending] {
            assert_eq!(sort.compare(&a, &b), Ordering::Less);
            assert_eq!(sort.compare(&b, &b2), Ordering::Less);
        }
        let x = place(None, "same", "acct_1");
        let y = place(None, "same", "acct_2");
        assert_eq!(AccountSort::NameDescending.compare(&x, &y), Ordering::Less);
    }

    #[test]
    fn a_cursor_continues_only_its_own_sort() {
        let after = place(Some(SortValue::Rank(2)), "shop", "acct_1");
        let cursor = encode(AccountSort::Status, &after);
        assert_eq!(decode(&cursor, AccountSort::Status).unwrap(), after);
        assert!(decode(&cursor, AccountSort::StatusDescending).is_err());
        // A value of another kind than the sort's is refused.
        let forged = encode(AccountSort::LastSynced, &after);
        assert!(decode(&forged, AccountSort::LastSynced).is_err());
        assert!(decode("x".repeat(3000).as_str(), AccountSort::Name).is_err());
    }

    #[test]
    fn search_terms_are_trimmed_folded_and_bounded() {
        assert_eq!(search_term(Some("  ")).unwrap(), None);
        assert_eq!(
            search_term(Some(" Shop ")).unwrap().as_deref(),
            Some("shop")
        );
        assert!(search_term(Some(&"é".repeat(100))).is_ok());
        assert!(search_term(Some(&"é".repeat(101))).is_err());
        // As sent: spaces count.
        assert!(search_term(Some(&format!(" {}", "x".repeat(100)))).is_err());
    }
}
