//! What a member of an organization may do with its connections, decided
//! from the verified session token alone (issue 27): Clerk's custom
//! permissions `org:ads:<permission>` when the organization defines the
//! `ads` feature, else the member's role through [`RolePermissions`].
//!
//! A caller without a permission a route needs gets 403
//! `PERMISSION_REQUIRED` naming it by [`Permission::code`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Connect an Amazon login to the organization.
    Connect,
    /// Sync, set the default, remove accounts, refresh seats, disconnect.
    Manage,
    /// Call the Ads API through the proxy; receive credentials.
    Use,
    /// See connections, accounts, seats and the audit trail.
    Read,
}

impl Permission {
    pub const ALL: [Self; 4] = [Self::Connect, Self::Manage, Self::Use, Self::Read];

    /// The name in Clerk (`org:ads:<code>`), in the configuration and in
    /// 403 answers.
    pub fn code(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Manage => "manage",
            Self::Use => "use",
            Self::Read => "read",
        }
    }
}

impl FromStr for Permission {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.code() == code)
            .ok_or_else(|| format!("unknown permission `{code}` (connect, manage, use, read)"))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Our permissions among the names of Clerk's `ads` feature; names we do not
/// know (a permission added in Clerk before this code knows it) grant
/// nothing.
pub fn from_clerk_names<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<Permission> {
    names.into_iter().filter_map(|n| n.parse().ok()).collect()
}

/// Each organization role's permissions, for organizations that define no
/// `ads` permissions in Clerk. Roles are keyed without Clerk's `org:`
/// prefix (v2 tokens carry `admin`, v1 tokens `org:admin`); a role not
/// listed has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePermissions(BTreeMap<String, BTreeSet<Permission>>);

impl Default for RolePermissions {
    /// Clerk's two default roles: `admin` may do everything, `member` read
    /// and use.
    fn default() -> Self {
        Self(BTreeMap::from([
            ("admin".to_owned(), Permission::ALL.into()),
            (
                "member".to_owned(),
                [Permission::Read, Permission::Use].into(),
            ),
        ]))
    }
}

/// `admin=connect,manage,use,read;member=read,use`: the whole mapping,
/// replacing the default. Spaces around names and an empty entry (a
/// trailing `;`) are ignored; a role listed twice is an error.
impl FromStr for RolePermissions {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut roles = BTreeMap::new();
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (role, permissions) = entry
                .split_once('=')
                .ok_or_else(|| format!("`{entry}` is not <role>=<permission>,…"))?;
            let role = bare_role(role.trim());
            if role.is_empty()
                || !role
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            {
                return Err(format!("`{role}` is not a role key"));
            }
            let permissions = permissions
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::parse)
                .collect::<Result<BTreeSet<Permission>, String>>()?;
            if roles.insert(role.to_owned(), permissions).is_some() {
                return Err(format!("role `{role}` is listed twice"));
            }
        }
        Ok(Self(roles))
    }
}

impl RolePermissions {
    /// The permissions of an organization member whose token names `role`
    /// and, when the organization defines the `ads` feature in Clerk, the
    /// member's `custom` permissions within it. Custom permissions win,
    /// even when they are none: an organization that defines them decides.
    pub fn of(
        &self,
        role: Option<&str>,
        custom: Option<&BTreeSet<Permission>>,
    ) -> BTreeSet<Permission> {
        match custom {
            Some(custom) => custom.clone(),
            None => role
                .and_then(|role| self.0.get(bare_role(role)))
                .cloned()
                .unwrap_or_default(),
        }
    }
}

fn bare_role(role: &str) -> &str {
    role.strip_prefix("org:").unwrap_or(role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    fn set(permissions: &[Permission]) -> BTreeSet<Permission> {
        permissions.iter().copied().collect()
    }

    #[test]
    fn by_default_admins_may_do_everything_members_read_and_use_other_roles_nothing() {
        let roles = RolePermissions::default();
        assert_eq!(roles.of(Some("admin"), None), set(&Permission::ALL));
        assert_eq!(roles.of(Some("org:admin"), None), set(&Permission::ALL));
        assert_eq!(roles.of(Some("member"), None), set(&[Read, Use]));
        assert_eq!(roles.of(Some("org:member"), None), set(&[Read, Use]));
        assert_eq!(roles.of(Some("billing_viewer"), None), set(&[]));
        assert_eq!(roles.of(Some("org:org:admin"), None), set(&[]));
        assert_eq!(roles.of(None, None), set(&[]));
    }

    #[test]
    fn custom_permissions_win_over_the_role_even_when_they_are_none() {
        let roles = RolePermissions::default();
        assert_eq!(roles.of(Some("admin"), Some(&set(&[Read]))), set(&[Read]));
        assert_eq!(roles.of(Some("admin"), Some(&set(&[]))), set(&[]));
        assert_eq!(
            roles.of(Some("member"), Some(&set(&[Connect, Manage]))),
            set(&[Connect, Manage])
        );
        assert_eq!(
            from_clerk_names(["read", "export", "use", ""]),
            set(&[Read, Use])
        );
    }

    #[test]
    fn a_configured_mapping_replaces_the_default() {
        let roles: RolePermissions =
            " org:admin = connect, manage,use,read ; analyst=read;viewer=;"
                .parse()
                .unwrap();
        assert_eq!(roles.of(Some("admin"), None), set(&Permission::ALL));
        assert_eq!(roles.of(Some("org:analyst"), None), set(&[Read]));
        assert_eq!(roles.of(Some("viewer"), None), set(&[]));
        assert_eq!(roles.of(Some("member"), None), set(&[]));
        assert_eq!(
            "".parse::<RolePermissions>().unwrap(),
            RolePermissions(BTreeMap::new())
        );
    }

    #[test]
    fn a_malformed_mapping_says_what_is_wrong() {
        for (text, says) in [
            ("admin", "`admin` is not <role>=<permission>"),
            ("admin=connect,write", "unknown permission `write`"),
            ("=read", "`` is not a role key"),
            ("my role=read", "`my role` is not a role key"),
            ("admin=read;org:admin=use", "role `admin` is listed twice"),
        ] {
            let error = text.parse::<RolePermissions>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for permission in Permission::ALL {
            assert_eq!(permission.code().parse::<Permission>(), Ok(permission));
            assert_eq!(permission.to_string(), permission.code());
        }
    }
}
