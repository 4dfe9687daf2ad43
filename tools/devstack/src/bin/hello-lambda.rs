//! The cold-start baseline of `tests/benches/cold_start.rs`: the smallest
//! `lambda_runtime` function, an echo. Built with the functions' release
//! profile by `cargo lambda build -p adsconnect-dev --bin hello-lambda`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
