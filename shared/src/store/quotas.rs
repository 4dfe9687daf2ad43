//! Per-user quotas: a counter per user, scope and window
//! (`QUOTA#<user id>` / `<scope>#<window start>`), outside the user's
//! partition so reading a user never pages through them. Each request is
//! one conditional UpdateItem that adds one while the count is under the
//! limit; a window's item expires by TTL once it is over.

use super::{Item, Store, StoreError, is_condition_failure, keys, number};
use crate::ids::UserId;

const COUNT: &str = "requests";

/// How taking a quota ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Granted,
    /// The window is full: the next one starts in this many milliseconds.
    Exhausted {
        wait_ms: i64,
    },
}

/// At most `limit` requests per window of `length_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub length_ms: i64,
    pub limit: i64,
}

/// The quota items of the table.
#[derive(Clone, Copy)]
pub struct Quotas<'a>(pub(super) &'a Store);

impl Quotas<'_> {
    /// Counts one request of `user_id`'s `scope` at `now_ms`.
    pub async fn take(
        &self,
        user_id: &UserId,
        scope: &str,
        window: Window,
        now_ms: i64,
    ) -> Result<Taken, StoreError> {
        let length = window.length_ms.max(1);
        let start = now_ms - now_ms.rem_euclid(length);
        let sent = self
            .0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(quota_key(user_id, scope, start)))
            .update_expression("ADD #count :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":limit", number(window.limit))
            .expression_attribute_values(":ttl", number((start + length) / 1000 + 60))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Taken::Granted),
            Err(error) if is_condition_failure(&error) => Ok(Taken::Exhausted {
                wait_ms: (start + length - now_ms).max(1),
            }),
            Err(error) => Err(error.into()),
        }
    }
}

fn quota_key(user_id: &UserId, scope: &str, window_start: i64) -> Item {
    Store::key(
        format!("QUOTA#{user_id}"),
        &format!("{scope}#{window_start}"),
    )
}
