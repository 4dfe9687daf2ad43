//! `adsconnect-dev`: the local stack's control program.
//!
//! - `provision`: creates the table, KMS key, secrets, report queue and
//!   bucket, and dev Clerk key in moto
//! - `serve`: every function behind the local HTTP API on 127.0.0.1:3000
//!   (the table's stream delivered to events-publisher, the report queue to
//!   report-worker), and a stand-in for Login with Amazon and the Ads API on
//!   127.0.0.1:3001
//! - `token [user_id] [session_id] [ttl_seconds]`: prints a dev session token
//!   (default and longest: `MAX_TOKEN_LIFETIME_SECONDS`, 10 minutes)
//! - `webhook <event.json>`: signs a Clerk event and posts it to the local API
//! - `signed-event <event.json>`: prints the HTTP API event that delivers a
//!   correctly signed Clerk event to `clerk-webhook` (for `cargo lambda invoke`)
//! - `refresh`: one token-refresher run, as the schedule would start it
//! - `openapi`: prints the OpenAPI document (`scripts/openapi` commits it)
//! - `emulate [work dir]`: every function under `cargo lambda watch`, every
//!   sample in `events/` sent with `cargo lambda invoke` and its answer
//!   checked (see `emulate.rs`; `scripts/lambda-emulation` runs it)
//!
//! Configuration comes from the same environment variables as on AWS, plus
//! `DEV_DIR` (where the dev key lives) and `LOCAL_API_ADDR`; see
//! `scripts/dev`, which sets them all.

mod dev_logins;
mod emulate;
mod sam_env;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use adsconnect::auth::{MAX_TOKEN_LIFETIME_SECONDS, SessionVerifier};
use adsconnect::clerk::svix;
use adsconnect::configuration;
use adsconnect::startup::Startup;
use adsconnect_dev::amazon_stub::{self, AmazonWorld};
use adsconnect_dev::keys::{DEV_KID, SigningKey};
use adsconnect_dev::local_api::{DevTokens, LocalApi};
use adsconnect_dev::{BoxError, backend_proof, provision};
use serde_json::json;

#[tokio::main]
async fn main() {
    adsconnect::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("provision") => provision_stack().await,
        Some("serve") => serve().await,
        Some("token") => token(&args[1..]),
        Some("webhook") => webhook(&args[1..]).await,
        Some("refresh") => refresh().await,
        Some("signed-event") => signed_event(&args[1..]).await,
        Some("emulate") => emulate::run(&args[1..]).await,
        Some("proxy") => proxy(&args[1..]).await,
        Some("credentials") => credentials(&args[1..]).await,
        Some("openapi") => openapi(),
        Some("sam-env") => sam_env::print(&args[1..]),
        _ => Err("usage: adsconnect-dev provision | serve | openapi | sam-env [--host HOST] | token [user_id] [session_id] [ttl] | webhook <event.json> | signed-event <event.json> | refresh | emulate [work dir] | proxy <account_id> <METHOD> <ads path> [content-type body] | credentials <user_id> <account_id>".into()),
    };
    if let Err(error) = result {
        eprintln!("adsconnect-dev: {error}");
        std::process::exit(1);
    }
}

/// The OpenAPI document the code serves, as committed in `web/openapi.json`.
fn openapi() -> Result<(), BoxError> {
    println!(
        "{}",
        serde_json::to_string_pretty(adsconnect::entrypoints::http::openapi::document())?
    );
    Ok(())
}

fn dev_dir() -> PathBuf {
    PathBuf::from(configuration::optional("DEV_DIR").unwrap_or_else(|| ".dev".into()))
}

fn dev_key() -> Result<SigningKey, BoxError> {
    SigningKey::load_or_generate(&dev_dir().join("clerk-dev-key.pem"), DEV_KID)
}

fn emulator() -> Result<aws_config::SdkConfig, BoxError> {
    Ok(provision::emulator_config(&configuration::required(
        "AWS_ENDPOINT_URL",
    )?))
}

