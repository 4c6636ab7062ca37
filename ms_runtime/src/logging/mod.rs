//! One structured logger for every service, in one call.
//!
//! [`setup_logger`] is the seed's `Logger.setup_logger(__name__)`: it returns
//! a [`slog::Logger`] for a component, configured from `MS_LOG_LEVEL` and
//! `MS_LOG_FORMAT`, with `service`, `instance` and a timestamp on every line.
//!
//! Behind every logger is the log sink actor ([`LogSink`]): a thread that owns
//! the output and receives records through a bounded mailbox. Logging never
//! blocks: when the mailbox is full a record is dropped and counted, and the
//! count is written as a warning once the sink catches up. The sink flushes
//! on [`LogSink::shutdown`] and when the process panics.
//!
//! Records from the `log` crate (actix, awc) and from `tracing` (aws-sdk) go
//! to the same sink, with the same format and the same per-module levels.
//! Fields named like secrets (`password`, `secret`, `token`,
//! `authorization`, ...) are written as `***`.
//!
//! ```
//! use ms_runtime::logging::setup_logger;
//!
//! let log = setup_logger("ocr");
//! slog::info!(log, "document read"; "pages" => 3, "password" => "never shown");
//! ```
//!
//! Output is one line per record; with `MS_LOG_FORMAT=json`:
//!
//! ```text
//! {"ts":"2026-11-28T10:00:00.000Z","service":"ocr","instance":"i-3f2a9c1b7d4e","component":"ocr","pages":3,"password":"***","level":"info","msg":"document read"}
//! ```

mod bridge;
mod filter;
mod record;
mod scrub;
mod settings;
mod sink;

use std::sync::OnceLock;
use std::time::Duration;

pub use filter::{
    DEFAULT_DEPENDENCY_LEVEL, DEPENDENCY_MODULE, LogFilter, LogFormat, LogLevel, ParseLogError,
};
pub use record::{DEFAULT_REDACTED, Redaction};
pub use settings::{DEFAULT_QUEUE_CAPACITY, LogOutput, LogSettings};
pub use sink::{LogSink, LoggingError};

static GLOBAL: OnceLock<Option<LogSink>> = OnceLock::new();

/// How long the panic hook waits for the sink to write the last lines.
const PANIC_FLUSH: Duration = Duration::from_secs(2);

/// A logger for `component`, from the process-wide sink.
///
/// The first call starts the sink from the environment (`MS_LOG_LEVEL`,
/// `MS_LOG_FORMAT`, `MS_SERVICE_NAME`, `MS_INSTANCE_ID`) unless [`init`] ran
/// before. An invalid setting falls back to its default and says so in a
/// warning line, since a logger must always be had.
///
/// ```
/// use ms_runtime::logging::setup_logger;
///
/// let log = setup_logger("ocr::reader");
/// let page_log = log.new(slog::o!("page" => 3));
/// slog::debug!(page_log, "reading page"; "dpi" => 300);
/// ```
pub fn setup_logger(component: &str) -> slog::Logger {
    match global_or_init(|| settings_from_env(component)) {
        Some(sink) => sink.logger(component),
        None => slog::Logger::root(slog::Discard, slog::o!()),
    }
}

/// Starts the process-wide sink with `settings`, routes `log` and `tracing`
/// records to it and installs the panic hook that flushes it. The first call
/// wins; later calls return the sink already running. One exception: a sink
/// [`setup_logger`] started from the environment takes the service name and
/// instance of the first `init` (the runtime's), also in loggers made before.
///
/// # Errors
/// [`LoggingError::Start`] when the sink thread cannot start.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::logging::{self, LogFormat, LogSettings};
///
/// let sink = logging::init(LogSettings::new("ocr", "i-1").with_format(LogFormat::Json))?;
/// let log = logging::setup_logger("ocr"); // from the sink started above
/// slog::info!(log, "ready");
/// sink.flush(Duration::from_secs(2))?;
/// # Ok::<(), logging::LoggingError>(())
/// ```
pub fn init(settings: LogSettings) -> Result<LogSink, LoggingError> {
    let mut failure = None;
    let identity = (settings.service.clone(), settings.instance.clone());
    let sink = GLOBAL.get_or_init(|| match start_global(settings) {
        Ok(sink) => Some(sink),
        Err(e) => {
            failure = Some(e);
            None
        }
    });
    match (sink, failure) {
        (Some(sink), _) => {
            // a sink `setup_logger` started from the environment takes the
            // service's real name and instance (no-op for any other sink)
            sink.adopt_identity(&identity.0, &identity.1);
            Ok(sink.clone())
        }
        (None, Some(e)) => Err(e),
        (None, None) => Err(LoggingError::Stopped),
    }
}

