//! The token refresher: keeps every scheduled connection's access token
//! fresh, exactly once per connection even when runs overlap.
//!
//! A run reads the due part of the sparse refresh index (every shard at
//! once) and works it soonest-due first with bounded concurrency. For each
//! connection it claims a lease with a conditional write (which re-checks
//! that it is still due), asks Login with Amazon, and writes the outcome
//! only while it still holds the lease. Every claim reads the clock when it
//! is made, and a lease outlasts the worst case of one refresh, so a second
//! run or an on-demand refresh finds the lease taken or the connection no
//! longer due at any point of a long run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;

mod config;
mod report;

pub use config::{RefreshConfig, worst_case_refresh};
pub use report::{Outcome, RunSummary, metrics_line};

use config::{WRITE_ATTEMPTS, WRITE_RETRY_PAUSE};

use super::lifecycle::{self, RefreshResult};
use super::tokens::TokenPair;
use crate::amazon::lwa::{Lwa, LwaError, TokenGrant};
use crate::model::connection::{ConnectionRecord, DueConnection};
use crate::model::service::RunCounts;
use crate::store::connections::ConnectionWrite;
use crate::store::{Store, StoreError};
use crate::tokens::{CipherError, TokenCipher};

/// The refresher's clock: real time, shifted when a run is started "at"
/// another time (tests, benchmarks). Read anew for every claim and write.
#[derive(Debug, Clone, Copy)]
struct Clock {
    offset: Duration,
}

