//! AdsConnect: every piece of logic behind the Lambda functions.
//!
//! Layers, and the one way data flows between them:
//! - `entrypoints`: everything that receives an event (the HTTP routers,
//!   the authorizer, the credentials Invoke handler, the table's stream,
//!   the refresher's schedule); each maps its event to a use case and the
//!   outcome to its answer.
//! - use cases: `connections` (the connection lifecycle: rules and use
//!   cases), `users` (provisioning, what Clerk's webhook events do) and
//!   `reports` (managed Amazon Ads reports).
//! - adapters: `store` (DynamoDB), `amazon` (Login with Amazon, the Ads
//!   API), `clerk` (Backend API, Svix-signed webhooks), `tokens` (KMS
//!   sealing), `secrets`, `publish` (EventBridge), `queue` (the report engine's SQS
//!   queue), `files` (S3: our copies
//!   of reports), `auth` (Clerk session tokens), `tls`.
//! - `model`: the types every layer shares.
//!
//! Beside them: `configuration` reads every environment variable;
//! `startup` builds the entrypoints' services from it for every function
//! and the tests (nothing in the library imports it); `budget` (the time an
//! invocation has left), `ids`, `settings`, `telemetry`. `auth`,
//! `configuration` and `entrypoints::authorizer` build without the
//! `service` feature, so that `auth-check` links neither the AWS SDK nor a
//! web framework.

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
pub mod aws_identity;
#[cfg(feature = "service")]
pub mod callers;
#[cfg(feature = "service")]
pub mod clerk;
#[cfg(feature = "service")]
pub mod connections;
#[cfg(feature = "service")]
pub mod files;
#[cfg(feature = "service")]
pub mod model;
#[cfg(feature = "service")]
pub mod publish;
#[cfg(feature = "service")]
pub mod queue;
#[cfg(feature = "service")]
pub mod reports;
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
#[cfg(feature = "service")]
pub mod users;
