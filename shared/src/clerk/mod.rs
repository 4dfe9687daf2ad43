//! Clerk, the identity provider: its Backend API (the user lookup behind
//! just-in-time provisioning), and its webhooks (Svix signature
//! verification and the event payloads).

pub mod api;
pub mod events;
pub mod svix;

/// Webhook bodies above this are refused before any work (Clerk's are a few KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
