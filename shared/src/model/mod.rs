//! What every layer talks about: users, connections, accounts, audit events,
//! DSP seats, pending consents, report jobs and schedules. Plain data with its own invariants, no I/O: the
//! store maps these onto items, the API onto views, the domain
//! (`crate::connections`) decides how they change.

pub mod account;
pub mod acting;
pub mod connection;
pub mod event;
pub mod oauth;
pub mod permission;
pub mod region;
pub mod report;
pub mod schedule;
pub mod sealed;
pub mod seats;
pub mod service;
pub mod throttle;
pub mod user;
