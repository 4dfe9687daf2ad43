//! Amazon's two ways of paging a listing, each followed by one loop: by
//! offset (`startIndex` and `totalResults`) and by token (`nextToken`).
//! Both advance by what a page returned — never by what was asked, since
//! Amazon may answer fewer than asked on a page that is not the last —
//! stop on Amazon's own end signal, and say when they stopped for another
//! reason, so a listing is never cut in silence.

use std::future::Future;
use std::time::Instant;

/// Why a listing stopped before Amazon's end signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Amazon's largest offset, or our most pages, reached with more left.
    PageLimit,
    /// The time budget ended it.
    Deadline,
}

impl Cut {
    /// The `sync_warnings` reason naming it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::PageLimit => "page_limit",
            Self::Deadline => super::discovery::INCOMPLETE,
        }
    }
}

/// What a listing received, and why it stopped early, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub cut: Option<Cut>,
}

impl<T> Listed<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listed<U> {
        Listed {
            items: self.items.into_iter().map(f).collect(),
            cut: self.cut,
        }
    }
}

/// One page of an offset listing: its items and Amazon's total, if sent.
pub struct OffsetPage<T> {
    pub items: Vec<T>,
    pub total: Option<usize>,
}

/// Pages from offset 0, each starting where the items received so far end,
/// until Amazon's total is reached or a page comes back empty (without a
/// total, a short page proves nothing). An offset past `max_start` is not
/// asked: the listing is cut there. No page is started after `stop_at`.
pub async fn by_offset<T, E, Fut>(
    max_start: usize,
    stop_at: Option<Instant>,
    mut fetch: impl FnMut(usize) -> Fut,
) -> Result<Listed<T>, E>
where
    Fut: Future<Output = Result<OffsetPage<T>, E>>,
{
    let mut items = Vec::new();
    loop {
        let start = items.len();
        let page = fetch(start).await?;
        let received = page.items.len();
        items.extend(page.items);
        let more = received > 0 && page.total.is_none_or(|total| items.len() < total);
        let cut = if !more {
            return Ok(Listed { items, cut: None });
        } else if items.len() > max_start {
            Cut::PageLimit
        } else if stop_at.is_some_and(|at| Instant::now() >= at) {
            Cut::Deadline
        } else {
            continue;
        };
        return Ok(Listed {
            items,
            cut: Some(cut),
        });
    }
}

/// Pages following Amazon's `nextToken` (a missing or empty one ends the
/// listing), at most `max_pages` of them; no page is started after
/// `stop_at`. `fetch` gets the token of the page to ask for (`None`: the
/// first) and answers the page's items and its `nextToken`.
pub async fn by_token<T, E, Fut>(
    max_pages: usize,
    stop_at: Option<Instant>,
    mut fetch: impl FnMut(Option<String>) -> Fut,
) -> Result<Listed<T>, E>
where
    Fut: Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut items = Vec::new();
    let mut token = None;
    for _ in 0..max_pages {
        let (page, next) = fetch(token.take()).await?;
        items.extend(page);
        match next.filter(|t| !t.is_empty()) {
            None => return Ok(Listed { items, cut: None }),
            Some(_) if stop_at.is_some_and(|at| Instant::now() >= at) => {
                return Ok(Listed {
                    items,
                    cut: Some(Cut::Deadline),
                });
            }
            next => token = next,
        }
    }
    Ok(Listed {
        items,
        cut: Some(Cut::PageLimit),
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    /// An offset listing of `total` items that answers at most `cap` per
    /// page whatever was asked, recording each `startIndex`.
    async fn short_pages(
        total: usize,
        cap: usize,
        with_total: bool,
    ) -> (Listed<usize>, Vec<usize>) {
        let mut starts = Vec::new();
        let listed = by_offset(29_900, None, |start| {
            starts.push(start);
            let items: Vec<usize> = (start..total.min(start + cap)).collect();
            async move {
                Ok::<_, Infallible>(OffsetPage {
                    items,
                    total: with_total.then_some(total),
                })
            }
        })
        .await
        .unwrap();
        (listed, starts)
    }

    #[tokio::test]
    async fn offset_paging_advances_by_what_each_page_returned() {
        let (listed, starts) = short_pages(7, 3, true).await;
        assert_eq!(listed.items, (0..7).collect::<Vec<_>>());
        assert_eq!(listed.cut, None);
        assert_eq!(starts, [0, 3, 6]);
    }

    #[tokio::test]
    async fn without_a_total_only_an_empty_page_ends_the_listing() {
        let (listed, starts) = short_pages(7, 3, false).await;
        assert_eq!(listed.items.len(), 7);
        assert_eq!(starts, [0, 3, 6, 7]);
    }

    #[tokio::test]
    async fn an_offset_past_amazons_largest_is_a_cut_not_an_end() {
        let listed = by_offset(150, None, |start| async move {
            Ok::<_, Infallible>(OffsetPage {
                items: (start..start + 100).collect::<Vec<_>>(),
                total: Some(1_000),
            })
        })
        .await
        .unwrap();
        assert_eq!(listed.items.len(), 200);
        assert_eq!(listed.cut, Some(Cut::PageLimit));
    }

    #[tokio::test]
    async fn token_paging_follows_amazon_to_the_end_or_says_where_it_stopped() {
        let pages = |n: usize| {
            move |token: Option<String>| {
                let at: usize = token.map_or(0, |t| t.parse().unwrap());
                let next = (at + 1 < n).then(|| (at + 1).to_string());
                async move { Ok::<_, Infallible>((vec![at], next)) }
            }
        };
        let whole = by_token(10, None, pages(4)).await.unwrap();
        assert_eq!((whole.items, whole.cut), (vec![0, 1, 2, 3], None));
        let capped = by_token(3, None, pages(4)).await.unwrap();
        assert_eq!(
            (capped.items, capped.cut),
            (vec![0, 1, 2], Some(Cut::PageLimit))
        );
        let late = by_token(10, Some(Instant::now()), pages(4)).await.unwrap();
        assert_eq!((late.items, late.cut), (vec![0], Some(Cut::Deadline)));
    }
}
