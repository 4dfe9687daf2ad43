//! A minimal Lambda Runtime API (2018-06-01) for running a function's built
//! `bootstrap` as Lambda does: one process per emulator, events handed out on
//! `GET /runtime/invocation/next` (held open until there is one), answers
//! taken from `…/{id}/response` and `…/{id}/error`, start-up failures from
//! `/runtime/init/error`. Buffered responses only (no response streaming).
//!
//! `cargo lambda watch` cannot run a prebuilt bootstrap (its runtime API
//! lives under a path, which `lambda_runtime` rejects) and starts functions
//! through cargo, which would swamp a cold start of a few milliseconds.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use crate::BoxError;

/// Lambda's limit for a synchronous request or response payload.
const MAX_PAYLOAD: usize = 6 * 1024 * 1024;
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
/// How often [`Function::answer`] looks for a process that died or reported an init error.
const PROCESS_CHECK: Duration = Duration::from_millis(5);

/// How the runtime answered one invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(Bytes),
    /// `POST …/error`: the `Lambda-Runtime-Function-Error-Type` header and the body.
    Error {
        error_type: Option<String>,
        body: Bytes,
    },
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    pub outcome: Outcome,
    /// When the emulator received the answer.
    pub at: Instant,
}

impl Answer {
    /// The response as JSON; an error answer is an `Err`.
    pub fn json(&self) -> Result<Value, BoxError> {
        match &self.outcome {
            Outcome::Response(body) => Ok(serde_json::from_slice(body)?),
            Outcome::Error { error_type, body } => Err(format!(
                "invocation error {}: {}",
                error_type.as_deref().unwrap_or("(no type)"),
                String::from_utf8_lossy(body)
            )
            .into()),
        }
    }
}

/// `GET …/next` requests received so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Polls {
    pub count: u64,
    /// The first one: the runtime finished its initialisation.
    pub first: Option<Instant>,
}

/// A queued event; [`Function::answer`] or [`Invocation::wait`] collect its answer.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    answer: oneshot::Receiver<Answer>,
}

impl Invocation {
    /// The answer, however long it takes; `None` if the emulator stopped.
    pub async fn wait(self) -> Option<Answer> {
        self.answer.await.ok()
    }
}

struct Queued {
    request_id: String,
    body: Bytes,
    answer: oneshot::Sender<Answer>,
}

struct Shared {
    function_arn: String,
    timeout: Duration,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    polls: watch::Sender<Polls>,
    init_error: Mutex<Option<String>>,
}

/// The Runtime API of one execution environment, on 127.0.0.1 and a free port.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<Queued>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// `function_arn` and `timeout` (for the deadline) fill each event's headers.
    pub async fn start(function_arn: String, timeout: Duration) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (events, queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn,
            timeout,
            queue: tokio::sync::Mutex::new(queue),
            in_flight: Mutex::new(HashMap::new()),
            polls: watch::Sender::new(Polls::default()),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            events,
            server,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Queues `event`; events are handed out in order, one per `next`.
    pub fn invoke(&self, event: impl Into<Bytes>) -> Invocation {
        let (tx, rx) = oneshot::channel();
        let request_id = uuid::Uuid::new_v4().to_string();
        // The receiver lives in `shared`, as long as `self`: sending cannot fail.
        let _ = self.events.send(Queued {
            request_id: request_id.clone(),
            body: event.into(),
            answer: tx,
        });
        Invocation {
            request_id,
            answer: rx,
        }
    }

    pub fn polls(&self) -> Polls {
        *self.shared.polls.borrow()
    }

    /// Waits until `count` `next` requests have arrived: after its last answer
    /// the runtime is idle, parked in the next `next`.
    pub async fn wait_for_polls(&self, count: u64) {
        let mut polls = self.shared.polls.subscribe();
        let _ = polls.wait_for(|p| p.count >= count).await;
    }

    /// The body of `POST /runtime/init/error`, if the runtime sent one.
    pub fn init_error(&self) -> Option<String> {
        lock(&self.shared.init_error).clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let now = Instant::now();
    shared.polls.send_modify(|p| {
        p.count += 1;
        p.first.get_or_insert(now);
    });
    // Held open until an event is queued, as Lambda does between invocations.
    let Some(event) = shared.queue.lock().await.recv().await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "emulator stopped").into_response();
    };
    let deadline = (SystemTime::now() + shared.timeout)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let ids = uuid::Uuid::new_v4().simple().to_string();
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let trace = format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &ids[..24],
        &ids[16..]
    );
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", event.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            shared.function_arn.clone(),
        ),
        ("lambda-runtime-trace-id", trace),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    lock(&shared.in_flight).insert(event.request_id, event.answer);
    (headers, event.body).into_response()
}

