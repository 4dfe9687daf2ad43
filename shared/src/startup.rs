//! Start-up, the one wiring every function's `main` and the tests use:
//! configuration → one SDK configuration, the secrets the function's
//! environment names (one Secrets Manager read each), and the services each
//! entrypoint serves with. Above the
//! entrypoints only in that it builds them: nothing in the library imports
//! it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::amazon::AmazonConfig;
use crate::amazon::ads::AdsApi;
use crate::amazon::lwa::Lwa;
use crate::amazon::paths::AllowRule;
use crate::aws_identity::roles::Role;
use crate::aws_identity::sts::Sts;
use crate::budget::AWS_CALL_TIMEOUT;
use crate::callers::Callers;
use crate::clerk::api::ClerkApi;
use crate::clerk::svix::SvixVerifier;
use crate::configuration::ReportSettings;
use crate::configuration::{self, ConfigError};
use crate::connections::access::Access;
use crate::connections::connect::ConnectService;
use crate::connections::manage::Manage;
use crate::connections::refresh::{RefreshConfig, Refresher};
use crate::connections::returns::ReturnPolicy;
use crate::entrypoints::BuildServices;
use crate::entrypoints::credentials::CredentialsServices;
use crate::entrypoints::http::{ProxyServices, UsersServices, WebhookServices};
use crate::entrypoints::stream::Publisher;
use crate::files::ReportFiles;
use crate::queue::ReportQueue;
use crate::reports::{ReportEngine, ReportService};
use crate::secrets::{SecretIds, Secrets};
use crate::store::Store;
use crate::tokens::TokenCipher;
use crate::users::quota::{QuotaLimits, Quotas};

/// Bounds every AWS call. The SDK's defaults bound only the connect, so a
/// dependency that accepts a call and never answers would hold a request
/// until the function's timeout and API Gateway's own error instead of our
/// 503: 2 s to connect, 2 s per attempt, [`AWS_CALL_TIMEOUT`] per call.
pub fn with_timeouts(sdk: SdkConfig) -> SdkConfig {
    sdk.into_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(AWS_CALL_TIMEOUT)
                .build(),
        )
        .build()
}

/// An S3 client for `sdk`: path-style addressing when an emulator stands
/// in for AWS (`AWS_ENDPOINT_URL`), whose one host has no bucket
/// subdomains.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let emulated = sdk.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(emulated)
            .build(),
    )
}

/// Read once per process: the AWS clients (one SDK configuration,
/// credentials and region resolved once, `AWS_ENDPOINT_URL` honoured), the
/// secrets, the table.
#[derive(Clone)]
pub struct Startup {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// For the clients only some functions use (S3 and SQS, built in
    /// [`Startup::reports`]): a client built here is linked into every
    /// function's bootstrap (about 1 MB for these two).
    pub sdk: SdkConfig,
    pub secrets: Secrets,
    pub table: String,
}

