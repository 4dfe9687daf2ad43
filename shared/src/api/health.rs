//! `GET /api/v1/health`: public liveness and version. Served by the `users`
//! function, which already owns the API's public read routes.

use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Liveness {
    pub status: &'static str,
    pub version: &'static str,
}

#[utoipa::path(get, path = "/api/v1/health", tag = "service", responses((status = 200, body = Liveness)))]
pub async fn health() -> Json<Liveness> {
    Json(Liveness {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}
