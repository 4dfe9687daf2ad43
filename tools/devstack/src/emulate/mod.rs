//! `emulate [work dir] [--bootstraps DIR [--runner COMMAND]]`: every
//! function as Lambda runs it, and every sample in `events/` sent to it;
//! each answer is checked. One line per event (`ok` or `FAIL` with the
//! answer), then `lambda emulation: N passed, M failed`; an error when any
//! failed.
//!
//! By default `cargo lambda watch` emulates the Lambda control plane (it
//! builds the functions) and each event is sent with `cargo lambda invoke`.
//! With `--bootstraps DIR`, the prebuilt `DIR/<function>/bootstrap`s are
//! started instead, each once, behind the project's Runtime API emulator
//! (`runtime_api`) with the environment the template gives them; `--runner`
//! puts a command in front of each (`qemu-aarch64 -L /usr/aarch64-linux-gnu`
//! runs the arm64 bootstraps `sam build` makes).
//!
//! It provisions the functions' resources first, as `provision` does, from
//! the environment the functions get too: `scripts/lambda-emulation` sets
//! it (moto at `AWS_ENDPOINT_URL`, resources of the run's own) and runs this
//! from the repository root. `cargo lambda` comes from `PATH`. The work dir
//! (default `$CARGO_TARGET_DIR/lambda-emulation`) is emptied first; it gets
//! the generated events and the functions' logs.

mod cargo_lambda;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use adsconnect::configuration;
use adsconnect_dev::BoxError;
use adsconnect_dev::runtime_api::{Function, FunctionSpec, Outcome};
use serde_json::Value;

use cargo_lambda::{Watch, free_port, wait_until_listening};

/// What the answer of one invocation must be.
type Check = fn(&Value) -> bool;

/// Where the authorizer sample wants a session token.
const TOKEN_PLACEHOLDER: &str = "<dev token: scripts/devctl token>";

/// Long enough for a function under qemu's user-mode emulation.
const ANSWER_WAIT: Duration = Duration::from_secs(60);

struct Options {
    work: PathBuf,
    bootstraps: Option<PathBuf>,
    runner: Vec<String>,
}

fn options(args: &[String]) -> Result<Options, BoxError> {
    let mut work = None;
    let mut bootstraps = None;
    let mut runner = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bootstraps" => {
                bootstraps = Some(PathBuf::from(args.next().ok_or("--bootstraps DIR")?))
            }
            "--runner" => {
                runner = args
                    .next()
                    .ok_or("--runner COMMAND")?
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
            }
            other if work.is_none() && !other.starts_with("--") => {
                work = Some(PathBuf::from(other))
            }
            other => return Err(format!("unexpected argument {other}").into()),
        }
    }
    let work = work.unwrap_or_else(|| {
        PathBuf::from(
            configuration::optional("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()),
        )
        .join("lambda-emulation")
    });
    Ok(Options {
        work,
        bootstraps,
        runner,
    })
}

pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let Options {
        work,
        bootstraps,
        runner,
    } = options(args)?;
    if work.exists() {
        fs::remove_dir_all(&work)?;
    }
    fs::create_dir_all(&work)?;
    crate::provision_resources().await?;
    let jwt_key = fs::read_to_string(crate::dev_dir().join("clerk-dev-key.pub.pem"))?;

    let transport = match bootstraps {
        None => {
            let port = free_port()?;
            let watch = Watch::start(port, &jwt_key, &work.join("watch.log"))?;
            wait_until_listening(port);
            Transport::Watch {
                port,
                _watch: watch,
            }
        }
        Some(dir) => {
            // Each process starts in its bootstrap's directory, as on Lambda.
            let dir = fs::canonicalize(&dir)?;
            let mut env: HashMap<String, String> = std::env::vars().collect();
            env.insert("CLERK_JWT_KEY".into(), jwt_key);
            Transport::Bootstraps {
                dir,
                runner,
                env,
                logs: work.clone(),
                started: HashMap::new(),
            }
        }
    };
    let mut emulation = Emulation {
        transport,
        passed: 0,
        failed: 0,
    };

    // The authorizer: a placeholder token is refused, a dev token accepted.
    let authorizer = Path::new("events/auth-check/authorizer-request.json");
    emulation
        .invoke("auth-check", authorizer, |r| r["isAuthorized"] == false)
        .await;
    let token = crate::dev_token("user_dev", "sess_dev", 300)?;
    let valid = work.join("authorizer-valid.json");
    fs::write(
        &valid,
        fs::read_to_string(authorizer)?.replace(TOKEN_PLACEHOLDER, &token),
    )?;
    emulation
        .invoke("auth-check", &valid, |r| {
            r["isAuthorized"] == true && r["context"]["user_id"] == "user_dev"
        })
        .await;

    // The webhook: the sample's placeholder signature is refused; a signed
    // user.created creates user_dev.
    emulation
        .invoke(
            "clerk-webhook",
            Path::new("events/clerk-webhook/http-api-request.json"),
            |r| r["statusCode"] == 401,
        )
        .await;
    let created = work.join("user-created.json");
    let signed = crate::signed_event_for(Path::new("tests/clerk-payloads/user-created.json"));
    fs::write(&created, signed.await?.to_string())?;
    emulation
        .invoke("clerk-webhook", &created, |r| {
            r["statusCode"] == 200 && body(r)["outcome"] == "applied"
        })
        .await;

    // Every users route: 200, or 404 for samples naming another user's
    // connection or account.
    for event in samples("users")? {
        if names_an_id(&event)? {
            emulation
                .invoke("users", &event, |r| r["statusCode"] == 404)
                .await;
        } else {
            emulation
                .invoke("users", &event, |r| r["statusCode"] == 200)
                .await;
        }
    }

    emulation
        .invoke(
            "oauth-start",
            Path::new("events/oauth-start/connect.json"),
            |r| {
                r["statusCode"] == 200
                    && body(r)["authorization_url"]
                        .as_str()
                        .is_some_and(|url| url.contains("code_challenge"))
            },
        )
        .await;
    // The samples' state and completion were never issued here.
    for event in samples("oauth-callback")? {
        if route_of(&event)?.starts_with("POST ") {
            emulation
                .invoke("oauth-callback", &event, |r| {
                    r["statusCode"] == 404 && body(r)["error"]["code"] == "COMPLETION_NOT_FOUND"
                })
                .await;
        } else {
            emulation
                .invoke("oauth-callback", &event, |r| {
                    r["statusCode"] == 302
                        && r["headers"]["location"]
                            .as_str()
                            .is_some_and(|location| location.contains("reason=invalid_state"))
                })
                .await;
        }
    }
    // The dev user has no account in the emulator's table.
    for event in samples("ads-proxy")? {
        emulation
            .invoke("ads-proxy", &event, |r| {
                r["statusCode"] == 404 && body(r)["error"]["code"] == "ACCOUNT_NOT_FOUND"
            })
            .await;
    }
    emulation
        .invoke_failing(
            "credentials",
            // The sample's proof is long expired: refused before STS.
            Path::new("events/credentials/account.json"),
            "forbidden",
        )
        .await;
    emulation
        .invoke(
            "events-publisher",
            Path::new("events/events-publisher/stream-batch.json"),
            |r| r["batchItemFailures"] == serde_json::json!([]),
        )
        .await;
    // The sample's job does not exist: acknowledged, nothing to retry.
    emulation
        .invoke(
            "report-worker",
            Path::new("events/report-worker/sqs-event.json"),
            |r| r["batchItemFailures"] == serde_json::json!([]),
        )
        .await;
    // The hourly run of the report schedules: none in the emulator's table.
    emulation
        .invoke(
            "report-worker",
            Path::new("events/report-worker/scheduled-event.json"),
            |r| r["due"] == 0 && r["ran"] == 0 && r["failed"] == 0,
        )
        .await;
    emulation
        .invoke(
            "token-refresher",
            Path::new("events/token-refresher/scheduled-event.json"),
            |r| r["due"] == 0 && r["circuit_open"] == false,
        )
        .await;

    let Emulation { passed, failed, .. } = emulation;
    println!("lambda emulation: {passed} passed, {failed} failed");
    if failed > 0 {
        return Err(format!("{failed} of {} events failed", passed + failed).into());
    }
    Ok(())
}

/// How the events reach the functions.
enum Transport {
    /// `cargo lambda watch` on `port`; each event sent with `cargo lambda invoke`.
    Watch { port: u16, _watch: Watch },
    /// `dir/<function>/bootstrap`, started on its first event (through
    /// `runner`, if any) and kept for the rest; `env` is what the template's
    /// variables take their values from.
    Bootstraps {
        dir: PathBuf,
        runner: Vec<String>,
        env: HashMap<String, String>,
        logs: PathBuf,
        started: HashMap<String, Function>,
    },
}

struct Emulation {
    transport: Transport,
    passed: usize,
    failed: usize,
}

