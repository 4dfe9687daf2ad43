//! Secrets split by use. From `template.yaml`: each function's role may read
//! exactly the secrets it uses, each named by its own variable. At run time
//! (the built functions behind the Runtime API emulator, with only the
//! variables the template gives them): each works with its own secrets and
//! stops, naming the variable, without one of them or with another
//! function's secret in its place. Rotations: the webhook's secret with the
//! old and new `whsec_` values accepts both, and a rotated Amazon client
//! secret reaches a new process while a running one keeps what it read.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant};

use adsconnect::clerk::svix;
use adsconnect::secrets::{
    AMAZON_CLIENT_SECRET_ID, CLERK_BACKEND_SECRET_ID, CLERK_WEBHOOK_SECRET_ID, Secret, SecretIds,
};
use adsconnect_dev::amazon_stub;
use adsconnect_dev::keys::SigningKey;
use adsconnect_dev::provision;
use adsconnect_dev::runtime_api::{Function, FunctionSpec};
use serde_json::{Value, json};

use super::leaks::{environment, sample};
use super::*;

const WAIT: StdDuration = StdDuration::from_secs(20);

/// Which secrets each function uses (see `Startup`'s builders): Clerk's
/// Backend API only in users, the webhook's signing secrets only in
/// clerk-webhook, the Amazon client wherever Login with Amazon or the Ads
/// API is called (users syncs and refreshes, the report worker refreshes).
const USES: [(&str, &[&str]); 10] = [
    ("auth-check", &[]),
    ("users", &["AmazonClientSecret", "ClerkBackendSecret"]),
    ("clerk-webhook", &["ClerkWebhookSecret"]),
    ("oauth-start", &["AmazonClientSecret"]),
    ("oauth-callback", &["AmazonClientSecret"]),
    ("token-refresher", &["AmazonClientSecret"]),
    ("ads-proxy", &["AmazonClientSecret"]),
    ("credentials", &["AmazonClientSecret"]),
    ("events-publisher", &[]),
    ("report-worker", &["AmazonClientSecret"]),
];

/// Each secret: the variable that names it and the keys it holds.
const SECRETS: [(&str, &str, &[&str]); 3] = [
    (
        "ClerkBackendSecret",
        CLERK_BACKEND_SECRET_ID,
        &["clerk_secret_key"],
    ),
    (
        "ClerkWebhookSecret",
        CLERK_WEBHOOK_SECRET_ID,
        &["clerk_webhook_secret"],
    ),
    (
        "AmazonClientSecret",
        AMAZON_CLIENT_SECRET_ID,
        &["amazon_client_id", "amazon_client_secret"],
    ),
];

/// The first event each function is started with.
const FIRST_EVENTS: [(&str, &str); 8] = [
    ("users", "users/health.json"),
    ("clerk-webhook", "clerk-webhook/http-api-request.json"),
    ("oauth-start", "oauth-start/connect.json"),
    ("oauth-callback", "oauth-callback/callback.json"),
    ("token-refresher", "token-refresher/scheduled-event.json"),
    ("ads-proxy", "ads-proxy/campaigns-list.json"),
    ("credentials", "credentials/account.json"),
    ("report-worker", "report-worker/sqs-event.json"),
];

/// The template as JSON: a tag reads `{"!Ref": "Name"}`.
fn template_json() -> Value {
    serde_json::to_value(adsconnect_dev::template::load_template().unwrap()).unwrap()
}

