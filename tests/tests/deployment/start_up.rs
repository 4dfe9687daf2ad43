//! The built functions as Lambda starts them (behind the Runtime API
//! emulator): init reads configuration and makes no AWS call; its secrets
//! are read on the first event; while they cannot be, that event gets a
//! 503 with `Retry-After` and the next one tries again; events-publisher
//! starts with nothing but the variables the template gives it.

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use adsconnect_dev::keys::SigningKey;
use adsconnect_dev::provision;
use adsconnect_dev::runtime_api::{Function, FunctionSpec};
use serde_json::{Value, json};

use super::leaks::{environment, sample};
use super::*;

const USER: &str = "user_2startup";
const WAIT: StdDuration = StdDuration::from_secs(20);

fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

#[tokio::test]
async fn init_makes_no_aws_call_and_the_secret_is_read_on_the_first_event_once_it_can_be() {
    let stack = Stack::with_user(USER, "startup@example.com").await;
    // Not created yet: the first request finds no secret.
    let secret_ids = provision::secret_ids(&format!("adsconnect/startup-{}", stack.table));
    let aws = proxy::MotoProxy::start(&moto_endpoint()).await.unwrap();
    let key = SigningKey::generate("ins_startup").unwrap();
    let mut env = environment(&stack, &secret_ids, &key.public_pem);
    env.retain(|(name, _)| name != "RUST_LOG" && name != "AWS_LAMBDA_LOG_LEVEL");
    for (name, value) in &mut env {
        if name == "AWS_ENDPOINT_URL" {
            value.clone_from(&aws.endpoint);
        }
    }
    let logs = std::env::temp_dir().join(format!("adsconnect-startup-{}", stack.table));
    std::fs::create_dir_all(&logs).unwrap();
    let spec = FunctionSpec {
        name: "users".into(),
        bootstrap: binary("users"),
        memory_mb: 256,
        timeout: StdDuration::from_secs(10),
        env,
        log: Some(logs.join("users.log")),
        runner: Vec::new(),
    };
    let mut me = sample("users/me.json");
    me["requestContext"]["authorizer"]["lambda"]["user_id"] = json!(USER);

    let mut users = Function::start(&spec).await.unwrap();
    let first = users.call(me.to_string(), WAIT).await.unwrap();
    let initialised = users.api().polls().first.unwrap();
    assert_eq!(
        aws.calls_before(initialised),
        Vec::<String>::new(),
        "AWS calls during init"
    );
    let first = first.json().unwrap();
    assert_eq!(first["statusCode"], 503, "{first}");
    assert_eq!(first["headers"]["retry-after"], "1", "{first}");
    assert_eq!(body(&first)["error"]["code"], "DEPENDENCY_UNAVAILABLE");
    assert!(
        aws.calls_before(Instant::now())
            .contains(&"secretsmanager.GetSecretValue".to_owned()),
        "the first event reads the secret"
    );

    put_secrets(&secret_ids).await;
    let second = users
        .call(me.to_string(), WAIT)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(second["statusCode"], 200, "{second}");
    assert_eq!(body(&second)["id"], USER);

    aws.clear();
    let third = users
        .call(me.to_string(), WAIT)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(third["statusCode"], 200, "{third}");
    assert_eq!(
        aws.calls_before(Instant::now()),
        vec!["DynamoDB_20120810.GetItem".to_owned()],
        "once read, the secret is not read again"
    );
}

/// Only what `template.yaml` sets for it (it names no secret and may read
/// none), as on AWS.
#[tokio::test]
async fn events_publisher_starts_with_only_its_template_variables() {
    let stack = Stack::new().await;
    let local: HashMap<String, String> = [
        ("TABLE_NAME", stack.table.clone()),
        ("EVENT_BUS_NAME", "default".to_owned()),
        ("AWS_ENDPOINT_URL", moto_endpoint()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut spec =
        FunctionSpec::from_template("events-publisher", binary("events-publisher"), &local)
            .unwrap();
    assert!(
        spec.env
            .iter()
            .all(|(name, _)| !name.ends_with("_SECRET_ID"))
    );
    spec.env.extend([
        ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()),
    ]);
    let mut publisher = Function::start(&spec).await.unwrap();
    let answer = publisher
        .call(
            sample("events-publisher/stream-batch.json").to_string(),
            WAIT,
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
}
