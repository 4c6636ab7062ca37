//! Log levels and `RUST_LOG`-style filters, parsed from `MS_LOG_LEVEL`.

use std::fmt;
use std::str::FromStr;

/// How severe a record is, from most to least verbose.
///
/// ```
/// use ms_runtime::logging::LogLevel;
///
/// let level: LogLevel = "WARN".parse()?;
/// assert_eq!(level, LogLevel::Warning);
/// assert_eq!(level.as_str(), "warning");
/// assert!(LogLevel::Error > LogLevel::Info);
/// # Ok::<(), ms_runtime::logging::ParseLogError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Step-by-step detail.
    Trace,
    /// Detail for developers.
    Debug,
    /// Normal operation worth recording.
    Info,
    /// Something unexpected that the service survived.
    Warning,
    /// A failure of one operation.
    Error,
    /// A failure of the service.
    Critical,
    /// Nothing: as a filter level, turns records off (no record has it).
    Off,
}

impl LogLevel {
    /// The level's name, lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
            Self::Off => "off",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log setting that could not be read.
///
/// ```
/// use ms_runtime::logging::LogFormat;
///
/// let Err(err) = "yaml".parse::<LogFormat>() else { unreachable!() };
/// assert_eq!(err.found, "yaml");
/// assert_eq!(err.to_string(), r#""yaml" is not term or json"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{found:?} is not {expected}")]
pub struct ParseLogError {
    /// The text that was read.
    pub found: String,
    /// The form that was expected.
    pub expected: &'static str,
}

const LEVELS: &str = "one of trace, debug, info, warning (warn), error, critical, off";

impl FromStr for LogLevel {
    type Err = ParseLogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "warn" | "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            "critical" | "crit" => Ok(Self::Critical),
            "off" | "none" => Ok(Self::Off),
            _ => Err(ParseLogError {
                found: s.to_owned(),
                expected: LEVELS,
            }),
        }
    }
}

/// The pseudo-module of `MS_LOG_LEVEL` that sets the level of dependencies'
/// records (`log` and `tracing`) no other override names: `info,dep=debug`.
/// Their lines carry `component: "dep"` and the record's `target`.
pub const DEPENDENCY_MODULE: &str = "dep";

/// The least severe level a dependency's record is written at unless
/// `MS_LOG_LEVEL` says otherwise (see [`LogFilter::level_for_dependency`]).
pub const DEFAULT_DEPENDENCY_LEVEL: LogLevel = LogLevel::Warning;

/// A default level plus per-module overrides: `info,ms_runtime::gateway=debug`.
///
/// The most specific module prefix wins, as with `RUST_LOG`.
///
/// ```
/// use ms_runtime::logging::{LogFilter, LogLevel};
///
/// let filter: LogFilter = "warning,awc=error,ms_runtime::gateway=debug".parse()?;
/// assert_eq!(filter.level_for("ms_runtime::gateway::connection"), LogLevel::Debug);
/// assert_eq!(filter.level_for("ms_runtime::s3"), LogLevel::Warning);
/// assert_eq!(filter.level_for("awc::client"), LogLevel::Error);
/// assert!(filter.enabled("ms_runtime::gateway", LogLevel::Info));
/// # Ok::<(), ms_runtime::logging::ParseLogError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    default: LogLevel,
    /// Sorted longest module first, so the first match is the most specific.
    overrides: Vec<(String, LogLevel)>,
}

impl LogFilter {
    /// A filter with one level for every module.
    ///
    /// ```
    /// use ms_runtime::logging::{LogFilter, LogLevel};
    ///
    /// let filter = LogFilter::new(LogLevel::Debug);
    /// assert_eq!(filter.default_level(), LogLevel::Debug);
    /// assert!(filter.enabled("any::module", LogLevel::Debug));
    /// assert!(!filter.enabled("any::module", LogLevel::Trace));
    /// ```
    pub fn new(default: LogLevel) -> Self {
        Self {
            default,
            overrides: Vec::new(),
        }
    }

    /// The level for records from everything no override names.
    pub fn default_level(&self) -> LogLevel {
        self.default
    }

    /// The level in force for records from `module` (a `::` path).
    pub fn level_for(&self, module: &str) -> LogLevel {
        self.override_for(module).unwrap_or(self.default)
    }

    /// Whether a record of `level` from `module` is written.
    pub fn enabled(&self, module: &str, level: LogLevel) -> bool {
        level >= self.level_for(module)
    }

