//! Envelope encryption of Amazon tokens (and PKCE verifiers) with a KMS data
//! key and AES-256-GCM, following the AWS Encryption SDK's caching model:
//! a data key is reused for a bounded time and number of messages, and
//! unwrapped keys are cached by their wrapped bytes, so KMS calls do not grow
//! with the number of items sealed or opened in one process.
//!
//! Each ciphertext is bound by its associated data to what it belongs to
//! (user + connection, or an OAuth state) and to the format version, so a
//! ciphertext copied onto another item does not open. Opening failures are
//! errors, never a fallback.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use aws_sdk_kms::error::ProvideErrorMetadata as _;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::model::sealed::Sealed;

/// Part of every ciphertext's associated data; bump to change the format.
pub const FORMAT_VERSION: u32 = 1;
pub const DATA_KEY_MAX_AGE: Duration = Duration::from_secs(300);
pub const DATA_KEY_MAX_MESSAGES: u32 = 10_000;
const UNWRAPPED_CACHE_LIMIT: usize = 256;
/// Fixed KMS encryption context: per-item binding lives in the AES-GCM
/// associated data, so one data key can serve many items.
const KMS_CONTEXT: (&str, &str) = ("purpose", "adsconnect-token-envelope");

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// KMS failed or could not be reached: worth retrying.
    #[error("KMS request failed: {0}")]
    Kms(String),
    /// KMS refuses the key for this (wrong key, disabled, scheduled for
    /// deletion, not found, not allowed): an operator must act, and no
    /// retry or user action helps until then.
    #[error("KMS key unusable: {0}")]
    KeyUnusable(String),
    #[error("ciphertext does not open with this key and context")]
    Corrupt,
}

/// KMS's answer, classified: a refusal of the key itself, or a failure.
fn kms_error<E>(error: aws_sdk_kms::error::SdkError<E>) -> CipherError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let key_refused = matches!(
        error.code(),
        Some(
            "IncorrectKeyException"
                | "InvalidCiphertextException"
                | "DisabledException"
                | "KMSInvalidStateException"
                | "NotFoundException"
                | "AccessDeniedException"
                | "InvalidKeyUsageException"
        )
    );
    let text = aws_sdk_kms::error::DisplayErrorContext(&error).to_string();
    if key_refused {
        CipherError::KeyUnusable(text)
    } else {
        CipherError::Kms(text)
    }
}

struct DataKey {
    cipher: Arc<Aes256Gcm>,
    wrapped: Vec<u8>,
    created: Instant,
    messages: u32,
}

#[derive(Default)]
struct KeyCache {
    current: Option<DataKey>,
    unwrapped: HashMap<Vec<u8>, Arc<Aes256Gcm>>,
}

pub struct TokenCipher {
    kms: aws_sdk_kms::Client,
    key_id: String,
    cache: tokio::sync::Mutex<KeyCache>,
}

fn associated_data(context: &str) -> Vec<u8> {
    format!("adsconnect|v{FORMAT_VERSION}|{context}").into_bytes()
}

impl TokenCipher {
    pub fn new(kms: aws_sdk_kms::Client, key_id: String) -> Self {
        Self {
            kms,
            key_id,
            cache: tokio::sync::Mutex::default(),
        }
    }

    /// Encrypts `plaintext` for `context` (e.g. `tokens|<user>|<connection>`).
    pub async fn seal(&self, plaintext: &[u8], context: &str) -> Result<Sealed, CipherError> {
        let (cipher, wrapped) = self.data_key().await?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(context);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Corrupt)?;
        Ok(Sealed {
            ciphertext: STANDARD.encode(ciphertext),
            nonce: STANDARD.encode(nonce),
            wrapped_key: STANDARD.encode(wrapped),
            format: FORMAT_VERSION,
        })
    }

    pub async fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, CipherError> {
        if sealed.format != FORMAT_VERSION {
            return Err(CipherError::Corrupt);
        }
        let decode = |text: &str| STANDARD.decode(text).map_err(|_| CipherError::Corrupt);
        let (ciphertext, nonce, wrapped) = (
            decode(&sealed.ciphertext)?,
            decode(&sealed.nonce)?,
            decode(&sealed.wrapped_key)?,
        );
        if nonce.len() != 12 {
            return Err(CipherError::Corrupt);
        }
        let cipher = self.unwrap_key(&wrapped).await?;
        let aad = associated_data(context);
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Corrupt)
    }

    /// The current data key, generating a new one when it is too old or has
    /// sealed enough messages.
    async fn data_key(&self) -> Result<(Arc<Aes256Gcm>, Vec<u8>), CipherError> {
        let mut cache = self.cache.lock().await;
        let usable = cache.current.as_ref().is_some_and(|key| {
            key.created.elapsed() < DATA_KEY_MAX_AGE && key.messages < DATA_KEY_MAX_MESSAGES
        });
        if !usable {
            let output = self
                .kms
                .generate_data_key()
                .key_id(&self.key_id)
                .key_spec(DataKeySpec::Aes256)
                .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
                .send()
                .await
                .map_err(kms_error)?;
            let plaintext = output.plaintext.ok_or(CipherError::Corrupt)?;
            let wrapped = output
                .ciphertext_blob
                .ok_or(CipherError::Corrupt)?
                .into_inner();
            let cipher = Arc::new(cipher_from(plaintext.as_ref())?);
            remember(&mut cache.unwrapped, wrapped.clone(), Arc::clone(&cipher));
            cache.current = Some(DataKey {
                cipher,
                wrapped,
                created: Instant::now(),
                messages: 0,
            });
        }
        let key = cache.current.as_mut().ok_or(CipherError::Corrupt)?;
        key.messages += 1;
        Ok((Arc::clone(&key.cipher), key.wrapped.clone()))
    }

    async fn unwrap_key(&self, wrapped: &[u8]) -> Result<Arc<Aes256Gcm>, CipherError> {
        let mut cache = self.cache.lock().await;
        if let Some(cipher) = cache.unwrapped.get(wrapped) {
            return Ok(Arc::clone(cipher));
        }
        let output = self
            .kms
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
            .send()
            .await
            .map_err(kms_error)?;
        let plaintext = output.plaintext.ok_or(CipherError::Corrupt)?;
        let cipher = Arc::new(cipher_from(plaintext.as_ref())?);
        remember(&mut cache.unwrapped, wrapped.to_vec(), Arc::clone(&cipher));
        Ok(cipher)
    }
}

fn cipher_from(key: &[u8]) -> Result<Aes256Gcm, CipherError> {
    if key.len() != 32 {
        return Err(CipherError::Corrupt);
    }
    Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)))
}

/// A bounded cache: when full it starts over, which costs at most one KMS
/// Decrypt per key still in use.
fn remember(
    cache: &mut HashMap<Vec<u8>, Arc<Aes256Gcm>>,
    wrapped: Vec<u8>,
    cipher: Arc<Aes256Gcm>,
) {
    if cache.len() >= UNWRAPPED_CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(wrapped, cipher);
}
