//! Clerk webhook payloads. Clerk adds fields over time, so unknown fields are
//! ignored here (unlike our own API bodies, which are strict).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::ids::{OrgId, SessionId, UserId};
use crate::model::user::UserProfile;

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("body is not a Clerk event: {0}")]
    NotAnEvent(String),
    #[error("`{kind}` event has an invalid `data` object: {reason}")]
    InvalidData { kind: String, reason: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClerkEvent {
    UserUpserted(UserProfile),
    UserDeleted(UserId),
    SessionCreated {
        user_id: UserId,
        session_id: SessionId,
        at: DateTime<Utc>,
    },
    SessionClosed {
        user_id: UserId,
        session_id: SessionId,
        kind: String,
    },
    /// Every connection the organization owned goes.
    OrganizationDeleted(OrgId),
    /// Acknowledged and otherwise ignored.
    Other(String),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
}

impl ClerkEvent {
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let envelope: Envelope =
            serde_json::from_slice(body).map_err(|e| PayloadError::NotAnEvent(e.to_string()))?;
        let kind = envelope.kind;
        let invalid = |e: serde_json::Error| PayloadError::InvalidData {
            kind: kind.clone(),
            reason: e.to_string(),
        };
        Ok(match kind.as_str() {
            "user.created" | "user.updated" => {
                let user: ClerkUser = serde_json::from_value(envelope.data).map_err(invalid)?;
                Self::UserUpserted(user.into_profile())
            }
            "user.deleted" => {
                let deleted: DeletedUser =
                    serde_json::from_value(envelope.data).map_err(invalid)?;
                Self::UserDeleted(deleted.id)
            }
            "session.created" => {
                let session: ClerkSession =
                    serde_json::from_value(envelope.data).map_err(invalid)?;
                Self::SessionCreated {
                    user_id: session.user_id,
                    session_id: session.id,
                    at: session.created_at,
                }
            }
            "session.ended" | "session.removed" | "session.revoked" => {
                let session: ClerkSession =
                    serde_json::from_value(envelope.data).map_err(invalid)?;
                Self::SessionClosed {
                    user_id: session.user_id,
                    session_id: session.id,
                    kind,
                }
            }
            "organization.deleted" => {
                let deleted: DeletedOrganization =
                    serde_json::from_value(envelope.data).map_err(invalid)?;
                Self::OrganizationDeleted(deleted.id)
            }
            // Memberships and roles change what a member may do through their
            // next session token (which names the organization, role and
            // permissions): nothing is stored about them here.
            _ => Self::Other(kind),
        })
    }
}

/// The user object of the Backend API and of `user.*` webhooks (timestamps in
/// milliseconds).
/// `organization.deleted`'s `data`: the id and nothing else.
#[derive(Debug, Deserialize)]
struct DeletedOrganization {
    id: OrgId,
}

#[derive(Debug, Deserialize)]
pub struct ClerkUser {
    pub id: UserId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub image_url: Option<String>,
    /// Older payloads.
    pub profile_image_url: Option<String>,
    pub primary_email_address_id: Option<String>,
    #[serde(default)]
    pub email_addresses: Vec<EmailAddress>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
pub struct EmailAddress {
    pub id: String,
    pub email_address: String,
    pub verification: Option<Verification>,
}

#[derive(Debug, Deserialize)]
pub struct Verification {
    pub status: Option<String>,
}

impl ClerkUser {
    pub fn into_profile(self) -> UserProfile {
        let primary = self
            .primary_email_address_id
            .as_deref()
            .and_then(|id| self.email_addresses.iter().find(|e| e.id == id));
        UserProfile {
            user_id: self.id,
            email: primary.map(|e| e.email_address.clone()),
            email_verified: primary
                .and_then(|e| e.verification.as_ref())
                .and_then(|v| v.status.as_deref())
                == Some("verified"),
            first_name: self.first_name,
            last_name: self.last_name,
            username: self.username,
            image_url: self.image_url.or(self.profile_image_url),
            clerk_created_at: self.created_at,
            clerk_updated_at: self.updated_at,
            last_sign_in_at: self.last_sign_in_at,
        }
    }
}

#[derive(Deserialize)]
struct DeletedUser {
    id: UserId,
}

#[derive(Deserialize)]
struct ClerkSession {
    id: SessionId,
    user_id: UserId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_event(kind: &str, data: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"type": kind, "object": "event", "data": data}))
            .unwrap()
    }

    #[test]
    fn user_created_keeps_primary_email_and_verification() {
        let body = user_event(
            "user.created",
            serde_json::json!({
                "id": "user_1", "first_name": "Ada", "last_name": null, "username": null,
                "image_url": "https://img.clerk.com/x", "primary_email_address_id": "idn_2",
                "email_addresses": [
                    {"id": "idn_1", "email_address": "old@example.com", "verification": {"status": "verified"}},
                    {"id": "idn_2", "email_address": "ada@example.com", "verification": {"status": "unverified"}}
                ],
                "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_100_000_i64,
                "last_sign_in_at": null, "some_new_field": {"x": 1}
            }),
        );
        let ClerkEvent::UserUpserted(profile) = ClerkEvent::parse(&body).unwrap() else {
            panic!("not an upsert");
        };
        assert_eq!(profile.email.as_deref(), Some("ada@example.com"));
        assert!(!profile.email_verified);
        assert_eq!(
            profile.clerk_updated_at.timestamp_millis(),
            1_700_000_100_000
        );
    }

    #[test]
    fn user_without_email_is_fine() {
        let body = user_event(
            "user.updated",
            serde_json::json!({"id": "user_1", "email_addresses": [], "primary_email_address_id": null,
                "created_at": 1, "updated_at": 2}),
        );
        let ClerkEvent::UserUpserted(profile) = ClerkEvent::parse(&body).unwrap() else {
            panic!("not an upsert");
        };
        assert_eq!(profile.email, None);
        assert!(!profile.email_verified);
    }

    #[test]
    fn unknown_types_are_other_and_bad_data_is_an_error() {
        assert_eq!(
            ClerkEvent::parse(&user_event("email.created", serde_json::json!({}))).unwrap(),
            ClerkEvent::Other("email.created".into())
        );
        assert!(
            ClerkEvent::parse(&user_event(
                "user.deleted",
                serde_json::json!({"id": "mch_1"})
            ))
            .is_err()
        );
        assert!(ClerkEvent::parse(b"not json").is_err());
    }
}
