//! The local HTTP API: every function behind one address, with the Lambda
//! authorizer applied the way API Gateway applies it (no `Authorization`
//! header → 401 without calling it; a denial → 403; otherwise its context is
//! passed to the function in `requestContext.authorizer.lambda`).

use std::sync::Arc;

use adsconnect::auth::SessionVerifier;
use adsconnect::entrypoints::authorizer;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::apigw::{ClientRequest, to_lambda_request};
use crate::keys::SigningKey;

/// API Gateway's own payload limit.
const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Users,
    ClerkWebhook,
    OAuthStart,
    OAuthCallback,
    AdsProxy,
}

impl Function {
    pub fn binary(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::ClerkWebhook => "clerk-webhook",
            Self::OAuthStart => "oauth-start",
            Self::OAuthCallback => "oauth-callback",
            Self::AdsProxy => "ads-proxy",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// As in `template.yaml`, with `{name}` path parameters.
    pub path: &'static str,
    pub function: Function,
    pub authorized: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    function: Function,
    authorized: bool,
) -> Route {
    Route {
        method,
        path,
        function,
        authorized,
    }
}

/// Every route of the HTTP API; a test checks it against `template.yaml`.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/v1/health", Function::Users, false),
    route("GET", "/api/v1/openapi.json", Function::Users, false),
    route("GET", "/api/v1/users/me", Function::Users, true),
    route("GET", "/api/v1/users/me/full", Function::Users, true),
    route("GET", "/api/v1/users/me/accounts", Function::Users, true),
    route("GET", "/api/v1/users/session", Function::Users, true),
    route("GET", "/api/v1/settings", Function::Users, true),
    route("PATCH", "/api/v1/settings", Function::Users, true),
    route("POST", "/api/v1/settings/reset", Function::Users, true),
    route("GET", "/api/v1/settings/defaults", Function::Users, true),
    route("GET", "/api/v1/connections", Function::Users, true),
    route("GET", "/api/v1/connections/{id}", Function::Users, true),
    route("DELETE", "/api/v1/connections/{id}", Function::Users, true),
    route(
        "POST",
        "/api/v1/connections/{id}/reauthorize",
        Function::Users,
        true,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/sync",
        Function::Users,
        true,
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/move",
        Function::Users,
        true,
    ),
    route(
        "GET",
        "/api/v1/connections/{id}/events",
        Function::Users,
        true,
    ),
    route("GET", "/api/v1/accounts", Function::Users, true),
    route("GET", "/api/v1/accounts/health", Function::Users, true),
    route("GET", "/api/v1/accounts/{id}", Function::Users, true),
    route("DELETE", "/api/v1/accounts/{id}", Function::Users, true),
    route(
        "PUT",
        "/api/v1/accounts/{id}/default",
        Function::Users,
        true,
    ),
    route("GET", "/api/v1/accounts/{id}/seats", Function::Users, true),
    route(
        "POST",
        "/api/v1/accounts/{id}/seats/refresh",
        Function::Users,
        true,
    ),
    route(
        "GET",
        "/api/v1/accounts/{id}/seats/history",
        Function::Users,
        true,
    ),
    route(
        "POST",
        "/api/v1/accounts/{id}/reports",
        Function::Users,
        true,
    ),
    route(
        "GET",
        "/api/v1/accounts/{id}/reports",
        Function::Users,
        true,
    ),
    route(
        "GET",
        "/api/v1/accounts/{id}/reports/{job_id}",
        Function::Users,
        true,
    ),
    route(
        "GET",
        "/api/v1/accounts/{id}/report-schedules",
        Function::Users,
        true,
    ),
    route(
        "GET",
        "/api/v1/accounts/{id}/report-schedules/{name}",
        Function::Users,
        true,
    ),
    route(
        "PUT",
        "/api/v1/accounts/{id}/report-schedules/{name}",
        Function::Users,
        true,
    ),
    route(
        "DELETE",
        "/api/v1/accounts/{id}/report-schedules/{name}",
        Function::Users,
        true,
    ),
    route("POST", "/webhooks/clerk", Function::ClerkWebhook, false),
    route("POST", "/api/v1/amazon/connect", Function::OAuthStart, true),
    route(
        "GET",
        "/api/v1/amazon/callback",
        Function::OAuthCallback,
        false,
    ),
    route(
        "POST",
        "/api/v1/amazon/complete",
        Function::OAuthCallback,
        true,
    ),
    route(
        "ANY",
        "/api/v1/accounts/{id}/ads/{proxy+}",
        Function::AdsProxy,
        true,
    ),
];

