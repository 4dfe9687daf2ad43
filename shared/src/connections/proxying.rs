//! A proxied Ads API call, with throttling handled once for everyone.
//!
//! Amazon's 429 (and a 425: the same report is already being made) records
//! a throttle on the connection item for the call's unit (region × API
//! family, `crate::amazon::paths::throttle_family`), which every proxied
//! call reads anyway. While it runs, calls take slots a step apart with a
//! conditional write each, so Amazon sees one call per step however many
//! instances wait; a caller whose slot falls outside its time budget (or
//! who would not wait) is answered 429 at once, Amazon not asked. A
//! throttled call was not processed and is retried in its slot; a server
//! failure is retried only for idempotent methods. A 401 is read first: an
//! expired or invalid token is renewed once (at most one refresh a minute
//! per connection unless the token has expired), a permission refusal is
//! handed back untouched.
//!
//! A read-only account (a manager account's Viewer link) is refused its
//! writes here (`crate::amazon::paths::is_write`), before its token, a
//! throttle slot or Amazon are touched: Amazon would answer them 401. Its
//! reads go to Amazon, and every 401 Amazon gives them is Amazon's answer,
//! never taken for an expired token: for a Viewer, 401 is how Amazon says
//! "not with this role" (its bare `Unauthorized` reads like a token
//! refusal), and renewing would only spend a refresh.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::access::{Access, AccessError, AccountAccess};
use crate::amazon::limits::{self, Unauthorized};
use crate::amazon::paths::{is_write, throttle_family};
use crate::amazon::proxy::{self, Outbound, ProxyError, Upstream};
use crate::ids::AccountId;
use crate::model::account::AccountKind;
use crate::model::acting::Acting;
use crate::model::connection::DueConnection;
use crate::model::throttle::{Throttle, unit_key};
use crate::store::StoreError;
use crate::store::throttles::Claim;
use crate::users::quota::{Admission, Quotas, Scope};

/// What a call needs after waiting for its slot to be worth making.
const MIN_CALL: Duration = Duration::from_secs(1);
/// The longest wait for a slot outside an invocation's time budget.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// Added to Amazon's wait between two slots: the window Amazon counts from
/// opens when it admits a call, a little after the call left here.
const SLOT_MARGIN: Duration = Duration::from_millis(50);
/// Throttled units kept per connection; beyond, a new one is not recorded.
const MAX_UNITS: usize = 16;

/// Whether the caller waits out throttling (`AdsConnect-Wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Within the time budget of the invocation.
    WithinBudget,
    /// Never: a running throttle or Amazon's 429 is the answer at once.
    Never,
}

/// One call through the proxy, for the caller's account.
pub struct ProxyCall<'a> {
    /// The caller's workspace, whose account it is; the caller's own quota.
    pub acting: &'a Acting,
    pub account_id: &'a AccountId,
    pub outbound: &'a Outbound,
    pub wait: Wait,
    /// How long the token handed to Amazon must stay valid.
    pub valid_for: chrono::Duration,
    /// The caller's quota of proxied calls, counted while the account is read.
    pub quotas: Option<&'a Quotas>,
}

/// Who made a call wait or refused it for throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottledBy {
    Amazon,
    Cooldown,
}

impl ThrottledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Amazon => "amazon",
            Self::Cooldown => "cooldown",
        }
    }
}

/// How the call ended.
pub enum Answer {
    /// Amazon's answer (its last, after retries).
    Amazon(Upstream),
    /// Throttled for longer than the caller waits: Amazon was not asked.
    Cooldown,
    /// The caller is over their quota of proxied calls: retry after this.
    OverQuota(Duration),
    /// A write for a read-only account: Amazon was not asked.
    ReadOnly,
    /// Amazon could not be reached or answered too much.
    Failed(ProxyError),
}

/// A proxied call and what it took, for the answer and its log line.
pub struct Proxied {
    pub answer: Answer,
    pub kind: AccountKind,
    pub connection_id: crate::ids::ConnectionId,
    /// The throttling unit's family.
    pub family: String,
    /// Time spent at Amazon, every attempt included.
    pub upstream_time: Duration,
    /// Time spent waiting for a slot or a retry.
    pub waited: Duration,
    pub throttled_by: Option<ThrottledBy>,
    /// When the caller may try again (a throttled answer).
    pub retry_after: Option<Duration>,
    pub amazon_calls: u32,
}

