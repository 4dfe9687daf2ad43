//! Capturing every log line the code under test writes, at TRACE level.
//!
//! One subscriber per test binary, installed by the first capture, sends
//! each line to the capture of the thread that writes it ([`Capture`]), or
//! else, once [`capture`] has been called, to the binary-wide buffer
//! ([`text`]); else nowhere. (Not a scoped subscriber per capture: tracing
//! caches whether a log statement is wanted at its first use, and with a
//! scoped subscriber alone it asks only the subscriber of the thread that
//! got there first, so another test could switch a statement off for good.)

use std::cell::RefCell;
use std::io::Write;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;

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

thread_local! {
    /// The capture of this thread's lines, if any.
    static THREAD: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

/// Whether [`capture`] was called.
static BINARY_WIDE: AtomicBool = AtomicBool::new(false);

fn binary_wide() -> &'static Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER.get_or_init(Buffer::default)
}

/// Where a line written on this thread goes.
fn destination() -> Option<Buffer> {
    THREAD.with(|buffer| buffer.borrow().clone()).or_else(|| {
        BINARY_WIDE
            .load(Ordering::SeqCst)
            .then(|| binary_wide().clone())
    })
}

fn wanted() -> bool {
    BINARY_WIDE.load(Ordering::SeqCst) || THREAD.with(|buffer| buffer.borrow().is_some())
}

/// A line's way to its [`destination`].
struct Line(Option<Buffer>);

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Some(buffer) => buffer.write(bytes),
            None => Ok(bytes.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Line(destination()))
            .with_ansi(false)
            .finish()
            .with(dynamic_filter_fn(|_, _| wanted()));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// Captures the lines of every test of the binary from now on (but those a
/// [`Capture`] takes), in [`text`].
pub fn capture() {
    install();
    BINARY_WIDE.store(true, Ordering::SeqCst);
}

pub fn text() -> String {
    binary_wide().text()
}

/// One test's own log lines, at TRACE level: every line written on this
/// thread while it lives. Under `#[tokio::test]` (a single-threaded
/// runtime) that is the test and every task it spawns: the AWS SDK's and
/// the HTTP stack's connection tasks, an in-process proxy; not servers on
/// threads of their own (wiremock's), nor other tests.
pub struct Capture {
    buffer: Buffer,
    previous: Option<Buffer>,
    /// Bound to its thread.
    _thread: PhantomData<*const ()>,
}

impl Capture {
    pub fn start() -> Self {
        install();
        let buffer = Buffer::default();
        let previous = THREAD.with(|current| current.replace(Some(buffer.clone())));
        Self {
            buffer,
            previous,
            _thread: PhantomData,
        }
    }

    pub fn text(&self) -> String {
        self.buffer.text()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        THREAD.with(|current| *current.borrow_mut() = self.previous.take());
    }
}
