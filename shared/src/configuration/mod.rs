//! The one place that reads the environment. Each function reads what it
//! needs at start-up and hands the lower layers typed values; a missing or
//! malformed variable stops the function there, named in one log line (the
//! error never echoes a secret value).

pub mod values;

use std::env;

pub use values::ConfigError;
use values::{base_url, list, origin};

use crate::auth::{ISSUER_VARIABLE, VerifierConfig};
#[cfg(feature = "service")]
use crate::{
    amazon::{AmazonConfig, PerRegion},
    connections::refresh::RefreshConfig,
    connections::returns::ReturnPolicy,
    secrets::{self, SecretIds, Secrets},
};

/// Reads a variable, treating an empty value as unset.
pub fn optional(name: &'static str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
}

/// The log directives: `AWS_LAMBDA_LOG_LEVEL`, or `RUST_LOG` (`info`,
/// `adsconnect=debug,warn`, …).
pub fn log_directives() -> Option<String> {
    env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| env::var("RUST_LOG"))
        .ok()
}

/// Whether this process is a Lambda function (JSON logs for CloudWatch).
pub fn on_lambda() -> bool {
    env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
}

/// The session-token verifier's settings (`auth-check`).
pub fn verifier() -> Result<VerifierConfig, ConfigError> {
    let issuer = origin(ISSUER_VARIABLE, &required(ISSUER_VARIABLE)?)?;
    let jwks_url = match optional("CLERK_JWKS_URL") {
        Some(url) => base_url("CLERK_JWKS_URL", &url)?,
        None => format!("{issuer}/.well-known/jwks.json"),
    };
    Ok(VerifierConfig {
        issuer,
        // Lambda consoles and .env files often flatten newlines to "\n".
        jwt_key_pem: optional("CLERK_JWT_KEY").map(|pem| pem.replace("\\n", "\n")),
        jwks_url,
        authorized_parties: optional("CLERK_AUTHORIZED_PARTIES")
            .map(|v| list(&v))
            .unwrap_or_default(),
    })
}

/// The table every function reads and writes.
#[cfg(feature = "service")]
pub fn table_name() -> Result<String, ConfigError> {
    required("TABLE_NAME")
}

/// The Secrets Manager secrets this function may read: each variable is set
/// only for the functions that use that secret.
#[cfg(feature = "service")]
pub fn secret_ids() -> SecretIds {
    SecretIds {
        clerk_backend: optional(secrets::CLERK_BACKEND_SECRET_ID),
        clerk_webhook: optional(secrets::CLERK_WEBHOOK_SECRET_ID),
        amazon_client: optional(secrets::AMAZON_CLIENT_SECRET_ID),
    }
}

/// The KMS key that seals the tokens.
#[cfg(feature = "service")]
pub fn token_key_id() -> Result<String, ConfigError> {
    required("TOKEN_KEY_ID")
}

/// The EventBridge bus lifecycle events go to (`default`: the account's).
#[cfg(feature = "service")]
pub fn event_bus() -> String {
    optional("EVENT_BUS_NAME").unwrap_or_else(|| "default".into())
}

/// `ADS_PROXY_ALLOWED_PATHS`: the calls the proxy forwards, each a path
/// prefix, optionally after a method (`GET /sp/campaigns`); empty allows
/// every call.
#[cfg(feature = "service")]
pub fn proxy_allowed_paths() -> Result<Vec<crate::amazon::paths::AllowRule>, ConfigError> {
    list(&optional("ADS_PROXY_ALLOWED_PATHS").unwrap_or_default())
        .iter()
        .map(|entry| {
            entry.parse().map_err(|reason| ConfigError::Invalid {
                name: "ADS_PROXY_ALLOWED_PATHS",
                reason,
            })
        })
        .collect()
}

/// `CREDENTIALS_CALLERS`: the IAM roles (ARNs, comma-separated) that may
/// receive tokens from `credentials`; required there.
#[cfg(feature = "service")]
pub fn credentials_callers() -> Result<Vec<crate::aws_identity::roles::Role>, ConfigError> {
    callers_from(optional(CREDENTIALS_CALLERS))
}

