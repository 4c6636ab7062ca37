//! Records from the `log` crate (actix, awc) and from `tracing` (aws-sdk,
//! s3s, through tracing's `log` feature) go to the same sink as lines of
//! their own component, `dep`, with the record's `target`; at `warning` and
//! above unless `MS_LOG_LEVEL` names them
//! ([`LogFilter::level_for_dependency`](super::LogFilter::level_for_dependency)).
//! Secret values in their text (an `authorization` header) are hidden.

use slog::{Level, RecordLocation};

use super::LogLevel;
use ms_protocol::clock::now_ms;

use super::filter::DEPENDENCY_MODULE;
use super::record::{FieldValue, OwnedRecord};
use super::scrub::scrub;
use super::sink::LogSink;

/// The `log` crate's logger, forwarding to a [`LogSink`].
pub(crate) struct LogBridge {
    pub(crate) sink: LogSink,
}

fn from_log(level: log::Level) -> LogLevel {
    match level {
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warning,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace => LogLevel::Trace,
    }
}

fn to_slog(level: LogLevel) -> Level {
    match level {
        // no record is `Off`; as a level it is only ever a filter's
        LogLevel::Critical | LogLevel::Off => Level::Critical,
        LogLevel::Error => Level::Error,
        LogLevel::Warning => Level::Warning,
        LogLevel::Info => Level::Info,
        LogLevel::Debug => Level::Debug,
        LogLevel::Trace => Level::Trace,
    }
}

/// The most verbose `log` level the filter lets through, for `log::set_max_level`.
pub(crate) fn max_log_level(level: LogLevel) -> log::LevelFilter {
    match level {
        LogLevel::Trace => log::LevelFilter::Trace,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Warning => log::LevelFilter::Warn,
        LogLevel::Error | LogLevel::Critical => log::LevelFilter::Error,
        LogLevel::Off => log::LevelFilter::Off,
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        from_log(metadata.level())
            >= self
                .sink
                .shared()
                .filter
                .level_for_dependency(metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut fields = self.sink.root_fields();
        fields.push(("component", FieldValue::Str(DEPENDENCY_MODULE.to_owned())));
        fields.push(("target", FieldValue::Str(record.target().to_owned())));
        let level = from_log(record.level());
        let msg = record.args().to_string();
        // dependencies print request headers and the like into the text
        let msg = scrub(&msg, &self.sink.shared().redaction).unwrap_or(msg);
        self.sink.submit(OwnedRecord {
            level: to_slog(level),
            msg,
            location: RecordLocation {
                file: record.file_static().unwrap_or("<unknown>"),
                line: record.line().unwrap_or(0),
                column: 0,
                function: "",
                module: record.module_path_static().unwrap_or("log"),
            },
            ts_ms: now_ms(),
            // reversed on output, like slog's own fields
            fields: fields.into_iter().rev().collect(),
        });
    }

    fn flush(&self) {}
}
