//! Capturing every log line the code under test writes.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::subscriber::DefaultGuard;

/// Log output kept in memory; its clones write to the same place.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The subscriber that writes every line at TRACE level into `buffer`.
fn at_trace(buffer: Buffer) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || buffer.clone())
        .with_ansi(false)
        .finish()
}

fn global() -> &'static Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER.get_or_init(Buffer::default)
}

/// Installs the capturing subscriber (once per test binary): the lines of
/// every test of the binary, at TRACE level, in [`text`].
pub fn capture() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        tracing::subscriber::set_global_default(at_trace(global().clone())).unwrap();
    });
}

pub fn text() -> String {
    global().text()
}

/// One test's own log lines, at TRACE level: every line written on this
/// thread while it lives. Under `#[tokio::test]` (a single-threaded
/// runtime) that is the test and every task it spawns: the AWS SDK's and
/// the HTTP stack's connection tasks, an in-process proxy; not servers on
/// threads of their own (wiremock's), nor other tests.
pub struct Capture {
    buffer: Buffer,
    _guard: DefaultGuard,
}

impl Capture {
    pub fn start() -> Self {
        let buffer = Buffer::default();
        let guard = tracing::subscriber::set_default(at_trace(buffer.clone()));
        Self {
            buffer,
            _guard: guard,
        }
    }

    pub fn text(&self) -> String {
        self.buffer.text()
    }
}
