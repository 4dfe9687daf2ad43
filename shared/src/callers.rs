//! Who may receive credentials: a backend proves its IAM role with a
//! signed GetCallerIdentity (checked, used once, executed by STS), and the
//! role must be one of `CREDENTIALS_CALLERS`. A payload's own claims
//! (a `requestContext`, a user id) prove nothing: anyone allowed to invoke
//! the function can write them.

use std::sync::Arc;

use chrono::Utc;

use crate::aws_identity::proof::{SignedRequest, Unproven};
use crate::aws_identity::roles::Role;
use crate::aws_identity::sts::{Sts, StsError};
use crate::store::Store;

#[derive(Clone)]
pub struct Callers {
    pub listed: Arc<[Role]>,
    pub sts: Sts,
    pub store: Store,
}

/// Why a caller gets nothing. The caller is told only `forbidden` (or
/// `unavailable`); the log says which, with the ARN when STS named one.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("unproven: {0}")]
    Unproven(Unproven),
    #[error("STS refused the proof (status {0})")]
    RefusedBySts(u16),
    /// STS named a principal that is not a listed role.
    #[error("not a listed role")]
    Unlisted { caller: String },
    #[error("{0}")]
    Unavailable(String),
}

impl Callers {
    /// The ARN of the listed role's session that signed `proof` for
    /// `binding` (`<owner_id>/<account_id>`).
    pub async fn prove(&self, proof: SignedRequest, binding: &str) -> Result<String, Refused> {
        let checked = proof
            .check(binding, self.sts.host(), Utc::now())
            .map_err(Refused::Unproven)?;
        // Used up before STS sees it: a proof sent twice at once proves once.
        let first_use = self
            .store
            .proofs()
            .use_once(&checked.fingerprint(), Utc::now())
            .await
            .map_err(|e| Refused::Unavailable(e.to_string()))?;
        if !first_use {
            return Err(Refused::Unproven(Unproven::Replayed));
        }
        let caller = self.sts.caller_arn(checked).await.map_err(|e| match e {
            StsError::Refused(status) => Refused::RefusedBySts(status),
            StsError::Unavailable(reason) => Refused::Unavailable(reason),
        })?;
        match Role::of_assumed_role(&caller) {
            Some(role) if self.listed.contains(&role) => Ok(caller),
            _ => Err(Refused::Unlisted { caller }),
        }
    }
}
