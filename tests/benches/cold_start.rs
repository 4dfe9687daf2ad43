//! Issue 7, rows 7 and 8: each function's cold start (process start to its
//! first answer) and peak RSS over 1,000 requests, running the release
//! bootstraps under a Lambda Runtime API emulator
//! (`adsconnect_dev::runtime_api`), against a hello-world `lambda_runtime`
//! echo built in the same run. Every answer is checked, so a bootstrap that
//! crashes or answers an error never counts as fast.
//!
//! Needs MOTO_ENDPOINT and the bootstraps:
//!   cargo lambda build --release --compiler cargo --locked
//!   cargo lambda build --release --compiler cargo --locked -p adsconnect-dev --bin hello-lambda
//!   cargo bench -p adsconnect-tests --bench cold_start
//! Prints a table and writes `$CARGO_TARGET_DIR/bench-results/cold_start.jsonl`.
//! `COLD_START_RUNS` changes the number of cold starts per function (20).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use adsconnect::auth::MAX_TOKEN_LIFETIME_SECONDS;
use adsconnect::clerk::svix;
use adsconnect::secrets::Secret;
use adsconnect_dev::apigw::ClientRequest;
use adsconnect_dev::keys::{DEV_KID, SigningKey};
use adsconnect_dev::moto_proxy::MotoProxy;
use adsconnect_dev::runtime_api::{Answer, Function, FunctionSpec, Outcome};
use adsconnect_dev::{amazon_stub, provision};
use serde_json::{Value, json};

const FUNCTIONS: [&str; 9] = [
    "auth-check",
    "users",
    "clerk-webhook",
    "oauth-start",
    "oauth-callback",
    "token-refresher",
    "ads-proxy",
    "credentials",
    "events-publisher",
];
const HELLO: &str = "hello-lambda";
const PEER: &str = "hello-world lambda_runtime";
const RUNS: usize = 20;
const REQUESTS: usize = 1_000;
const REQUESTS_LABEL: &str = "1,000";
const RSS_TARGET_MB: f64 = 30.0;
const ANSWER_WAIT: Duration = Duration::from_secs(30);
const TOKEN_PLACEHOLDER: &str = "<dev token: scripts/devctl token>";

/// Every function's initialisation (process start to its first `next`)
/// against hello-world's.
const INIT_TARGET_RATIO: f64 = 3.0;

/// What a correct answer looks like.
#[derive(Debug, Clone)]
enum Expect {
    /// Allowed for this user, or (`None`) denied.
    Authorized(Option<String>),
    Status(u16),
    /// 200 and a handled outcome (the samples repeat, so stale and duplicate too).
    Webhook,
    /// 200 and a PKCE authorization URL.
    Connect,
    /// The samples' state was never issued: 302 back with `reason=invalid_state`.
    InvalidState,
    /// A refresher run over a table with nothing due.
    IdleRefresh,
    /// A stream batch with no record failed.
    NoBatchFailures,
    /// A typed function error (the Lambda error type).
    Failure(&'static str),
    Echo(Value),
}

impl Expect {
    fn check_answer(&self, answer: &Answer) -> Result<(), String> {
        match (self, &answer.outcome) {
            // lambda_runtime reports the error's type in the body's `errorType`.
            (Self::Failure(expected), Outcome::Error { body, .. })
                if serde_json::from_slice::<Value>(body)
                    .is_ok_and(|b| b["errorType"] == *expected) =>
            {
                Ok(())
            }
            _ => self.check(&answer.json().map_err(|e| e.to_string())?),
        }
    }

