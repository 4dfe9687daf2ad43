//! The three Secrets Manager secrets, split by use so that each function's
//! role may read only what it uses: Clerk's Backend API key
//! (`CLERK_BACKEND_SECRET_ID`), the Clerk webhook's signing secrets
//! (`CLERK_WEBHOOK_SECRET_ID`) and the Amazon client credentials
//! (`AMAZON_CLIENT_SECRET_ID`). A process reads each secret its environment
//! names, once; values are wrapped so that `Debug` and logs never show them.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

use crate::configuration::values::ConfigError;

pub const CLERK_BACKEND_SECRET_ID: &str = "CLERK_BACKEND_SECRET_ID";
pub const CLERK_WEBHOOK_SECRET_ID: &str = "CLERK_WEBHOOK_SECRET_ID";
pub const AMAZON_CLIENT_SECRET_ID: &str = "AMAZON_CLIENT_SECRET_ID";

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

/// `{"clerk_secret_key"}`: for the functions that call Clerk's Backend API.
#[derive(Debug, Clone)]
pub struct ClerkBackend {
    pub secret_key: Secret,
}

/// `{"clerk_webhook_secret"}`: one or more `whsec_…` values, space-separated
/// so that a rotation can accept the old and the new one for a while.
#[derive(Debug, Clone)]
pub struct ClerkWebhook {
    pub signing_secrets: Secret,
}

/// `{"amazon_client_id", "amazon_client_secret"}`: for the functions that
/// talk to Login with Amazon or the Ads API.
#[derive(Debug, Clone)]
pub struct AmazonClient {
    pub client_id: Secret,
    pub client_secret: Secret,
}

/// The secret ids a process's environment names; an unset variable means the
/// process may not read that secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretIds {
    pub clerk_backend: Option<String>,
    pub clerk_webhook: Option<String>,
    pub amazon_client: Option<String>,
}

impl SecretIds {
    /// Each named secret with the variable that names it.
    pub fn variables(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (CLERK_BACKEND_SECRET_ID, &self.clerk_backend),
            (CLERK_WEBHOOK_SECRET_ID, &self.clerk_webhook),
            (AMAZON_CLIENT_SECRET_ID, &self.amazon_client),
        ]
        .into_iter()
        .filter_map(|(variable, id)| Some((variable, id.as_deref()?)))
    }
}

/// The secrets a process has read. Each builder asks for the ones it uses,
/// so a function whose environment does not name one stops at start-up,
/// naming the variable.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub clerk_backend: Option<ClerkBackend>,
    pub clerk_webhook: Option<ClerkWebhook>,
    pub amazon_client: Option<AmazonClient>,
}

impl Secrets {
    /// Reads every secret `ids` names, concurrently (one call each).
    pub async fn load(
        client: &aws_sdk_secretsmanager::Client,
        ids: &SecretIds,
    ) -> Result<Self, ConfigError> {
        let (clerk_backend, clerk_webhook, amazon_client) = tokio::try_join!(
            read_keys(
                client,
                CLERK_BACKEND_SECRET_ID,
                ids.clerk_backend.as_deref()
            ),
            read_keys(
                client,
                CLERK_WEBHOOK_SECRET_ID,
                ids.clerk_webhook.as_deref()
            ),
            read_keys(
                client,
                AMAZON_CLIENT_SECRET_ID,
                ids.amazon_client.as_deref()
            ),
        )?;
        Ok(Self {
            clerk_backend: clerk_backend.map(ClerkBackend::from_keys).transpose()?,
            clerk_webhook: clerk_webhook.map(ClerkWebhook::from_keys).transpose()?,
            amazon_client: amazon_client.map(AmazonClient::from_keys).transpose()?,
        })
    }

    /// For every secret `ids` names, a value of the right shape (a `whsec_`
    /// key, strings): start-up builds the services with these to check the
    /// configuration before the real secrets are read. Nothing is ever sent
    /// with them.
    pub fn placeholders(ids: &SecretIds) -> Self {
        let placeholder = || Secret::new("placeholder");
        Self {
            clerk_backend: ids.clerk_backend.as_ref().map(|_| ClerkBackend {
                secret_key: placeholder(),
            }),
            clerk_webhook: ids.clerk_webhook.as_ref().map(|_| ClerkWebhook {
                signing_secrets: Secret::new("whsec_cGxhY2Vob2xkZXIgd2ViaG9vayBzZWNyZXQ="),
            }),
            amazon_client: ids.amazon_client.as_ref().map(|_| AmazonClient {
                client_id: placeholder(),
                client_secret: placeholder(),
            }),
        }
    }