/// Where a call stands with its unit's throttle.
enum Slot {
    /// It may go after this pause, in the slot before `next_ms` (none: the
    /// throttle had ended).
    Go {
        pause: Duration,
        next_ms: Option<i64>,
    },
    /// Not within the caller's wait: this long remains.
    Refused(Duration),
}

impl Access {
    /// Makes `call` for the caller's account; errors are the ones no call
    /// was made for (no such account, re-authorization needed, credentials
    /// unavailable, an owned header with another value).
    pub async fn proxy(
        &self,
        http: &reqwest::Client,
        call: ProxyCall<'_>,
    ) -> Result<Proxied, AccessError> {
        let outbound = call.outbound;
        let admission = async {
            match call.quotas {
                Some(quotas) => quotas
                    .admit(&call.acting.user_id, Scope::Proxy)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (loaded, admission) =
            tokio::join!(self.load(&call.acting.owner, call.account_id), admission);
        let (account, connection) = loaded?;
        let over_quota = match admission? {
            Some(Admission::Refused(wait)) => Some(wait),
            _ => None,
        };
        let mut proxied = Proxied {
            answer: Answer::Cooldown,
            kind: account.kind(),
            connection_id: connection.connection_id.clone(),
            family: throttle_family(&outbound.method, &outbound.path),
            upstream_time: Duration::ZERO,
            waited: Duration::ZERO,
            throttled_by: None,
            retry_after: None,
            amazon_calls: 0,
        };
        if account.role.is_read_only() && is_write(&outbound.method, &outbound.path) {
            proxied.answer = Answer::ReadOnly;
            return Ok(proxied);
        }
        // Before any refresh: a caller over quota costs Login with Amazon
        // nothing.
        if let Some(wait) = over_quota {
            proxied.answer = Answer::OverQuota(wait);
            return Ok(proxied);
        }
        let mut access = self.valid_for(account, &connection, call.valid_for).await?;
        let mut headers = outbound
            .headers_for(&access.for_amazon())
            .map_err(AccessError::OwnedHeader)?;
        let unit = unit_key(access.region, &proxied.family);
        let connection = DueConnection {
            owner: call.acting.owner.clone(),
            connection_id: connection.connection_id,
        };
        let mut seen = access.throttles.get(&unit).copied();
        let (mut throttled, mut failed, mut renewed) = (0, 0, false);
        // While Amazon throttles: the unit's next free slot right after the
        // one this call last went in.
        let mut slotted: Option<i64> = None;
        let mut last_throttled: Option<Upstream> = None;
        loop {
            if let Some(throttle) = seen.filter(|t| t.is_running(Utc::now())) {
                match self
                    .take_slot(&connection, &unit, throttle, call.wait)
                    .await?
                {
                    Slot::Go { pause, next_ms } => {
                        proxied.throttled_by.get_or_insert(ThrottledBy::Cooldown);
                        proxied.waited += pause;
                        tokio::time::sleep(pause).await;
                        slotted = next_ms;
                    }
                    Slot::Refused(left) => {
                        proxied.retry_after = Some(left);
                        proxied.answer = match last_throttled {
                            Some(upstream) => Answer::Amazon(upstream),
                            None => {
                                proxied.throttled_by = Some(ThrottledBy::Cooldown);
                                Answer::Cooldown
                            }
                        };
                        return Ok(proxied);
                    }
                }
            }
            let started = Instant::now();
            let sent = proxy::send(http, &access.api_host, outbound, &headers).await;
            proxied.upstream_time += started.elapsed();
            proxied.amazon_calls += 1;
            let upstream = match sent {
                Ok(upstream) => upstream,
                Err(error) => {
                    proxied.answer = Answer::Failed(error);
                    return Ok(proxied);
                }
            };
            match upstream.status {
                429 | 425 => {
                    let step = limits::retry_after(&upstream.headers)
                        .unwrap_or(limits::backoff(throttled));
                    seen = self
                        .record_throttle(&connection, &unit, step, &access)
                        .await;
                    let left = seen.map_or(step, |t| {
                        (t.until() - Utc::now()).to_std().unwrap_or_default()
                    });
                    if upstream.status == 425 {
                        proxied.answer = Answer::Amazon(upstream);
                        return Ok(proxied);
                    }
                    proxied.throttled_by = Some(ThrottledBy::Amazon);
                    proxied.retry_after = Some(left);
                    // Unrecorded, a retry could not take its turn with the others.
                    if seen.is_none()
                        || call.wait == Wait::Never
                        || throttled == limits::BACKOFF.len()
                    {
                        proxied.answer = Answer::Amazon(upstream);
                        return Ok(proxied);
                    }
                    throttled += 1;
                    last_throttled = Some(upstream);
                }
                status
                    if limits::is_transient(status)
                        && limits::is_idempotent(&outbound.method)
                        && call.wait == Wait::WithinBudget
                        && failed < limits::BACKOFF.len()
                        && crate::budget::can_wait(limits::backoff(failed) + MIN_CALL) =>
                {
                    let pause = limits::backoff(failed);
                    failed += 1;
                    proxied.waited += pause;
                    tokio::time::sleep(pause).await;
                }
                401 if !renewed
                    && !access.account.role.is_read_only()
                    && limits::unauthorized(&upstream.body) == Unauthorized::Token =>
                {
                    renewed = true;
                    match self
                        .renewed(&call.acting.owner, &access, call.valid_for)
                        .await?
                    {
                        Some(fresh) => {
                            access = fresh;
                            headers = outbound
                                .headers_for(&access.for_amazon())
                                .map_err(AccessError::OwnedHeader)?;
                        }
                        None => {
                            proxied.answer = Answer::Amazon(upstream);
                            return Ok(proxied);
                        }
                    }
                }
                _ => {
                    if let Some(next_ms) = slotted {
                        // Amazon answers again: with nobody queued behind,
                        // later callers need not queue.
                        let throttles = self.store.throttles();
                        if let Err(error) = throttles.clear(&connection, &unit, next_ms).await {
                            tracing::warn!(error = %error, "could not clear a throttle");
                        }
                    }
                    proxied.answer = Answer::Amazon(upstream);
                    return Ok(proxied);
                }
            }
        }
    }

    /// The slot a call may take in `unit`'s queue (`seen` as last read):
    /// the next free one, if the caller can wait for it.
    async fn take_slot(
        &self,
        connection: &DueConnection,
        unit: &str,
        seen: Throttle,
        wait: Wait,
    ) -> Result<Slot, AccessError> {
        let now = Utc::now();
        let left = |until: DateTime<Utc>| (until - now).to_std().unwrap_or_default();
        if wait == Wait::Never {
            return Ok(Slot::Refused(left(seen.until())));
        }
        let can_wait = crate::budget::left().map_or(MAX_WAIT, |budget| {
            budget.saturating_sub(MIN_CALL + crate::budget::MIN_ATTEMPT)
        });
        let latest = now + chrono::Duration::from_std(can_wait).unwrap_or_default();
        let claim = self
            .store
            .throttles()
            .claim(
                connection,
                unit,
                now.timestamp_millis(),
                latest.timestamp_millis(),
            )
            .await?;
        Ok(match claim {
            Claim::Slot { at_ms, step_ms } => Slot::Go {
                pause: Duration::from_millis(
                    u64::try_from(at_ms - now.timestamp_millis()).unwrap_or_default(),
                ),
                next_ms: Some(at_ms + step_ms),
            },
            Claim::TooLate(current) => Slot::Refused(left(current.until())),
            Claim::Ended => Slot::Go {
                pause: Duration::ZERO,
                next_ms: None,
            },
        })
    }

    /// Records Amazon's throttle of `unit` for `step`; the unit's queue as
    /// it now stands. `None` when it was not written (the connection is
    /// gone, it has too many throttled units, or the table failed): the
    /// throttle is a hint, and the call still has Amazon's answer.
    async fn record_throttle(
        &self,
        connection: &DueConnection,
        unit: &str,
        step: Duration,
        access: &AccountAccess,
    ) -> Option<Throttle> {
        let now = Utc::now();
        let millis = |wait: Duration| i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4);
        // The first slot is Amazon's own wait from now; the ones after it
        // are spaced a little wider (SLOT_MARGIN).
        let throttle = Throttle {
            until_ms: now.timestamp_millis() + millis(step),
            step_ms: millis(step + SLOT_MARGIN.max(step / 50)),
        };
        let (running, ended): (Vec<_>, Vec<_>) = access
            .throttles
            .iter()
            .partition(|(_, t)| t.is_running(now));
        if running.len() >= MAX_UNITS && !running.iter().any(|(key, _)| *key == unit) {
            return None;
        }
        let ended: Vec<String> = ended.into_iter().map(|(key, _)| key.clone()).collect();
        let recorded: Result<_, StoreError> = self
            .store
            .throttles()
            .record(connection, unit, throttle, &ended)
            .await;
        match recorded {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(error = %error, "could not record a throttle");
                None
            }
        }
    }
}
