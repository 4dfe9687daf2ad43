//! Creates the stack's resources in moto: the table (from `template.yaml`),
//! the KMS key, the three secrets, and the report queue (with its
//! dead-letter queue) and bucket. Idempotent.

use adsconnect::configuration::{self, ConfigError};
use adsconnect::secrets::{self, Secret, SecretIds, Secrets};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use serde_json::{Value, json};

use crate::BoxError;

/// An SDK configuration for the emulator at `endpoint` with fixed test
/// credentials, so nothing can reach a real AWS account.
pub fn emulator_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(adsconnect::tls::aws_http_client())
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            Credentials::for_tests(),
        ))
        .build()
}

pub async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    with_stream: crate::template::WithStream,
) -> Result<bool, BoxError> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    crate::template::create_table(client, name, with_stream).await?;
    Ok(true)
}

/// A symmetric key reachable through `alias` (which must start `alias/`).
pub async fn ensure_kms_key(client: &aws_sdk_kms::Client, alias: &str) -> Result<String, BoxError> {
    if let Ok(found) = client.describe_key().key_id(alias).send().await
        && let Some(key) = found.key_metadata()
    {
        return Ok(key.key_id().to_owned());
    }
    let created = client
        .create_key()
        .description("AdsConnect token envelope key (local)")
        .send()
        .await?;
    let key_id = created
        .key_metadata()
        .map(|k| k.key_id().to_owned())
        .ok_or("CreateKey returned no key")?;
    let aliased = client
        .create_alias()
        .alias_name(alias)
        .target_key_id(&key_id)
        .send()
        .await;
    match aliased {
        Ok(_) => Ok(key_id),
        // The SDK retried a CreateAlias whose first attempt had landed (a busy
        // emulator answers late): the alias is there, and names the key.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            client
                .describe_key()
                .key_id(alias)
                .send()
                .await?
                .key_metadata()
                .map(|k| k.key_id().to_owned())
                .ok_or_else(|| "DescribeKey returned no key".into())
        }
        Err(e) => Err(e.into()),
    }
}

/// `ReportQueue` named `name`, with its dead-letter queue (`name` +
/// `-dead-letter`), each with the template's settings (visibility timeout,
/// retention, redrive after as many receives): its URL.
pub async fn ensure_report_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<String, BoxError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let template = crate::template::load_template()?;
    let resources = &template["Resources"];
    let queue = &resources["ReportQueue"]["Properties"];
    let dead_letter = &resources["ReportDeadLetterQueue"]["Properties"];
    let setting = |properties: &serde_yaml::Value, name: &str| -> Result<String, BoxError> {
        properties[name]
            .as_u64()
            .map(|n| n.to_string())
            .ok_or_else(|| format!("template.yaml: the report queues have no {name}").into())
    };

    let dead_letter_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dead-letter"))
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            setting(dead_letter, "MessageRetentionPeriod")?,
        )
        .send()
        .await?
        .queue_url
        .ok_or("CreateQueue returned no URL")?;
    let dead_letter_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or("GetQueueAttributes returned no QueueArn")?;
    let redrive = json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": queue["RedrivePolicy"]["maxReceiveCount"]
            .as_u64()
            .ok_or("template.yaml: ReportQueue's redrive has no maxReceiveCount")?,
    });
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            setting(queue, "VisibilityTimeout")?,
        )
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            setting(queue, "MessageRetentionPeriod")?,
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await?
        .queue_url
        .ok_or("CreateQueue returned no URL")?;
    Ok(url)
}

/// `ReportBucket` named `name`, versioned like the template's (a day
/// pulled again keeps the earlier pull as a noncurrent version).
pub async fn ensure_report_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Result<(), BoxError> {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    if s3.head_bucket().bucket(name).send().await.is_err() {
        s3.create_bucket().bucket(name).send().await?;
    }
    s3.put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// The queue name a queue URL ends with (`…/123456789012/<name>`).
pub fn queue_name(url: &str) -> Result<&str, BoxError> {
    url.rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| format!("{url} is not a queue URL").into())
}

/// Creates the secret, or replaces its value.
pub async fn put_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &Value,
) -> Result<(), BoxError> {
    let text = value.to_string();
    let exists = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .is_ok();
    if exists {
        client
            .put_secret_value()
            .secret_id(name)
            .secret_string(text)
            .send()
            .await?;
    } else {
        client
            .create_secret()
            .name(name)
            .secret_string(text)
            .send()
            .await?;
    }
    Ok(())
}

/// What the stack's secrets hold, each in the secret its functions read
/// (see `adsconnect::secrets`).
pub struct SecretValues<'a> {
    pub clerk_secret_key: &'a str,
    pub clerk_webhook_secret: &'a str,
    pub amazon_client_id: &'a str,
    pub amazon_client_secret: &'a str,
}

/// The three secrets' ids for a stack named `prefix`.
pub fn secret_ids(prefix: &str) -> SecretIds {
    SecretIds {
        clerk_backend: Some(format!("{prefix}/clerk-backend")),
        clerk_webhook: Some(format!("{prefix}/clerk-webhook")),
        amazon_client: Some(format!("{prefix}/amazon-client")),
    }
}

/// Creates, or replaces the value of, every secret `ids` names, each with
/// only its own keys.
pub async fn put_secrets(
    client: &aws_sdk_secretsmanager::Client,
    ids: &SecretIds,
    values: &SecretValues<'_>,
) -> Result<(), BoxError> {
    let secrets = [
        (
            &ids.clerk_backend,
            json!({ "clerk_secret_key": values.clerk_secret_key }),
        ),
        (
            &ids.clerk_webhook,
            json!({ "clerk_webhook_secret": values.clerk_webhook_secret }),
        ),
        (
            &ids.amazon_client,
            json!({
                "amazon_client_id": values.amazon_client_id,
                "amazon_client_secret": values.amazon_client_secret,
            }),
        ),
    ];
    for (id, value) in secrets {
        if let Some(id) = id {
            put_secret(client, id, &value).await?;
        }
    }
    Ok(())
}

/// The local stack runs every function in one process: it names all three
/// secrets.
pub fn local_secret_ids() -> Result<SecretIds, ConfigError> {
    let id = |variable| configuration::required(variable).map(Some);
    Ok(SecretIds {
        clerk_backend: id(secrets::CLERK_BACKEND_SECRET_ID)?,
        clerk_webhook: id(secrets::CLERK_WEBHOOK_SECRET_ID)?,
        amazon_client: id(secrets::AMAZON_CLIENT_SECRET_ID)?,
    })
}

/// The stack's webhook signing secrets, as clerk-webhook reads them.
pub async fn webhook_secrets(
    client: &aws_sdk_secretsmanager::Client,
    ids: &SecretIds,
) -> Result<Secret, ConfigError> {
    let only_webhook = SecretIds {
        clerk_webhook: ids.clerk_webhook.clone(),
        ..SecretIds::default()
    };
    let secrets = Secrets::load(client, &only_webhook).await?;
    Ok(secrets.clerk_webhook()?.signing_secrets.clone())
}

/// A fresh `whsec_…` secret.
pub fn new_webhook_secret() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}
