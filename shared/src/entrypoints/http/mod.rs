//! The HTTP APIs of the functions, as axum routers: one module per feature,
//! composed here, with the services each function's routers hold. Handlers
//! are HTTP → use case → view. Each function's `main` builds its services
//! at start-up and hands the router to [`serve`]; tests
//! and the local stack serve the very same routers. Beside them, the HTTP
//! plumbing every router shares: the error envelope, request ids, the
//! caller's identity, strict JSON bodies and the time budget.

pub mod accounts;
pub mod ads_proxy;
pub mod amazon;
pub mod connections;
pub mod health;
pub mod moves;
pub mod openapi;
pub mod report_schedules;
pub mod reports;
pub mod seats;
pub mod settings;
pub mod users;
pub mod views;
pub mod webhook;

mod account_order;
mod deadline;
mod error;
mod identity;
mod input;
mod json;
mod quota;
mod request_id;

pub use deadline::deadline_of;
pub use error::{ApiError, ErrorBody, ErrorResponse};
pub use identity::{Caller, Permitted, ToConnect, ToManage, ToRead, ToUse};
pub use input::{NoInput, StrictQuery};
pub use json::{MAX_JSON_BODY_BYTES, StrictJson, StrictJsonOrEmpty};
pub use request_id::{current_request_id, with_request_id};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use tower::ServiceExt as _;

use super::{BuildServices, OnFirstEvent};
use crate::budget::timeouts;
use crate::clerk::api::ClerkApi;
use crate::clerk::svix::SvixVerifier;
use crate::connections::access::Access;
use crate::connections::connect::ConnectService;
use crate::connections::manage::Manage;
use crate::store::Store;

/// What the `users` function serves with.
#[derive(Clone)]
pub struct UsersServices {
    pub store: Store,
    pub clerk: ClerkApi,
    /// Re-authorization starts a consent.
    pub connect: Arc<ConnectService>,
    pub manage: Arc<Manage>,
    /// Each user's rate of writes.
    pub quotas: Arc<crate::users::quota::Quotas>,
    /// Report jobs: asked for here, run by `report-worker`.
    pub reports: Arc<crate::reports::ReportService>,
}

/// What `ads-proxy` serves with.
#[derive(Clone)]
pub struct ProxyServices {
    pub access: Arc<Access>,
    pub http: crate::tls::Https,
    /// `ADS_PROXY_ALLOWED_PATHS`: empty allows every path.
    pub allowed_paths: Arc<[crate::amazon::paths::AllowRule]>,
    /// Each user's rate of proxied calls.
    pub quotas: Arc<crate::users::quota::Quotas>,
    /// What an organization's roles may do (`ORGANIZATION_ROLE_PERMISSIONS`).
    pub roles: Arc<crate::model::permission::RolePermissions>,
}

/// What the `clerk-webhook` function serves with.
#[derive(Clone)]
pub struct WebhookServices {
    pub store: Store,
    pub verifier: Arc<SvixVerifier>,
}

/// Serves an HTTP function whose router is built on the first request;
/// while it cannot be built, every request gets a 503 with `Retry-After`.
pub async fn serve(
    router: impl BuildServices<Router> + Send + Sync + 'static,
) -> Result<(), lambda_http::Error> {
    let router = Arc::new(OnFirstEvent::new(router));
    lambda_http::run(tower::service_fn(move |request: lambda_http::Request| {
        let router = Arc::clone(&router);
        async move {
            let response = match router.get().await {
                Ok(router) => match router.clone().oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                Err(error) => ApiError::unavailable(error).into_response(),
            };
            Ok::<_, std::convert::Infallible>(response)
        }
    }))
    .await
}

/// The `users` function: profile, session, settings, connections, accounts,
/// DSP seats, report jobs, and the public health and OpenAPI routes.
pub fn users_router(services: UsersServices) -> Router {
    let api = Router::new()
        .route("/api/v1/health", get(health::health))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .merge(users::routes())
        .merge(settings::routes())
        .merge(connections::routes())
        .merge(moves::routes())
        .merge(accounts::routes())
        .merge(seats::routes())
        .merge(reports::routes())
        .merge(report_schedules::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            services.clone(),
            quota::writes_quota,
        ))
        .with_state(services);
    finish(api, timeouts::USERS)
}

/// `oauth-start`: `POST /api/v1/amazon/connect`.
pub fn start_router(service: Arc<ConnectService>) -> Router {
    finish(
        Router::new()
            .route("/api/v1/amazon/connect", post(amazon::connect))
            .with_state(service),
        timeouts::OAUTH_START,
    )
}

/// `oauth-callback`: `GET /api/v1/amazon/callback`, and
/// `POST /api/v1/amazon/complete` — the same service and data-key cache,
/// and the completion's discovery needs the callback's time budget.
pub fn callback_router(service: Arc<ConnectService>) -> Router {
    finish(
        Router::new()
            .route("/api/v1/amazon/callback", get(amazon::callback))
            .route("/api/v1/amazon/complete", post(amazon::complete))
            .with_state(service),
        timeouts::OAUTH_CALLBACK,
    )
}

/// `ads-proxy`: `ANY /api/v1/accounts/{id}/ads/{proxy+}`.
pub fn proxy_router(services: ProxyServices) -> Router {
    finish(
        ads_proxy::routes().with_state(services),
        timeouts::ADS_PROXY,
    )
}

/// `clerk-webhook`: `POST /webhooks/clerk`.
pub fn webhook_router(services: WebhookServices) -> Router {
    finish(
        webhook::routes().with_state(services),
        timeouts::CLERK_WEBHOOK,
    )
}

/// The router a function serves, wrapped with what every response needs:
/// the time budget of a function whose timeout is `timeout`, request ids,
/// JSON 404/405 envelopes.
pub fn finish(router: Router, timeout: Duration) -> Router {
    router
        .fallback(|| async { ApiError::not_found("ROUTE_NOT_FOUND", "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            deadline::within_deadline,
        ))
        .layer(axum::middleware::from_fn(with_request_id))
}