#[cfg(feature = "service")]
const CREDENTIALS_CALLERS: &str = "CREDENTIALS_CALLERS";

/// `CREDENTIALS_CALLERS`' roles; none (unset, blank, only commas) is an error.
#[cfg(feature = "service")]
fn callers_from(
    value: Option<String>,
) -> Result<Vec<crate::aws_identity::roles::Role>, ConfigError> {
    let arns = list(&value.unwrap_or_default());
    if arns.is_empty() {
        return Err(ConfigError::Missing(CREDENTIALS_CALLERS));
    }
    arns.iter()
        .map(|arn| {
            arn.parse().map_err(|reason| ConfigError::Invalid {
                name: CREDENTIALS_CALLERS,
                reason,
            })
        })
        .collect()
}

/// The STS endpoint `credentials` sends proofs to (and callers sign for):
/// `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL` (an emulator), else the
/// regional endpoint of `AWS_REGION`.
#[cfg(feature = "service")]
pub fn sts() -> Result<crate::aws_identity::sts::Sts, ConfigError> {
    let (name, endpoint) = match optional("AWS_ENDPOINT_URL_STS") {
        Some(url) => ("AWS_ENDPOINT_URL_STS", url),
        None => match optional("AWS_ENDPOINT_URL") {
            Some(url) => ("AWS_ENDPOINT_URL", url),
            None => (
                "AWS_REGION",
                format!("https://sts.{}.amazonaws.com", required("AWS_REGION")?),
            ),
        },
    };
    crate::aws_identity::sts::Sts::new(&endpoint)
        .map_err(|reason| ConfigError::Invalid { name, reason })
}

/// `QUOTA_PROXY_PER_MINUTE`, `QUOTA_WRITES_PER_MINUTE`: each user's rates
/// (defaults: [`QuotaLimits::default`]), counted per 10-second window.
#[cfg(feature = "service")]
pub fn quota_limits() -> Result<crate::users::quota::QuotaLimits, ConfigError> {
    use crate::users::quota::{Limit, QuotaLimits};
    let defaults = QuotaLimits::default();
    let limit = |name: &'static str, default: Limit| -> Result<Limit, ConfigError> {
        match optional(name) {
            None => Ok(default),
            Some(text) => match text.trim().parse::<u32>() {
                Ok(per_minute) if per_minute > 0 => Ok(Limit::per_minute(per_minute)),
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: format!("`{text}` is not a positive whole number of requests a minute"),
                }),
            },
        }
    };
    Ok(QuotaLimits {
        proxy: limit("QUOTA_PROXY_PER_MINUTE", defaults.proxy)?,
        writes: limit("QUOTA_WRITES_PER_MINUTE", defaults.writes)?,
    })
}

/// `ORGANIZATION_ROLE_PERMISSIONS`: what each organization role may do
/// where the organization defines no `ads` permissions in Clerk
/// (`admin=connect,manage,use,read;member=read,use`, the default).
#[cfg(feature = "service")]
pub fn organization_role_permissions()
-> Result<crate::model::permission::RolePermissions, ConfigError> {
    role_permissions_from(optional(ORGANIZATION_ROLE_PERMISSIONS))
}

#[cfg(feature = "service")]
const ORGANIZATION_ROLE_PERMISSIONS: &str = "ORGANIZATION_ROLE_PERMISSIONS";

#[cfg(feature = "service")]
fn role_permissions_from(
    value: Option<String>,
) -> Result<crate::model::permission::RolePermissions, ConfigError> {
    value.map_or_else(
        || Ok(Default::default()),
        |text| {
            text.parse().map_err(|reason| ConfigError::Invalid {
                name: ORGANIZATION_ROLE_PERMISSIONS,
                reason,
            })
        },
    )
}

/// Clerk's Backend API.
#[cfg(feature = "service")]
pub fn clerk_api_url() -> Result<String, ConfigError> {
    match optional("CLERK_API_URL") {
        Some(url) => base_url("CLERK_API_URL", &url),
        None => Ok("https://api.clerk.com".to_owned()),
    }
}