/// The process-wide sink, if one was started.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::logging;
///
/// slog::info!(logging::setup_logger("batch"), "batch done"; "files" => 12);
/// // a tool without a Service: write what is queued before exiting
/// if let Some(sink) = logging::global() {
///     sink.flush(Duration::from_secs(2))?;
/// }
/// # Ok::<(), logging::LoggingError>(())
/// ```
pub fn global() -> Option<LogSink> {
    GLOBAL.get().and_then(Clone::clone)
}

fn global_or_init(
    settings: impl FnOnce() -> (LogSettings, Vec<String>),
) -> Option<&'static LogSink> {
    GLOBAL
        .get_or_init(|| {
            let (settings, problems) = settings();
            match start_global(settings) {
                Ok(sink) => {
                    sink.mark_provisional();
                    let log = sink.logger("ms_runtime::logging");
                    for problem in problems {
                        slog::warn!(log, "ignored invalid log setting"; "problem" => problem);
                    }
                    Some(sink)
                }
                Err(e) => {
                    eprintln!("ms_runtime: logging unavailable: {e}");
                    None
                }
            }
        })
        .as_ref()
}

fn start_global(settings: LogSettings) -> Result<LogSink, LoggingError> {
    let max = bridge::max_log_level(settings.filter.most_verbose());
    let sink = LogSink::start(settings)?;
    if log::set_boxed_logger(Box::new(bridge::LogBridge { sink: sink.clone() })).is_ok() {
        log::set_max_level(max);
    }
    install_panic_hook();
    Ok(sink)
}

fn settings_from_env(component: &str) -> (LogSettings, Vec<String>) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut problems = Vec::new();
    let service = var("MS_SERVICE_NAME").unwrap_or_else(|| component.to_owned());
    let instance = var("MS_INSTANCE_ID").unwrap_or_else(|| "-".to_owned());
    let mut settings = LogSettings::new(service, instance);
    if let Some(level) = var("MS_LOG_LEVEL") {
        match level.parse() {
            Ok(filter) => settings.filter = filter,
            Err(e) => problems.push(format!("MS_LOG_LEVEL: {e}")),
        }
    } else if let Some(rust_log) = var("RUST_LOG") {
        match LogFilter::from_rust_log(&rust_log) {
            Ok(filter) => settings.filter = filter,
            Err(e) => problems.push(format!("RUST_LOG: {e}")),
        }
    }
    if let Some(format) = var("MS_LOG_FORMAT") {
        match format.parse() {
            Ok(format) => settings.format = format,
            Err(e) => problems.push(format!("MS_LOG_FORMAT: {e}")),
        }
    }
    (settings, problems)
}

/// Logs a panic as a `critical` record and waits for the sink to write it,
/// then runs the previous hook.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_sink_thread = std::thread::current().name() == Some(sink::SINK_THREAD);
        if let (Some(sink), false) = (global(), on_sink_thread) {
            let log = sink.logger("panic");
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let thread = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_owned();
            slog::crit!(log, "panic: {}", message; "location" => location, "thread" => thread);
            // the hook's job is to not lose the last lines; a timeout just gives up
            let _ = sink.flush(PANIC_FLUSH);
        }
        previous(info);
    }));
}
