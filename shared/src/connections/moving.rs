//! Moving a connection between workspaces: a user's own into an
//! organization where they may connect, an organization's into the own
//! workspace of a member who may manage it. Ids are derived from the owner
//! and tokens sealed for it, so the connection arrives with new ids and its
//! tokens sealed again; the source goes in the same transaction as the
//! destination is written, each side's trail records a `moved` event naming
//! the other, and the mover's default on the source side goes with its
//! account.

use chrono::Utc;

use super::accounts::account_id_for;
use super::changes::{self, Change, DefaultGuard, MoveConnection};
use super::connection_id_for;
use super::tokens::TokenPair;
use crate::ids::{AccountId, ConnectionId, OwnerId, UserId};
use crate::model::account::AccountRecord;
use crate::model::connection::ConnectionRecord;
use crate::model::event::{AuditEvent, EventKind};
use crate::store::{Store, StoreError};
use crate::tokens::TokenCipher;

/// Reads before giving up on a connection a refresh keeps writing.
const ATTEMPTS: usize = 3;

#[derive(Debug)]
pub enum Moved {
    /// The connection as it now is at the destination, with its accounts.
    Done(Box<ConnectionRecord>, Vec<AccountRecord>),
    NotFound,
    /// The same Amazon login is already connected at the destination.
    AlreadyThere(ConnectionId),
    /// No tokens to move: the connection must be re-authorized first.
    NeedsReauth(ConnectionId),
    /// The destination was deleted.
    DestinationGone,
    TokensUnavailable,
    KeptChanging,
}

/// One move: who makes it, from which owner to which.
pub struct Move<'a> {
    pub mover: &'a UserId,
    pub from: &'a OwnerId,
    pub to: &'a OwnerId,
    pub connection_id: &'a ConnectionId,
}

pub async fn move_connection(
    store: &Store,
    cipher: &TokenCipher,
    request: Move<'_>,
) -> Result<Moved, StoreError> {
    for _ in 0..ATTEMPTS {
        let partition = store.partitions().read(request.from).await?;
        let Some(source) = partition.connection(request.connection_id) else {
            return Ok(Moved::NotFound);
        };
        let tokens = match TokenPair::open(cipher, source).await {
            Ok(Some(tokens)) => tokens,
            Ok(None) => return Ok(Moved::NeedsReauth(source.connection_id.clone())),
            Err(error) => {
                tracing::error!(error = %error, "tokens did not open for a move");
                return Ok(Moved::TokensUnavailable);
            }
        };
        let now = Utc::now();
        let moved_id = connection_id_for(request.to, &source.amazon_identity);
        let sealed = match tokens.seal(cipher, request.to, &moved_id).await {
            Ok(sealed) => sealed,
            Err(error) => {
                tracing::error!(error = %error, "tokens could not be sealed for a move");
                return Ok(Moved::TokensUnavailable);
            }
        };
        let moved = ConnectionRecord {
            connection_id: moved_id.clone(),
            owner: request.to.clone(),
            tokens: Some(sealed),
            // New at the destination; a running refresh's lease stays behind.
            version: 0,
            lease_owner: None,
            lease_until: None,
            updated_at: now,
            ..source.clone()
        };
        let (from_accounts, to_accounts): (Vec<AccountId>, Vec<AccountRecord>) = partition
            .accounts
            .iter()
            .filter(|a| a.connection_id == source.connection_id)
            .map(|a| {
                let account_id = account_id_for(request.to, &a.native);
                let moved_account = AccountRecord {
                    account_id,
                    connection_id: moved_id.clone(),
                    ..a.clone()
                };
                (a.account_id.clone(), moved_account)
            })
            .unzip();
        let read = partition.default_account(request.mover);
        let events = [
            AuditEvent::new(
                source,
                EventKind::Moved,
                Some(&format!("{}/{moved_id}", request.to)),
                Some(request.mover),
                now,
            ),
            AuditEvent::new(
                &moved,
                EventKind::Moved,
                Some(&format!("{}/{}", request.from, source.connection_id)),
                Some(request.mover),
                now,
            ),
        ];
        let change = changes::move_connection(
            store,
            MoveConnection {
                from: source,
                from_accounts: &from_accounts,
                to: &moved,
                to_accounts: &to_accounts,
                default: DefaultGuard {
                    member: request.mover,
                    read,
                    clear: read.is_some_and(|d| from_accounts.contains(d)),
                },
                events: [&events[0], &events[1]],
            },
        )
        .await?;
        match change {
            Change::Committed => {
                tracing::info!(from = %source.connection_id, to = %moved_id, "connection moved");
                let stored = ConnectionRecord {
                    version: 1,
                    ..moved
                };
                return Ok(Moved::Done(Box::new(stored), to_accounts));
            }
            Change::Occupied => return Ok(Moved::AlreadyThere(moved_id)),
            Change::UserDeleted => return Ok(Moved::DestinationGone),
            // A refresh (or another move) wrote between the read and the write.
            _ => continue,
        }
    }
    Ok(Moved::KeptChanging)
}