async fn provision_stack() -> Result<(), BoxError> {
    println!("{}", provision_resources().await?);
    Ok(())
}

/// Creates what `provision` creates; says what it did.
async fn provision_resources() -> Result<String, BoxError> {
    let sdk = emulator()?;
    let table = configuration::required("TABLE_NAME")?;
    let created = provision::ensure_table(
        &aws_sdk_dynamodb::Client::new(&sdk),
        &table,
        adsconnect_dev::template::WithStream::Yes,
    )
    .await?;
    let key_alias = configuration::required("TOKEN_KEY_ID")?;
    provision::ensure_kms_key(&aws_sdk_kms::Client::new(&sdk), &key_alias).await?;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let ids = provision::local_secret_ids()?;
    // Keep the webhook secret across restarts so saved tooling keeps working.
    let existing = provision::webhook_secrets(&secrets, &ids).await.ok();
    let webhook_secret =
        existing.map_or_else(provision::new_webhook_secret, |s| s.expose().to_owned());
    let values = provision::SecretValues {
        clerk_secret_key: "sk_test_local_dev",
        clerk_webhook_secret: &webhook_secret,
        amazon_client_id: amazon_stub::CLIENT_ID,
        amazon_client_secret: amazon_stub::CLIENT_SECRET,
    };
    provision::put_secrets(&secrets, &ids, &values).await?;
    // Named by the variables the functions read (the queue by its URL's
    // last segment).
    let queue_url = configuration::required("REPORT_QUEUE_URL")?;
    provision::ensure_report_queue(
        &aws_sdk_sqs::Client::new(&sdk),
        provision::queue_name(&queue_url)?,
    )
    .await?;
    let bucket = configuration::required("REPORT_BUCKET")?;
    provision::ensure_report_bucket(&adsconnect::startup::s3_client(&sdk), &bucket).await?;
    let key = dev_key()?;
    std::fs::write(dev_dir().join("clerk-dev-key.pub.pem"), &key.public_pem)?;
    Ok(format!(
        "provisioned: table {table} ({}), KMS key {key_alias}, secrets {}, report queue {queue_url}, report bucket {bucket}, dev Clerk key {}",
        if created { "created" } else { "existed" },
        ids.variables()
            .map(|(_, id)| id)
            .collect::<Vec<_>>()
            .join(", "),
        dev_dir().join("clerk-dev-key.pem").display()
    ))
}

