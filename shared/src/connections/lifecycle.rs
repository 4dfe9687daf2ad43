//! Every state change of a connection, as pure functions: the record as
//! read, what happened, and the time in; the new record (and the audit event
//! to record with it) out. The store writes the result conditioned on the
//! version read; nothing here does I/O.

use chrono::{DateTime, Duration, Utc};

use super::CONSENT_LIFETIME;
use crate::ids::{ConnectionId, UserId};
use crate::model::acting::Acting;
use crate::model::connection::{AmazonIdentity, ConnectionRecord, ConnectionStatus, SyncWarning};
use crate::model::event::{AuditEvent, EventKind};
use crate::model::region::Region;
use crate::model::sealed::Sealed;

/// Puts the connection on the refresh schedule at `due`, or takes it off.
/// The one rule: only a live connection whose user lets it be refreshed is
/// scheduled.
pub fn schedule(record: &mut ConnectionRecord, due: Option<DateTime<Utc>>) {
    record.refresh_due_at = due
        .filter(|_| record.auto_refresh && record.status.is_live())
        .map(|at| at.timestamp());
}

/// What a completed consent brought.
pub struct Consent {
    /// Whose connection it becomes, and who consented.
    pub acting: Acting,
    pub connection_id: ConnectionId,
    pub amazon_identity: AmazonIdentity,
    pub amazon_user_id: Option<String>,
    pub amazon_name: Option<String>,
    pub amazon_email: Option<String>,
    pub region: Region,
    pub scopes: Vec<String>,
    pub access_expires_at: DateTime<Utc>,
    pub tokens: Sealed,
    pub sync_warnings: Vec<SyncWarning>,
    /// The user's `auto_refresh_tokens` setting.
    pub auto_refresh: bool,
}

/// A new connection, or an existing one renewed by a new consent: fresh
/// tokens and consent, failures forgotten, counters and creation kept.
pub fn connected(
    existing: Option<&ConnectionRecord>,
    consent: Consent,
    now: DateTime<Utc>,
) -> (ConnectionRecord, AuditEvent) {
    let actor = consent.acting.user_id;
    let mut record = ConnectionRecord {
        connection_id: consent.connection_id,
        owner: consent.acting.owner,
        amazon_identity: consent.amazon_identity,
        amazon_user_id: consent.amazon_user_id,
        amazon_name: consent.amazon_name,
        amazon_email: consent.amazon_email,
        region: consent.region,
        status: ConnectionStatus::Active,
        scopes: consent.scopes,
        access_expires_at: consent.access_expires_at,
        consent_at: now,
        consent_expires_at: now + CONSENT_LIFETIME,
        refresh_count: existing.map_or(0, |c| c.refresh_count),
        last_refresh_at: existing.and_then(|c| c.last_refresh_at),
        failure_count: 0,
        last_error_code: None,
        next_retry_at: None,
        // As read: the store writes the next one (0: must be new).
        version: existing.map_or(0, |c| c.version),
        sync_warnings: consent.sync_warnings,
        last_synced_at: Some(now),
        created_at: existing.map_or(now, |c| c.created_at),
        updated_at: now,
        tokens: Some(consent.tokens),
        refresh_due_at: None,
        auto_refresh: consent.auto_refresh,
        sync_requested_at: existing.and_then(|c| c.sync_requested_at),
        // A refresh running on the old tokens loses its lease: its result
        // is discarded, the new consent's tokens kept.
        lease_owner: None,
        lease_until: None,
        // A new consent: a new year before it expires.
        consent_warned_at: None,
        throttles: Default::default(),
    };
    let due = record.access_expires_at;
    schedule(&mut record, Some(due));
    let kind = match existing {
        Some(_) => EventKind::Reauthorized,
        None => EventKind::Connected,
    };
    let event = AuditEvent::new(&record, kind, None, Some(&actor), now);
    (record, event)
}

/// How the refresher's rules are tuned.
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// Refresh access tokens expiring within this.
    pub window: Duration,
    /// Consecutive failures after which the status is `error`.
    pub failures_before_error: u32,
}

/// How long before the consent (and so the refresh token) expires the user
/// is told: once by an audit event, and by the connection's health.
pub const CONSENT_WARNING: Duration = Duration::days(30);

/// A server's `Retry-After` is honoured up to this; beyond it the backoff
/// decides (a bogus or hostile value must not park a connection for years).
pub const MAX_RETRY_AFTER: Duration = Duration::hours(1);

