//! Logging settings shared by every service: levels, per-module filters and
//! output formats.

mod filter;

pub use filter::{LogFilter, LogFormat, LogLevel, ParseLogError};
