//! A user as Clerk describes them, and the profile item we keep for them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::settings::Settings;

/// What Clerk tells us about a user. Timestamps are epoch milliseconds,
/// Clerk's own unit, so `clerk_updated_at` orders versions exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub user_id: UserId,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub image_url: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub clerk_created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub clerk_updated_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// The stored profile with our own fields and the user's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub profile: UserProfile,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_login_at: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub settings: Settings,
}
