//! Validated identifiers. Anything that reaches a handler or a DynamoDB key has
//! been through one of these, so keys can never be built from arbitrary input.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid {kind}")]
pub struct InvalidId {
    pub kind: &'static str,
}

const MAX_ID_LEN: usize = 128;

fn is_opaque_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                if value.len() > Self::PREFIX.len()
                    && value.starts_with(Self::PREFIX)
                    && is_opaque_id(value)
                {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(InvalidId { kind: $kind })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        #[cfg(feature = "service")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "[A-Za-z0-9_-]{1,123}$")))
                    .description(Some($kind))
                    .into()
            }
        }

        #[cfg(feature = "service")]
        impl utoipa::ToSchema for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

prefixed_id!(
    /// A Clerk user id, `user_…`.
    UserId, "user_", "user id"
);
prefixed_id!(
    /// A Clerk session id, `sess_…`.
    SessionId, "sess_", "session id"
);
prefixed_id!(
    /// A Clerk organization id, `org_…`.
    OrgId, "org_", "organization id"
);
prefixed_id!(
    /// One advertising account (an Amazon Ads profile) of a user, `acct_…`.
    AccountId, "acct_", "account id"
);
prefixed_id!(
    /// One connected Amazon login of a user, `conn_…`.
    ConnectionId, "conn_", "connection id"
);
prefixed_id!(
    /// One managed report job, `rep_…`: its creation time first, so an
    /// account's jobs sort newest first by id.
    ReportJobId, "rep_", "report job id"
);

/// Whose a connection is, with everything that hangs off it: one user's
/// own (personal) or a Clerk organization's. Stored and shown as the bare
/// id, whose prefix (`user_` or `org_`) tells which.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum OwnerId {
    User(UserId),
    Org(OrgId),
}

impl OwnerId {
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        UserId::parse(value)
            .map(Self::User)
            .or_else(|_| OrgId::parse(value).map(Self::Org))
            .map_err(|_| InvalidId { kind: "owner id" })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::User(id) => id.as_str(),
            Self::Org(id) => id.as_str(),
        }
    }

    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Self::User(_) => None,
            Self::Org(id) => Some(id),
        }
    }
}

impl From<UserId> for OwnerId {
    fn from(id: UserId) -> Self {
        Self::User(id)
    }
}

impl From<OrgId> for OwnerId {
    fn from(id: OrgId) -> Self {
        Self::Org(id)
    }
}

impl TryFrom<String> for OwnerId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, InvalidId> {
        Self::parse(&value)
    }
}

impl From<OwnerId> for String {
    fn from(id: OwnerId) -> String {
        id.as_str().to_owned()
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(feature = "service")]
impl utoipa::PartialSchema for OwnerId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^(user|org)_[A-Za-z0-9_-]{1,123}$"))
            .description(Some("owner: a user id (personal) or an organization id"))
            .into()
    }
}

#[cfg(feature = "service")]
impl utoipa::ToSchema for OwnerId {}

/// A webhook delivery id (`svix-id`), safe as a DynamoDB key part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub fn parse(value: &str) -> Option<Self> {
        is_opaque_id(value).then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_need_prefix_and_safe_characters() {
        assert!(UserId::parse("user_2abcDEF123").is_ok());
        for bad in [
            "", "user_", "mch_123", "user_a#b", "user_a/b", "USER_abc", "user_ä",
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(UserId::parse(&format!("user_{}", "a".repeat(200))).is_err());
    }

    #[test]
    fn an_owner_is_a_user_or_an_organization_by_its_prefix() {
        let user = OwnerId::parse("user_2ada").unwrap();
        assert_eq!(user, OwnerId::User(UserId::parse("user_2ada").unwrap()));
        assert_eq!(user.org(), None);
        let org: OwnerId = serde_json::from_str("\"org_2acme\"").unwrap();
        assert_eq!(org.org().map(OrgId::as_str), Some("org_2acme"));
        assert_eq!(serde_json::to_string(&org).unwrap(), "\"org_2acme\"");
        for bad in ["", "sess_1", "org_", "org_a#b", "acct_1"] {
            assert!(OwnerId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<SessionId>("\"sess_1\"").is_ok());
        assert!(serde_json::from_str::<SessionId>("\"user_1\"").is_err());
    }
}
