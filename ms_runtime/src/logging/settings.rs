//! How a log sink writes: the settings and the output, chosen before it starts.

use std::io::Write;

use super::record::Redaction;
use super::{LogFilter, LogFormat};

/// Records the sink's mailbox holds before new ones are dropped.
///
/// ```
/// use ms_runtime::logging::{DEFAULT_QUEUE_CAPACITY, LogSettings};
///
/// assert_eq!(LogSettings::new("ocr", "i-1").queue_capacity, DEFAULT_QUEUE_CAPACITY);
/// // a chatty service: more room before records are dropped
/// let settings = LogSettings::new("ocr", "i-1").with_queue_capacity(4 * DEFAULT_QUEUE_CAPACITY);
/// assert_eq!(settings.queue_capacity, 32_768);
/// ```
pub const DEFAULT_QUEUE_CAPACITY: usize = 8_192;

/// Where log lines go.
///
/// ```
/// use ms_runtime::logging::{LogOutput, LogSettings};
///
/// // where the platform collects standard output
/// let settings = LogSettings::new("ocr", "i-1").with_output(LogOutput::Stdout);
/// # let _ = settings;
/// // or into a file
/// let file = tempfile::tempfile()?;
/// let settings = LogSettings::new("ocr", "i-1").with_output(LogOutput::Writer(Box::new(file)));
/// # let _ = settings;
/// # Ok::<(), std::io::Error>(())
/// ```
pub enum LogOutput {
    /// Standard error (coloured when it is a terminal, in `term` format).
    Stderr,
    /// Standard output.
    Stdout,
    /// Any writer, for tests and embedding.
    Writer(Box<dyn Write + Send>),
}

impl std::fmt::Debug for LogOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Stderr => "Stderr",
            Self::Stdout => "Stdout",
            Self::Writer(_) => "Writer",
        })
    }
}

/// How a [`LogSink`](super::LogSink) writes: levels, format, output, the fields on every
/// line, redaction and the queue bound.
///
/// ```
/// use ms_runtime::logging::{LogFormat, LogOutput, LogSettings, Redaction};
///
/// let settings = LogSettings::new("ocr", "i-1")
///     .with_filter("info,awc=warning".parse()?)
///     .with_format(LogFormat::Json)
///     .with_output(LogOutput::Stdout)
///     .with_redaction(Redaction::new(["password", "iban"]));
/// assert_eq!(settings.filter.to_string(), "info,awc=warning");
/// # Ok::<(), ms_runtime::logging::ParseLogError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct LogSettings {
    /// Levels, overall and per module.
    pub filter: LogFilter,
    /// `term` or `json`.
    pub format: LogFormat,
    /// Where lines go.
    pub output: LogOutput,
    /// The `service` field on every line.
    pub service: String,
    /// The `instance` field on every line.
    pub instance: String,
    /// Records queued before new ones are dropped (and counted).
    pub queue_capacity: usize,
    /// Fields written as `***`.
    pub redaction: Redaction,
}

impl LogSettings {
    /// Settings for a service: info level, `term` format, standard error.
    pub fn new(service: impl Into<String>, instance: impl Into<String>) -> Self {
        Self {
            filter: LogFilter::default(),
            format: LogFormat::default(),
            output: LogOutput::Stderr,
            service: service.into(),
            instance: instance.into(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            redaction: Redaction::default(),
        }
    }

    /// The same settings with another filter.
    pub fn with_filter(mut self, filter: LogFilter) -> Self {
        self.filter = filter;
        self
    }

    /// The same settings with another format.
    pub fn with_format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// The same settings with another output.
    pub fn with_output(mut self, output: LogOutput) -> Self {
        self.output = output;
        self
    }

    /// The same settings with another queue bound (at least 1).
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// The same settings with other redacted field names.
    pub fn with_redaction(mut self, redaction: Redaction) -> Self {
        self.redaction = redaction;
        self
    }
}