    pub fn clerk_backend(&self) -> Result<&ClerkBackend, ConfigError> {
        self.clerk_backend
            .as_ref()
            .ok_or(ConfigError::Missing(CLERK_BACKEND_SECRET_ID))
    }

    pub fn clerk_webhook(&self) -> Result<&ClerkWebhook, ConfigError> {
        self.clerk_webhook
            .as_ref()
            .ok_or(ConfigError::Missing(CLERK_WEBHOOK_SECRET_ID))
    }

    pub fn amazon_client(&self) -> Result<&AmazonClient, ConfigError> {
        self.amazon_client
            .as_ref()
            .ok_or(ConfigError::Missing(AMAZON_CLIENT_SECRET_ID))
    }
}

/// One secret's keys, each error naming the variable that named the secret.
struct Keys {
    variable: &'static str,
    values: HashMap<String, Secret>,
}

impl Keys {
    fn take(&mut self, key: &str) -> Result<Secret, ConfigError> {
        self.values
            .remove(key)
            .filter(|value| !value.0.trim().is_empty())
            .ok_or_else(|| ConfigError::Invalid {
                name: self.variable,
                reason: format!("secret has no `{key}` value"),
            })
    }
}

impl ClerkBackend {
    fn from_keys(mut keys: Keys) -> Result<Self, ConfigError> {
        Ok(Self {
            secret_key: keys.take("clerk_secret_key")?,
        })
    }
}

impl ClerkWebhook {
    fn from_keys(mut keys: Keys) -> Result<Self, ConfigError> {
        Ok(Self {
            signing_secrets: keys.take("clerk_webhook_secret")?,
        })
    }
}

impl AmazonClient {
    fn from_keys(mut keys: Keys) -> Result<Self, ConfigError> {
        Ok(Self {
            client_id: keys.take("amazon_client_id")?,
            client_secret: keys.take("amazon_client_secret")?,
        })
    }
}

/// The secret `secret_id` names, if any.
async fn read_keys(
    client: &aws_sdk_secretsmanager::Client,
    variable: &'static str,
    secret_id: Option<&str>,
) -> Result<Option<Keys>, ConfigError> {
    let Some(secret_id) = secret_id else {
        return Ok(None);
    };
    let invalid = |reason: String| ConfigError::Invalid {
        name: variable,
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
    let values = serde_json::from_str(text)
        .map_err(|_| invalid("secret is not a JSON object of strings".into()))?;
    Ok(Some(Keys { variable, values }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secrets_the_environment_names_have_placeholders() {
        let ids = SecretIds {
            amazon_client: Some("adsconnect/amazon-client".into()),
            ..SecretIds::default()
        };
        let secrets = Secrets::placeholders(&ids);
        assert!(secrets.amazon_client().is_ok());
        for (error, variable) in [
            (
                secrets.clerk_backend().unwrap_err(),
                CLERK_BACKEND_SECRET_ID,
            ),
            (
                secrets.clerk_webhook().unwrap_err(),
                CLERK_WEBHOOK_SECRET_ID,
            ),
        ] {
            assert_eq!(
                error.to_string(),
                format!("required environment variable {variable} is not set")
            );
        }
        assert_eq!(
            ids.variables().collect::<Vec<_>>(),
            [(AMAZON_CLIENT_SECRET_ID, "adsconnect/amazon-client")]
        );
    }

    #[test]
    fn a_missing_or_blank_key_names_the_variable_and_the_key_never_a_value() {
        let values: HashMap<String, Secret> = serde_json::from_str(
            r#"{"amazon_client_id": "id-value", "amazon_client_secret": "  "}"#,
        )
        .unwrap();
        let keys = Keys {
            variable: AMAZON_CLIENT_SECRET_ID,
            values,
        };
        let error = AmazonClient::from_keys(keys).unwrap_err().to_string();
        assert_eq!(
            error,
            "environment variable AMAZON_CLIENT_SECRET_ID is invalid: secret has no `amazon_client_secret` value"
        );
    }
}
