//! The caller, as proven by the authorizer. Functions behind the authorizer
//! take identity from `requestContext.authorizer.lambda` and nowhere else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;

use super::ApiError;
use crate::connections::connect::ConnectService;
use crate::entrypoints::authorizer::context_keys;
use crate::ids::{OrgId, OwnerId, SessionId, UserId};
use crate::model::acting::Acting;
use crate::model::permission::{self, Permission, RolePermissions};

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub org_id: Option<OrgId>,
    pub org_slug: Option<String>,
    pub org_role: Option<String>,
    /// The member's `ads` permissions in Clerk, when the organization
    /// defines that feature; `None` leaves the decision to the role.
    pub org_permissions: Option<BTreeSet<Permission>>,
}

impl Caller {
    /// What the caller may do in the active organization; `None` when no
    /// organization is active (the caller acts on their own connections).
    pub fn permissions(&self, roles: &RolePermissions) -> Option<BTreeSet<Permission>> {
        self.org_id.as_ref()?;
        Some(roles.of(self.org_role.as_deref(), self.org_permissions.as_ref()))
    }
}

/// A service state that knows what an organization's roles may do.
pub trait KnowsRoles {
    fn roles(&self) -> &RolePermissions;
}

impl KnowsRoles for super::UsersServices {
    fn roles(&self) -> &RolePermissions {
        &self.connect.roles
    }
}

impl KnowsRoles for super::ProxyServices {
    fn roles(&self) -> &RolePermissions {
        &self.roles
    }
}

impl KnowsRoles for Arc<ConnectService> {
    fn roles(&self) -> &RolePermissions {
        &self.roles
    }
}

/// What a route needs the caller to hold in an organization.
pub trait Needs {
    const PERMISSION: Permission;
}

macro_rules! needs {
    ($($(#[$meta:meta])* $name:ident => $permission:ident),* $(,)?) => {$(
        $(#[$meta])*
        pub struct $name;
        impl Needs for $name {
            const PERMISSION: Permission = Permission::$permission;
        }
    )*};
}

needs!(
    /// See connections, accounts, seats and events.
    ToRead => Read,
    /// Call the Ads API through the proxy.
    ToUse => Use,
    /// Sync, default, remove, refresh seats, disconnect.
    ToManage => Manage,
    /// Start a consent.
    ToConnect => Connect,
);

/// The caller, acting in their session's workspace with the permission
/// `N` names: on their own connections when no organization is active
/// (always allowed), else on the active organization's — keyed on the
/// organization id from the verified token — when their role or custom
/// permissions grant it; otherwise 403 `PERMISSION_REQUIRED`.
pub struct Permitted<N> {
    pub acting: Acting,
    pub caller: Caller,
    needs: PhantomData<N>,
}

impl<N: Needs> Permitted<N> {
    pub fn check(caller: Caller, roles: &RolePermissions) -> Result<Self, ApiError> {
        let owner = match (&caller.org_id, caller.permissions(roles)) {
            (Some(org), Some(held)) if held.contains(&N::PERMISSION) => OwnerId::Org(org.clone()),
            (Some(_), _) => return Err(ApiError::permission_required(N::PERMISSION)),
            (None, _) => OwnerId::User(caller.user_id.clone()),
        };
        Ok(Self {
            acting: Acting {
                owner,
                user_id: caller.user_id.clone(),
            },
            caller,
            needs: PhantomData,
        })
    }
}

impl<S: KnowsRoles + Send + Sync, N: Needs> FromRequestParts<S> for Permitted<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Self::check(caller, state.roles())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(RequestContext::ApiGatewayV2(context)) = parts.extensions.get::<RequestContext>()
        else {
            return Err(ApiError::unauthenticated());
        };
        let fields = context
            .authorizer
            .as_ref()
            .map(|authorizer| &authorizer.fields)
            .ok_or_else(ApiError::unauthenticated)?;
        let text = |key: &str| fields.get(key).and_then(|v| v.as_str());
        let user_id = text(context_keys::USER_ID)
            .and_then(|v| UserId::parse(v).ok())
            .ok_or_else(ApiError::unauthenticated)?;
        let session_id = text(context_keys::SESSION_ID)
            .and_then(|v| SessionId::parse(v).ok())
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Self {
            user_id,
            session_id,
            org_id: text(context_keys::ORG_ID).and_then(|v| OrgId::parse(v).ok()),
            org_slug: text(context_keys::ORG_SLUG).map(str::to_owned),
            org_role: text(context_keys::ORG_ROLE).map(str::to_owned),
            org_permissions: text(context_keys::ORG_PERMISSIONS)
                .map(|names| permission::from_clerk_names(names.split(','))),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use Permission::*;

    async fn caller(fields: Value) -> Caller {
        let context: lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext =
            serde_json::from_value(
                json!({"http": {"method": "GET"}, "authorizer": {"lambda": fields}}),
            )
            .unwrap();
        let (mut parts, ()) = axum::http::Request::builder()
            .extension(RequestContext::ApiGatewayV2(context))
            .body(())
            .unwrap()
            .into_parts();
        Caller::from_request_parts(&mut parts, &()).await.unwrap()
    }

    fn in_org(role: &str) -> Value {
        json!({"user_id": "user_2ada", "session_id": "sess_2ada", "org_id": "org_2acme", "org_role": role})
    }

    #[tokio::test]
    async fn custom_permissions_from_the_context_win_else_the_role_decides() {
        let roles = RolePermissions::default();
        let mut fields = in_org("member");
        fields["org_permissions"] = json!("connect,read,export");
        let member = caller(fields).await;
        assert_eq!(member.org_permissions, Some([Connect, Read].into()));
        assert_eq!(member.permissions(&roles), Some([Connect, Read].into()));

        let mut fields = in_org("admin");
        fields["org_permissions"] = json!("");
        assert_eq!(caller(fields).await.permissions(&roles), Some([].into()));

        let admin = caller(in_org("admin")).await;
        assert_eq!(admin.org_permissions, None);
        assert_eq!(admin.permissions(&roles), Some(Permission::ALL.into()));
        assert_eq!(
            caller(in_org("member")).await.permissions(&roles),
            Some([Read, Use].into())
        );

        let personal = caller(json!({"user_id": "user_2ada", "session_id": "sess_2ada"})).await;
        assert_eq!(personal.permissions(&roles), None);
    }
}
