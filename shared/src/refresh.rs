//! The token refresher: keeps every schedulable connection's access token
//! fresh, exactly once per connection even when runs overlap.
//!
//! Each run reads the due part of the sparse `refresh-due` index (all shards,
//! concurrently), then for each connection, with bounded concurrency: claims
//! a short lease with a conditional write (which also re-checks that it is
//! still due), calls LWA, and writes the outcome conditioned on still holding
//! the lease at the claimed version. A second run, or an on-demand refresh,
//! finds the lease taken or the connection no longer due.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::amazon::lwa::{Lwa, LwaError};
use crate::config::{self, ConfigError};
use crate::secrets::Secret;
use crate::store::connections::{
    ConnectionRecord, ConnectionStatus, DueConnection, REFRESH_SHARDS,
};
use crate::store::events::{AuditEvent, EventKind};
use crate::store::{Store, StoreError, WriteOutcome};
use crate::tokens::{CipherError, TokenCipher};

#[derive(Debug, Clone)]
pub struct RefreshConfig {
    /// Refresh access tokens expiring within this (`REFRESH_WINDOW_SECONDS`).
    pub window: Duration,
    /// Connections refreshed at once (`REFRESH_CONCURRENCY`).
    pub concurrency: usize,
    /// How long a claim holds; longer than one refresh with its retries.
    pub lease: Duration,
    /// Consecutive failures after which a connection's status is `error`.
    pub failures_before_error: u32,
    /// No new claims this close to the invocation deadline.
    pub deadline_margin: std::time::Duration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            window: Duration::seconds(600),
            concurrency: 16,
            lease: Duration::seconds(60),
            failures_before_error: 5,
            deadline_margin: std::time::Duration::from_secs(30),
        }
    }
}

impl RefreshConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: i64, range: std::ops::RangeInclusive<i64>| {
            match config::optional(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or(ConfigError::Invalid {
                        name,
                        reason: format!(
                            "expected a whole number in {}..={}",
                            range.start(),
                            range.end()
                        ),
                    }),
            }
        };
        Ok(Self {
            window: Duration::seconds(number("REFRESH_WINDOW_SECONDS", 600, 60..=3000)?),
            concurrency: number("REFRESH_CONCURRENCY", 16, 1..=256)? as usize,
            ..Self::default()
        })
    }
}

/// What happened to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Refreshed,
    /// Retried later (backoff recorded on the connection).
    TransientFailure,
    NeedsReauth,
    /// Claimed elsewhere, no longer due, deleted, or left for the next run.
    Skipped,
    /// LWA refused our client credentials; nothing was changed.
    ClientRejected,
}

/// One structured summary per run (also the invocation's result).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub due: usize,
    pub refreshed: usize,
    pub transient_failures: usize,
    pub needs_reauth: usize,
    pub skipped: usize,
    /// Stopped calling LWA: our client was refused.
    pub circuit_open: bool,
    /// Left work for the next run: the deadline came close.
    pub stopped_at_deadline: bool,
    pub duration_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct TokenPair {
    access_token: String,
    refresh_token: String,
}

/// The new state of a claimed connection, and when it is next due.
struct Attempt {
    next: ConnectionRecord,
    event: Option<AuditEvent>,
    outcome: Outcome,
    due: Option<DateTime<Utc>>,
}

pub struct Refresher {
    pub store: Store,
    pub cipher: Arc<TokenCipher>,
    pub lwa: Arc<Lwa>,
    pub config: RefreshConfig,
}

