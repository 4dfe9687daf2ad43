//! Clerk webhooks: Svix signature verification and the event payloads.

pub mod clerk;
pub mod svix;

/// Bodies above this are refused before any work (Clerk's are a few KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
