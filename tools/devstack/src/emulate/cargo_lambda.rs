//! `cargo lambda watch`, the Lambda control plane the default transport runs
//! the functions behind, and `cargo lambda invoke`, which sends them events.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use adsconnect_dev::BoxError;

/// `cargo lambda invoke`: whether it succeeded, its stdout and its stderr.
pub(super) fn invoke(port: u16, function: &str, event: &Path) -> (bool, String, String) {
    let output = Command::new("cargo")
        .args(["lambda", "invoke", function, "--invoke-port"])
        .arg(port.to_string())
        .arg("--data-file")
        .arg(event)
        .args(["--output-format", "json"])
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(output) => (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ),
        Err(error) => (
            false,
            String::new(),
            format!("cargo lambda invoke: {error}"),
        ),
    }
}

pub(super) fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Waits (up to 20 s) until the emulator accepts connections on `port`; the
/// invocations report it if it never does.
pub(super) fn wait_until_listening(port: u16) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for _ in 0..100 {
        if TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `cargo lambda watch` on `port`, in a process group of its own: stopped
/// with the functions it started (each in a group of its own) when this is
/// dropped, or when this process is interrupted.
pub(super) struct Watch {
    child: Arc<Mutex<Child>>,
}

impl Watch {
    pub(super) fn start(port: u16, jwt_key: &str, log: &Path) -> Result<Self, BoxError> {
        let log = fs::File::create(log)?;
        let child = Command::new("cargo")
            .args(["lambda", "watch", "--invoke-port"])
            .arg(port.to_string())
            // The functions verify dev tokens with the dev Clerk key.
            .env("CLERK_JWT_KEY", jwt_key)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()?;
        let child = Arc::new(Mutex::new(child));
        let watched = Arc::clone(&child);
        tokio::spawn(async move {
            interrupted().await;
            shut_down(&watched);
            std::process::exit(130);
        });
        Ok(Self { child })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        shut_down(&self.child);
    }
}

/// Asks `cargo lambda watch` and its functions to stop; after 5 s, makes them.
fn shut_down(watch: &Mutex<Child>) {
    let mut child = watch.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = child.id();
    stop(pid, "TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(pid, "KILL");
    let _ = child.wait();
}

/// Sends `SIG<signal>` to the functions `cargo lambda watch` (`pid`)
/// started, then to its process group.
fn stop(pid: u32, signal: &str) {
    let _ = Command::new("pkill")
        .arg(format!("-{signal}"))
        .arg("-P")
        .arg(pid.to_string())
        .status();
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pid}"))
        .stderr(Stdio::null())
        .status();
}

/// Resolves on Ctrl-C or SIGTERM (never, where neither can be listened for).
async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => terminate.recv().await,
            Err(_) => None,
        }
    };
    tokio::select! {
        Ok(()) = tokio::signal::ctrl_c() => {}
        Some(()) = terminate => {}
        else => std::future::pending().await,
    }
}
