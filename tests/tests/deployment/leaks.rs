//! Every function as Lambda runs it (its built binary behind the Runtime API
//! emulator), with the most verbose logging a deployer can configure
//! (`AWS_LAMBDA_LOG_LEVEL=TRACE`, `RUST_LOG=trace`): no invocation event, no
//! header, no body reaches the logs, so no bearer token, webhook signature,
//! Amazon code or state does either.

use std::time::Duration as StdDuration;

use adsconnect::clerk::svix;
use adsconnect::secrets::{Secret, SecretIds};
use adsconnect_dev::keys::SigningKey;
use adsconnect_dev::provision;
use adsconnect_dev::runtime_api::{Function, FunctionSpec};
use serde_json::{Value, json};

use super::*;

const USER: &str = "user_2verbose";
const CODE: &str = "ANverboseAmazonCode0123456789";
const STATE: &str = "qW2Xy7gD9Vb1NfR0hL4mT8sA6cE3kJ5pZ0uY2iOverb";

pub(super) fn sample(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("events").join(path)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// What every function is given: this stack's resources, Amazon at the
/// stand-in, and logging as verbose as configuration allows.
pub(super) fn environment(
    stack: &Stack,
    secret_ids: &SecretIds,
    public_pem: &str,
) -> Vec<(String, String)> {
    let amazon = stack.amazon_server.uri();
    let secrets = secret_ids
        .variables()
        .map(|(name, id)| (name.to_owned(), id.to_owned()));
    [
        ("AWS_ENDPOINT_URL", moto_endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("TABLE_NAME", stack.table.clone()),
        ("TOKEN_KEY_ID", stack.kms_key_id.clone()),
        ("REPORT_QUEUE_URL", stack.report_queue_url.clone()),
        ("REPORT_BUCKET", stack.report_bucket.clone()),
        ("CLERK_ISSUER", ISSUER.into()),
        ("CLERK_JWT_KEY", public_pem.into()),
        ("CLERK_API_URL", stack.clerk.uri()),
        ("AMAZON_REDIRECT_URI", REDIRECT_URI.into()),
        ("AMAZON_AUTH_URL_NA", format!("{amazon}/na/ap/oa")),
        ("AMAZON_TOKEN_URL", format!("{amazon}/auth/o2/token")),
        ("AMAZON_ADS_URL_NA", format!("{amazon}/na")),
        ("AMAZON_ADS_URL_EU", format!("{amazon}/eu")),
        ("AMAZON_ADS_URL_FE", format!("{amazon}/fe")),
        ("AMAZON_PROFILE_URL", format!("{amazon}/user/profile")),
        ("ALLOWED_RETURN_ORIGINS", APP_ORIGIN.into()),
        ("DEFAULT_RETURN_URL", DEFAULT_RETURN_URL.into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE".into()),
        ("RUST_LOG", "trace".into()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .chain(secrets)
    .collect()
}

#[tokio::test]
async fn the_most_verbose_logging_prints_no_event_header_or_body() {
    let stack = Stack::with_user(USER, "verbose@example.com").await;
    let secret_ids = provision::secret_ids(&format!("adsconnect/{}", stack.table));
    put_secrets(&secret_ids).await;
    let key = SigningKey::generate("ins_verbose").unwrap();
    let token = key.session_token(ISSUER, USER, "sess_2verbose", 600);
    let signature = token.rsplit('.').next().unwrap().to_owned();
    let bearer = format!("Bearer {token}");

    let mut authorizer = sample("auth-check/authorizer-request.json");
    authorizer["identitySource"] = json!([bearer]);
    authorizer["headers"]["authorization"] = json!(bearer);
    let mut me = sample("users/me.json");
    me["headers"]["authorization"] = json!(bearer);
    me["requestContext"]["authorizer"]["lambda"]["user_id"] = json!(USER);
    let body = user_event(
        "user.updated",
        &clerk_user(USER, "verbose-new@example.com", 5_000),
    )
    .to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let svix_signature = svix::signature_header(
        &Secret::new(WEBHOOK_SECRET),
        "msg_2verbose",
        timestamp,
        body.as_bytes(),
    )
    .unwrap();
    let mut webhook = sample("clerk-webhook/http-api-request.json");
    webhook["body"] = json!(body);
    webhook["headers"]["svix-id"] = json!("msg_2verbose");
    webhook["headers"]["svix-timestamp"] = json!(timestamp.to_string());
    webhook["headers"]["svix-signature"] = json!(svix_signature);
    let mut callback = sample("oauth-callback/callback.json");
    callback["rawQueryString"] = json!(format!("code={CODE}&state={STATE}"));
    callback["queryStringParameters"] = json!({"code": CODE, "state": STATE});

    let logs = std::env::temp_dir().join(format!("adsconnect-verbose-{}", stack.table));
    std::fs::create_dir_all(&logs).unwrap();
    let env = environment(&stack, &secret_ids, &key.public_pem);
    for (name, event) in [
        ("auth-check", &authorizer),
        ("users", &me),
        ("clerk-webhook", &webhook),
        ("oauth-callback", &callback),
    ] {
        let path = binary(name);
        assert!(
            path.exists(),
            "{} not built: scripts/test builds it first",
            path.display()
        );
        let spec = FunctionSpec {
            name: name.to_owned(),
            bootstrap: path,
            memory_mb: 256,
            timeout: StdDuration::from_secs(10),
            env: env.clone(),
            log: Some(logs.join(format!("{name}.log"))),
            runner: Vec::new(),
        };
        let mut function = Function::start(&spec).await.unwrap();
        let answer = function
            .call(event.to_string(), StdDuration::from_secs(20))
            .await
            .unwrap();
        answer.json().unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    let mut printed = String::new();
    for name in ["auth-check", "users", "clerk-webhook", "oauth-callback"] {
        let text = std::fs::read_to_string(logs.join(format!("{name}.log"))).unwrap();
        assert!(!text.trim().is_empty(), "{name} logged nothing at TRACE");
        printed.push_str(&text);
    }
    let _ = std::fs::remove_dir_all(&logs);
    for (what, secret) in [
        ("session token", token.as_str()),
        ("its signature", signature.as_str()),
        ("svix signature", svix_signature.as_str()),
        ("webhook secret", WEBHOOK_SECRET),
        ("Clerk secret key", CLERK_SECRET_KEY),
        (
            "Amazon client secret",
            adsconnect_dev::amazon_stub::CLIENT_SECRET,
        ),
        ("Amazon code", CODE),
        ("OAuth state", STATE),
        ("the webhook's body", "verbose-new@example.com"),
    ] {
        assert!(
            !printed.contains(secret),
            "{what} in the functions' logs at TRACE:\n{}",
            printed
                .lines()
                .filter(|line| line.contains(secret))
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