impl Startup {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let (sdk, mut startup) = Self::clients_from_env().await?;
        startup.secrets = Secrets::load(
            &aws_sdk_secretsmanager::Client::new(&sdk),
            &configuration::secret_ids(),
        )
        .await?;
        Ok(startup)
    }

    async fn clients_from_env() -> Result<(SdkConfig, Self), ConfigError> {
        let sdk = with_timeouts(
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(crate::tls::aws_http_client())
                // Lambda puts the role's credentials in the environment; the
                // default chain would also build STS, SSO and IMDS clients.
                .credentials_provider(
                    aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
                )
                .load()
                .await,
        );
        let startup = Self {
            dynamo: aws_sdk_dynamodb::Client::new(&sdk),
            kms: aws_sdk_kms::Client::new(&sdk),
            events: aws_sdk_eventbridge::Client::new(&sdk),
            sdk: sdk.clone(),
            secrets: Secrets::default(),
            table: configuration::table_name()?,
        };
        Ok((sdk, startup))
    }

    pub fn store(&self) -> Store {
        Store::new(self.dynamo.clone(), self.table.as_str())
    }

    /// A cipher with its own data-key cache (one per process).
    pub fn cipher(&self, key_id: &str) -> Arc<TokenCipher> {
        Arc::new(TokenCipher::new(self.kms.clone(), key_id.to_owned()))
    }

    pub fn connect(
        &self,
        cipher: Arc<TokenCipher>,
        amazon: &AmazonConfig,
        returns: ReturnPolicy,
    ) -> Result<ConnectService, ConfigError> {
        Ok(ConnectService {
            store: self.store(),
            cipher,
            lwa: Arc::new(Lwa::new(amazon)?),
            ads: Arc::new(AdsApi::new(amazon)),
            returns: Arc::new(returns),
            roles: Arc::default(),
        })
    }

    pub fn refresher(
        &self,
        cipher: Arc<TokenCipher>,
        amazon: &AmazonConfig,
        config: RefreshConfig,
    ) -> Result<Refresher, ConfigError> {
        Ok(Refresher {
            store: self.store(),
            cipher,
            lwa: Arc::new(Lwa::new(amazon)?),
            config,
        })
    }

    /// The users function's services: its consent service and refresher
    /// share one cipher and one Login with Amazon client.
    pub fn users(
        &self,
        clerk_api_url: String,
        connect: ConnectService,
        refresh: RefreshConfig,
        reports: ReportService,
    ) -> Result<UsersServices, ConfigError> {
        let secret_key = self.secrets.clerk_backend()?.secret_key.clone();
        let refresher = Refresher {
            store: self.store(),
            cipher: Arc::clone(&connect.cipher),
            lwa: Arc::clone(&connect.lwa),
            config: refresh,
        };
        Ok(UsersServices {
            store: self.store(),
            clerk: ClerkApi::new(clerk_api_url, secret_key),
            manage: Arc::new(Manage {
                store: self.store(),
                ads: Arc::clone(&connect.ads),
                refresher: Arc::new(refresher),
            }),
            connect: Arc::new(connect),
            quotas: self.quotas(Default::default()),
            reports: Arc::new(reports),
        })
    }

    /// The report routes (the users function): the queue and bucket of
    /// `settings`.
    pub fn reports(&self, settings: &ReportSettings) -> ReportService {
        ReportService {
            store: self.store(),
            files: Arc::new(ReportFiles::new(
                s3_client(&self.sdk),
                settings.bucket.clone(),
                (*crate::tls::Https).clone(),
            )),
            queue: ReportQueue::new(
                aws_sdk_sqs::Client::new(&self.sdk),
                settings.queue_url.clone(),
            ),
        }
    }

    /// The report engine (the worker): calls for accounts through
    /// `access`.
    pub fn report_engine(&self, access: Access, settings: &ReportSettings) -> ReportEngine {
        ReportEngine {
            reports: self.reports(settings),
            access: Arc::new(access),
            http: crate::tls::Https,
            config: settings.engine,
        }
    }

    /// `report-worker`.
    pub fn report_engine_from_env(&self) -> Result<ReportEngine, ConfigError> {
        Ok(self.report_engine(self.access_from_env()?, &configuration::reports()?))
    }

    /// Per-user quotas counted in the table.
    pub fn quotas(&self, limits: QuotaLimits) -> Arc<Quotas> {
        Arc::new(Quotas {
            store: self.store(),
            proxy: limits.proxy,
            writes: limits.writes,
        })
    }

    /// Credentials for accounts (the proxy, the credentials function): its
    /// own refresher, sharing the lease with every other.
    pub fn access(
        &self,
        cipher: Arc<TokenCipher>,
        amazon: &AmazonConfig,
        refresh: RefreshConfig,
    ) -> Result<Access, ConfigError> {
        let refresher = self.refresher(cipher, amazon, refresh)?;
        Ok(Access::new(
            self.store(),
            Arc::new(refresher),
            amazon.client_id.clone(),
            amazon.ads_urls.clone(),
        ))
    }

    pub fn proxy(&self, access: Access, allowed_paths: Vec<AllowRule>) -> ProxyServices {
        ProxyServices {
            access: Arc::new(access),
            http: crate::tls::Https,
            allowed_paths: allowed_paths.into(),
            quotas: self.quotas(Default::default()),
            roles: Arc::default(),
        }
    }

    pub fn webhook(&self) -> Result<WebhookServices, ConfigError> {
        let webhook = self.secrets.clerk_webhook()?;
        Ok(WebhookServices {
            store: self.store(),
            verifier: Arc::new(SvixVerifier::new(&webhook.signing_secrets)?),
        })
    }

    // From the configuration, as each function reads it.

    /// `oauth-start`, `oauth-callback` (and the users function's
    /// re-authorization).
    pub fn connect_from_env(&self) -> Result<ConnectService, ConfigError> {
        let cipher = self.cipher(&configuration::token_key_id()?);
        let amazon = configuration::amazon(&self.secrets)?;
        Ok(ConnectService {
            roles: Arc::new(configuration::organization_role_permissions()?),
            ..self.connect(cipher, &amazon, configuration::return_policy()?)?
        })
    }

    pub fn refresher_from_env(&self) -> Result<Refresher, ConfigError> {
        let cipher = self.cipher(&configuration::token_key_id()?);
        let amazon = configuration::amazon_for_refresh(&self.secrets)?;
        self.refresher(cipher, &amazon, configuration::refresh()?)
    }

    /// `events-publisher`.
    pub fn publisher_from_env(&self) -> Publisher {
        Publisher {
            store: self.store(),
            events: self.events.clone(),
            bus: configuration::event_bus(),
        }
    }

    /// `ads-proxy` and `credentials`.
    pub fn access_from_env(&self) -> Result<Access, ConfigError> {
        let cipher = self.cipher(&configuration::token_key_id()?);
        let amazon = configuration::amazon_for_refresh(&self.secrets)?;
        self.access(cipher, &amazon, configuration::refresh()?)
    }

    /// `credentials`: its tokens, for the listed roles that prove
    /// themselves through `sts`.
    pub fn credentials(&self, access: Access, listed: Vec<Role>, sts: Sts) -> CredentialsServices {
        CredentialsServices {
            callers: Callers {
                listed: listed.into(),
                sts,
                store: self.store(),
            },
            access,
        }
    }

    pub fn credentials_from_env(&self) -> Result<CredentialsServices, ConfigError> {
        let listed = configuration::credentials_callers()?;
        let sts = configuration::sts()?;
        Ok(self.credentials(self.access_from_env()?, listed, sts))
    }

    pub fn proxy_from_env(&self) -> Result<ProxyServices, ConfigError> {
        let allowed = configuration::proxy_allowed_paths()?;
        Ok(ProxyServices {
            quotas: self.quotas(configuration::quota_limits()?),
            roles: Arc::new(configuration::organization_role_permissions()?),
            ..self.proxy(self.access_from_env()?, allowed)
        })
    }

    pub fn users_from_env(&self) -> Result<UsersServices, ConfigError> {
        Ok(UsersServices {
            quotas: self.quotas(configuration::quota_limits()?),
            ..self.users(
                configuration::clerk_api_url()?,
                self.connect_from_env()?,
                configuration::refresh()?,
                self.reports(&configuration::reports()?),
            )?
        })
    }
}