async fn serve() -> Result<(), BoxError> {
    // Login with Amazon and the Ads API, stood in for (see amazon_stub).
    let stub_addr =
        configuration::optional("AMAZON_STUB_ADDR").unwrap_or_else(|| "127.0.0.1:3001".into());
    let amazon = AmazonWorld::default();
    amazon.add_login("dev", dev_logins::dev_login());
    amazon.add_login("agency", dev_logins::dev_agency_login());
    let _stub = amazon
        .serve(Some(std::net::TcpListener::bind(&stub_addr)?))
        .await;
    println!("Amazon stand-in listening on http://{stub_addr}");
    let verifier = SessionVerifier::new(configuration::verifier()?)?;
    // Built as each function's `main` builds it; the two OAuth functions
    // share one process here.
    let startup = Startup::from_env().await?;
    let connect = Arc::new(startup.connect_from_env()?);
    let api = LocalApi {
        verifier: Arc::new(verifier),
        users: adsconnect::entrypoints::http::users_router(startup.users_from_env()?),
        clerk_webhook: adsconnect::entrypoints::http::webhook_router(startup.webhook()?),
        oauth_start: adsconnect::entrypoints::http::start_router(Arc::clone(&connect)),
        oauth_callback: adsconnect::entrypoints::http::callback_router(connect),
        ads_proxy: adsconnect::entrypoints::http::proxy_router(startup.proxy_from_env()?),
        cors_origins: comma_list("ALLOWED_RETURN_ORIGINS"),
        dev_tokens: comma_list("CLERK_AUTHORIZED_PARTIES")
            .into_iter()
            .next()
            .map(|authorized_party| -> Result<_, BoxError> {
                Ok(Arc::new(DevTokens {
                    key: dev_key()?,
                    issuer: configuration::required("CLERK_ISSUER")?,
                    authorized_party,
                }))
            })
            .transpose()?,
    };
    // The table's stream into events-publisher, as Lambda's event source
    // mapping does it: committed audit events reach the emulator's EventBridge.
    let sdk = emulator()?;
    let mut pump = adsconnect_dev::stream::StreamPump::attach(
        &aws_sdk_dynamodb::Client::new(&sdk),
        aws_sdk_dynamodbstreams::Client::new(&sdk),
        &configuration::required("TABLE_NAME")?,
    )
    .await?;
    let publisher = startup.publisher_from_env();
    tokio::spawn(async move {
        loop {
            if let Err(e) = pump.pump(&publisher).await {
                eprintln!("lifecycle events: the stream could not be read: {e}");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
    // The report queue into report-worker, as Lambda's event source mapping
    // does it; a failed step comes back in 30 s here (the template's queue
    // hides it for 90 minutes).
    let reports = Arc::new(startup.report_engine_from_env()?);
    let delivery = adsconnect_dev::queue::QueueDelivery::attach(
        aws_sdk_sqs::Client::new(&sdk),
        &configuration::required("REPORT_QUEUE_URL")?,
    )
    .await?
    .with_visibility_timeout(std::time::Duration::from_secs(30));
    // The report schedules' run: hourly in the template, each minute here.
    let schedules = reports.reports.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = schedules.run_due_schedules(chrono::Utc::now(), None).await {
                eprintln!("report schedules: the run failed: {e}");
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    });
    tokio::spawn(delivery.run(
        move |event| {
            let reports = Arc::clone(&reports);
            async move { adsconnect::entrypoints::queue::handle(&reports, &event).await }
        },
        std::time::Duration::from_secs(1),
    ));
    let addr = configuration::optional("LOCAL_API_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("local HTTP API listening on http://{addr}");
    axum::serve(listener, api.into_router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn token(args: &[String]) -> Result<(), BoxError> {
    let user = args.first().map_or("user_dev", String::as_str);
    let session = args.get(1).map_or("sess_dev", String::as_str);
    let ttl: i64 = args
        .get(2)
        .map_or(Ok(MAX_TOKEN_LIFETIME_SECONDS), |t| t.parse())?;
    if !(1..=MAX_TOKEN_LIFETIME_SECONDS).contains(&ttl) {
        return Err(format!(
            "ttl must be 1 to {MAX_TOKEN_LIFETIME_SECONDS} s: the verifier refuses longer-lived tokens"
        )
        .into());
    }
    println!("{}", dev_token(user, session, ttl)?);
    Ok(())
}

/// A session token of the dev Clerk key for `CLERK_ISSUER`, for the
/// dashboard's origin when authorized parties are configured.
fn dev_token(user: &str, session: &str, ttl: i64) -> Result<String, BoxError> {
    let issuer = configuration::required("CLERK_ISSUER")?;
    let key = dev_key()?;
    Ok(match comma_list("CLERK_AUTHORIZED_PARTIES").first() {
        Some(azp) => key.session_token_for(&issuer, user, session, ttl, azp),
        None => key.session_token(&issuer, user, session, ttl),
    })
}

fn comma_list(name: &'static str) -> Vec<String> {
    configuration::optional(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn refresh() -> Result<(), BoxError> {
    let refresher = Startup::from_env().await?.refresher_from_env()?;
    let deadline = chrono::Utc::now().timestamp_millis() as u64 + 300_000;
    let summary = refresher.scheduled(deadline).await?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// Svix headers (id, timestamp, signature) for `body`, signed with the
/// stack's webhook secret.
async fn sign(body: &[u8]) -> Result<(String, i64, String), BoxError> {
    let sdk = emulator()?;
    let secret = provision::webhook_secrets(
        &aws_sdk_secretsmanager::Client::new(&sdk),
        &provision::local_secret_ids()?,
    )
    .await?;
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let timestamp = chrono::Utc::now().timestamp();
    let signature = svix::signature_header(&secret, &id, timestamp, body)
        .ok_or("webhook secret is not base64")?;
    Ok((id, timestamp, signature))
}

async fn signed_event(args: &[String]) -> Result<(), BoxError> {
    let path = args
        .first()
        .ok_or("usage: adsconnect-dev signed-event <event.json>")?;
    println!("{}", signed_event_for(Path::new(path)).await?);
    Ok(())
}

/// The HTTP API event that delivers the Clerk event in `path`, signed.
async fn signed_event_for(path: &Path) -> Result<serde_json::Value, BoxError> {
    let body = std::fs::read(path)?;
    let (id, timestamp, signature) = sign(&body).await?;
    let request = adsconnect_dev::apigw::ClientRequest::new("POST", "/webhooks/clerk")
        .raw_json(body)
        .header("svix-id", &id)
        .header("svix-timestamp", &timestamp.to_string())
        .header("svix-signature", &signature);
    Ok(request.http_api_event("POST /webhooks/clerk", None))
}

async fn webhook(args: &[String]) -> Result<(), BoxError> {
    let path = args
        .first()
        .ok_or("usage: adsconnect-dev webhook <event.json>")?;
    let body = std::fs::read(path)?;
    let (id, timestamp, signature) = sign(&body).await?;
    let addr = configuration::optional("LOCAL_API_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
    let response = adsconnect::tls::http_client()
        .build()?
        .post(format!("http://{addr}/webhooks/clerk"))
        .header("content-type", "application/json")
        .header("svix-id", &id)
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", signature)
        .body(body)
        .send()
        .await?;
    println!("{} {}", response.status(), response.text().await?);
    Ok(())
}

/// An Ads API call through the local stack's proxy, as `user_dev`.
async fn proxy(args: &[String]) -> Result<(), BoxError> {
    let [account, method, path, rest @ ..] = args else {
        return Err("usage: proxy <account_id> <METHOD> <ads path> [content-type body]".into());
    };
    let addr = configuration::optional("LOCAL_API_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
    let url = format!(
        "http://{addr}/api/v1/accounts/{account}/ads/{}",
        path.trim_start_matches('/')
    );
    let mut request = reqwest::Client::new()
        .request(method.parse()?, url)
        .bearer_auth(dev_token("user_dev", "sess_dev", 300)?);
    if let [content_type, body] = rest {
        request = request
            .header("content-type", content_type)
            .header("accept", content_type)
            .body(body.clone());
    }
    let response = request.send().await?;
    println!("{}", response.status());
    println!("{}", response.text().await?);
    Ok(())
}

/// What the credentials function answers for one account (as a backend
/// invoking it would get it; the access token included): signed by a
/// session of the first role of `CREDENTIALS_CALLERS`, from moto's STS.
async fn credentials(args: &[String]) -> Result<(), BoxError> {
    let [user, account] = args else {
        return Err("usage: credentials <user_id> <account_id>".into());
    };
    let services = Startup::from_env().await?.credentials_from_env()?;
    let sts = configuration::required("AWS_ENDPOINT_URL")?;
    let callers = configuration::required("CREDENTIALS_CALLERS")?;
    let role = callers.split(',').next().unwrap_or_default().trim();
    let session = backend_proof::assume_role(&sts, role).await?;
    let proof = backend_proof::sign_proof(
        session,
        &sts,
        &format!("{user}/{account}"),
        backend_proof::GET_CALLER_IDENTITY,
        std::time::SystemTime::now(),
    )?;
    match adsconnect::entrypoints::credentials::vend(
        &services,
        json!({"owner_id": user, "account_id": account, "proof": proof}),
    )
    .await
    {
        Ok(granted) => println!("{}", serde_json::to_string_pretty(&granted)?),
        Err(failure) => return Err(format!("{}: {}", failure.code, failure.message).into()),
    }
    Ok(())
}