/// Where a consent may send the browser back to.
#[cfg(feature = "service")]
pub fn return_policy() -> Result<ReturnPolicy, ConfigError> {
    let origins = optional("ALLOWED_RETURN_ORIGINS")
        .map(|v| list(&v))
        .unwrap_or_default();
    ReturnPolicy::new(&origins, &required("DEFAULT_RETURN_URL")?)
}

/// Login with Amazon and the Ads API for the OAuth functions:
/// `AMAZON_REDIRECT_URI` is required.
#[cfg(feature = "service")]
pub fn amazon(secrets: &Secrets) -> Result<AmazonConfig, ConfigError> {
    let redirect_uri = required("AMAZON_REDIRECT_URI")?;
    base_url("AMAZON_REDIRECT_URI", &redirect_uri)?;
    amazon_with(secrets, Some(redirect_uri))
}

/// Login with Amazon and the Ads API for the functions that only refresh
/// tokens and call the Ads API.
#[cfg(feature = "service")]
pub fn amazon_for_refresh(secrets: &Secrets) -> Result<AmazonConfig, ConfigError> {
    amazon_with(secrets, None)
}

#[cfg(feature = "service")]
fn url_or(name: &'static str, default: &str) -> Result<String, ConfigError> {
    match optional(name) {
        Some(url) => base_url(name, &url),
        None => Ok(default.to_owned()),
    }
}

#[cfg(feature = "service")]
fn amazon_with(
    secrets: &Secrets,
    redirect_uri: Option<String>,
) -> Result<AmazonConfig, ConfigError> {
    let client = secrets.amazon_client()?;
    let scopes: Vec<String> = optional("AMAZON_SCOPES")
        .unwrap_or_else(|| "advertising::campaign_management".into())
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Ok(AmazonConfig {
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.clone(),
        redirect_uri,
        scopes,
        auth_urls: PerRegion {
            na: url_or("AMAZON_AUTH_URL_NA", "https://www.amazon.com/ap/oa")?,
            eu: url_or("AMAZON_AUTH_URL_EU", "https://eu.account.amazon.com/ap/oa")?,
            fe: url_or(
                "AMAZON_AUTH_URL_FE",
                "https://apac.account.amazon.com/ap/oa",
            )?,
        },
        token_url: url_or("AMAZON_TOKEN_URL", "https://api.amazon.com/auth/o2/token")?,
        ads_urls: PerRegion {
            na: url_or("AMAZON_ADS_URL_NA", "https://advertising-api.amazon.com")?,
            eu: url_or("AMAZON_ADS_URL_EU", "https://advertising-api-eu.amazon.com")?,
            fe: url_or("AMAZON_ADS_URL_FE", "https://advertising-api-fe.amazon.com")?,
        },
        profile_url: url_or("AMAZON_PROFILE_URL", "https://api.amazon.com/user/profile")?,
    })
}

/// How the refresher is tuned.
#[cfg(feature = "service")]
pub fn refresh() -> Result<RefreshConfig, ConfigError> {
    let number =
        |name: &'static str, default: i64, range: std::ops::RangeInclusive<i64>| match optional(
            name,
        ) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or(ConfigError::Invalid {
                    name,
                    reason: format!(
                        "expected a whole number in {}..={}",
                        range.start(),
                        range.end()
                    ),
                }),
        };
    let defaults = RefreshConfig::default();
    Ok(RefreshConfig {
        window: chrono::Duration::seconds(number("REFRESH_WINDOW_SECONDS", 600, 60..=3000)?),
        concurrency: number("REFRESH_CONCURRENCY", 16, 1..=256)? as usize,
        schedule_interval: match optional("REFRESH_SCHEDULE") {
            None => defaults.schedule_interval,
            Some(expression) => rate_interval(&expression).ok_or(ConfigError::Invalid {
                name: "REFRESH_SCHEDULE",
                reason: "expected rate(N minutes|hours|days)".into(),
            })?,
        },
        ..defaults
    })
}

