//! Everything that receives an event: each entrypoint maps its event to a
//! use case and the outcome to its answer.

pub mod http;
