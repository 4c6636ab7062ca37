//! The environment: `MS_*` variables, `MS_CONFIG_FILE`, and the `*_FILE`
//! variants of secret variables (`MS_PASSWORD_FILE=/run/secrets/password`),
//! the form in which container platforms hand secrets over.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::file::read_file;
use super::resolve::{AWS_FALLBACKS, Layers};
use super::settings::{ALL, LOG_LEVEL, SECRET_FILES};
use super::{CONFIG_FILE_VAR, Config, ConfigError, ConfigSource, Tuning};

/// The Rust ecosystem's log filter variable, read when `MS_LOG_LEVEL` is unset.
const RUST_LOG_VAR: &str = "RUST_LOG";

impl Config {
    /// Reads `MS_CONFIG_FILE` (if set) and the `MS_*` environment variables,
    /// and `RUST_LOG` when no `MS_LOG_LEVEL` is given.
    ///
    /// A secret (`MS_PASSWORD`, `MS_S3_SECRET_ACCESS_KEY`) may instead be
    /// read from the file its `*_FILE` variable names (`MS_PASSWORD_FILE`),
    /// without one trailing newline; giving both is an error.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first setting that is invalid.
    ///
    /// ```
    /// use ms_runtime::Config;
    ///
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     // MS_GATEWAY_URL, MS_USERNAME, MS_PASSWORD, ... as the deployment sets them
    ///     let config = Config::from_env()?;
    ///     println!("connecting to {} as {}", config.gateway_url, config.instance_id);
    ///     Ok(())
    /// }
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Like [`Config::from_env`], from the given variables instead of the
    /// process environment; for tests and for tools that hold their own map.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first setting that is invalid.
    ///
    /// ```
    /// use ms_runtime::Config;
    ///
    /// let config = Config::from_vars([
    ///     ("MS_GATEWAY_HOST", "gateway.internal:8443"),
    ///     ("MS_GATEWAY_TLS", "true"),
    /// ])?;
    /// assert_eq!(config.gateway_url.as_str(), "wss://gateway.internal:8443/v1/ws");
    ///
    /// let err = Config::from_vars([("MS_MAX_IN_FLIGHT", "lots")]).unwrap_err();
    /// assert_eq!(err.to_string(), r#"MS_MAX_IN_FLIGHT (environment) must be a whole number from 1 to 4294967295, found "lots""#);
    /// # Ok::<(), ms_runtime::ConfigError>(())
    /// ```
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut env = BTreeMap::new();
        let mut file = None;
        let mut secret_files = Vec::new();
        let mut rust_log = None;
        let mut aws = Vec::new();
        for (key, value) in vars {
            let key = key.as_ref();
            if key == RUST_LOG_VAR {
                rust_log = Some(value.into()).filter(|v: &String| !v.trim().is_empty());
            } else if key == CONFIG_FILE_VAR {
                file = Some(PathBuf::from(value.into()));
            } else if let Some(setting) = ALL.iter().find(|s| s.var == key) {
                env.insert(setting.var, value.into());
            } else if let Some((setting, file_var)) = SECRET_FILES.iter().find(|(_, f)| *f == key) {
                secret_files.push((*setting, *file_var, PathBuf::from(value.into())));
            } else if let Some((aws_var, _)) = AWS_FALLBACKS.iter().find(|(var, _)| *var == key) {
                aws.push((*aws_var, value.into()));
            }
        }
        for (setting, file_var, path) in secret_files {
            if path.as_os_str().is_empty() {
                continue;
            }
            if env.contains_key(setting.var) {
                return Err(ConfigError::Conflict {
                    first: setting.var,
                    second: file_var,
                    source_of: ConfigSource::Env,
                    advice: "give the secret either in the variable or in the file, not both",
                });
            }
            env.insert(setting.var, read_secret_file(file_var, path)?);
        }
        let mut layers = Layers::default();
        if let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) {
            let values = read_file(&path)?;
            layers.push(ConfigSource::File(path), values);
        }
        layers.push(ConfigSource::Env, env);
        // in order of preference, whatever order the environment lists them in
        aws.sort_by_key(|(var, _)| AWS_FALLBACKS.iter().position(|(v, _)| v == var));
        for (var, value) in aws {
            layers.push_aws_fallback(var, value);
        }
        let level_set = layers.get(&LOG_LEVEL).is_some();
        let mut config = layers.resolve(Tuning::default())?;
        // the Rust ecosystem's variable, when MS_LOG_LEVEL says nothing
        if let (false, Some(rust_log)) = (level_set, rust_log) {
            config.log_filter =
                crate::logging::LogFilter::from_rust_log(&rust_log).map_err(|e| {
                    ConfigError::Invalid {
                        var: RUST_LOG_VAR,
                        source_of: ConfigSource::Env,
                        expected: e.expected,
                        found: Some(rust_log.clone()),
                    }
                })?;
        }
        Ok(config)
    }
}

/// The secret in the file `file_var` names, without one trailing newline
/// (`\n` or `\r\n`), which editors and `echo` add.
fn read_secret_file(file_var: &'static str, path: PathBuf) -> Result<String, ConfigError> {
    match std::fs::read_to_string(&path) {
        Ok(mut secret) => {
            if secret.ends_with('\n') {
                secret.pop();
                if secret.ends_with('\r') {
                    secret.pop();
                }
            }
            Ok(secret)
        }
        Err(source) => Err(ConfigError::SecretFileUnreadable {
            var: file_var,
            path,
            source,
        }),
    }
}