impl Clock {
    fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            offset: start - Utc::now(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

pub struct Refresher {
    pub store: Store,
    pub cipher: Arc<TokenCipher>,
    pub lwa: Arc<Lwa>,
    pub config: RefreshConfig,
}

impl Refresher {
    /// One scheduled run whose clock reads `start` now, taking no new claims
    /// once `deadline` is closer than the margin.
    pub async fn run(
        &self,
        start: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<RunSummary, StoreError> {
        let started = Instant::now();
        let clock = Clock::starting_at(start);
        let owner = format!("run-{}", uuid::Uuid::new_v4().simple());
        let horizon = (start + self.config.window).timestamp();
        let due = self.store.connections().due(horizon).await?;
        let stop = AtomicBool::new(false);
        let client_rejected = AtomicBool::new(false);
        let key_unusable = AtomicBool::new(false);
        let past_deadline = AtomicBool::new(false);
        let unreadable = AtomicUsize::new(0);
        let outcomes: Vec<Result<Outcome, StoreError>> = futures::stream::iter(due.iter())
            .map(|due| async {
                if stop.load(Ordering::Relaxed) {
                    return Ok(Outcome::Skipped);
                }
                if Instant::now() + self.config.deadline_margin >= deadline {
                    past_deadline.store(true, Ordering::Relaxed);
                    return Ok(Outcome::Skipped);
                }
                let horizon = (clock.now() + self.config.window).timestamp();
                let outcome = self
                    .refresh(&due.connection, &owner, clock, Some(horizon))
                    .await;
                match outcome {
                    Ok(Outcome::ClientRejected) => {
                        client_rejected.store(true, Ordering::Relaxed);
                        stop.store(true, Ordering::Relaxed);
                    }
                    Ok(Outcome::KeyUnusable) => {
                        key_unusable.store(true, Ordering::Relaxed);
                        stop.store(true, Ordering::Relaxed);
                    }
                    Ok(Outcome::Unreadable) => {
                        unreadable.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
                outcome
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        let mut summary = RunSummary {
            due: due.len(),
            circuit_open: client_rejected.load(Ordering::Relaxed),
            key_unusable: key_unusable.load(Ordering::Relaxed),
            unreadable: unreadable.load(Ordering::Relaxed),
            stopped_at_deadline: past_deadline.load(Ordering::Relaxed),
            ..RunSummary::default()
        };
        for outcome in outcomes {
            match outcome {
                Ok(Outcome::Refreshed) => summary.refreshed += 1,
                Ok(Outcome::TransientFailure) => summary.transient_failures += 1,
                Ok(Outcome::NeedsReauth) => summary.needs_reauth += 1,
                Ok(
                    Outcome::Skipped
                    | Outcome::ClientRejected
                    | Outcome::KeyUnusable
                    | Outcome::Unreadable,
                ) => summary.skipped += 1,
                // DynamoDB failed for this one: its lease expires, the next run retries.
                Err(error) => {
                    tracing::warn!(error = %error, "refresh not completed");
                    summary.skipped += 1;
                }
            }
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Refreshes one connection now, whatever its due time (for the API),
    /// through the same lease: `Skipped` when a refresh is already running.
    pub async fn refresh_now(&self, connection: &DueConnection) -> Result<Outcome, StoreError> {
        let owner = format!("api-{}", uuid::Uuid::new_v4().simple());
        self.refresh(connection, &owner, Clock::starting_at(Utc::now()), None)
            .await
    }

    async fn refresh(
        &self,
        due: &DueConnection,
        owner: &str,
        clock: Clock,
        horizon: Option<i64>,
    ) -> Result<Outcome, StoreError> {
        let now = clock.now();
        let until = (now + self.config.lease).timestamp();
        let Some(claimed) = self
            .store
            .connections()
            .claim_lease(due, owner, now.timestamp(), until, horizon)
            .await?
        else {
            return Ok(Outcome::Skipped);
        };
        let (result, outcome) = self.attempt(&claimed, clock.now()).await;
        if self.write(claimed, &result, owner, clock).await? {
            tracing::info!(connection_id = %due.connection_id, outcome = ?outcome, "refresh finished");
            Ok(outcome)
        } else {
            // The lease was lost (a new consent) or the connection deleted:
            // what was obtained is dropped.
            tracing::info!(connection_id = %due.connection_id, "refresh result discarded");
            Ok(Outcome::Skipped)
        }
    }

    /// Writes the outcome while the lease is ours: retried when DynamoDB
    /// fails, and applied again onto the record when someone changed it
    /// without taking the lease (the user's `auto_refresh_tokens`). `false`:
    /// the lease is gone.
    async fn write(
        &self,
        claimed: ConnectionRecord,
        result: &RefreshResult,
        owner: &str,
        clock: Clock,
    ) -> Result<bool, StoreError> {
        let mut current = claimed;
        let mut last_error = None;
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(WRITE_RETRY_PAUSE * attempt).await;
            }
            let (next, event) =
                lifecycle::refreshed(&current, result, &self.config.policy(), clock.now());
            match self.store.connections().put_leased(&next, owner).await {
                Ok(ConnectionWrite::Written) => {
                    if let Some(event) = event
                        && let Err(error) = self.store.events().put(&event).await
                    {
                        // Not a transaction with the write: this is the
                        // hottest path and a transaction doubles its cost.
                        tracing::warn!(error = %error, "audit event not recorded");
                    }
                    return Ok(true);
                }
                Ok(ConnectionWrite::Conflict) => {
                    let stored = self
                        .store
                        .connections()
                        .get(&current.owner, &current.connection_id)
                        .await?;
                    match stored {
                        // An earlier attempt that seemed to fail was written.
                        Some(stored) if is_written(&stored, &next) => return Ok(true),
                        Some(stored) if stored.lease_owner.as_deref() == Some(owner) => {
                            current = stored;
                        }
                        _ => return Ok(false),
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, attempt, "refresh outcome not written; retrying");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| {
            StoreError::Unavailable("the connection kept changing during a refresh".into())
        }))
    }

    /// What refreshing a claimed connection finds (LWA and KMS asked here).
    async fn attempt(
        &self,
        claimed: &ConnectionRecord,
        now: DateTime<Utc>,
    ) -> (RefreshResult, Outcome) {
        let revoked = |code| (RefreshResult::Revoked { code }, Outcome::NeedsReauth);
        let failed = |code, retry_after| {
            (
                RefreshResult::Failed { code, retry_after },
                Outcome::TransientFailure,
            )
        };
        if claimed.consent_expires_at <= now {
            return revoked("consent_expired");
        }
        let tokens = match TokenPair::open(&self.cipher, claimed).await {
            Ok(Some(tokens)) => tokens,
            Ok(None) => return revoked("tokens_missing"),
            Err(error) => return self.unopened(claimed, error),
        };
        let grant = match self.lwa.refresh(&tokens.refresh_token).await {
            Ok(grant) => grant,
            Err(LwaError::InvalidGrant) => return revoked("invalid_grant"),
            Err(LwaError::ClientRejected(code)) => {
                tracing::error!(
                    lwa_error = code,
                    "LWA refused our client credentials; refreshing stops until amazon_client_id/secret are fixed"
                );
                return (RefreshResult::Untouched, Outcome::ClientRejected);
            }
            Err(LwaError::Unavailable {
                reason,
                retry_after,
            }) => {
                tracing::warn!(%reason, "LWA unavailable");
                return failed("lwa_unavailable", retry_after);
            }
            Err(LwaError::Rejected(code)) => {
                tracing::error!(lwa_error = %code, "LWA rejected the refresh request");
                return failed("lwa_rejected", None);
            }
        };
        match self.seal(claimed, tokens, &grant).await {
            Ok(sealed) => (
                RefreshResult::Refreshed {
                    tokens: sealed,
                    access_expires_at: now
                        + Duration::from_std(grant.expires_in).unwrap_or(Duration::hours(1)),
                },
                Outcome::Refreshed,
            ),
            Err(error) => self.unopened(claimed, error),
        }
    }

    /// The new pair: LWA may rotate the refresh token, so the one it sends
    /// (if any) replaces ours.
    async fn seal(
        &self,
        claimed: &ConnectionRecord,
        old: TokenPair,
        grant: &TokenGrant,
    ) -> Result<crate::model::sealed::Sealed, CipherError> {
        TokenPair {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone().unwrap_or(old.refresh_token),
        }
        .seal(&self.cipher, &claimed.owner, &claimed.connection_id)
        .await
    }

    /// Tokens that KMS will not open or seal are an operator's problem, never
    /// the user's: nothing is changed and nothing deleted.
    fn unopened(&self, claimed: &ConnectionRecord, error: CipherError) -> (RefreshResult, Outcome) {
        match error {
            CipherError::Kms(reason) => {
                tracing::warn!(%reason, "KMS unavailable");
                (
                    RefreshResult::Failed {
                        code: "kms_unavailable",
                        retry_after: None,
                    },
                    Outcome::TransientFailure,
                )
            }
            CipherError::KeyUnusable(reason) => {
                tracing::error!(
                    %reason,
                    "KMS refused the token key; refreshing stops until TOKEN_KEY_ID is fixed (no connection was changed)"
                );
                (RefreshResult::Untouched, Outcome::KeyUnusable)
            }
            CipherError::Corrupt => {
                tracing::error!(
                    connection_id = %claimed.connection_id,
                    "stored tokens do not open; left as they are"
                );
                (RefreshResult::Untouched, Outcome::Unreadable)
            }
        }
    }

    /// One scheduled invocation whose deadline is `deadline_ms` (epoch ms):
    /// runs, then writes the summary log line and the metrics line.
    pub async fn scheduled(&self, deadline_ms: u64) -> Result<RunSummary, StoreError> {
        let now = Utc::now();
        let remaining = deadline_ms.saturating_sub(now.timestamp_millis().max(0) as u64);
        let deadline = Instant::now() + std::time::Duration::from_millis(remaining);
        // No refresh call outlives the invocation.
        let summary = crate::budget::scope(deadline, self.run(now, deadline)).await?;
        tracing::info!(
            due = summary.due,
            refreshed = summary.refreshed,
            transient_failures = summary.transient_failures,
            needs_reauth = summary.needs_reauth,
            skipped = summary.skipped,
            circuit_open = summary.circuit_open,
            key_unusable = summary.key_unusable,
            unreadable = summary.unreadable,
            stopped_at_deadline = summary.stopped_at_deadline,
            duration_ms = summary.duration_ms,
            "refresh run finished"
        );
        // stdout, not the log subscriber: EMF must be the whole line.
        println!("{}", metrics_line(&summary, Utc::now().timestamp_millis()));
        // For the health check; a run is not failed by its own bookkeeping.
        let counts = RunCounts {
            due: summary.due,
            refreshed: summary.refreshed,
            transient_failures: summary.transient_failures,
            needs_reauth: summary.needs_reauth,
            succeeded: !summary.circuit_open && !summary.key_unusable,
        };
        if let Err(error) = self
            .store
            .service()
            .record_refresher_run(&counts, Utc::now())
            .await
        {
            tracing::warn!(error = %error, "the run could not be recorded for the health check");
        }
        Ok(summary)
    }
}

/// Whether `stored` is `written` as a put of it left it (an attempt whose
/// answer was lost may have been applied).
fn is_written(stored: &ConnectionRecord, written: &ConnectionRecord) -> bool {
    stored.version == written.version + 1
        && stored.lease_owner.is_none()
        && (
            &stored.tokens,
            stored.refresh_count,
            stored.failure_count,
            stored.status,
        ) == (
            &written.tokens,
            written.refresh_count,
            written.failure_count,
            written.status,
        )
}
