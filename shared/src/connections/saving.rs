//! A connection saved with its accounts inside the time budget. The
//! connection, its event, a first default and the first accounts go in one
//! transaction; the other accounts follow, a transaction at a time, while
//! one more still leaves time to answer, and none past that time. Accounts go most needed first (new
//! or changed ones, then the least recently synced), so what the budget
//! leaves unwritten is what the next sync writes first; until then, a
//! listing with a new or changed account unwritten carries an `incomplete`
//! warning.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::changes::{self, Change, SaveConnection};
use crate::amazon::discovery::{INCOMPLETE, Listing};
use crate::budget;
use crate::ids::{AccountId, UserId};
use crate::model::account::AccountRecord;
use crate::model::connection::{ConnectionRecord, SyncWarning};
use crate::model::event::AuditEvent;
use crate::store::connections::ConnectionWrite;
use crate::store::partition::OwnerPartition;
use crate::store::{Store, StoreError};

/// Accounts per transaction: one write stays a small part of the budget,
/// so the budget ends close to its deadline, not a whole write early.
const ACCOUNTS_PER_WRITE: usize = 25;
/// Kept back after the account writes: the connection's final warnings
/// and the answer's read of the user's items.
const AFTER_WRITES: Duration = Duration::from_millis(1500);

pub struct Saving<'a> {
    /// As the transition made it, with discovery's warnings.
    pub connection: &'a ConnectionRecord,
    pub event: &'a AuditEvent,
    /// What the merge made of discovery.
    pub accounts: Vec<AccountRecord>,
    /// The user's accounts as read before the merge.
    pub stored: &'a [AccountRecord],
    /// A first default account for a user who has none.
    pub new_default: Option<&'a AccountId>,
    pub actor: &'a UserId,
}

/// What was saved: the connection as stored and the accounts written.
#[derive(Debug)]
pub struct Saved {
    pub connection: ConnectionRecord,
    pub accounts: Vec<AccountRecord>,
}

impl Saved {
    /// `partition`, read before the save, as the save left it: the answer
    /// needs no second read (which could outlast the budget).
    pub fn applied_to(
        self,
        mut partition: OwnerPartition,
        new_default: Option<AccountId>,
        actor: &UserId,
    ) -> OwnerPartition {
        let written: HashSet<&AccountId> = self.accounts.iter().map(|a| &a.account_id).collect();
        partition
            .accounts
            .retain(|a| !written.contains(&a.account_id));
        partition.accounts.extend(self.accounts);
        // In the order a read gives them.
        partition
            .accounts
            .sort_by(|a, b| a.account_id.cmp(&b.account_id));
        partition
            .connections
            .retain(|c| c.connection_id != self.connection.connection_id);
        partition.connections.push(self.connection);
        partition
            .connections
            .sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        match (partition.profile.as_mut(), new_default) {
            (Some(profile), Some(id)) => profile.settings.default_account_id = Some(id),
            (None, Some(id)) => {
                partition.member_defaults.insert(actor.clone(), id);
            }
            (_, None) => {}
        }
        partition
    }
}

