//! The `clerk-webhook` function: `POST /webhooks/clerk`, public, Svix-signed:
//! a verified event is applied (`crate::users::clerk_events`) and acknowledged.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;

use super::{ApiError, ErrorResponse, WebhookServices};
use crate::clerk::MAX_BODY_BYTES;
use crate::clerk::events::ClerkEvent;
use crate::store::deliveries::WebhookWrite;
use crate::users::clerk_events::{self, Effect};

pub fn routes() -> Router<WebhookServices> {
    Router::new().route(
        "/webhooks/clerk",
        post(receive).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    )
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ack {
    pub received: bool,
    pub outcome: &'static str,
}

/// Receive a Clerk event
///
/// Authenticated by its Svix signature (the `svix-*` headers), not by a session
/// token.
#[utoipa::path(post, path = "/webhooks/clerk", tag = "webhooks", params(("svix-id" = String, Header), ("svix-timestamp" = String, Header), ("svix-signature" = String, Header)), request_body(content = String, description = "A Clerk event, signed by Svix", content_type = "application/json"), responses((status = 200, description = "Applied, duplicate, stale or acknowledged", body = Ack), (status = 400, description = "Not a Clerk event", body = ErrorResponse), (status = 401, description = "Bad, missing or stale signature", body = ErrorResponse), (status = 413, description = "Body over 1 MiB", body = ErrorResponse), (status = 503, description = "A dependency is unavailable", body = ErrorResponse)), security())]
pub(crate) async fn receive(
    State(state): State<WebhookServices>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Ack>, ApiError> {
    let body = body.map_err(|_| ApiError::payload_too_large(MAX_BODY_BYTES))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    let now = Utc::now();
    let delivery = state
        .verifier
        .verify(&headers, &body, now.timestamp())
        .map_err(|reason| {
            tracing::warn!(reason = %reason, "webhook signature refused");
            ApiError::unauthorized("INVALID_SIGNATURE", "webhook signature invalid")
        })?;
    let event = ClerkEvent::parse(&body)
        .map_err(|e| ApiError::bad_request("INVALID_PAYLOAD", e.to_string()))?;
    let Effect::Written { kind, outcome } =
        clerk_events::apply(&state.store, &event, &delivery, now).await?
    else {
        return Ok(Json(Ack {
            received: true,
            outcome: "acknowledged",
        }));
    };
    let outcome = match outcome {
        WebhookWrite::Applied => "applied",
        WebhookWrite::Duplicate => "duplicate",
        WebhookWrite::Stale => "stale",
        WebhookWrite::UserDeleted => "user_deleted",
    };
    tracing::info!(
        event = kind,
        delivery = delivery.as_str(),
        outcome,
        "webhook processed"
    );
    Ok(Json(Ack {
        received: true,
        outcome,
    }))
}
