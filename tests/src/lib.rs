//! Test harness: a fresh table per test in the moto server that
//! `scripts/test` starts (`MOTO_ENDPOINT`), Clerk's Backend API stubbed with
//! wiremock, and requests delivered as API Gateway HTTP API events.
//!
//! Every test binary (one per feature, `tests/tests/<feature>/main.rs`)
//! takes it as `use adsconnect_tests::*;`:
//! - [`stack`]: the stack of functions over one fresh table, and reading and
//!   writing that table directly;
//! - [`clerk`]: session-token keys, Clerk users and webhook events, signed
//!   deliveries;
//! - [`amazon`]: the Amazon configuration and logins, the connect flow,
//!   seeded connections and the refresher;
//! - [`answers`]: garbage a failing dependency answers with;
//! - [`logs`]: capturing what the code under test logs;
//! - [`proxy`]: a failing AWS in front of moto (the tools' own, re-exported);
//! - [`leaks`]: the transcript and the list of secrets of the leak tests;
//! - [`work`]: calls through the Ads API proxy, credentials for backends;
//! - [`reports`]: report jobs asked for, and the report queue delivered to
//!   the worker.

pub mod amazon;
pub mod answers;
pub mod clerk;
pub mod leaks;
pub mod logs;
pub use adsconnect_dev::moto_proxy as proxy;
pub mod reports;
pub mod stack;
pub mod work;

pub use amazon::*;
pub use answers::*;
pub use clerk::*;
pub use stack::*;
pub use work::*;
