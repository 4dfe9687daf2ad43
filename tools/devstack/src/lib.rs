//! Dev-only tooling shared by the local stack and the black-box tests: the
//! table created from `template.yaml`, dev signing keys and tokens, API
//! Gateway event shapes, moto provisioning, SDK call counters (in-process,
//! and a pass-through in front of moto for other processes), and a Lambda
//! Runtime API emulator for built bootstraps.
#![allow(clippy::missing_errors_doc)]

pub mod ads_stub;
pub mod amazon_stub;
pub mod apigw;
pub mod aws_calls;
pub mod calls;
pub mod consent_page;
pub mod dsp_stub;
pub mod keys;
pub mod local_api;
pub mod provision;
pub mod runtime_api;
pub mod stream;
pub mod template;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
