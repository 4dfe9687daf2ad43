//! Users: the profile provisioned from Clerk the first time a signed-in
//! user is seen before Clerk's `user.created` webhook, and what Clerk's
//! webhook events do to a user's items.

pub mod clerk_events;
pub mod provisioning;
