//! What the API shows of stored records. Never a token, never a key.
//! Accounts hold neither, so they are shown as stored.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::AccountId;
use crate::store::accounts::{AccountRecord, AccountStatus};
use crate::store::users::UserRecord;

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub image_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<&UserRecord> for UserView {
    fn from(record: &UserRecord) -> Self {
        let p = &record.profile;
        Self {
            id: p.user_id.to_string(),
            email: p.email.clone(),
            email_verified: p.email_verified,
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            username: p.username.clone(),
            image_url: p.image_url.clone(),
            created_at: p.clerk_created_at,
            updated_at: p.clerk_updated_at,
            last_sign_in_at: p.last_sign_in_at,
            last_login_at: record.last_login_at,
        }
    }
}

/// Account counts (the original system's `/users/me/stats`).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AccountStats {
    pub total_accounts: usize,
    pub active_accounts: usize,
    pub default_account_id: Option<AccountId>,
}

impl AccountStats {
    pub fn of(accounts: &[AccountRecord]) -> Self {
        Self {
            total_accounts: accounts.len(),
            active_accounts: accounts
                .iter()
                .filter(|a| a.status == AccountStatus::Active)
                .count(),
            default_account_id: accounts
                .iter()
                .find(|a| a.is_default)
                .map(|a| a.account_id.clone()),
        }
    }
}
