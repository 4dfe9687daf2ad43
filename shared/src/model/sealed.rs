//! A sealed secret as stored (`crate::tokens` seals and opens it).

use serde::{Deserialize, Serialize};

/// What is stored: never the plaintext, never an unwrapped key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// base64 AES-256-GCM ciphertext with its tag.
    pub ciphertext: String,
    /// base64 96-bit nonce.
    pub nonce: String,
    /// base64 KMS-encrypted data key.
    pub wrapped_key: String,
    pub format: u32,
}
