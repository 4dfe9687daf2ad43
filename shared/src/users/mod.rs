//! Users: the profile provisioned from Clerk the first time a signed-in
//! user is seen before Clerk's `user.created` webhook, what Clerk's
//! webhook events do to a user's items, and how a user is erased.

pub mod clerk_events;
pub mod erasure;
pub mod provisioning;
pub mod quota;