    fn check(&self, answer: &Value) -> Result<(), String> {
        let body = || {
            answer["body"]
                .as_str()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .unwrap_or(Value::Null)
        };
        let ok = match self {
            Self::Authorized(Some(user)) => {
                answer["isAuthorized"] == true && answer["context"]["user_id"] == user.as_str()
            }
            Self::Authorized(None) => answer["isAuthorized"] == false,
            Self::Status(status) => answer["statusCode"] == *status,
            Self::Webhook => {
                answer["statusCode"] == 200
                    && ["applied", "duplicate", "stale", "acknowledged"]
                        .iter()
                        .any(|o| body()["outcome"] == *o)
            }
            Self::Connect => {
                answer["statusCode"] == 200
                    && body()["authorization_url"]
                        .as_str()
                        .is_some_and(|u| u.contains("code_challenge"))
            }
            Self::InvalidState => {
                answer["statusCode"] == 302
                    && answer["headers"]["location"]
                        .as_str()
                        .is_some_and(|l| l.contains("reason=invalid_state"))
            }
            Self::IdleRefresh => answer["due"] == 0 && answer["circuit_open"] == false,
            Self::NoBatchFailures => answer["batchItemFailures"] == json!([]),
            Self::Failure(_) => false,
            Self::Echo(event) => answer == event,
        };
        if ok {
            Ok(())
        } else {
            let text = answer.to_string();
            Err(format!(
                "expected {self:?}, got {}",
                &text[..text.len().min(400)]
            ))
        }
    }
}

struct Case {
    event: Vec<u8>,
    expect: Expect,
}

/// The stack's resources in moto, the functions' configuration, and what
/// the events need: the dev Clerk key and the webhook secret.
struct Stack {
    events: PathBuf,
    specs: HashMap<&'static str, FunctionSpec>,
    /// The same functions with their AWS calls passing through `aws_calls`.
    counted: HashMap<&'static str, FunctionSpec>,
    aws_calls: MotoProxy,
    key: SigningKey,
    issuer: String,
    /// The dashboard's origin in dev.env: tokens name it as `azp`.
    azp: String,
    webhook_secret: Secret,
}

/// `KEY=value` lines, as `set -a; source scripts/dev.env` reads them.
fn read_env_file(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

impl Stack {
    /// As `scripts/lambda-emulation` does: dev.env, with its own table, key
    /// and secret in moto, and the dev key's public half as `CLERK_JWT_KEY`.
    async fn provision(moto: &str, lambda_dir: &Path, logs: &Path) -> Self {
        let aws_calls = MotoProxy::start(moto)
            .await
            .expect("the pass-through that counts AWS calls");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace root")
            .to_path_buf();
        let mut local = read_env_file(&root.join("scripts/dev.env"));
        let run = format!("coldstart-{}", std::process::id());
        let key = SigningKey::generate(DEV_KID).expect("a dev key");
        for (name, value) in [
            ("AWS_ENDPOINT_URL", moto.to_owned()),
            ("TABLE_NAME", run.clone()),
            ("TOKEN_KEY_ID", format!("alias/{run}")),
            ("ALLOWED_RETURN_ORIGINS", "https://app.example.com".into()),
            ("CLERK_JWT_KEY", key.public_pem.clone()),
        ] {
            local.insert(name.to_owned(), value);
        }
        let sdk = provision::emulator_config(moto);
        provision::ensure_table(
            &aws_sdk_dynamodb::Client::new(&sdk),
            &local["TABLE_NAME"],
            adsconnect_dev::template::WithStream::No,
        )
        .await
        .expect("table");
        provision::ensure_kms_key(&aws_sdk_kms::Client::new(&sdk), &local["TOKEN_KEY_ID"])
            .await
            .expect("KMS key");
        let webhook_secret = provision::new_webhook_secret();
        let secret_ids = provision::secret_ids(&format!("adsconnect/{run}"));
        for (name, id) in secret_ids.variables() {
            local.insert(name.to_owned(), id.to_owned());
        }
        let values = provision::SecretValues {
            clerk_secret_key: "sk_test_local_dev",
            clerk_webhook_secret: &webhook_secret,
            amazon_client_id: amazon_stub::CLIENT_ID,
            amazon_client_secret: amazon_stub::CLIENT_SECRET,
        };
        provision::put_secrets(
            &aws_sdk_secretsmanager::Client::new(&sdk),
            &secret_ids,
            &values,
        )
        .await
        .expect("secrets");

        let mut specs = HashMap::new();
        let mut counted = HashMap::new();
        for name in FUNCTIONS {
            let mut spec =
                FunctionSpec::from_template(name, lambda_dir.join(name).join("bootstrap"), &local)
                    .expect("the function in template.yaml");
            // What Lambda supplies (credentials) and the local stack adds (the endpoint).
            for extra in [
                "AWS_ENDPOINT_URL",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
            ] {
                spec.env.push((extra.to_owned(), local[extra].clone()));
            }
            spec.log = Some(logs.join(format!("{name}.log")));
            let mut through_counter = spec.clone();
            for (key, value) in &mut through_counter.env {
                if key == "AWS_ENDPOINT_URL" {
                    value.clone_from(&aws_calls.endpoint);
                }
            }
            counted.insert(name, through_counter);
            specs.insert(name, spec);
        }
        specs.insert(
            HELLO,
            FunctionSpec {
                name: HELLO.into(),
                bootstrap: lambda_dir.join(HELLO).join("bootstrap"),
                memory_mb: 128,
                timeout: Duration::from_secs(10),
                env: Vec::new(),
                log: Some(logs.join(format!("{HELLO}.log"))),
                runner: Vec::new(),
            },
        );
        let issuer = local["CLERK_ISSUER"].clone();
        let azp = local["CLERK_AUTHORIZED_PARTIES"]
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        Self {
            events: root.join("events"),
            specs,
            counted,
            aws_calls,
            key,
            issuer,
            azp,
            webhook_secret: Secret::new(webhook_secret),
        }
    }

    /// 50 users' session tokens, minted when a mix is made: the verifier
    /// refuses lifetimes over 10 minutes, and a whole run takes longer.
    fn session_tokens(&self) -> Vec<(String, String)> {
        (0..50)
            .map(|i| {
                let user = format!("user_2cold{i}");
                let token = self.key.session_token_for(
                    &self.issuer,
                    &user,
                    &format!("sess_{i}"),
                    MAX_TOKEN_LIFETIME_SECONDS,
                    &self.azp,
                );
                (user, token)
            })
            .collect()
    }

    fn sample(&self, path: &str) -> String {
        let path = self.events.join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn json_sample(&self, path: &str) -> Value {
        serde_json::from_str(&self.sample(path)).expect("a JSON sample")
    }

    fn authorizer(&self, token: &str) -> Vec<u8> {
        self.sample("auth-check/authorizer-request.json")
            .replace(TOKEN_PLACEHOLDER, token)
            .into_bytes()
    }

    /// The HTTP API event delivering `file` signed now, as `adsconnect-dev signed-event` does.
    fn signed_webhook(&self, file: &str) -> Vec<u8> {
        let path = self.events.join("../tests/clerk-payloads").join(file);
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let timestamp = chrono::Utc::now().timestamp();
        let signature = svix::signature_header(&self.webhook_secret, &id, timestamp, &body)
            .expect("a base64 webhook secret");
        ClientRequest::new("POST", "/webhooks/clerk")
            .raw_json(body)
            .header("svix-id", &id)
            .header("svix-timestamp", &timestamp.to_string())
            .header("svix-signature", &signature)
            .http_api_event("POST /webhooks/clerk", None)
            .to_string()
            .into_bytes()
    }

    fn connect(&self, region: &str) -> Vec<u8> {
        let mut event = self.json_sample("oauth-start/connect.json");
        event["body"] =
            json!({"region": region, "return_to": "https://app.example.com/settings/amazon"})
                .to_string()
                .into();
        event.to_string().into_bytes()
    }

    fn scheduled(&self, n: usize) -> Value {
        let mut event = self.json_sample("token-refresher/scheduled-event.json");
        event["id"] = uuid::Uuid::from_u128(n as u128).to_string().into();
        event
    }

    /// A realistic first event for a new instance.
    fn first_case(&self, function: &str) -> Case {
        let (event, expect) = match function {
            "auth-check" => {
                let token = self.key.session_token_for(
                    &self.issuer,
                    "user_dev",
                    "sess_dev",
                    300,
                    &self.azp,
                );
                (
                    self.authorizer(&token),
                    Expect::Authorized(Some("user_dev".into())),
                )
            }
            "users" => (
                self.sample("users/me.json").into_bytes(),
                Expect::Status(200),
            ),
            "clerk-webhook" => (self.signed_webhook("user-updated.json"), Expect::Webhook),
            "oauth-start" => (self.connect("eu"), Expect::Connect),
            "oauth-callback" => (
                self.sample("oauth-callback/callback.json").into_bytes(),
                Expect::InvalidState,
            ),
            "token-refresher" => (
                self.sample("token-refresher/scheduled-event.json")
                    .into_bytes(),
                Expect::IdleRefresh,
            ),
            // The dev user has no Amazon account here.
            "ads-proxy" => (
                self.sample("ads-proxy/campaigns-list.json").into_bytes(),
                Expect::Status(404),
            ),
            "credentials" => (
                // The sample's proof is long expired: refused before STS.
                self.sample("credentials/account.json").into_bytes(),
                Expect::Failure("forbidden"),
            ),
            "events-publisher" => (
                self.sample("events-publisher/stream-batch.json")
                    .into_bytes(),
                Expect::NoBatchFailures,
            ),
            _ => {
                let event = self.scheduled(0);
                (event.to_string().into_bytes(), Expect::Echo(event))
            }
        };
        Case { event, expect }
    }

    /// `n` events of the kinds `function` serves, in rotation.
    fn mix(&self, function: &str, n: usize) -> Vec<Case> {
        let users: Vec<(String, Expect)> = {
            let mut files: Vec<PathBuf> = std::fs::read_dir(self.events.join("users"))
                .expect("events/users")
                .map(|e| e.expect("an entry").path())
                .collect();
            files.sort();
            files
                .iter()
                .map(|path| {
                    let text = std::fs::read_to_string(path).expect("a sample");
                    let event: Value = serde_json::from_str(&text).expect("JSON");
                    // As in scripts/lambda-emulation: routes on an id name another user's item.
                    let status = if event["routeKey"]
                        .as_str()
                        .is_some_and(|r| r.contains("{id}"))
                    {
                        404
                    } else {
                        200
                    };
                    (text, Expect::Status(status))
                })
                .collect()
        };
        let tokens = if function == "auth-check" {
            self.session_tokens()
        } else {
            Vec::new()
        };
        (0..n)
            .map(|i| {
                let (event, expect) = match function {
                    "auth-check" if i % 4 == 3 => {
                        (self.authorizer(TOKEN_PLACEHOLDER), Expect::Authorized(None))
                    }
                    "auth-check" => {
                        let (user, token) = &tokens[i % tokens.len()];
                        (
                            self.authorizer(token),
                            Expect::Authorized(Some(user.clone())),
                        )
                    }
                    "users" => {
                        let (text, expect) = &users[i % users.len()];
                        (text.clone().into_bytes(), expect.clone())
                    }
                    "clerk-webhook" => {
                        let file = [
                            "user-created.json",
                            "user-updated.json",
                            "session-created.json",
                            "session-ended.json",
                        ][i % 4];
                        (self.signed_webhook(file), Expect::Webhook)
                    }
                    "oauth-start" => (self.connect(["na", "eu", "fe"][i % 3]), Expect::Connect),
                    "oauth-callback" => {
                        let file = ["callback.json", "callback-denied.json"][i % 2];
                        (
                            self.sample(&format!("oauth-callback/{file}")).into_bytes(),
                            Expect::InvalidState,
                        )
                    }
                    "token-refresher" => (
                        self.scheduled(i).to_string().into_bytes(),
                        Expect::IdleRefresh,
                    ),
                    "ads-proxy" | "credentials" | "events-publisher" => {
                        let Case { event, expect } = self.first_case(function);
                        (event, expect)
                    }
                    _ => {
                        let event = self.scheduled(i);
                        (event.to_string().into_bytes(), Expect::Echo(event))
                    }
                };
                Case { event, expect }
            })
            .collect()
    }
}

struct ColdStart {
    /// Process start to the first answer.
    total: Duration,
    /// Process start to the first `next`: the function's own initialisation.
    init: Duration,
    /// The first `next`.
    initialised_at: Instant,
}

async fn cold_start(spec: &FunctionSpec, case: Case) -> Result<ColdStart, String> {
    let mut function = Function::start(spec).await.map_err(|e| e.to_string())?;
    let answer = function
        .call(case.event, ANSWER_WAIT)
        .await
        .map_err(|e| e.to_string())?;
    case.expect.check_answer(&answer)?;
    let started = function.started();
    let first_poll = function
        .api()
        .polls()
        .first
        .ok_or("answered without a poll")?;
    Ok(ColdStart {
        total: answer.at.duration_since(started),
        init: first_poll.duration_since(started),
        initialised_at: first_poll,
    })
}

struct Memory {
    peak_kib: u64,
    elapsed: Duration,
}

/// One process serving `cases` back to back; its `VmHWM` once it is parked
/// in the `next` after the last answer.
async fn peak_rss(spec: &FunctionSpec, cases: Vec<Case>) -> Result<Memory, String> {
    let mut function = Function::start(spec).await.map_err(|e| e.to_string())?;
    let count = cases.len() as u64;
    let started = Instant::now();
    let queued: Vec<_> = cases
        .into_iter()
        .map(|case| (function.invoke(case.event), case.expect))
        .collect();
    for (i, (invocation, expect)) in queued.into_iter().enumerate() {
        let answer = function
            .answer(invocation, ANSWER_WAIT)
            .await
            .map_err(|e| e.to_string())?;
        expect
            .check_answer(&answer)
            .map_err(|e| format!("request {i}: {e}"))?;
    }
    let elapsed = started.elapsed();
    tokio::time::timeout(
        Duration::from_secs(10),
        function.api().wait_for_polls(count + 1),
    )
    .await
    .map_err(|_| "no `next` after the last answer")?;
    let peak_kib = function.peak_rss_kib().map_err(|e| e.to_string())?;
    Ok(Memory { peak_kib, elapsed })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest rank.
fn p90(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(sorted.len() * 9).div_ceil(10).max(1) - 1]
}

/// `$CARGO_TARGET_DIR`, else the directory this bench was built in.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            // <target>/release/deps/cold_start-<hash>
            Some(exe.parent()?.parent()?.parent()?.to_path_buf())
        })
        .expect("a target directory")
}

