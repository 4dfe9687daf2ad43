//! The one format of sealed tokens: a JSON pair, sealed for one user and
//! connection (or one pending grant) only: a copy on another item does not
//! open.

use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, OwnerId, UserId};
use crate::model::connection::ConnectionRecord;
use crate::model::sealed::Sealed;
use crate::secrets::Secret;
use crate::tokens::{CipherError, TokenCipher};

#[derive(Serialize, Deserialize)]
struct Plain {
    access_token: String,
    refresh_token: String,
}

/// A connection's tokens in the clear; `Debug` shows neither.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: Secret,
    pub refresh_token: Secret,
}

/// What the tokens are sealed for: they open nowhere else.
pub fn token_context(owner: &OwnerId, connection_id: &ConnectionId) -> String {
    format!("tokens|{owner}|{connection_id}")
}

/// What a pending grant's tokens are sealed for.
pub fn grant_context(user_id: &UserId, grant_hash: &str) -> String {
    format!("grant|{user_id}|{grant_hash}")
}

impl TokenPair {
    pub async fn seal(
        &self,
        cipher: &TokenCipher,
        owner: &OwnerId,
        connection_id: &ConnectionId,
    ) -> Result<Sealed, CipherError> {
        self.seal_for(cipher, &token_context(owner, connection_id))
            .await
    }

    /// Sealed for `context` ([`token_context`], [`grant_context`]).
    pub async fn seal_for(
        &self,
        cipher: &TokenCipher,
        context: &str,
    ) -> Result<Sealed, CipherError> {
        let plaintext = serde_json::to_vec(&Plain {
            access_token: self.access_token.expose().to_owned(),
            refresh_token: self.refresh_token.expose().to_owned(),
        })
        .map_err(|_| CipherError::Corrupt)?;
        cipher.seal(&plaintext, context).await
    }

    /// The connection's tokens; `Ok(None)` when it has none (destroyed).
    pub async fn open(
        cipher: &TokenCipher,
        connection: &ConnectionRecord,
    ) -> Result<Option<Self>, CipherError> {
        let Some(sealed) = &connection.tokens else {
            return Ok(None);
        };
        let context = token_context(&connection.owner, &connection.connection_id);
        Self::open_sealed(cipher, sealed, &context).await.map(Some)
    }

    pub async fn open_sealed(
        cipher: &TokenCipher,
        sealed: &Sealed,
        context: &str,
    ) -> Result<Self, CipherError> {
        let plaintext = cipher.open(sealed, context).await?;
        let plain: Plain = serde_json::from_slice(&plaintext).map_err(|_| CipherError::Corrupt)?;
        Ok(Self {
            access_token: Secret::new(plain.access_token),
            refresh_token: Secret::new(plain.refresh_token),
        })
    }
}
