//! The binary's logger (`--log-level`, `--log-format`); part of
//! `ms-gateway` only, not of the library, whose users pass their own
//! `slog::Logger` in `GatewayConfig::logger`.

use slog::Drain as _;

/// How much `ms-gateway` logs: a level and everything more severe, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Lines at this level and above.
    At(slog::Level),
    /// No log lines at all.
    Off,
}

/// The levels `--log-level` accepts, for its error message.
const LEVELS: &str = "trace, debug, info, warn (or warning), error, critical, off";

impl std::str::FromStr for LogLevel {
    type Err = String;

    /// Case-insensitive: `trace`, `debug`, `info`, `warn`/`warning`,
    /// `error`, `critical`, `off`.
    fn from_str(text: &str) -> Result<Self, String> {
        let level = match text.trim().to_ascii_lowercase().as_str() {
            "trace" => slog::Level::Trace,
            "debug" => slog::Level::Debug,
            "info" => slog::Level::Info,
            "warn" | "warning" => slog::Level::Warning,
            "error" => slog::Level::Error,
            "critical" => slog::Level::Critical,
            "off" => return Ok(Self::Off),
            _ => return Err(format!("unknown log level {text:?}; use one of {LEVELS}")),
        };
        Ok(Self::At(level))
    }
}

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Term,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The logger writing to stderr at `level` in `format`, through a bounded
/// asynchronous queue (lines past it are dropped rather than blocking).
pub fn logger(level: LogLevel, format: LogFormat) -> slog::Logger {
    let LogLevel::At(level) = level else {
        return slog::Logger::root(slog::Discard, slog::o!());
    };
    let drain: Box<dyn slog::Drain<Ok = (), Err = slog::Never> + Send> = match format {
        LogFormat::Term => {
            let decorator = slog_term::TermDecorator::new().stderr().build();
            Box::new(slog_term::FullFormat::new(decorator).build().fuse())
        }
        LogFormat::Json => Box::new(
            slog_json::Json::new(std::io::stderr())
                .add_default_keys()
                .build()
                .fuse(),
        ),
    };
    let drain = slog::LevelFilter::new(drain, level).fuse();
    let drain = slog_async::Async::new(drain).chan_size(4096).build().fuse();
    slog::Logger::root(drain, slog::o!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_case_insensitively() {
        assert_eq!("WARNING".parse(), Ok(LogLevel::At(slog::Level::Warning)));
        assert_eq!("Warn".parse(), Ok(LogLevel::At(slog::Level::Warning)));
        assert_eq!("critical".parse(), Ok(LogLevel::At(slog::Level::Critical)));
        assert_eq!("trace".parse(), Ok(LogLevel::At(slog::Level::Trace)));
        assert_eq!("OFF".parse(), Ok(LogLevel::Off));
        let error = "loud".parse::<LogLevel>().unwrap_err();
        assert!(error.contains("warn (or warning)"), "{error}");
    }
}
