//! The caller, as proven by the authorizer. Functions behind the authorizer
//! take identity from `requestContext.authorizer.lambda` and nowhere else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use std::collections::BTreeSet;

use super::ApiError;
use crate::entrypoints::authorizer::context_keys;
use crate::ids::{OrgId, SessionId, UserId};
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