fn matches(pattern: &str, path: &str) -> bool {
    let mut left = pattern.trim_end_matches('/').split('/');
    let mut right = path.trim_end_matches('/').split('/');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return true,
            // A greedy `{name+}` takes every remaining segment.
            (Some(p), Some(s)) if p.ends_with("+}") => return !s.is_empty(),
            (Some(p), Some(s)) if p.starts_with('{') && !s.is_empty() => {}
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

pub fn find_route(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| (r.method == method || r.method == "ANY") && matches(r.path, path))
}

#[derive(Clone)]
pub struct LocalApi {
    pub verifier: Arc<SessionVerifier>,
    pub users: Router,
    pub clerk_webhook: Router,
    pub oauth_start: Router,
    pub oauth_callback: Router,
    pub ads_proxy: Router,
    /// Origins a browser may call from (the template's `AllowedReturnOrigins`,
    /// i.e. `ALLOWED_RETURN_ORIGINS`).
    pub cors_origins: Vec<String>,
    /// The dev sign-in's token endpoint; never part of a deployed function.
    pub dev_tokens: Option<Arc<DevTokens>>,
}

/// Where the local stack serves its stand-in for Clerk's Backend API.
pub const DEV_CLERK_API_PATH: &str = "/_dev/clerk";
/// Where the dashboard's dev sign-in gets session tokens.
pub const DEV_TOKEN_PATH: &str = "/_dev/token";

/// Session tokens of the dev Clerk key, as Clerk's browser SDK gets them:
/// for the dashboard's origin (`azp`), ten minutes long.
pub struct DevTokens {
    pub key: SigningKey,
    pub issuer: String,
    /// The dashboard's origin (the first `CLERK_AUTHORIZED_PARTIES` entry).
    pub authorized_party: String,
}

impl LocalApi {
    pub fn into_router(self) -> Router {
        let cors = cors_layer(&self.cors_origins);
        Router::new()
            .route("/_dev/clerk/v1/users/{id}", get(dev_clerk_user))
            .route(DEV_TOKEN_PATH, post(dev_token))
            .fallback(dispatch)
            .with_state(self)
            .layer(cors)
    }
}

/// CORS as API Gateway applies the template's `CorsConfiguration`:
/// preflights answered before any route or authorizer, the headers added
/// only for an allowed origin.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let template = crate::template::http_api_cors()
        .unwrap_or_else(|e| panic!("template.yaml's CORS configuration: {e}"));
    let parse = |values: &[String]| -> Vec<HeaderName> {
        values
            .iter()
            .filter_map(|v| HeaderName::from_bytes(v.as_bytes()).ok())
            .collect()
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(
            origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
        ))
        .allow_headers(parse(&template.allow_headers))
        .expose_headers(parse(&template.expose_headers))
        .allow_methods(
            template
                .allow_methods
                .iter()
                .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                .collect::<Vec<_>>(),
        )
        .max_age(std::time::Duration::from_secs(template.max_age))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenRequest {
    user_id: String,
    #[serde(default)]
    organization: Option<DevTokenOrganization>,
}

