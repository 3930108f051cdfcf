//! JSON logs (or pretty ones for a person at a terminal), and panics routed through them.
//!
//! The service's log lines are gathered in memory and written to stdout by one thread every
//! 50 ms (see [`Batched`]); [`flush`] writes what is left at exit. Dev mode and the one-shot
//! commands write each line as it comes.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

use std::io::IsTerminal;
use std::sync::Mutex;

use std::io::Write;
use std::sync::{Arc, Condvar};
use std::time::Duration;

/// How long a log line may wait in memory before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Written at once when this much has gathered.
const FLUSH_AT_BYTES: usize = 256 * 1024;
/// Past this much unwritten (stdout blocked), logging waits for the write: never drops a line.
const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;

/// Log lines gathered in memory and written to stdout by one thread every [`FLUSH_EVERY`] (or
/// when [`FLUSH_AT_BYTES`] have gathered): a request only copies its line into the buffer, with
/// no system call and no thread to wake. Writing each line as it came cost the `GET /api/me` path
/// about a third of its CPU and half a context switch per request (issue 15, bench/run).
#[derive(Default)]
struct Batched {
    pending: Mutex<Vec<u8>>,
    full: Condvar,
}

impl Batched {
    fn push(&self, line: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.extend_from_slice(line);
        if pending.len() >= MAX_PENDING_BYTES {
            // stdout is not keeping up: write here rather than grow without bound.
            drop(pending);
            self.write_pending();
        } else if pending.len() >= FLUSH_AT_BYTES {
            self.full.notify_one();
        }
    }

    /// Waits until [`FLUSH_EVERY`] has passed or [`FLUSH_AT_BYTES`] have gathered, then writes.
    fn wait_and_write(&self) {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() < FLUSH_AT_BYTES {
            drop(self.full.wait_timeout(pending, FLUSH_EVERY).unwrap_or_else(|p| p.into_inner()).0);
        } else {
            drop(pending);
        }
        self.write_pending();
    }

    /// Writes what has gathered. Stdout is taken before the buffer (always in that order), so
    /// batches reach it in the order they were gathered.
    fn write_pending(&self) {
        let mut out = std::io::stdout().lock();
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if !batch.is_empty() {
            let _ = out.write_all(&batch).and_then(|_| out.flush());
        }
    }
}

/// One event's line, handed to the buffer whole when the event is done.
struct Line {
    sink: Arc<Batched>,
    bytes: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.sink.push(&self.bytes);
    }
}

#[derive(Clone)]
struct BatchedStdout(Arc<Batched>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedStdout {
    type Writer = Line;
    fn make_writer(&'a self) -> Line {
        Line { sink: self.0.clone(), bytes: Vec::with_capacity(512) }
    }
}

/// The service's buffer, for [`flush`].
static BATCHED: Mutex<Option<Arc<Batched>>> = Mutex::new(None);

/// Writes every log line still in memory (at exit, and before a fatal error's last words).
pub fn flush() {
    if let Some(b) = BATCHED.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        b.write_pending();
    }
}

/// Stdout through the buffer, and the thread that writes it.
fn stdout_writer() -> BatchedStdout {
    let sink = Arc::new(Batched::default());
    *BATCHED.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink.clone());
    let writer = sink.clone();
    let spawned = std::thread::Builder::new().name("log-writer".into()).spawn(move || loop {
        writer.wait_and_write();
    });
    if spawned.is_err() {
        eprintln!("payout-service: cannot start the log writer thread; log lines are written at exit");
    }
    BatchedStdout(sink)
}

use crate::config::LogFormat;

/// The service (`serve`): logs to stdout through the writer thread.
pub fn init_service(format: LogFormat) {
    install(format, Sink::StdoutThread)
}

/// Dev mode: logs to stdout directly, in step with the banner it prints between them.
pub fn init(format: LogFormat) {
    install(format, Sink::Stdout)
}

/// One-shot commands (migrate, reencrypt, run-job) log to stderr so their report on stdout
/// stays machine-readable.
pub fn init_to(format: LogFormat, stderr: bool) {
    install(format, if stderr { Sink::Stderr } else { Sink::Stdout })
}

enum Sink {
    Stdout,
    StdoutThread,
    Stderr,
}

fn install(format: LogFormat, sink: Sink) {
    if tracing::dispatcher::has_been_set() {
        return; // already initialised (tests)
    }
    let writer = match sink {
        Sink::Stderr => BoxMakeWriter::new(std::io::stderr),
        Sink::Stdout => BoxMakeWriter::new(std::io::stdout),
        Sink::StdoutThread => BoxMakeWriter::new(stdout_writer()),
    };
    let terminal = match sink {
        Sink::Stderr => std::io::stderr().is_terminal(),
        _ => std::io::stdout().is_terminal(),
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,hyper=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false).with_writer(writer))
            .try_init(),
        // Colour only on a terminal: logs written to a file or a pipe stay plain text.
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().compact().with_ansi(terminal).with_writer(writer)).try_init(),
    };
    let _ = result;
}
