//! Every request ends inside its function's time budget: the deadline comes
//! from the Lambda context (the function's configured timeout where there is
//! none, as in the local stack), outbound calls inside respect it
//! (`crate::budget`), and a request still running when only the answer's
//! margin is left gets the 504 envelope with `Retry-After` — never Lambda's
//! timeout, never API Gateway's bare 503.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lambda_http::RequestExt;

use super::ApiError;
use crate::budget;

/// The deadline of `request`: Lambda's, or `timeout` from now.
pub fn deadline_of(request: &Request, timeout: Duration) -> Instant {
    request
        .lambda_context_ref()
        .and_then(|context| budget::instant_of(context.deadline()))
        .unwrap_or_else(|| Instant::now() + timeout)
}

pub async fn within_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let deadline = deadline_of(&request, timeout);
    let answer_by = deadline
        .checked_sub(budget::ANSWER_MARGIN)
        .unwrap_or(deadline);
    let work = tokio::time::timeout_at(answer_by.into(), next.run(request));
    match budget::scope(deadline, work).await {
        Ok(response) => response,
        Err(_) => ApiError::timed_out().into_response(),
    }
}