    /// The level in force for a dependency's record (from the `log` or
    /// `tracing` crates) with this `target`: an override naming the target
    /// wins; else the pseudo-module [`DEPENDENCY_MODULE`]'s level
    /// (`MS_LOG_LEVEL=info,dep=debug`); else the default level, but never
    /// more verbose than [`DEFAULT_DEPENDENCY_LEVEL`], so that `info` for a
    /// service does not open the floodgates of its HTTP and S3 libraries.
    ///
    /// ```
    /// use ms_runtime::logging::{LogFilter, LogLevel};
    ///
    /// let filter: LogFilter = "debug,awc=info".parse()?;
    /// assert_eq!(filter.level_for_dependency("s3s::service"), LogLevel::Warning);
    /// assert_eq!(filter.level_for_dependency("awc::client"), LogLevel::Info);
    /// let opened: LogFilter = "info,dep=debug".parse()?;
    /// assert_eq!(opened.level_for_dependency("s3s::service"), LogLevel::Debug);
    /// # Ok::<(), ms_runtime::logging::ParseLogError>(())
    /// ```
    pub fn level_for_dependency(&self, target: &str) -> LogLevel {
        self.override_for(target)
            .or_else(|| self.override_for(DEPENDENCY_MODULE))
            .unwrap_or_else(|| self.default.max(DEFAULT_DEPENDENCY_LEVEL))
    }

    fn override_for(&self, module: &str) -> Option<LogLevel> {
        self.overrides
            .iter()
            .find(|(prefix, _)| {
                module == prefix
                    || module
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with("::"))
            })
            .map(|(_, level)| *level)
    }

    /// The most verbose level anything may be written at.
    ///
    /// ```
    /// use ms_runtime::logging::{LogFilter, LogLevel};
    ///
    /// let filter: LogFilter = "warning,ms_runtime::gateway=trace".parse()?;
    /// assert_eq!(filter.default_level(), LogLevel::Warning);
    /// assert_eq!(filter.most_verbose(), LogLevel::Trace);
    /// # Ok::<(), ms_runtime::logging::ParseLogError>(())
    /// ```
    pub fn most_verbose(&self) -> LogLevel {
        self.overrides
            .iter()
            .map(|(_, level)| *level)
            .fold(self.default, Ord::min)
    }
}

impl Default for LogFilter {
    fn default() -> Self {
        Self::new(LogLevel::Info)
    }
}

impl FromStr for LogFilter {
    type Err = ParseLogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected =
            "a level (trace..critical) and optional module=level overrides, comma separated";
        let refuse = || ParseLogError {
            found: s.to_owned(),
            expected,
        };
        let mut filter = Self::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((module, level)) => {
                    let module = module.trim();
                    if module.is_empty() {
                        return Err(refuse());
                    }
                    let level = level.parse().map_err(|_| refuse())?;
                    filter.overrides.push((module.to_owned(), level));
                }
                None => filter.default = part.parse().map_err(|_| refuse())?,
            }
        }
        filter
            .overrides
            .sort_by_key(|(m, _)| std::cmp::Reverse(m.len()));
        Ok(filter)
    }
}

impl LogFilter {
    /// Reads a `RUST_LOG` value, the form the Rust ecosystem uses
    /// (`env_logger`, `tracing-subscriber`): comma-separated directives,
    /// each a level, a `target=level`, or a bare `target` (everything from
    /// it, like `trace`). Span filters (`target[span]=level`) and a trailing
    /// `/regex` are not supported: the span part is dropped (the directive
    /// then covers the whole target) and a regex refuses the value.
    ///
    /// ```
    /// use ms_runtime::logging::{LogFilter, LogLevel};
    ///
    /// let filter = LogFilter::from_rust_log("warn,my_service=debug,ms_runtime::gateway")?;
    /// assert_eq!(filter.default_level(), LogLevel::Warning);
    /// assert_eq!(filter.level_for("my_service::ocr"), LogLevel::Debug);
    /// assert_eq!(filter.level_for("ms_runtime::gateway"), LogLevel::Trace);
    /// assert_eq!(LogFilter::from_rust_log("off")?.default_level(), LogLevel::Off);
    /// # Ok::<(), ms_runtime::logging::ParseLogError>(())
    /// ```
    ///
    /// # Errors
    /// [`ParseLogError`] for an unknown level or a `/regex` filter.
    pub fn from_rust_log(s: &str) -> Result<Self, ParseLogError> {
        let refuse = || ParseLogError {
            found: s.to_owned(),
            expected: "RUST_LOG directives: level, target=level or target, comma separated",
        };
        if s.contains('/') {
            return Err(refuse());
        }
        let mut directives = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (target, level) = match part.split_once('=') {
                Some((target, level)) => (Some(target), level),
                None if part.parse::<LogLevel>().is_ok() => (None, part),
                None => (Some(part), "trace"),
            };
            // `target[span{field=value}]`: the span part is not supported
            let target = target.map(|t| t.split('[').next().unwrap_or_default().trim());
            match target {
                Some("") => directives.push(level.to_owned()),
                Some(target) => directives.push(format!("{target}={level}")),
                None => directives.push(level.to_owned()),
            }
        }
        directives.join(",").parse().map_err(|_| refuse())
    }
}

