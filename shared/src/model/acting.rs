//! Who acts on whose connections: the signed-in user, and the owner their
//! session's workspace names — themselves, or the active organization.
//! Built only from a verified session token, never from a request's input.

use crate::ids::{OwnerId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// Whose connections the request reads and writes.
    pub owner: OwnerId,
    /// Who makes the request: recorded on every change as its actor.
    pub user_id: UserId,
}

impl Acting {
    /// A user acting on their own connections.
    pub fn personal(user_id: UserId) -> Self {
        Self {
            owner: OwnerId::User(user_id.clone()),
            user_id,
        }
    }
}
