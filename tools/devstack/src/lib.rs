//! Dev-only tooling shared by the local stack and the black-box tests: the
//! table created from `template.yaml`, dev signing keys and tokens, API
//! Gateway event shapes, moto provisioning, an in-process SDK call counter,
//! a pass-through in front of moto that sees (and can fail) every AWS call,
//! a Lambda Runtime API emulator for built bootstraps, and the table's
//! stream and the report queue delivered as Lambda delivers them.
#![allow(clippy::missing_errors_doc)]

pub mod amazon_stub;
pub mod apigw;
pub mod backend_proof;
pub mod calls;
pub mod keys;
pub mod local_api;
pub mod moto_proxy;
pub mod provision;
pub mod queue;
pub mod runtime_api;
pub mod stream;
pub mod template;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
