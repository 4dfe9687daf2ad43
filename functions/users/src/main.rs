//! User profile, session and settings endpoints (and the public health route).

use adsconnect::api::users::{UsersState, router};
use adsconnect::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = UsersState::from_env()
        .await
        .unwrap_or_else(|e| telemetry::exit_on_startup_error(&e));
    lambda_http::run(router(state)).await
}