fn ref_target(value: &Value) -> Option<&str> {
    value.get("!Ref").and_then(Value::as_str)
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[test]
fn each_function_may_read_exactly_the_secrets_it_uses_each_named_by_its_variable() {
    let template = template_json();
    let resources = template["Resources"].as_object().unwrap();
    let variable_of: HashMap<&str, &str> = SECRETS.iter().map(|(id, var, _)| (*id, *var)).collect();
    let mut seen = BTreeSet::new();
    for (_, resource) in resources {
        let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() else {
            continue;
        };
        let uses: BTreeSet<&str> = USES
            .iter()
            .find(|(name, _)| *name == binary)
            .unwrap_or_else(|| panic!("{binary}: not in USES"))
            .1
            .iter()
            .copied()
            .collect();
        seen.insert(binary);
        let properties = &resource["Properties"];

        let mut named = BTreeSet::new();
        if let Some(variables) = properties["Environment"]["Variables"].as_object() {
            for (name, value) in variables {
                let name = name.as_str();
                if !name.ends_with("_SECRET_ID") {
                    continue;
                }
                let target = ref_target(value).unwrap_or_else(|| panic!("{binary}: {name}"));
                assert_eq!(variable_of.get(target), Some(&name), "{binary}: {name}");
                named.insert(target);
            }
        }

        let mut readable = BTreeSet::new();
        for policy in properties["Policies"].as_array().into_iter().flatten() {
            let Some(statements) = policy["Statement"].as_array() else {
                // A SAM policy template or a managed policy: none may grant a secret.
                let text = policy.to_string().to_lowercase();
                assert!(!text.contains("secret"), "{binary}: {text}");
                continue;
            };
            for statement in statements {
                let actions: Vec<&str> = one_or_many(&statement["Action"])
                    .into_iter()
                    .filter_map(Value::as_str)
                    .collect();
                if !actions.iter().any(|a| a.starts_with("secretsmanager:")) {
                    continue;
                }
                assert_eq!(actions, ["secretsmanager:GetSecretValue"], "{binary}");
                for resource in one_or_many(&statement["Resource"]) {
                    let target = ref_target(resource)
                        .unwrap_or_else(|| panic!("{binary}: a secret by !Ref, not {resource:?}"));
                    readable.insert(target);
                }
            }
        }
        assert_eq!(named, uses, "{binary}: the secrets its environment names");
        assert_eq!(readable, uses, "{binary}: the secrets its role may read");
    }
    assert_eq!(
        seen,
        USES.iter().map(|(name, _)| *name).collect(),
        "every function in USES, and only those"
    );

    for (id, _, keys) in SECRETS {
        let secret = &resources[id];
        assert_eq!(secret["Type"], "AWS::SecretsManager::Secret", "{id}");
        let value: serde_json::Map<String, Value> =
            serde_json::from_str(secret["Properties"]["SecretString"].as_str().unwrap()).unwrap();
        assert_eq!(
            value.keys().map(String::as_str).collect::<Vec<_>>(),
            keys.iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>(),
            "{id}: exactly its keys"
        );
    }
}

/// What a function printed and answered on its first event.
struct FirstEvent {
    /// Whether the process answered at all (with a response or an error).
    answered: bool,
    /// The response, if it was JSON.
    answer: Option<Value>,
    log: String,
}

impl FirstEvent {
    /// The start-up failure line naming `variable`, if any.
    fn start_up_failure(&self, variable: &str) -> Option<&str> {
        self.log
            .lines()
            .find(|line| line.contains("start-up failed") && line.contains(variable))
    }
}

/// A stack and its three secrets, and how each function starts on it.
struct Deployment {
    _stack: Stack,
    ids: SecretIds,
    local: HashMap<String, String>,
    logs: PathBuf,
}

impl Deployment {
    async fn new(name: &str) -> Self {
        // The user the sample events sign in as.
        let stack = Stack::with_user("user_dev", "dev@example.com").await;
        let ids = provision::secret_ids(&format!("adsconnect/{name}-{}", stack.table));
        put_secrets(&ids).await;
        let key = SigningKey::generate("ins_secrets").unwrap();
        let local: HashMap<String, String> = environment(&stack, &ids, &key.public_pem)
            .into_iter()
            .collect();
        let logs = std::env::temp_dir().join(format!("adsconnect-{name}-{}", stack.table));
        std::fs::create_dir_all(&logs).unwrap();
        Self {
            _stack: stack,
            ids,
            local,
            logs,
        }
    }

    /// `binary` with the variables `template.yaml` gives it, and the
    /// credentials and endpoint Lambda and the local stack add.
    fn spec(&self, binary_name: &str, run: &str) -> FunctionSpec {
        let mut spec =
            FunctionSpec::from_template(binary_name, binary(binary_name), &self.local).unwrap();
        for name in [
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            spec.env.push((name.to_owned(), self.local[name].clone()));
        }
        // The backends credentials may serve: a deployer must list them.
        if binary_name == "credentials" && !spec.env.iter().any(|(n, _)| n == "CREDENTIALS_CALLERS")
        {
            spec.env.push((
                "CREDENTIALS_CALLERS".into(),
                "arn:aws:iam::123456789012:role/backend".into(),
            ));
        }
        spec.log = Some(self.logs.join(format!("{binary_name}-{run}.log")));
        spec
    }

    async fn first_event(&self, spec: &FunctionSpec, event: &Value) -> FirstEvent {
        let mut function = Function::start(spec).await.unwrap();
        let answer = function.call(event.to_string(), WAIT).await;
        drop(function);
        FirstEvent {
            answered: answer.is_ok(),
            answer: answer.ok().and_then(|a| a.json().ok()),
            log: std::fs::read_to_string(spec.log.as_ref().unwrap()).unwrap_or_default(),
        }
    }

    /// Another secret's id, one that lacks every key `variable`'s holds.
    fn other_secret(&self, variable: &str) -> String {
        let ids: HashMap<&str, &str> = self.ids.variables().collect();
        let other = match variable {
            CLERK_BACKEND_SECRET_ID => AMAZON_CLIENT_SECRET_ID,
            AMAZON_CLIENT_SECRET_ID => CLERK_WEBHOOK_SECRET_ID,
            _ => CLERK_BACKEND_SECRET_ID,
        };
        ids[other].to_owned()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

fn secret_variables(spec: &FunctionSpec) -> Vec<String> {
    spec.env
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| name.ends_with("_SECRET_ID"))
        .collect()
}

#[tokio::test]
async fn each_function_starts_with_only_its_secrets_and_stops_naming_the_variable_without_them() {
    let deployment = Deployment::new("split").await;
    for (name, event) in FIRST_EVENTS {
        let event = sample(event);
        let spec = deployment.spec(name, "own");
        let variables = secret_variables(&spec);
        assert!(!variables.is_empty(), "{name} names no secret");

        let own = deployment.first_event(&spec, &event).await;
        assert!(
            !own.log.contains("start-up failed"),
            "{name} with its own secrets:\n{}",
            own.log
        );
        assert!(own.answered, "{name} did not answer:\n{}", own.log);
        if let Some(answer) = own.answer {
            assert_ne!(answer["statusCode"], 503, "{name}: {answer}");
        }

        for variable in &variables {
            // Unset: init stops, naming it.
            let mut without = deployment.spec(name, &format!("without-{variable}"));
            without.env.retain(|(n, _)| n != variable);
            let run = deployment.first_event(&without, &event).await;
            assert!(!run.answered, "{name} without {variable} answered");
            assert!(
                run.start_up_failure(variable)
                    .is_some_and(|line| line.contains("is not set")),
                "{name} without {variable}:\n{}",
                run.log
            );

            // Another function's secret: the first event finds its keys
            // missing, and says which variable names the wrong secret.
            let mut swapped = deployment.spec(name, &format!("swapped-{variable}"));
            for (n, value) in &mut swapped.env {
                if n == variable {
                    *value = deployment.other_secret(variable);
                }
            }
            let run = deployment.first_event(&swapped, &event).await;
            let line = run.start_up_failure(variable).unwrap_or_else(|| {
                panic!("{name} with another secret as {variable}:\n{}", run.log)
            });
            assert!(line.contains("secret has no"), "{line}");
            if let Some(answer) = run.answer.filter(|a| a.get("statusCode").is_some()) {
                assert_eq!(answer["statusCode"], 503, "{name}: {answer}");
            }
        }
    }
}

#[tokio::test]
async fn the_webhook_accepts_the_old_and_the_new_signing_secret_while_both_are_stored() {
    const OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let deployment = Deployment::new("webhook-rotation").await;
    let secrets =
        aws_sdk_secretsmanager::Client::new(&provision::emulator_config(&moto_endpoint()));
    provision::put_secret(
        &secrets,
        deployment.ids.clerk_webhook.as_deref().unwrap(),
        &json!({ "clerk_webhook_secret": format!("{WEBHOOK_SECRET} {OLD}") }),
    )
    .await
    .unwrap();
    let spec = deployment.spec("clerk-webhook", "rotating");
    let mut webhook = Function::start(&spec).await.unwrap();
    for (n, signing) in [OLD, WEBHOOK_SECRET].into_iter().enumerate() {
        let user = format!("user_2rotating{n}");
        let body =
            user_event("user.created", &clerk_user(&user, "r@example.com", 1_000)).to_string();
        let id = format!("msg_2rotating{n}");
        let timestamp = chrono::Utc::now().timestamp();
        let signature =
            svix::signature_header(&Secret::new(signing), &id, timestamp, body.as_bytes()).unwrap();
        let mut event = sample("clerk-webhook/http-api-request.json");
        event["body"] = json!(body);
        event["headers"]["svix-id"] = json!(id);
        event["headers"]["svix-timestamp"] = json!(timestamp.to_string());
        event["headers"]["svix-signature"] = json!(signature);
        let answer = webhook
            .call(event.to_string(), WAIT)
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(answer["statusCode"], 200, "signed with #{n}: {answer}");
        let reply: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(reply["outcome"], "applied", "signed with #{n}: {answer}");
    }
}

#[tokio::test]
async fn a_rotated_amazon_client_secret_reaches_a_new_process_not_a_running_one() {
    let deployment = Deployment::new("amazon-rotation").await;
    let aws = proxy::MotoProxy::start(&moto_endpoint()).await.unwrap();
    let mut spec = deployment.spec("oauth-start", "before");
    for (name, value) in &mut spec.env {
        if name == "AWS_ENDPOINT_URL" {
            value.clone_from(&aws.endpoint);
        }
    }
    let mut connect = sample("oauth-start/connect.json");
    connect["body"] = json!(json!({"region": "eu", "return_to": DEFAULT_RETURN_URL}).to_string());
    let consent_client = |answer: Value| -> String {
        let text = answer.to_string();
        let start = text.find("client_id=").unwrap_or_else(|| panic!("{text}")) + 10;
        text[start..]
            .split(['&', '"', '\\'])
            .next()
            .unwrap()
            .to_owned()
    };
    let mut running = Function::start(&spec).await.unwrap();
    let before = running.call(connect.to_string(), WAIT).await.unwrap();
    assert_eq!(
        consent_client(before.json().unwrap()),
        amazon_stub::CLIENT_ID
    );

    let secrets =
        aws_sdk_secretsmanager::Client::new(&provision::emulator_config(&moto_endpoint()));
    provision::put_secret(
        &secrets,
        deployment.ids.amazon_client.as_deref().unwrap(),
        &json!({
            "amazon_client_id": "amzn1.application-oa2-client.rotated",
            "amazon_client_secret": "rotated-client-secret",
        }),
    )
    .await
    .unwrap();

    aws.clear();
    let still = running.call(connect.to_string(), WAIT).await.unwrap();
    assert_eq!(
        consent_client(still.json().unwrap()),
        amazon_stub::CLIENT_ID
    );
    assert!(
        !aws.calls_before(Instant::now())
            .contains(&"secretsmanager.GetSecretValue".to_owned()),
        "a running process does not read its secret again"
    );

    let fresh = deployment.spec("oauth-start", "after");
    let after = deployment.first_event(&fresh, &connect).await;
    assert_eq!(
        consent_client(after.answer.unwrap()),
        "amzn1.application-oa2-client.rotated"
    );
}