/// Saves `saving`; `Err` is the first transaction's refusal (nothing
/// written).
pub async fn save(store: &Store, saving: Saving<'_>) -> Result<Result<Saved, Change>, StoreError> {
    let Saving {
        connection,
        event,
        mut accounts,
        stored,
        new_default,
        actor,
    } = saving;
    let needed = most_needed_first(&mut accounts, stored, new_default);
    let first = accounts.len().min(ACCOUNTS_PER_WRITE);
    // Cautious until the rest is written: a cut-off run leaves it true.
    let mut saved = ConnectionRecord {
        sync_warnings: with_unwritten(
            &connection.sync_warnings,
            &accounts[first.min(needed)..needed],
        ),
        ..connection.clone()
    };
    let started = Instant::now();
    let change = changes::save_connection(
        store,
        SaveConnection {
            connection: &saved,
            accounts: &accounts[..first],
            new_default,
            actor,
            event,
        },
    )
    .await?;
    if change != Change::Committed {
        return Ok(Err(change));
    }
    saved.version += 1;
    // The slowest write so far is what the next one is expected to take.
    let mut slowest = started.elapsed();
    let mut written = first;
    let write_by = budget::answer_by().map(|at| at.checked_sub(AFTER_WRITES).unwrap_or(at));
    for chunk in accounts[first..].chunks(ACCOUNTS_PER_WRITE) {
        if !budget::fits(slowest + AFTER_WRITES) {
            break;
        }
        let started = Instant::now();
        let write =
            changes::put_accounts(store, &connection.owner, &connection.connection_id, chunk);
        match budget::until(write_by, write).await {
            Some(Ok(Change::Committed)) => {}
            // Slower than expected: written or not, the warnings already
            // say it may be missing.
            None => break,
            // Deleted or disconnected meanwhile: nothing more is its.
            Some(Ok(_)) => break,
            // What is written stays, and the warnings already say the
            // rest is missing.
            Some(Err(error)) => {
                tracing::warn!(%error, "accounts left for the next sync");
                break;
            }
        }
        slowest = slowest.max(started.elapsed());
        written += chunk.len();
    }
    let warnings = with_unwritten(
        &connection.sync_warnings,
        &accounts[written.min(needed)..needed],
    );
    if warnings != saved.sync_warnings {
        let settled = ConnectionRecord {
            sync_warnings: warnings,
            ..saved.clone()
        };
        match budget::until(budget::answer_by(), store.connections().put(&settled)).await {
            Some(Ok(ConnectionWrite::Written)) => {
                saved = ConnectionRecord {
                    version: settled.version + 1,
                    ..settled
                };
            }
            // A refresh wrote meanwhile: the cautious warnings stay until
            // the next sync.
            Some(Ok(ConnectionWrite::Conflict)) => {}
            Some(Err(error)) => tracing::warn!(%error, "cautious sync warnings kept"),
            None => tracing::warn!("no time left to settle the sync warnings"),
        }
    }
    accounts.truncate(written);
    Ok(Ok(Saved {
        connection: saved,
        accounts,
    }))
}

/// Orders `accounts` for writing: the new default, then the new or changed
/// ones (by kind, Ads profiles first), then the rest, least recently synced
/// first. Returns how many lead that need writing.
fn most_needed_first(
    accounts: &mut [AccountRecord],
    stored: &[AccountRecord],
    new_default: Option<&AccountId>,
) -> usize {
    let stored: HashMap<&AccountId, &AccountRecord> =
        stored.iter().map(|a| (&a.account_id, a)).collect();
    // Unchanged but for when it was last synced.
    let unchanged = |account: &AccountRecord| {
        stored.get(&account.account_id).is_some_and(|before| {
            **before
                == AccountRecord {
                    last_synced_at: before.last_synced_at,
                    ..account.clone()
                }
        })
    };
    let is_default = |account: &AccountRecord| Some(&account.account_id) == new_default;
    accounts.sort_by_cached_key(|account| {
        let unchanged = unchanged(account);
        (
            !is_default(account),
            unchanged,
            (!unchanged).then(|| account.kind()),
            stored
                .get(&account.account_id)
                .and_then(|before| before.last_synced_at),
        )
    });
    accounts
        .iter()
        .position(|account| !is_default(account) && unchanged(account))
        .unwrap_or(accounts.len())
}

/// `warnings` and an `incomplete` one for each listing of `unwritten`
/// that has none yet.
fn with_unwritten(warnings: &[SyncWarning], unwritten: &[AccountRecord]) -> Vec<SyncWarning> {
    let mut all = warnings.to_vec();
    for account in unwritten {
        let source = Listing {
            kind: account.kind(),
            region: account.region,
        }
        .source();
        if !all.iter().any(|w| w.source == source) {
            all.push(SyncWarning {
                source,
                reason: INCOMPLETE.into(),
                listed: None,
            });
        }
    }
    all
}