/// The interval of an EventBridge `rate(N unit)` expression.
#[cfg(feature = "service")]
fn rate_interval(expression: &str) -> Option<chrono::Duration> {
    use chrono::Duration;
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: i64 = count.parse().ok().filter(|n| *n > 0)?;
    match unit.trim() {
        "minute" | "minutes" => Some(Duration::minutes(count)),
        "hour" | "hours" => Some(Duration::hours(count)),
        "day" | "days" => Some(Duration::days(count)),
        _ => None,
    }
}

#[cfg(all(test, feature = "service"))]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn credentials_callers_are_required_and_each_must_be_a_role() {
        for missing in [None, Some(" ".into()), Some(" , ,".into())] {
            let error = callers_from(missing).unwrap_err().to_string();
            assert!(error.contains("CREDENTIALS_CALLERS"), "{error}");
        }
        let error = callers_from(Some(
            "arn:aws:iam::111122223333:role/a, arn:aws:iam::111122223333:user/b".into(),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("CREDENTIALS_CALLERS") && error.contains("user/b"),
            "{error}"
        );
        let roles = callers_from(Some(
            "arn:aws:iam::111122223333:role/a,arn:aws:iam::111122223333:role/ops/b".into(),
        ))
        .unwrap();
        assert_eq!(roles.len(), 2);
    }

    #[test]
    fn organization_role_permissions_default_parse_or_name_the_variable() {
        use crate::model::permission::{Permission, RolePermissions};
        assert_eq!(
            role_permissions_from(None).unwrap(),
            RolePermissions::default()
        );
        let roles = role_permissions_from(Some("analyst=read".into())).unwrap();
        assert_eq!(roles.of(Some("analyst"), None), [Permission::Read].into());
        let error = role_permissions_from(Some("admin=everything".into()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ORGANIZATION_ROLE_PERMISSIONS") && error.contains("everything"),
            "{error}"
        );
    }

    #[test]
    fn rate_expressions_give_their_interval_and_others_none() {
        assert_eq!(rate_interval("rate(5 minutes)"), Some(Duration::minutes(5)));
        assert_eq!(rate_interval("rate(1 hour)"), Some(Duration::hours(1)));
        assert_eq!(rate_interval("rate(2 days)"), Some(Duration::days(2)));
        assert_eq!(rate_interval("rate(0 minutes)"), None);
        assert_eq!(rate_interval("cron(0/5 * * * ? *)"), None);
        assert_eq!(rate_interval("rate(5 fortnights)"), None);
    }
}

/// The report engine: its queue (`REPORT_QUEUE_URL`), bucket
/// (`REPORT_BUCKET`) and first status poll (`REPORT_POLL_SECONDS`, default
/// 60; each later wait doubles).
#[cfg(feature = "service")]
pub struct ReportSettings {
    pub queue_url: String,
    pub bucket: String,
    pub engine: crate::reports::EngineConfig,
}

#[cfg(feature = "service")]
pub fn reports() -> Result<ReportSettings, ConfigError> {
    let queue_url = base_url("REPORT_QUEUE_URL", &required("REPORT_QUEUE_URL")?)?;
    let bucket = required("REPORT_BUCKET")?;
    let named = bucket.len() >= 3
        && bucket.len() <= 63
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !named {
        return Err(ConfigError::Invalid {
            name: "REPORT_BUCKET",
            reason: "expected an S3 bucket name".into(),
        });
    }
    let mut engine = crate::reports::EngineConfig::default();
    if let Some(text) = optional("REPORT_POLL_SECONDS") {
        let seconds = text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=900).contains(n))
            .ok_or(ConfigError::Invalid {
                name: "REPORT_POLL_SECONDS",
                reason: "expected a whole number in 1..=900".into(),
            })?;
        engine.first_poll = std::time::Duration::from_secs(seconds);
    }
    Ok(ReportSettings {
        queue_url,
        bucket,
        engine,
    })
}
