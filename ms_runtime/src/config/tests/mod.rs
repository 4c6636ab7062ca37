//! Config: env, file, precedence, seed-style host + TLS, tuning, secrets and
//! every invalid value; one file per concern, the shared helpers here.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::*;
use crate::logging::LogLevel;

mod aws;
mod builder;
mod env;
mod file;
mod secrets;
mod tuning;

fn vars(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_vars(pairs.iter().map(|(k, v)| (*k, v.to_string())))
}

fn file(contents: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(contents.as_bytes()).unwrap();
    f
}

fn invalid_var(err: ConfigError) -> &'static str {
    match err {
        ConfigError::Invalid { var, .. } => var,
        other => panic!("expected Invalid, got {other:?}"),
    }
}