impl Emulation {
    /// Sends `event` to `function` with `cargo lambda invoke`: passed when
    /// that succeeds and `check` holds for the JSON it answers.
    async fn invoke(&mut self, function: &str, event: &Path, check: Check) {
        let (succeeded, stdout, stderr) = self.send(function, event).await;
        let passed = succeeded && serde_json::from_str::<Value>(&stdout).is_ok_and(|r| check(&r));
        self.report(function, event, passed, &format!("{stdout}{stderr}"));
    }

    /// Sends `event` to `function`, which must fail with the Lambda error
    /// type `error_type` (a typed error, not a crash).
    async fn invoke_failing(&mut self, function: &str, event: &Path, error_type: &str) {
        let (_, stdout, stderr) = self.send(function, event).await;
        let answer = format!("{stdout}{stderr}");
        self.report(function, event, answer.contains(error_type), &answer);
    }

    /// Whether the invocation succeeded, its answer and what went wrong.
    async fn send(&mut self, function: &str, event: &Path) -> (bool, String, String) {
        match &mut self.transport {
            Transport::Watch { port, .. } => cargo_lambda::invoke(*port, function, event),
            Transport::Bootstraps {
                dir,
                runner,
                env,
                logs,
                started,
            } => {
                let answer = async {
                    if !started.contains_key(function) {
                        let spec = bootstrap_spec(function, dir, runner, env, logs)?;
                        started.insert(function.to_owned(), Function::start(&spec).await?);
                    }
                    let process = started.get_mut(function).ok_or("not started")?;
                    process.call(fs::read(event)?, ANSWER_WAIT).await
                };
                match answer.await {
                    Ok(answer) => match answer.outcome {
                        Outcome::Response(body) => (
                            true,
                            String::from_utf8_lossy(&body).into_owned(),
                            String::new(),
                        ),
                        Outcome::Error { error_type, body } => (
                            false,
                            String::new(),
                            format!(
                                "{}: {}",
                                error_type.unwrap_or_default(),
                                String::from_utf8_lossy(&body)
                            ),
                        ),
                    },
                    Err(error) => (false, String::new(), error.to_string()),
                }
            }
        }
    }

    fn report(&mut self, function: &str, event: &Path, passed: bool, answer: &str) {
        if passed {
            self.passed += 1;
            println!("ok   {function} {}", event.display());
        } else {
            self.failed += 1;
            println!("FAIL {function} {}: {}", event.display(), head(answer, 400));
        }
    }
}

/// The function as the template configures it, plus what Lambda gives
/// every function (credentials) and the local stack adds (the endpoint).
fn bootstrap_spec(
    function: &str,
    dir: &Path,
    runner: &[String],
    env: &HashMap<String, String>,
    logs: &Path,
) -> Result<FunctionSpec, BoxError> {
    // `cargo lambda build`'s layout (<binary>/bootstrap), else `sam build`'s.
    let mut bootstrap = dir.join(function).join("bootstrap");
    if !bootstrap.exists() {
        bootstrap = dir
            .join(adsconnect_dev::template::logical_id_of(function)?)
            .join("bootstrap");
    }
    let mut spec = FunctionSpec::from_template(function, bootstrap, env)?;
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        if let Some(value) = env.get(name) {
            spec.env.push((name.to_owned(), value.clone()));
        }
    }
    spec.runner = runner.to_vec();
    spec.log = Some(logs.join(format!("{function}.log")));
    Ok(spec)
}

/// The answer's `body`, parsed (`null` when it is not JSON).
fn body(answer: &Value) -> Value {
    answer["body"]
        .as_str()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null)
}

/// The samples in `events/<function>/`, in name order.
fn samples(function: &str) -> Result<Vec<PathBuf>, BoxError> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(Path::new("events").join(function))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Whether the sample's route takes a connection or account id
/// (`"routeKey": "DELETE /api/v1/connections/{id}"`).
fn names_an_id(event: &Path) -> Result<bool, BoxError> {
    Ok(route_of(event)?
        .split_once(' ')
        .is_some_and(|(method, path)| {
            method.bytes().all(|b| b.is_ascii_uppercase()) && path.contains("{id}")
        }))
}

/// The sample's `routeKey`, e.g. `POST /api/v1/amazon/complete`.
fn route_of(event: &Path) -> Result<String, BoxError> {
    let event: Value = serde_json::from_str(&fs::read_to_string(event)?)?;
    Ok(event["routeKey"].as_str().unwrap_or_default().to_owned())
}

/// At most the first `bytes` bytes of `text`, cut at a character boundary.
fn head(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
