//! Connection health as the dashboard shows it: one verdict plus the
//! reasons behind it, so the user learns early when only they can act.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lifecycle::CONSENT_WARNING;
use crate::model::connection::{ConnectionRecord, ConnectionStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Warning,
    Error,
    NeedsReauth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthWarning {
    /// Consent ends within 30 days: re-authorize soon.
    ConsentExpiresSoon,
    ConsentExpired,
    /// The last refresh attempts failed; still retried.
    RefreshFailing,
    /// The access token has expired and was not yet replaced.
    TokenExpired,
    /// Part of the last discovery failed (see `sync_warnings`).
    SyncIncomplete,
}

pub fn assess(connection: &ConnectionRecord, now: DateTime<Utc>) -> (Health, Vec<HealthWarning>) {
    let mut warnings = Vec::new();
    if connection.consent_expires_at <= now {
        warnings.push(HealthWarning::ConsentExpired);
    } else if connection.consent_expires_at - now <= CONSENT_WARNING {
        warnings.push(HealthWarning::ConsentExpiresSoon);
    }
    if connection.failure_count > 0 {
        warnings.push(HealthWarning::RefreshFailing);
    }
    let live = matches!(
        connection.status,
        ConnectionStatus::Active | ConnectionStatus::Error
    );
    if live && connection.access_expires_at <= now {
        warnings.push(HealthWarning::TokenExpired);
    }
    if !connection.sync_warnings.is_empty() {
        warnings.push(HealthWarning::SyncIncomplete);
    }
    let health = match connection.status {
        ConnectionStatus::NeedsReauth | ConnectionStatus::Disconnected => Health::NeedsReauth,
        _ if warnings.contains(&HealthWarning::ConsentExpired) => Health::NeedsReauth,
        ConnectionStatus::Error => Health::Error,
        _ if warnings.is_empty() => Health::Healthy,
        _ => Health::Warning,
    };
    (health, warnings)
}
