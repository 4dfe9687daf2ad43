//! The users function's writes counted against each caller's quota
//! (`crate::users::quota`) before any handler runs; reads are not counted.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, Caller, UsersServices};
use crate::users::quota::{Admission, Scope};

pub(super) async fn writes_quota(
    State(services): State<UsersServices>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok(next.run(request).await);
    }
    let (mut parts, body) = request.into_parts();
    // No caller: the handler answers 401 itself.
    if let Ok(caller) = Caller::from_request_parts(&mut parts, &services).await {
        let admission = services
            .quotas
            .admit(&caller.user_id, Scope::Writes)
            .await
            .map_err(ApiError::unavailable)?;
        if let Admission::Refused(wait) = admission {
            return Err(ApiError::too_many_requests(
                wait.as_millis().div_ceil(1000).max(1) as u64,
            ));
        }
    }
    Ok(next.run(Request::from_parts(parts, body)).await)
}
