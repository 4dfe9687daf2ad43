//! The HTTP APIs of the functions, as axum routers: one module per feature,
//! composed here. Handlers are HTTP → use case → view. Each function's
//! `main` builds its services at start-up (`crate::startup`) and hands the
//! router to `lambda_http`; tests and the local stack serve the very same
//! routers. Beside them, the HTTP plumbing every router shares: the error
//! envelope, request ids, the caller's identity, strict JSON bodies and the
//! time budget.

pub mod accounts;
pub mod ads_proxy;
pub mod amazon;
pub mod connections;
pub mod health;
pub mod openapi;
pub mod seats;
pub mod settings;
pub mod users;
pub mod views;
pub mod webhook;

mod deadline;
mod error;
mod identity;
mod input;
mod json;
mod request_id;

pub use deadline::deadline_of;
pub use error::{ApiError, ErrorBody, ErrorResponse};
pub use identity::Caller;
pub use input::{NoInput, StrictQuery};
pub use json::{MAX_JSON_BODY_BYTES, StrictJson, StrictJsonOrEmpty};
pub use request_id::{current_request_id, with_request_id};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::budget::timeouts;
use crate::connections::consent::ConnectService;
use crate::startup::{ProxyServices, UsersServices, WebhookServices};

/// The `users` function: profile, session, settings, connections, accounts,
/// DSP seats, and the public health and OpenAPI routes.
pub fn users_router(services: UsersServices) -> Router {
    let api = Router::new()
        .route("/api/v1/health", get(health::health))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .merge(users::routes())
        .merge(settings::routes())
        .merge(connections::routes())
        .merge(accounts::routes())
        .merge(seats::routes())
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