/// What one refresh attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshResult {
    Refreshed {
        tokens: Sealed,
        access_expires_at: DateTime<Utc>,
    },
    /// Worth retrying later (LWA or KMS unavailable, LWA refused oddly).
    Failed {
        code: &'static str,
        retry_after: Option<std::time::Duration>,
    },
    /// Only the user can fix it: consent expired, grant revoked, no tokens.
    Revoked { code: &'static str },
    /// An operator problem (our client refused, the token key unusable):
    /// nothing about the connection changes but the lease.
    Untouched,
}

/// The connection after a refresh attempt, with its lease released, and the
/// event to record.
pub fn refreshed(
    current: &ConnectionRecord,
    result: &RefreshResult,
    policy: &RefreshPolicy,
    now: DateTime<Utc>,
) -> (ConnectionRecord, Option<AuditEvent>) {
    let mut next = current.clone();
    next.lease_owner = None;
    next.lease_until = None;
    next.updated_at = now;
    let (due, event) = match result {
        RefreshResult::Refreshed {
            tokens,
            access_expires_at,
        } => {
            next.tokens = Some(tokens.clone());
            next.access_expires_at = *access_expires_at;
            next.refresh_count += 1;
            next.last_refresh_at = Some(now);
            next.failure_count = 0;
            next.last_error_code = None;
            next.next_retry_at = None;
            next.status = ConnectionStatus::Active;
            // The first refresh within the warning period says so, once.
            let kind = if next.consent_warned_at.is_none()
                && next.consent_expires_at <= now + CONSENT_WARNING
            {
                next.consent_warned_at = Some(now);
                EventKind::ConsentExpiring
            } else {
                EventKind::Refreshed
            };
            (Some(*access_expires_at), Some((kind, None)))
        }
        RefreshResult::Failed { code, retry_after } => {
            next.failure_count = next.failure_count.saturating_add(1);
            let asked = retry_after
                .and_then(|wait| Duration::from_std(wait).ok())
                .unwrap_or_default()
                .min(MAX_RETRY_AFTER);
            let retry_at = now + backoff(next.failure_count).max(asked);
            next.next_retry_at = Some(retry_at);
            next.last_error_code = Some((*code).to_owned());
            if next.failure_count >= policy.failures_before_error {
                next.status = ConnectionStatus::Error;
            }
            // The schedule holds "expiry, or retry time plus the window", so
            // the run that reads `due <= now + window` picks it up at `retry_at`.
            (
                Some(retry_at + policy.window),
                Some((EventKind::RefreshFailed, Some(*code))),
            )
        }
        RefreshResult::Revoked { code } => {
            next.status = ConnectionStatus::NeedsReauth;
            // Dead tokens are worth nothing; a live refresh token would never
            // be called revoked.
            next.tokens = None;
            next.last_error_code = Some((*code).to_owned());
            next.next_retry_at = None;
            (None, Some((EventKind::NeedsReauth, Some(*code))))
        }
        RefreshResult::Untouched => (
            current
                .refresh_due_at
                .and_then(|at| DateTime::from_timestamp(at, 0)),
            None,
        ),
    };
    schedule(&mut next, due);
    let event = event.map(|(kind, detail)| AuditEvent::new(&next, kind, detail, None, now));
    (next, event)
}

/// 1 min, 2 min, 4 min … capped at 1 h, with jitter in the upper half.
pub fn backoff(failures: u32) -> Duration {
    let base = 60_i64
        .saturating_mul(1_i64 << failures.saturating_sub(1).min(6))
        .min(3600);
    let jitter = rand::random_range(0..=base / 2);
    Duration::seconds(base / 2 + jitter)
}

/// The user's `auto_refresh_tokens` mirrored onto a connection: `None` when
/// it already agrees. A refresh holding the lease meanwhile sees the new
/// flag when it writes and schedules by it.
pub fn with_auto_refresh(
    current: &ConnectionRecord,
    enabled: bool,
    now: DateTime<Utc>,
) -> Option<ConnectionRecord> {
    if current.auto_refresh == enabled {
        return None;
    }
    let mut next = current.clone();
    next.auto_refresh = enabled;
    next.updated_at = now;
    let due = current.access_expires_at;
    schedule(&mut next, Some(due));
    Some(next)
}

/// Discovery ran again: what failed is recorded, the tokens are untouched.
pub fn synced(
    current: &ConnectionRecord,
    warnings: Vec<SyncWarning>,
    actor: &UserId,
    now: DateTime<Utc>,
) -> (ConnectionRecord, AuditEvent) {
    let mut next = current.clone();
    next.sync_warnings = warnings;
    next.last_synced_at = Some(now);
    next.updated_at = now;
    let event = AuditEvent::new(&next, EventKind::Synced, None, Some(actor), now);
    (next, event)
}