fn built_at(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let moto = std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT (start moto first)");
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(RUNS)
        .max(1);
    let target = target_dir();
    let lambda_dir = target.join("lambda");
    let results = target.join("bench-results");
    let logs = results.join("cold_start-logs");
    std::fs::create_dir_all(&logs).expect("bench-results");
    let all: Vec<&'static str> = std::iter::once(HELLO).chain(FUNCTIONS).collect();

    // The bootstraps, so the table says what was measured.
    let mut missing = Vec::new();
    for name in &all {
        let bootstrap = lambda_dir.join(name).join("bootstrap");
        match std::fs::metadata(&bootstrap) {
            Ok(meta) => {
                let at: chrono::DateTime<chrono::Utc> = built_at(&bootstrap).into();
                eprintln!(
                    "{name:<16} {:5.1} MB  built {}",
                    meta.len() as f64 / 1e6,
                    at.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
            Err(_) => missing.push(bootstrap),
        }
    }
    if !missing.is_empty() {
        panic!(
            "missing {missing:?}: build them with `cargo lambda build --release --compiler cargo --locked` \
             and `cargo lambda build --release --compiler cargo --locked -p adsconnect-dev --bin hello-lambda`"
        );
    }
    let newest = FUNCTIONS
        .iter()
        .map(|f| built_at(&lambda_dir.join(f).join("bootstrap")))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let hello_at = built_at(&lambda_dir.join(HELLO).join("bootstrap"));
    let apart = newest
        .duration_since(hello_at)
        .or_else(|_| hello_at.duration_since(newest))
        .unwrap_or_default();
    if apart > Duration::from_secs(1800) {
        eprintln!(
            "warning: hello-lambda and the functions were built {} min apart; rebuild them together",
            apart.as_secs() / 60
        );
    }

    let stack = Stack::provision(&moto, &lambda_dir, &logs).await;
    for name in &all {
        let _ = std::fs::remove_file(logs.join(format!("{name}.log")));
    }
    // One unmeasured start each: checks every function works before measuring,
    // and puts every binary in the page cache. The webhook goes first: its
    // user.created creates user_dev, whom `users` reads.
    let seed = Case {
        event: stack.signed_webhook("user-created.json"),
        expect: Expect::Webhook,
    };
    cold_start(&stack.specs["clerk-webhook"], seed)
        .await
        .unwrap_or_else(|e| panic!("clerk-webhook: {e} (log: {})", logs.display()));
    // These starts pass their AWS calls through the counter: the ones made
    // before the first `next` are the function's init calls.
    let mut init_calls: HashMap<&str, Vec<String>> = HashMap::new();
    for name in &all {
        stack.aws_calls.clear();
        let spec = stack.counted.get(name).unwrap_or(&stack.specs[name]);
        let run = cold_start(spec, stack.first_case(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e} (logs in {})", logs.display()));
        init_calls.insert(name, stack.aws_calls.calls_before(run.initialised_at));
    }

    // Rotating the order each round spreads the machine's noise over all of them.
    let mut totals: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut inits: HashMap<&str, Vec<f64>> = HashMap::new();
    for round in 0..runs {
        for k in 0..all.len() {
            let name = all[(round + k) % all.len()];
            let run = cold_start(&stack.specs[name], stack.first_case(name))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e} (logs in {})", logs.display()));
            totals.entry(name).or_default().push(ms(run.total));
            inits.entry(name).or_default().push(ms(run.init));
        }
    }

    // The refresher first: each run makes 16 GSI queries, which moto answers
    // by scanning the table; after the others' requests (OAuth states,
    // webhook deliveries) a run takes ~0.4 s instead of ~40 ms.
    let mut memory = HashMap::new();
    let rss_order = [HELLO, "token-refresher"]
        .into_iter()
        .chain(FUNCTIONS.into_iter().filter(|f| *f != "token-refresher"));
    for name in rss_order {
        let used = peak_rss(&stack.specs[name], stack.mix(name, REQUESTS))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e} (logs in {})", logs.display()));
        memory.insert(name, used);
    }

    let hello_init = median(&inits[HELLO]);
    let hello_total = median(&totals[HELLO]);
    let mut lines = String::new();
    println!(
        "\nRow 7: cold starts ({runs} runs each): init is process start to the first `next`\n"
    );
    println!(
        "| function | init median | init × hello | AWS calls during init | to first answer (median, p90) | × hello | target (init) | meets |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for name in &all {
        let total = median(&totals[name]);
        let init = median(&inits[name]);
        let p = p90(&totals[name]);
        let calls = &init_calls[name];
        let calls_text = if calls.is_empty() {
            "0".to_owned()
        } else {
            format!("{} ({})", calls.len(), calls.join(", "))
        };
        let init_ratio = init / hello_init;
        let total_ratio = total / hello_total;
        let meets = init_ratio <= INIT_TARGET_RATIO && calls.len() <= 1;
        println!(
            "| {name} | {init:.1} ms | {init_ratio:.2} | {calls_text} | {total:.1} ms, {p:.1} ms | {total_ratio:.2} | {} | {} |",
            if *name == HELLO {
                String::new()
            } else {
                format!("≤ {INIT_TARGET_RATIO}×, ≤ 1 call")
            },
            if *name == HELLO {
                ""
            } else if meets {
                "yes"
            } else {
                "no"
            }
        );
        if *name == HELLO {
            continue;
        }
        let _ = writeln!(
            lines,
            "{}",
            json!({
                "row": 7, "function": name,
                "init_ms": round2(init), "peer_init_ms": round2(hello_init), "init_ratio": round2(init_ratio),
                "total_ms": round2(total), "total_p90_ms": round2(p), "peer_total_ms": round2(hello_total),
                "total_ratio": round2(total_ratio), "aws_calls_at_init": calls.len(), "aws_calls_at_init_ops": calls,
                "peer": PEER, "target_ratio": INIT_TARGET_RATIO, "meets": meets, "runs": runs,
            })
        );
    }

    println!("\nRow 8: peak RSS (VmHWM) of one process serving {REQUESTS_LABEL} requests\n");
    println!("| function | peak RSS | 1,000 requests took | target | meets |");
    println!("|---|---|---|---|---|");
    let hello_mb = memory[HELLO].peak_kib as f64 / 1024.0;
    for name in &all {
        let used = &memory[name];
        let mb = used.peak_kib as f64 / 1024.0;
        let meets = mb <= RSS_TARGET_MB;
        println!(
            "| {name} | {mb:.1} MB | {:.2} s | ≤ {RSS_TARGET_MB} MB | {} |",
            used.elapsed.as_secs_f64(),
            if *name == HELLO {
                ""
            } else if meets {
                "yes"
            } else {
                "no"
            }
        );
        if *name != HELLO {
            let _ = writeln!(
                lines,
                "{}",
                json!({
                    "row": 8, "name": format!("peak RSS {name} ({REQUESTS_LABEL} requests)"),
                    "ours_mb": round2(mb), "peer": PEER, "peer_mb": round2(hello_mb),
                    "target_mb": RSS_TARGET_MB, "meets": meets,
                })
            );
        }
    }
    println!(
        "(MB = MiB, as Lambda's memory sizes; logs in {})",
        logs.display()
    );
    let out = results.join("cold_start.jsonl");
    std::fs::write(&out, lines).expect("write the results");
    println!("results: {}", out.display());
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
