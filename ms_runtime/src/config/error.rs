//! What can be wrong with a configuration, and where a value came from.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from, for error messages.
///
/// ```
/// use ms_runtime::Config;
/// use ms_runtime::config::{ConfigError, ConfigSource};
///
/// let Err(ConfigError::Invalid { source_of, .. }) = Config::builder().max_in_flight(0).build() else {
///     unreachable!()
/// };
/// assert_eq!(source_of, ConfigSource::Builder);
/// assert_eq!(source_of.to_string(), "builder");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// An environment variable.
    Env,
    /// The TOML file at this path.
    File(PathBuf),
    /// [`ConfigBuilder`](super::ConfigBuilder) in code.
    Builder,
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => f.write_str("environment"),
            Self::File(path) => write!(f, "config file {}", path.display()),
            Self::Builder => f.write_str("builder"),
        }
    }
}

/// A configuration that cannot be used.
///
/// ```
/// use ms_runtime::{Config, ConfigError};
///
/// let Err(err) = Config::from_vars([("MS_USERNAME", "ocr")]) else { unreachable!() };
/// assert!(matches!(err, ConfigError::Incomplete { var: "MS_USERNAME", needs: "MS_PASSWORD" }));
/// assert_eq!(err.to_string(), "MS_USERNAME is set but MS_PASSWORD is not; set both or neither");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value does not have the required form. `found` is `None` for secrets.
    #[error("{var} ({source_of}) must be {expected}{}", found.as_ref().map(|f| format!(", found {f:?}")).unwrap_or_default())]
    Invalid {
        /// The environment variable naming the setting.
        var: &'static str,
        /// Where the value came from.
        source_of: ConfigSource,
        /// The form the value must take.
        expected: &'static str,
        /// The value found, unless it is a secret.
        found: Option<String>,
    },
    /// Two settings that cannot be given together.
    #[error("{first} and {second} are both set ({source_of}); {advice}")]
    Conflict {
        /// One setting.
        first: &'static str,
        /// The other.
        second: &'static str,
        /// Where they came from.
        source_of: ConfigSource,
        /// What to do.
        advice: &'static str,
    },
    /// A setting that needs another one.
    #[error("{var} is set but {needs} is not; set both or neither")]
    Incomplete {
        /// The setting that is set.
        var: &'static str,
        /// The missing one.
        needs: &'static str,
    },
    /// The config file could not be read.
    #[error("cannot read config file {path}")]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML, or has a key we do not know.
    #[error("config file {path} is invalid: {reason}")]
    FileInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, starting with its line and column
        /// (`line 3, column 14: ...`) when it is about a place in the file.
        reason: String,
    },
    /// A setting for a part of the runtime this build leaves out: S3
    /// settings (`MS_S3_*`, `MS_CLAIM_CHECK_BUCKET`, `MS_CLAIM_ACCEPT`) in a
    /// build without the `s3` feature.
    #[error(
        "{var} is set but ms_runtime was built without its `{feature}` feature; enable the feature or unset {var}"
    )]
    FeatureDisabled {
        /// The setting that is set.
        var: &'static str,
        /// The cargo feature of `ms_runtime` it needs.
        feature: &'static str,
    },
    /// The file a `*_FILE` variable names (`MS_PASSWORD_FILE`) could not be
    /// read; the secret itself is never shown.
    #[error("cannot read the file {var} names, {path}")]
    SecretFileUnreadable {
        /// The `*_FILE` variable.
        var: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
