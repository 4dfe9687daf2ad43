//! AdsConnect: every piece of logic behind the Lambda functions.
//!
//! Layers, and the one way data flows between them:
//! `api` (HTTP → use case → view) → `connections` (the connection lifecycle:
//! rules and use cases) → adapters (`store`, `amazon`, `tokens`,
//! `clerk_api`, `webhooks`) → `model` (the types every layer shares).
//! `startup` wires configuration into services for every function and the
//! tests. `auth` (Clerk session tokens and the API Gateway authorizer)
//! builds without the `service` feature so that the `auth-check` binary
//! links neither the AWS SDK nor a web framework.

pub mod auth;
pub mod budget;
pub mod configuration;
pub mod entrypoints;
pub mod ids;
pub mod telemetry;
pub mod tls;

#[cfg(feature = "service")]
pub mod amazon;
#[cfg(feature = "service")]
pub mod clerk;
#[cfg(feature = "service")]
pub mod connections;
#[cfg(feature = "service")]
pub mod model;
#[cfg(feature = "service")]
pub mod publish;
#[cfg(feature = "service")]
pub mod secrets;
#[cfg(feature = "service")]
pub mod settings;
#[cfg(feature = "service")]
pub mod startup;
#[cfg(feature = "service")]
pub mod store;
#[cfg(feature = "service")]
pub mod tokens;