/// A function's services from init to its first event. Init (`defer`)
/// reads the configuration and builds every service once against
/// placeholder secrets, so a missing or malformed setting still stops the
/// function at start-up, naming it; it makes no AWS call. The first event
/// (`crate::entrypoints::OnFirstEvent`) reads the secrets and builds the services for
/// real. Reading the secrets during init (one Secrets Manager call and the
/// TLS set-up of the SDK's first connection) was most of every SDK
/// function's cold start, and a failed read crashed the environment, so API
/// Gateway answered a bare 500; now that event gets a 503 with
/// `Retry-After` and the next one tries again.
pub struct Deferred<S> {
    startup: Startup,
    secrets: Option<(aws_sdk_secretsmanager::Client, SecretIds)>,
    build: fn(&Startup) -> Result<S, ConfigError>,
}

impl Startup {
    pub async fn defer<S>(
        build: fn(&Startup) -> Result<S, ConfigError>,
    ) -> Result<Deferred<S>, ConfigError> {
        let (sdk, startup) = Self::clients_from_env().await?;
        // Only the secrets the environment names get a placeholder, so a
        // builder that needs another fails here, naming its variable.
        let secret_ids = configuration::secret_ids();
        build(&Self {
            secrets: Secrets::placeholders(&secret_ids),
            ..startup.clone()
        })?;
        Ok(Deferred {
            startup,
            secrets: Some((aws_sdk_secretsmanager::Client::new(&sdk), secret_ids)),
            build,
        })
    }

    /// For `events-publisher`, which uses no secret.
    pub async fn defer_without_secrets<S>(
        build: fn(&Startup) -> Result<S, ConfigError>,
    ) -> Result<Deferred<S>, ConfigError> {
        let (_, startup) = Self::clients_from_env().await?;
        build(&startup)?;
        Ok(Deferred {
            startup,
            secrets: None,
            build,
        })
    }
}

impl<S> BuildServices<S> for Deferred<S> {
    async fn build(&self) -> Result<S, ConfigError> {
        match &self.secrets {
            // Boxed: the SDK calls' futures nested inline made a function's
            // `main` deeper than rustc's default query depth.
            Some((client, secret_ids)) => (self.build)(&Startup {
                secrets: Box::pin(Secrets::load(client, secret_ids)).await?,
                ..self.startup.clone()
            }),
            None => (self.build)(&self.startup),
        }
    }
}
