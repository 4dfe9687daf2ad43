//! `auth-check`, the API Gateway HTTP API Lambda authorizer (payload 2.0,
//! simple responses): the session token of a request, verified by
//! `crate::auth`, becomes a verdict and the context the functions behind it
//! read. Builds without the `service` feature: no AWS SDK, no web framework.

use std::time::Instant;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use http::HeaderMap;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::{Denial, SessionVerifier, VerifiedSession};
use crate::budget;

/// Keys of the context handed to the functions behind the authorizer, which
/// read it from `requestContext.authorizer.lambda`.
pub mod context_keys {
    pub const USER_ID: &str = "user_id";
    pub const SESSION_ID: &str = "session_id";
    pub const ORG_ID: &str = "org_id";
    pub const ORG_SLUG: &str = "org_slug";
    pub const ORG_ROLE: &str = "org_role";
    /// The member's permissions within [`super::PERMISSION_FEATURE`], by
    /// name, comma-separated (`connect,manage,use,read`); present, empty
    /// when none are granted, only when the token shows the organization
    /// defines that feature. Only our feature's names travel: an
    /// organization's every permission could outgrow a context value.
    pub const ORG_PERMISSIONS: &str = "org_permissions";
}

/// The Clerk feature whose permissions (`org:ads:connect`, …) decide what an
/// organization's member may do (`crate::model::permission`).
pub const PERMISSION_FEATURE: &str = "ads";

const SESSION_COOKIE: &str = "__session";

/// The simple response. Ours rather than `aws_lambda_events`' because that one
/// is `#[non_exhaustive]` and cannot be built outside its crate.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResponse {
    pub is_authorized: bool,
    pub context: Map<String, Value>,
}

/// Answers every invocation, each within its deadline.
pub async fn serve(verifier: SessionVerifier) -> Result<(), lambda_runtime::Error> {
    let verifier = &verifier;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            let deadline = budget::instant_of(event.context.deadline())
                .unwrap_or_else(|| Instant::now() + budget::timeouts::AUTH_CHECK);
            let verdict = budget::scope(deadline, authorize(verifier, &event.payload));
            Ok::<SimpleResponse, lambda_runtime::Error>(verdict.await)
        },
    ))
    .await
}

pub async fn authorize(
    verifier: &SessionVerifier,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> SimpleResponse {
    let outcome = match session_token(&request.headers, &request.cookies) {
        Ok(token) => verifier.verify(token).await,
        Err(denial) => Err(denial),
    };
    match outcome {
        Ok(session) => {
            tracing::debug!(user_id = %session.user_id, "session token accepted");
            SimpleResponse {
                is_authorized: true,
                context: context_for(&session),
            }
        }
        Err(denial) => {
            tracing::info!(reason = denial.code(), "session token denied");
            SimpleResponse {
                is_authorized: false,
                context: Map::new(),
            }
        }
    }
}

/// `Authorization: Bearer <token>` (exactly one header, exact scheme, one
/// space), else the `__session` cookie.
pub fn session_token<'a>(headers: &'a HeaderMap, cookies: &'a [String]) -> Result<&'a str, Denial> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    if let Some(value) = values.next() {
        if values.next().is_some() {
            return Err(Denial::MalformedCredentials);
        }
        let value = value.to_str().map_err(|_| Denial::MalformedCredentials)?;
        return match value.split_once(' ') {
            Some(("Bearer", token)) if is_token_text(token) => Ok(token),
            _ => Err(Denial::MalformedCredentials),
        };
    }
    cookies
        .iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, token)| token)
        .filter(|token| is_token_text(token))
        .ok_or(Denial::MissingToken)
}

fn is_token_text(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn context_for(session: &VerifiedSession) -> Map<String, Value> {
    let mut context = Map::new();
    let mut put = |key: &str, value: &str| {
        context.insert(key.to_owned(), Value::String(value.to_owned()));
    };
    put(context_keys::USER_ID, session.user_id.as_str());
    put(context_keys::SESSION_ID, session.session_id.as_str());
    if let Some(org) = &session.organization {
        put(context_keys::ORG_ID, org.id.as_str());
        if let Some(slug) = &org.slug {
            put(context_keys::ORG_SLUG, slug);
        }
        if let Some(role) = &org.role {
            put(context_keys::ORG_ROLE, role);
        }
        if let Some(names) = org.feature_permissions(PERMISSION_FEATURE) {
            put(context_keys::ORG_PERMISSIONS, &names.join(","));
        }
    }
    context
}
