//! The application secret in Secrets Manager (`APP_SECRETS_ID`), read once per
//! cold start. Values are wrapped so that `Debug` and logs never show them.

use std::fmt;

use serde::Deserialize;

use crate::configuration::values::ConfigError;

/// A secret string. No `Display`; `Debug` prints a placeholder.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every key is optional here; each function demands the ones it uses with
/// [`AppSecrets::require`], so a missing key fails that function's start-up.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppSecrets {
    pub clerk_secret_key: Option<Secret>,
    pub clerk_webhook_secret: Option<Secret>,
    pub amazon_client_id: Option<Secret>,
    pub amazon_client_secret: Option<Secret>,
}

impl AppSecrets {
    pub async fn load(
        client: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: "APP_SECRETS_ID",
            reason,
        };
        let output = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                invalid(format!(
                    "secret could not be read: {}",
                    e.into_service_error()
                ))
            })?;
        let text = output
            .secret_string()
            .ok_or_else(|| invalid("secret has no string value".into()))?;
        // The parse error could quote the secret's text, so it is not shown.
        serde_json::from_str(text)
            .map_err(|_| invalid("secret is not a JSON object of strings".into()))
    }

    /// Every key, with a value of the right shape (a `whsec_` key, a string):
    /// start-up builds the services with these to check the configuration
    /// before the real secret is read. Nothing is ever sent with them.
    pub fn placeholders() -> Self {
        let placeholder = || Some(Secret::new("placeholder"));
        Self {
            clerk_secret_key: placeholder(),
            clerk_webhook_secret: Some(Secret::new("whsec_cGxhY2Vob2xkZXIgd2ViaG9vayBzZWNyZXQ=")),
            amazon_client_id: placeholder(),
            amazon_client_secret: placeholder(),
        }
    }

    pub fn require(field: &Option<Secret>, key: &'static str) -> Result<Secret, ConfigError> {
        field
            .clone()
            .filter(|s| !s.0.trim().is_empty())
            .ok_or(ConfigError::Invalid {
                name: "APP_SECRETS_ID",
                reason: format!("secret has no `{key}` value"),
            })
    }
}
