//! Users: the profile provisioned from Clerk the first time a signed-in
//! user is seen before Clerk's `user.created` webhook, what Clerk's
//! webhook events do to a user's items, how a user is erased, and how a
//! deleted organization's connections go.

pub mod clerk_events;
pub mod erasure;
pub mod organizations;
pub mod provisioning;
pub mod quota;
