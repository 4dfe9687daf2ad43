//! Everything that receives an event: the HTTP routers, the authorizer, the
//! credentials Invoke handler, the table's stream, the refresher's
//! schedule and the report queue. Each maps its event to a use case and the outcome to its
//! answer; start-up builds what they serve with, and each function's
//! `main` hands that to its entrypoint's `serve`.

pub mod authorizer;
#[cfg(feature = "service")]
pub mod credentials;
#[cfg(feature = "service")]
mod first_event;
#[cfg(feature = "service")]
pub mod http;
#[cfg(feature = "service")]
pub mod queue;
#[cfg(feature = "service")]
pub mod schedule;
#[cfg(feature = "service")]
pub mod stream;

#[cfg(feature = "service")]
pub use first_event::{BuildServices, OnFirstEvent};
