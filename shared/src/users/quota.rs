//! Fair use: no user can spend what the others need. Each user has a limit
//! for Ads API calls through the proxy and one for writes (settings,
//! syncs, disconnects, …) per 10-second window, counted in the table
//! (`crate::store::quotas`, one conditional write per request) so every
//! running instance counts the same requests. API Gateway's usage
//! plans would need a REST API and API keys; an HTTP API has neither, and
//! the user id is known only after the authorizer, so the count is ours.

use std::time::Duration;

use chrono::Utc;

use crate::ids::UserId;
use crate::store::quotas::{Taken, Window};
use crate::store::{Store, StoreError};

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Ads API calls through the proxy.
    Proxy,
    /// Requests that change something.
    Writes,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::Writes => "writes",
        }
    }
}

/// At most `requests` per window of `per`: a burst of that size at most,
/// and on average no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub per: Duration,
}

impl Limit {
    /// The window every limit from the configuration uses: short enough
    /// that a refused caller waits seconds, long enough to allow a burst.
    pub const WINDOW: Duration = Duration::from_secs(10);

    /// `per_minute`, counted in windows of [`Self::WINDOW`].
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            requests: (per_minute / 6).max(1),
            per: Self::WINDOW,
        }
    }

    fn window(self) -> Window {
        Window {
            length_ms: i64::try_from(self.per.as_millis()).unwrap_or(i64::MAX),
            limit: i64::from(self.requests),
        }
    }
}

/// Whether a request may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Over the quota: retry after this long.
    Refused(Duration),
}

/// Each scope's limit, for every user alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    pub proxy: Limit,
    pub writes: Limit,
}

impl Default for QuotaLimits {
    /// 600 Ads API calls a minute (100 in any 10 s window), 120 writes a
    /// minute (20 per window): far above what a person or a well-behaved
    /// integration needs, far below what would crowd out the others.
    fn default() -> Self {
        Self {
            proxy: Limit::per_minute(600),
            writes: Limit::per_minute(120),
        }
    }
}

pub struct Quotas {
    pub store: Store,
    pub proxy: Limit,
    pub writes: Limit,
}

impl Quotas {
    /// Counts one request of `user_id` in `scope`.
    pub async fn admit(&self, user_id: &UserId, scope: Scope) -> Result<Admission, StoreError> {
        let limit = match scope {
            Scope::Proxy => self.proxy,
            Scope::Writes => self.writes,
        };
        let taken = self
            .store
            .quotas()
            .take(
                user_id,
                scope.as_str(),
                limit.window(),
                Utc::now().timestamp_millis(),
            )
            .await?;
        Ok(match taken {
            Taken::Granted => Admission::Admitted,
            Taken::Exhausted { wait_ms } => {
                Admission::Refused(Duration::from_millis(wait_ms.unsigned_abs()))
            }
        })
    }
}
