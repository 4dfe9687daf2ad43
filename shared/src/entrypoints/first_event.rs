//! A function's services built on the first event that asks for them (see
//! start-up's `Deferred`, which builds them): a failure answers that
//! event, and the next one tries again.

use std::future::Future;

use crate::configuration::ConfigError;

/// What builds a function's services when its first event arrives.
pub trait BuildServices<S> {
    fn build(&self) -> impl Future<Output = Result<S, ConfigError>> + Send;
}

/// The services of a [`BuildServices`], built once, on the first event that
/// asks.
pub struct OnFirstEvent<S, B> {
    services: tokio::sync::OnceCell<S>,
    builder: B,
}

impl<S, B: BuildServices<S>> OnFirstEvent<S, B> {
    pub fn new(builder: B) -> Self {
        Self {
            services: tokio::sync::OnceCell::new(),
            builder,
        }
    }

    pub async fn get(&self) -> Result<&S, ConfigError> {
        self.services
            .get_or_try_init(|| self.builder.build())
            .await
            .inspect_err(|error| {
                tracing::error!(error = %error, "start-up failed; the next event tries again");
            })
    }
}