/// The event a disconnect leaves behind (the connection itself is deleted).
pub fn disconnected(
    current: &ConnectionRecord,
    actor: Option<&UserId>,
    now: DateTime<Utc>,
) -> AuditEvent {
    AuditEvent::new(current, EventKind::Disconnected, None, actor, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(tag: &str) -> Sealed {
        Sealed {
            ciphertext: tag.into(),
            nonce: "n".into(),
            wrapped_key: "k".into(),
            format: 1,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn consent(auto_refresh: bool) -> Consent {
        Consent {
            acting: Acting::personal(UserId::parse("user_a").unwrap()),
            connection_id: ConnectionId::parse("conn_a").unwrap(),
            amazon_identity: AmazonIdentity::lwa("amzn1.account.A"),
            amazon_user_id: Some("amzn1.account.A".into()),
            amazon_name: None,
            amazon_email: None,
            region: Region::Na,
            scopes: vec!["advertising::campaign_management".into()],
            access_expires_at: at(3600),
            tokens: sealed("first"),
            sync_warnings: vec![],
            auto_refresh,
        }
    }

    fn policy() -> RefreshPolicy {
        RefreshPolicy {
            window: Duration::minutes(10),
            failures_before_error: 3,
        }
    }

    fn leased(mut record: ConnectionRecord) -> ConnectionRecord {
        record.lease_owner = Some("run-1".into());
        record.lease_until = Some(at(60).timestamp());
        record
    }

    #[test]
    fn a_new_connection_is_scheduled_at_its_expiry_unless_the_user_said_no() {
        let (record, event) = connected(None, consent(true), at(0));
        assert_eq!(record.version, 0, "new: the store must find none");
        assert_eq!(record.refresh_due_at, Some(at(3600).timestamp()));
        assert_eq!(record.consent_expires_at, at(0) + CONSENT_LIFETIME);
        assert_eq!(event.kind, EventKind::Connected);
        let (record, _) = connected(None, consent(false), at(0));
        assert_eq!(record.refresh_due_at, None);
    }

    #[test]
    fn a_renewal_keeps_history_forgets_failures_and_takes_the_lease_away() {
        let (first, _) = connected(None, consent(true), at(0));
        let mut failing = leased(first);
        failing.version = 7;
        failing.refresh_count = 4;
        failing.failure_count = 6;
        failing.status = ConnectionStatus::NeedsReauth;
        failing.tokens = None;
        let (renewed, _) = connected(Some(&failing), consent(true), at(100));
        assert_eq!(renewed.version, 7);
        assert_eq!(renewed.refresh_count, 4);
        assert_eq!(renewed.failure_count, 0);
        assert_eq!(renewed.status, ConnectionStatus::Active);
        assert_eq!(renewed.tokens, Some(sealed("first")));
        assert_eq!(renewed.created_at, at(0));
        assert_eq!(renewed.lease_owner, None);
    }

    #[test]
    fn a_renewal_is_recorded_as_a_reauthorization_and_restarts_the_consent_warning() {
        let (mut first, _) = connected(None, consent(true), at(0));
        first.consent_warned_at = Some(at(10));
        let (renewed, event) = connected(Some(&first), consent(true), at(100));
        assert_eq!(event.kind, EventKind::Reauthorized);
        assert_eq!(renewed.consent_warned_at, None);
    }

    #[test]
    fn the_first_refresh_within_thirty_days_of_consent_expiry_warns_once() {
        let (record, _) = connected(None, consent(true), at(0));
        let refresh = RefreshResult::Refreshed {
            tokens: sealed("next"),
            access_expires_at: at(400 * 86_400),
        };
        let early = at(0) + CONSENT_LIFETIME - CONSENT_WARNING - Duration::days(1);
        let (quiet, event) = refreshed(&record, &refresh, &policy(), early);
        assert_eq!(event.unwrap().kind, EventKind::Refreshed);
        let inside = early + Duration::days(2);
        let (warned, event) = refreshed(&quiet, &refresh, &policy(), inside);
        assert_eq!(event.unwrap().kind, EventKind::ConsentExpiring);
        assert_eq!(warned.consent_warned_at, Some(inside));
        let (_, event) = refreshed(&warned, &refresh, &policy(), inside + Duration::hours(1));
        assert_eq!(event.unwrap().kind, EventKind::Refreshed, "once");
    }

    #[test]
    fn a_refresh_stores_the_new_tokens_and_releases_the_lease() {
        let (record, _) = connected(None, consent(true), at(0));
        let result = RefreshResult::Refreshed {
            tokens: sealed("second"),
            access_expires_at: at(7200),
        };
        let (next, event) = refreshed(&leased(record), &result, &policy(), at(3000));
        assert_eq!(next.tokens, Some(sealed("second")));
        assert_eq!(next.refresh_count, 1);
        assert_eq!(next.refresh_due_at, Some(at(7200).timestamp()));
        assert_eq!((next.lease_owner, next.lease_until), (None, None));
        assert_eq!(event.unwrap().kind, EventKind::Refreshed);
    }

    #[test]
    fn failures_back_off_and_turn_into_error_after_the_policy_count() {
        let (mut record, _) = connected(None, consent(true), at(0));
        let failed = RefreshResult::Failed {
            code: "lwa_unavailable",
            retry_after: None,
        };
        for attempt in 1..=3 {
            let (next, event) = refreshed(&record, &failed, &policy(), at(0));
            assert_eq!(next.failure_count, attempt);
            let retry_at = next.next_retry_at.unwrap();
            assert!(retry_at > at(0));
            assert_eq!(
                next.refresh_due_at,
                Some((retry_at + policy().window).timestamp())
            );
            assert_eq!(event.unwrap().detail.as_deref(), Some("lwa_unavailable"));
            record = next;
        }
        assert_eq!(record.status, ConnectionStatus::Error);
        assert!(
            record.tokens.is_some(),
            "still retried with the same tokens"
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap_whatever_the_server_sends() {
        let (record, _) = connected(None, consent(true), at(0));
        for (asked, expected_at_least, at_most) in [
            (120, 120, 3600),
            (86_400 * 10, 3600, 3600),
            (u64::MAX, 30, 3600),
            (i64::MAX as u64 / 1000, 30, 3600),
        ] {
            let result = RefreshResult::Failed {
                code: "lwa_unavailable",
                retry_after: Some(std::time::Duration::from_secs(asked)),
            };
            let (next, _) = refreshed(&record, &result, &policy(), at(0));
            let wait = (next.next_retry_at.unwrap() - at(0)).num_seconds();
            assert!(
                (expected_at_least..=at_most).contains(&wait),
                "Retry-After {asked}: waits {wait} s"
            );
        }
    }

    #[test]
    fn a_revoked_grant_destroys_the_dead_tokens_and_leaves_the_schedule() {
        let (record, _) = connected(None, consent(true), at(0));
        let result = RefreshResult::Revoked {
            code: "invalid_grant",
        };
        let (next, event) = refreshed(&record, &result, &policy(), at(10));
        assert_eq!(next.status, ConnectionStatus::NeedsReauth);
        assert_eq!(next.tokens, None);
        assert_eq!(next.refresh_due_at, None);
        assert_eq!(event.unwrap().kind, EventKind::NeedsReauth);
    }

    #[test]
    fn an_operator_problem_changes_nothing_but_the_lease() {
        let (record, _) = connected(None, consent(true), at(0));
        let held = leased(record.clone());
        let (next, event) = refreshed(&held, &RefreshResult::Untouched, &policy(), at(10));
        assert_eq!(next.tokens, record.tokens);
        assert_eq!(next.status, record.status);
        assert_eq!(next.failure_count, 0);
        assert_eq!(next.refresh_due_at, record.refresh_due_at);
        assert_eq!(next.lease_owner, None);
        assert!(event.is_none());
    }

    #[test]
    fn the_setting_schedules_only_live_connections() {
        let (record, _) = connected(None, consent(true), at(0));
        let off = with_auto_refresh(&record, false, at(1)).unwrap();
        assert_eq!(off.refresh_due_at, None);
        assert!(with_auto_refresh(&off, false, at(2)).is_none(), "no-op");
        let on = with_auto_refresh(&off, true, at(3)).unwrap();
        assert_eq!(
            on.refresh_due_at,
            Some(record.access_expires_at.timestamp())
        );
        let mut revoked = off.clone();
        revoked.status = ConnectionStatus::NeedsReauth;
        let on = with_auto_refresh(&revoked, true, at(4)).unwrap();
        assert!(on.auto_refresh);
        assert_eq!(on.refresh_due_at, None, "dead tokens are not refreshed");
    }

    #[test]
    fn a_refresh_written_after_the_setting_changed_follows_the_setting() {
        let (record, _) = connected(None, consent(true), at(0));
        let switched_off = with_auto_refresh(&leased(record), false, at(5)).unwrap();
        let result = RefreshResult::Refreshed {
            tokens: sealed("second"),
            access_expires_at: at(7200),
        };
        let (next, _) = refreshed(&switched_off, &result, &policy(), at(6));
        assert_eq!(next.refresh_due_at, None);
        assert_eq!(next.tokens, Some(sealed("second")));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            let first = backoff(1).num_seconds();
            assert!((30..=60).contains(&first), "{first}");
            let late = backoff(20).num_seconds();
            assert!((1800..=3600).contains(&late), "{late}");
        }
    }
}
