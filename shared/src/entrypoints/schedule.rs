//! `token-refresher`'s scheduled run: EventBridge starts it, the refresher
//! keeps every connection's access token fresh until the invocation's
//! deadline draws near, and the run's summary is the answer.

use lambda_runtime::{LambdaEvent, service_fn};

use super::{BuildServices, OnFirstEvent};
use crate::connections::refresh::{Refresher, RunSummary};

/// Starts a run for every invocation; until the refresher can be built,
/// answers with an error (the schedule starts the next run).
pub async fn serve(refresher: impl BuildServices<Refresher>) -> Result<(), lambda_runtime::Error> {
    let refresher = &OnFirstEvent::new(refresher);
    // The payload is not read: a Scheduled Event and a Scheduler input alike start a run.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let refresher = refresher.get().await?;
            Ok::<RunSummary, lambda_runtime::Error>(
                refresher.scheduled(event.context.deadline).await?,
            )
        },
    ))
    .await
}