/// The active organization of a dev token: `{"id": "org_…", "slug", "role":
/// "admin"|"member"|…}`, with `permissions` (`["read", "use"]`) when the
/// organization defines Clerk's `ads` feature.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenOrganization {
    id: String,
    slug: String,
    role: String,
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// `POST /_dev/token {"user_id", "organization"?}` → `{"token",
/// "expires_at"}`: any `user_…` id signs in (the local stack's Clerk
/// stand-in knows every one), optionally with an active organization.
async fn dev_token(State(api): State<LocalApi>, body: axum::body::Bytes) -> Response {
    let Some(tokens) = api.dev_tokens else {
        return gateway_message(StatusCode::NOT_FOUND, "Not Found");
    };
    let user = serde_json::from_slice::<DevTokenRequest>(&body)
        .ok()
        .filter(|r| adsconnect::ids::UserId::parse(&r.user_id).is_ok())
        .filter(|r| {
            r.organization
                .as_ref()
                .is_none_or(|o| adsconnect::ids::OrgId::parse(&o.id).is_ok())
        });
    let Some(user) = user else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": {"code": "INVALID_FIELD", "field": "user_id",
                "message": "expected {\"user_id\": \"user_…\", \"organization\"?: {\"id\": \"org_…\", \"slug\", \"role\", \"permissions\"?: [\"read\", …]}}"}}),
            ),
        )
            .into_response();
    };
    let ttl = adsconnect::auth::MAX_TOKEN_LIFETIME_SECONDS;
    let session = format!(
        "sess_dev{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut claims = crate::keys::session_claims(&tokens.issuer, &user.user_id, &session, ttl);
    claims["azp"] = json!(tokens.authorized_party);
    if let Some(org) = &user.organization {
        let permissions: Vec<&str> = org
            .permissions
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let features = [(authorizer::PERMISSION_FEATURE, permissions.as_slice())];
        crate::keys::DevOrganization {
            id: &org.id,
            slug: &org.slug,
            role: &org.role,
            features: if org.permissions.is_some() {
                &features
            } else {
                &[]
            },
        }
        .apply(&mut claims);
    }
    let token = tokens.key.sign(&tokens.key.session_header(), &claims);
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(ttl);
    axum::Json(json!({"token": token, "expires_at": expires_at, "session_id": session}))
        .into_response()
}

/// Clerk's `GET /v1/users/{id}` for the local stack: any `user_…` id that a
/// dev token names exists, with a verified `<id>@example.test` address. A
/// later `user.updated` webhook (newer `updated_at`) overrides it.
async fn dev_clerk_user(Path(id): Path<String>) -> Response {
    if adsconnect::ids::UserId::parse(&id).is_err() {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"errors": [{"code": "resource_not_found"}]})),
        )
            .into_response();
    }
    let at = chrono::Utc::now().timestamp_millis() - 60_000;
    axum::Json(json!({
        "object": "user", "id": id, "first_name": "Dev", "last_name": "User", "username": null,
        "image_url": null, "primary_email_address_id": "idn_dev",
        "email_addresses": [{"id": "idn_dev", "email_address": format!("{id}@example.test"),
                             "verification": {"status": "verified"}}],
        "created_at": at, "updated_at": at, "last_sign_in_at": at,
    }))
    .into_response()
}

fn gateway_message(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

async fn dispatch(State(api): State<LocalApi>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let Some(route) = find_route(&method, request.uri().path()) else {
        return gateway_message(StatusCode::NOT_FOUND, "Not Found");
    };
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let Ok(body) = to_bytes(request.into_body(), MAX_PAYLOAD_BYTES).await else {
        return gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let client = ClientRequest {
        method,
        target,
        headers,
        body: body.to_vec(),
    };
    let route_key = format!("{} {}", route.method, route.path);

    let context = if route.authorized {
        if !client
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let Ok(event) = serde_json::from_value::<ApiGatewayV2CustomAuthorizerV2Request>(
            client.authorizer_event(&route_key),
        ) else {
            return gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        };
        let decision = authorizer::authorize(&api.verifier, &event).await;
        if !decision.is_authorized {
            return gateway_message(StatusCode::FORBIDDEN, "Forbidden");
        }
        Some(decision.context)
    } else {
        None
    };

    let event = client.http_api_event(&route_key, context.as_ref());
    let Ok(lambda_request) = to_lambda_request(&event) else {
        return gateway_message(StatusCode::BAD_REQUEST, "Bad Request");
    };
    let function = match route.function {
        Function::Users => api.users,
        Function::ClerkWebhook => api.clerk_webhook,
        Function::OAuthStart => api.oauth_start,
        Function::OAuthCallback => api.oauth_callback,
        Function::AdsProxy => api.ads_proxy,
    };
    match function.oneshot(lambda_request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