impl Refresher {
    /// One scheduled run at `now`, stopping new claims before `deadline`.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<RunSummary, StoreError> {
        let started = Instant::now();
        let owner = format!("run-{}", uuid::Uuid::new_v4().simple());
        let horizon = (now + self.config.window).timestamp();
        let shards = futures::future::join_all(
            (0..REFRESH_SHARDS).map(|shard| self.store.due_connections(shard, horizon)),
        )
        .await;
        let mut due = Vec::new();
        for shard in shards {
            due.extend(shard?);
        }
        let circuit_open = AtomicBool::new(false);
        let past_deadline = AtomicBool::new(false);
        let outcomes: Vec<Result<Outcome, StoreError>> = futures::stream::iter(due.iter())
            .map(|connection| async {
                if circuit_open.load(Ordering::Relaxed) {
                    return Ok(Outcome::Skipped);
                }
                if Instant::now() + self.config.deadline_margin >= deadline {
                    past_deadline.store(true, Ordering::Relaxed);
                    return Ok(Outcome::Skipped);
                }
                let outcome = self.refresh(connection, &owner, now, Some(horizon)).await;
                if matches!(outcome, Ok(Outcome::ClientRejected)) {
                    circuit_open.store(true, Ordering::Relaxed);
                }
                outcome
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        let mut summary = RunSummary {
            due: due.len(),
            circuit_open: circuit_open.load(Ordering::Relaxed),
            stopped_at_deadline: past_deadline.load(Ordering::Relaxed),
            ..RunSummary::default()
        };
        for outcome in outcomes {
            match outcome {
                Ok(Outcome::Refreshed) => summary.refreshed += 1,
                Ok(Outcome::TransientFailure) => summary.transient_failures += 1,
                Ok(Outcome::NeedsReauth) => summary.needs_reauth += 1,
                Ok(Outcome::Skipped | Outcome::ClientRejected) => summary.skipped += 1,
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
        self.refresh(connection, &owner, Utc::now(), None).await
    }

    async fn refresh(
        &self,
        due: &DueConnection,
        owner: &str,
        now: DateTime<Utc>,
        horizon: Option<i64>,
    ) -> Result<Outcome, StoreError> {
        let lease = self.config.lease.num_seconds();
        let Some(claimed) = self
            .store
            .claim_connection(due, owner, now.timestamp(), lease, horizon)
            .await?
        else {
            return Ok(Outcome::Skipped);
        };
        let Attempt {
            mut next,
            event,
            outcome,
            due: next_due,
        } = self.attempt(&claimed, now).await;
        next.schedule_refresh(next_due);
        next.lease_owner = None;
        next.lease_until = None;
        next.version = claimed.version + 1;
        next.updated_at = now;
        // One retry covers the user flipping `auto_refresh_tokens` meanwhile.
        for _ in 0..2 {
            match self
                .store
                .finish_refresh(&next, owner, claimed.version, event.as_ref())
                .await?
            {
                WriteOutcome::Applied => {
                    tracing::info!(connection_id = %due.connection_id, outcome = ?outcome, "refresh finished");
                    return Ok(outcome);
                }
                _ => match self
                    .store
                    .get_connection(&due.user_id, &due.connection_id)
                    .await?
                {
                    Some(current)
                        if current.version == claimed.version
                            && current.lease_owner.as_deref() == Some(owner)
                            && current.auto_refresh != next.auto_refresh =>
                    {
                        next.auto_refresh = current.auto_refresh;
                        next.schedule_refresh(next_due);
                    }
                    _ => break,
                },
            }
        }
        // The lease was lost or the connection deleted: what was obtained is dropped.
        tracing::info!(connection_id = %due.connection_id, "refresh result discarded");
        Ok(Outcome::Skipped)
    }

    /// Decides the new state of a claimed connection.
    async fn attempt(&self, claimed: &ConnectionRecord, now: DateTime<Utc>) -> Attempt {
        let mut next = claimed.clone();
        if claimed.consent_expires_at <= now {
            return self.needs_reauth(next, "consent_expired", now);
        }
        let Some(sealed) = &claimed.tokens else {
            return self.needs_reauth(next, "tokens_missing", now);
        };
        let tokens = match self.cipher.open(sealed, &claimed.token_context()).await {
            Ok(plaintext) => match serde_json::from_slice::<TokenPair>(&plaintext) {
                Ok(tokens) => tokens,
                Err(_) => return self.needs_reauth(next, "tokens_unreadable", now),
            },
            Err(CipherError::Corrupt) => return self.needs_reauth(next, "tokens_unreadable", now),
            Err(CipherError::Kms(reason)) => {
                tracing::warn!(%reason, "KMS unavailable");
                return self.failed(next, "kms_unavailable", None, now);
            }
        };
        match self
            .lwa
            .refresh(&Secret::new(tokens.refresh_token.clone()))
            .await
        {
            Ok(grant) => {
                let refresh_token = grant
                    .refresh_token
                    .as_ref()
                    .map_or(tokens.refresh_token, |t| t.expose().to_owned());
                let pair = TokenPair {
                    access_token: grant.access_token.expose().to_owned(),
                    refresh_token,
                };
                let sealed = match serde_json::to_vec(&pair) {
                    Ok(plaintext) => self.cipher.seal(&plaintext, &claimed.token_context()).await,
                    Err(_) => Err(CipherError::Corrupt),
                };
                let Ok(sealed) = sealed else {
                    return self.failed(next, "kms_unavailable", None, now);
                };
                next.tokens = Some(sealed);
                next.access_expires_at =
                    now + Duration::from_std(grant.expires_in).unwrap_or(Duration::hours(1));
                next.refresh_count += 1;
                next.last_refresh_at = Some(now);
                next.failure_count = 0;
                next.last_error_code = None;
                next.next_retry_at = None;
                next.status = ConnectionStatus::Active;
                let event = AuditEvent::new(&next, EventKind::Refreshed, None, now);
                let due = Some(next.access_expires_at);
                Attempt {
                    next,
                    event: Some(event),
                    outcome: Outcome::Refreshed,
                    due,
                }
            }
            Err(LwaError::InvalidGrant) => self.needs_reauth(next, "invalid_grant", now),
            Err(LwaError::ClientRejected(code)) => {
                tracing::error!(
                    lwa_error = code,
                    "LWA refused our client credentials; refreshing stops until amazon_client_id/secret are fixed"
                );
                let due = claimed
                    .refresh_due_at
                    .and_then(|t| DateTime::from_timestamp(t, 0));
                Attempt {
                    next,
                    event: None,
                    outcome: Outcome::ClientRejected,
                    due,
                }
            }
            Err(LwaError::Unavailable {
                reason,
                retry_after,
            }) => {
                tracing::warn!(%reason, "LWA unavailable");
                self.failed(next, "lwa_unavailable", retry_after, now)
            }
            Err(LwaError::Rejected(code)) => {
                tracing::error!(lwa_error = %code, "LWA rejected the refresh request");
                self.failed(next, "lwa_rejected", None, now)
            }
        }
    }

    /// Only the user can fix it: the dead tokens are destroyed and the
    /// connection leaves the schedule.
    fn needs_reauth(&self, mut next: ConnectionRecord, code: &str, now: DateTime<Utc>) -> Attempt {
        next.status = ConnectionStatus::NeedsReauth;
        next.tokens = None;
        next.last_error_code = Some(code.to_owned());
        next.next_retry_at = None;
        let event = AuditEvent::new(&next, EventKind::NeedsReauth, Some(code), now);
        Attempt {
            next,
            event: Some(event),
            outcome: Outcome::NeedsReauth,
            due: None,
        }
    }

    /// A transient failure: exponential backoff with jitter (at least what
    /// `Retry-After` asked), then retried.
    fn failed(
        &self,
        mut next: ConnectionRecord,
        code: &str,
        retry_after: Option<std::time::Duration>,
        now: DateTime<Utc>,
    ) -> Attempt {
        next.failure_count += 1;
        let retry_at = now
            + backoff(next.failure_count).max(
                retry_after
                    .and_then(|d| Duration::from_std(d).ok())
                    .unwrap_or_default(),
            );
        next.next_retry_at = Some(retry_at);
        next.last_error_code = Some(code.to_owned());
        if next.failure_count >= self.config.failures_before_error {
            next.status = ConnectionStatus::Error;
        }
        let event = AuditEvent::new(&next, EventKind::RefreshFailed, Some(code), now);
        // The index holds "expiry, or retry time plus the window", so the
        // run that reads `due <= now + window` picks it up at `retry_at`.
        let due = Some(retry_at + self.config.window);
        Attempt {
            next,
            event: Some(event),
            outcome: Outcome::TransientFailure,
            due,
        }
    }
}

/// 1 min, 2 min, 4 min … capped at 1 h, with jitter in the upper half.
pub fn backoff(failures: u32) -> Duration {
    let base = 60_i64
        .saturating_mul(1_i64 << failures.saturating_sub(1).min(6))
        .min(3600);
    let jitter = rand::random_range(0..=base / 2);
    Duration::seconds(base / 2 + jitter)
}

/// CloudWatch Embedded Metric Format: one JSON line that CloudWatch turns
/// into metrics without any API call.
pub fn metrics_line(summary: &RunSummary, timestamp_ms: i64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": "AdsConnect",
                "Dimensions": [["Function"]],
                "Metrics": [
                    {"Name": "Refreshed", "Unit": "Count"},
                    {"Name": "TransientFailures", "Unit": "Count"},
                    {"Name": "NeedsReauth", "Unit": "Count"},
                    {"Name": "Skipped", "Unit": "Count"},
                    {"Name": "ClientRejected", "Unit": "Count"},
                    {"Name": "Duration", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Function": "token-refresher",
        "Refreshed": summary.refreshed,
        "TransientFailures": summary.transient_failures,
        "NeedsReauth": summary.needs_reauth,
        "Skipped": summary.skipped,
        "ClientRejected": u8::from(summary.circuit_open),
        "Duration": summary.duration_ms,
    })
    .to_string()
}

impl Refresher {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = crate::api::aws_sdk_config().await;
        let table = Store::table_from_env()?;
        let key_id = config::required("TOKEN_KEY_ID")?;
        let refresh = RefreshConfig::from_env()?;
        let secrets = crate::api::load_app_secrets(&sdk).await?;
        let amazon = crate::amazon::AmazonConfig::for_refresh(&secrets)?;
        Ok(Self {
            store: Store::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            cipher: Arc::new(TokenCipher::new(aws_sdk_kms::Client::new(&sdk), key_id)),
            lwa: Arc::new(Lwa::new(&amazon)?),
            config: refresh,
        })
    }

    /// One scheduled invocation whose deadline is `deadline_ms` (epoch ms):
    /// runs, then writes the summary log line and the metrics line.
    pub async fn scheduled(&self, deadline_ms: u64) -> Result<RunSummary, StoreError> {
        let now = Utc::now();
        let remaining = deadline_ms.saturating_sub(now.timestamp_millis().max(0) as u64);
        let deadline = Instant::now() + std::time::Duration::from_millis(remaining);
        let summary = self.run(now, deadline).await?;
        tracing::info!(
            due = summary.due,
            refreshed = summary.refreshed,
            transient_failures = summary.transient_failures,
            needs_reauth = summary.needs_reauth,
            skipped = summary.skipped,
            circuit_open = summary.circuit_open,
            stopped_at_deadline = summary.stopped_at_deadline,
            duration_ms = summary.duration_ms,
            "refresh run finished"
        );
        // stdout, not the log subscriber: EMF must be the whole line.
        println!("{}", metrics_line(&summary, Utc::now().timestamp_millis()));
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            let first = backoff(1).num_seconds();
            assert!((30..=60).contains(&first), "{first}");
            let late = backoff(20).num_seconds();
            assert!((1800..=3600).contains(&late), "{late}");
        }
    }

    #[test]
    fn metrics_line_is_embedded_metric_format() {
        let line = metrics_line(
            &RunSummary {
                refreshed: 3,
                ..RunSummary::default()
            },
            1,
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["Refreshed"], 3);
        assert_eq!(
            value["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "AdsConnect"
        );
    }
}