impl fmt::Display for LogFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.default)?;
        for (module, level) in &self.overrides {
            write!(f, ",{module}={level}")?;
        }
        Ok(())
    }
}

/// How log lines are written.
///
/// ```
/// use ms_runtime::logging::LogFormat;
///
/// assert_eq!("json".parse::<LogFormat>()?, LogFormat::Json);
/// assert_eq!("text".parse::<LogFormat>()?, LogFormat::Term);
/// assert_eq!(LogFormat::default(), LogFormat::Term);
/// # Ok::<(), ms_runtime::logging::ParseLogError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    #[default]
    Term,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = ParseLogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "term" | "text" => Ok(Self::Term),
            "json" => Ok(Self::Json),
            _ => Err(ParseLogError {
                found: s.to_owned(),
                expected: "term or json",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_with_aliases() {
        assert_eq!("WARN".parse::<LogLevel>(), Ok(LogLevel::Warning));
        assert_eq!("critical".parse::<LogLevel>(), Ok(LogLevel::Critical));
        assert!("loud".parse::<LogLevel>().is_err());
    }

    #[test]
    fn most_specific_module_wins_and_prefixes_stop_at_path_segments() {
        let f: LogFilter = "error,a=info,a::b=trace".parse().unwrap();
        assert_eq!(f.level_for("a::b::c"), LogLevel::Trace);
        assert_eq!(f.level_for("a::bc"), LogLevel::Info);
        assert_eq!(f.level_for("ab"), LogLevel::Error);
        assert_eq!(f.most_verbose(), LogLevel::Trace);
        assert_eq!(f.to_string(), "error,a::b=trace,a=info");
    }

    #[test]
    fn rust_log_forms_are_read() {
        let f = LogFilter::from_rust_log("error,hyper=off,my_app[request]=debug,noisy").unwrap();
        assert_eq!(f.default_level(), LogLevel::Error);
        assert_eq!(f.level_for("hyper::client"), LogLevel::Off);
        assert!(!f.enabled("hyper", LogLevel::Critical));
        assert_eq!(f.level_for("my_app"), LogLevel::Debug);
        assert_eq!(f.level_for("noisy::x"), LogLevel::Trace);
        assert_eq!(LogFilter::from_rust_log("").unwrap(), LogFilter::default());
        // a bare word is a target, as in env_logger: "loud" means loud=trace
        assert_eq!(
            LogFilter::from_rust_log("loud").unwrap().level_for("loud"),
            LogLevel::Trace
        );
        for bad in ["a=loud", "a=info/foo", "a=b=c"] {
            assert!(LogFilter::from_rust_log(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn off_turns_every_level_off() {
        let f: LogFilter = "off".parse().unwrap();
        for level in [LogLevel::Trace, LogLevel::Info, LogLevel::Critical] {
            assert!(!f.enabled("any", level));
        }
    }

    #[test]
    fn dependencies_stay_at_warning_unless_named_or_opened() {
        let info: LogFilter = "info".parse().unwrap();
        assert_eq!(
            info.level_for_dependency("tracing::span"),
            LogLevel::Warning
        );
        let quiet: LogFilter = "error".parse().unwrap();
        assert_eq!(quiet.level_for_dependency("tracing::span"), LogLevel::Error);
        let named: LogFilter = "info,s3s=debug,dep=error".parse().unwrap();
        assert_eq!(named.level_for_dependency("s3s::ops"), LogLevel::Debug);
        assert_eq!(named.level_for_dependency("hyper::proto"), LogLevel::Error);
        // the service's own slog records are not affected by the floor
        assert_eq!(info.level_for("ms_runtime::gateway"), LogLevel::Info);
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in ["=debug", "a=loud", "noisy", "info,x="] {
            assert!(bad.parse::<LogFilter>().is_err(), "{bad}");
        }
    }
}
