//! JSON logs (or pretty ones for a person at a terminal), and panics routed through them.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use std::io::IsTerminal;

use crate::config::LogFormat;

/// Logs go to stdout for the service; one-shot commands (migrate, reencrypt, run-job) log to
/// stderr so their report on stdout stays machine-readable.
pub fn init(format: LogFormat) {
    init_to(format, false)
}

pub fn init_to(format: LogFormat, stderr: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,hyper=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json if stderr => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false))
            .try_init(),
        // Colour only on a terminal: logs written to a file or a pipe stay plain text.
        LogFormat::Pretty if stderr => registry
            .with(tracing_subscriber::fmt::layer().compact().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().compact().with_ansi(std::io::stdout().is_terminal())).try_init(),
    };
    let _ = result; // already initialised (tests)
}