fn complete(shared: &Shared, request_id: &str, outcome: Outcome, at: Instant) -> Response {
    match lock(&shared.in_flight).remove(request_id) {
        Some(answer) => {
            let _ = answer.send(Answer {
                request_id: request_id.to_owned(),
                outcome,
                at,
            });
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "errorMessage": format!("no invocation in flight with id {request_id}"),
                "errorType": "InvalidRequestID",
            })),
        )
            .into_response(),
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    complete(
        &shared,
        &request_id,
        Outcome::Response(body),
        Instant::now(),
    )
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let outcome = Outcome::Error {
        error_type: error_type(&headers),
        body,
    };
    complete(&shared, &request_id, outcome, at)
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = format!(
        "{}: {}",
        error_type(&headers).unwrap_or_default(),
        String::from_utf8_lossy(&body)
    );
    *lock(&shared.init_error) = Some(text);
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

/// A function as Lambda would start it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub bootstrap: PathBuf,
    pub memory_mb: u64,
    pub timeout: Duration,
    /// The function's configuration, plus whatever else the process should
    /// see (credentials: Lambda passes its role's as variables too).
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr are appended (CloudWatch's stand-in); discarded if `None`.
    pub log: Option<PathBuf>,
    /// A command the bootstrap is started through (an emulator such as
    /// `qemu-aarch64 -L /usr/aarch64-linux-gnu`); empty starts it directly.
    pub runner: Vec<String>,
}

/// A bootstrap process and its own Runtime API. Dropping it kills the process.
pub struct Function {
    name: String,
    api: RuntimeApi,
    child: Child,
    started: Instant,
}

impl Function {
    /// Starts the emulator, then the process with the environment Lambda
    /// gives a `provided.al2023` function (and nothing inherited).
    pub async fn start(spec: &FunctionSpec) -> Result<Self, BoxError> {
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}", spec.name);
        let api = RuntimeApi::start(arn, spec.timeout).await?;
        let task_root = spec
            .bootstrap
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        let mut command = match spec.runner.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&spec.bootstrap);
                command
            }
            None => Command::new(&spec.bootstrap),
        };
        command
            .env_clear()
            .current_dir(&task_root)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // Reserved: the function's configuration cannot override these.
            .env("AWS_LAMBDA_RUNTIME_API", api.address().to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("local/[$LATEST]{}", uuid::Uuid::new_v4().simple()),
            )
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("LAMBDA_TASK_ROOT", &task_root)
            .env("LAMBDA_RUNTIME_DIR", &task_root)
            .env("_HANDLER", "bootstrap")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .stdin(Stdio::null());
        match &spec.log {
            Some(path) => {
                let file = OpenOptions::new().create(true).append(true).open(path)?;
                command.stderr(file.try_clone()?).stdout(file);
            }
            None => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        // Process start: fork and exec are part of a cold start.
        let started = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", spec.bootstrap.display()))?;
        Ok(Self {
            name: spec.name.clone(),
            api,
            child,
            started,
        })
    }

    /// Just before the process was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn api(&self) -> &RuntimeApi {
        &self.api
    }

    pub fn invoke(&self, event: impl Into<Bytes>) -> Invocation {
        self.api.invoke(event)
    }

    /// The answer to `invocation`; an `Err` if the process exits or reports
    /// an init error first, or nothing comes within `wait`.
    pub async fn answer(
        &mut self,
        invocation: Invocation,
        wait: Duration,
    ) -> Result<Answer, BoxError> {
        let give_up = Instant::now() + wait;
        let mut answer = invocation.answer;
        loop {
            tokio::select! {
                biased;
                answer = &mut answer => {
                    return answer.map_err(|_| format!("{}: the emulator stopped", self.name).into());
                }
                () = tokio::time::sleep(PROCESS_CHECK) => {}
            }
            if let Some(error) = self.api.init_error() {
                return Err(format!("{}: init error {error}", self.name).into());
            }
            if let Some(status) = self.child.try_wait()? {
                // An answer posted just before exiting still counts.
                return answer.try_recv().map_err(|_| {
                    format!("{} exited ({status}) without answering", self.name).into()
                });
            }
            if Instant::now() >= give_up {
                return Err(format!("{}: no answer within {wait:?}", self.name).into());
            }
        }
    }

    /// Queues `event` and waits for its answer.
    pub async fn call(
        &mut self,
        event: impl Into<Bytes>,
        wait: Duration,
    ) -> Result<Answer, BoxError> {
        let invocation = self.invoke(event);
        self.answer(invocation, wait).await
    }

    /// The process's peak resident set so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, BoxError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmHWM in /proc/{}/status", self.pid()).into())
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
