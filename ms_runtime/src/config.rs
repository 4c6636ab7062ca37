//! One `Config` for a service: gateway, credentials, S3 and logging settings.
//!
//! Settings come from three places, later ones winning: built-in defaults, an
//! optional TOML file named by `MS_CONFIG_FILE`, and `MS_*` environment
//! variables. The builder sets the same settings in code and checks them the
//! same way. Every invalid value is an error naming the variable and the form
//! it must take; secret values are never repeated in errors or `Debug`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::claim_check::ClaimLocation;
use crate::logging::{LogFilter, LogFormat};
use crate::secret::{RedactedUrl, Secret, redact_userinfo};

/// Gateway URL used when none is configured: a gateway on this machine.
///
/// ```
/// use ms_runtime::Config;
/// use ms_runtime::config::DEFAULT_GATEWAY_URL;
///
/// let config = Config::builder().build()?;
/// assert_eq!(config.gateway_url.as_str(), DEFAULT_GATEWAY_URL);
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
pub const DEFAULT_GATEWAY_URL: &str = "ws://127.0.0.1:8080/v1/ws";
/// Path of the service endpoint, added to a gateway URL that has none.
///
/// ```
/// use ms_runtime::Config;
/// use ms_runtime::config::DEFAULT_GATEWAY_PATH;
///
/// let config = Config::builder().gateway_url("wss://gateway.example.com").build()?;
/// assert_eq!(config.gateway_url.path(), DEFAULT_GATEWAY_PATH);
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
pub const DEFAULT_GATEWAY_PATH: &str = "/v1/ws";
/// Payloads bigger than this (JSON bytes) travel by claim check when S3 is configured.
///
/// ```
/// use ms_runtime::Config;
/// use ms_runtime::config::DEFAULT_CLAIM_CHECK_THRESHOLD;
///
/// assert_eq!(Config::builder().build()?.claim_check_threshold, DEFAULT_CLAIM_CHECK_THRESHOLD);
/// let config = Config::builder().claim_check_threshold(256 * 1024).build()?;
/// assert_eq!(config.claim_check_threshold, 262_144);
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
pub const DEFAULT_CLAIM_CHECK_THRESHOLD: u64 = 1024 * 1024;
/// Default bound on requests a service handles at once.
///
/// ```
/// use ms_runtime::Config;
/// use ms_runtime::config::DEFAULT_MAX_IN_FLIGHT;
///
/// assert_eq!(Config::from_vars([("MS_SERVICE_NAME", "ocr")])?.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
/// assert_eq!(Config::from_vars([("MS_MAX_IN_FLIGHT", "4")])?.max_in_flight, 4);
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 64;
/// Region used for S3 when none is configured; S3-compatible stores ignore it.
///
/// ```
/// use ms_runtime::Config;
/// use ms_runtime::config::DEFAULT_S3_REGION;
///
/// let config = Config::builder().s3_endpoint("http://127.0.0.1:9000").build()?;
/// assert_eq!(config.s3.map(|s3| s3.region).as_deref(), Some(DEFAULT_S3_REGION));
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
pub const DEFAULT_S3_REGION: &str = "us-east-1";

/// One setting: its environment variable, its key in the TOML file, and
/// whether its value is a secret.
struct Setting {
    var: &'static str,
    file_key: &'static str,
    is_secret: bool,
}

macro_rules! settings {
    ($($name:ident = $var:literal, $key:literal, $secret:literal;)*) => {
        $(const $name: Setting = Setting { var: $var, file_key: $key, is_secret: $secret };)*
        const ALL: &[Setting] = &[$($name),*];
    };
}

settings! {
    GATEWAY_URL = "MS_GATEWAY_URL", "gateway_url", false;
    GATEWAY_HOST = "MS_GATEWAY_HOST", "gateway_host", false;
    GATEWAY_TLS = "MS_GATEWAY_TLS", "gateway_tls", false;
    USERNAME = "MS_USERNAME", "username", false;
    PASSWORD = "MS_PASSWORD", "password", true;
    SERVICE_NAME = "MS_SERVICE_NAME", "service_name", false;
    INSTANCE_ID = "MS_INSTANCE_ID", "instance_id", false;
    MAX_IN_FLIGHT = "MS_MAX_IN_FLIGHT", "max_in_flight", false;
    TLS_CA_FILE = "MS_TLS_CA_FILE", "tls_ca_file", false;
    S3_ENDPOINT = "MS_S3_ENDPOINT", "s3.endpoint", false;
    S3_REGION = "MS_S3_REGION", "s3.region", false;
    S3_BUCKET = "MS_S3_BUCKET", "s3.bucket", false;
    S3_ACCESS_KEY_ID = "MS_S3_ACCESS_KEY_ID", "s3.access_key_id", false;
    S3_SECRET_ACCESS_KEY = "MS_S3_SECRET_ACCESS_KEY", "s3.secret_access_key", true;
    LOG_LEVEL = "MS_LOG_LEVEL", "log_level", false;
    LOG_FORMAT = "MS_LOG_FORMAT", "log_format", false;
    CLAIM_THRESHOLD = "MS_CLAIM_CHECK_THRESHOLD", "claim_check_threshold", false;
    CLAIM_BUCKET = "MS_CLAIM_CHECK_BUCKET", "claim_check_bucket", false;
    CLAIM_PREFIX = "MS_CLAIM_PREFIX", "claim_prefix", false;
    CLAIM_ACCEPT = "MS_CLAIM_ACCEPT", "claim_accept", false;
    HANDLER_THREADS = "MS_HANDLER_THREADS", "handler_threads", false;
    HEALTH_BIND = "MS_HEALTH_BIND", "health_bind", false;
}

/// Settings whose value is a URL or host that may hold `user:password@`:
/// errors and `Debug` show them with that part replaced by `***`.
fn is_url(var: &str) -> bool {
    [GATEWAY_URL.var, GATEWAY_HOST.var, S3_ENDPOINT.var].contains(&var)
}

/// Most handler threads `MS_HANDLER_THREADS` accepts.
const MAX_HANDLER_THREADS: usize = 1024;

/// The variable naming the optional TOML file.
///
/// ```
/// use ms_runtime::Config;
/// use ms_runtime::config::CONFIG_FILE_VAR;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("ocr.toml");
/// std::fs::write(&path, "service_name = \"ocr\"\nmax_in_flight = 4\n\n[s3]\nbucket = \"scans\"\n")?;
///
/// let file = path.display().to_string();
/// let config = Config::from_vars([(CONFIG_FILE_VAR, file.as_str()), ("MS_MAX_IN_FLIGHT", "8")])?;
/// assert_eq!(config.service_name.as_deref(), Some("ocr"));
/// assert_eq!(config.max_in_flight, 8); // the environment wins over the file
/// assert_eq!(config.s3.and_then(|s3| s3.bucket).as_deref(), Some("scans"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CONFIG_FILE_VAR: &str = "MS_CONFIG_FILE";

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
    /// [`ConfigBuilder`] in code.
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
        /// What is wrong, with line and column when TOML says them.
        reason: String,
    },
}

/// A claim location that is not `bucket/prefix` (`MS_CLAIM_ACCEPT`).
///
/// ```
/// use ms_runtime::ClaimLocation;
///
/// let err = "private".parse::<ClaimLocation>().unwrap_err();
/// assert_eq!(err.found, "private");
/// assert!(err.to_string().contains("bucket/prefix"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "claim location {found:?} must be bucket/prefix: a bucket name of 3 to 63 characters from a-z, 0-9, '.', '-', a '/', then a key prefix (may be empty) without '.' or '..' segments"
)]
#[non_exhaustive]
pub struct InvalidClaimLocation {
    /// The text that is not a location.
    pub found: String,
}

/// Credentials for the gateway's Basic auth.
///
/// ```
/// use ms_runtime::Config;
///
/// let config = Config::from_vars([("MS_USERNAME", "ocr"), ("MS_PASSWORD", "s3cret")])?;
/// let credentials = config.credentials.ok_or("no credentials")?;
/// assert_eq!(credentials.username, "ocr");
/// assert_eq!(credentials.password.expose(), "s3cret");
/// assert_eq!(format!("{credentials:?}"), r#"Credentials { username: "ocr", password: *** }"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password; prints as `***`.
    pub password: Secret,
}

/// Where and how to reach the S3-compatible object store.
///
/// ```
/// use ms_runtime::Config;
///
/// let config = Config::from_vars([
///     ("MS_S3_ENDPOINT", "http://minio:9000"),
///     ("MS_S3_BUCKET", "scans"),
///     ("MS_S3_ACCESS_KEY_ID", "minio"),
///     ("MS_S3_SECRET_ACCESS_KEY", "minio-secret"),
/// ])?;
/// let s3 = config.s3.ok_or("no MS_S3_* settings")?;
/// assert_eq!(s3.endpoint.as_ref().map(|url| url.as_str()), Some("http://minio:9000/"));
/// assert_eq!((s3.region.as_str(), s3.bucket.as_deref()), ("us-east-1", Some("scans")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Config {
    /// Endpoint of an S3-compatible store; `None` means AWS itself.
    pub endpoint: Option<Url>,
    /// Region to sign requests for.
    pub region: String,
    /// Bucket used when an operation names none (and for claim checks).
    pub bucket: Option<String>,
    /// Access key id; `None` means the standard AWS credential chain.
    pub access_key_id: Option<String>,
    /// Secret access key; prints as `***`.
    pub secret_access_key: Option<Secret>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint.as_ref().map(RedactedUrl))
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .finish()
    }
}

/// Timings and bounds of the runtime, set in code; the defaults suit most
/// services.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::{Config, Tuning};
///
/// let config = Config::builder()
///     .tuning(Tuning { shutdown_grace: Duration::from_secs(5), ..Tuning::default() })
///     .build()?;
/// assert_eq!(config.tuning.shutdown_grace, Duration::from_secs(5));
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
///
/// Build it with `..Tuning::default()` so that new fields keep their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// Upper bound of the first reconnect delay (full jitter: the delay is
    /// random between zero and the bound, which doubles after each failure).
    pub reconnect_initial: Duration,
    /// Largest reconnect delay bound.
    pub reconnect_max: Duration,
    /// First delay bound after the gateway refused the credentials (401/403):
    /// slower, and drawn from the upper half of the bound, so a wrong
    /// password never becomes a tight loop.
    pub auth_retry_initial: Duration,
    /// Largest delay bound after refused credentials.
    pub auth_retry_max: Duration,
    /// A connection that stayed up this long resets the backoff.
    pub healthy_after: Duration,
    /// Time allowed to open the websocket and receive `welcome`.
    pub connect_timeout: Duration,
    /// On shutdown, time in-flight handlers get to finish before their
    /// requests are handed back to the gateway.
    pub shutdown_grace: Duration,
    /// How long a settled request's answer is remembered for redeliveries.
    pub dedup_window: Duration,
    /// Most settled answers remembered; the oldest go first.
    pub dedup_capacity: usize,
    /// Most bytes of settled answers remembered; the oldest go first.
    pub dedup_max_bytes: usize,
    /// Most frames kept waiting for the gateway's ack. Past it, `request` and
    /// `publish` fail with `overloaded`; replies still go in, up to twice the
    /// bound, then the oldest unacked frame is dropped and logged.
    pub outbox_capacity: usize,
    /// Threads (arbiters) running handler actors; default: one per core
    /// (`MS_HANDLER_THREADS`). `0` runs every handler actor on the
    /// connection's own thread: no hop between threads per message, which
    /// suits light, non-blocking handlers (proxies, routers, echo); a
    /// handler that computes for long then delays the connection's
    /// heartbeats and acks, so keep the pool for those (or mark their routes
    /// `blocking`).
    pub handler_threads: usize,
    /// Default deadline of `Context::request` when the caller sets none.
    pub request_timeout: Duration,
    /// Largest frame this service reads or writes, whatever the gateway's
    /// `welcome.max_frame_bytes` offers (before `welcome`: the protocol's
    /// 16 MiB, or this if smaller). It bounds what the connection buffers
    /// for one message; bigger payloads go by claim check.
    pub max_frame_bytes: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            reconnect_initial: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(30),
            auth_retry_initial: Duration::from_secs(10),
            auth_retry_max: Duration::from_secs(300),
            healthy_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            dedup_window: Duration::from_secs(600),
            dedup_capacity: 100_000,
            dedup_max_bytes: 64 * 1024 * 1024,
            outbox_capacity: 10_000,
            handler_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            request_timeout: Duration::from_secs(30),
            max_frame_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Everything a service needs to run.
///
/// Build it with [`Config::from_env`] (the usual way, twelve-factor style),
/// or [`Config::builder`] in code and tests.
///
/// ```
/// use ms_runtime::Config;
///
/// let config = Config::builder()
///     .gateway_url("wss://gateway.example.com")
///     .credentials("ocr", "s3cret")
///     .service_name("ocr")
///     .max_in_flight(8)
///     .build()?;
/// assert_eq!(config.gateway_url.as_str(), "wss://gateway.example.com/v1/ws");
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The gateway's websocket URL (`ws://` or `wss://`).
    pub gateway_url: Url,
    /// Further gateway nodes of a cluster: `MS_GATEWAY_URL` may list several
    /// URLs separated by commas; the first is [`Config::gateway_url`], these
    /// are the rest. Each connection attempt takes the next URL in turn.
    pub gateway_fallback_urls: Vec<Url>,
    /// Basic auth credentials; `None` connects without an `Authorization` header.
    pub credentials: Option<Credentials>,
    /// Service name announced in `hello`; `None` lets the handler name it.
    pub service_name: Option<String>,
    /// This instance's name, unique among the service's instances.
    pub instance_id: String,
    /// Most requests handled at once, announced in `hello`.
    pub max_in_flight: u32,
    /// Extra CA certificate (PEM) trusted for `wss://`, besides the built-in
    /// Mozilla roots (webpki-roots).
    pub tls_ca_file: Option<PathBuf>,
    /// Where to answer health probes (`GET /healthz`, `GET /readyz`);
    /// `None` (the default) opens no port.
    pub health_bind: Option<SocketAddr>,
    /// Object storage; `None` when no `MS_S3_*` setting is given.
    pub s3: Option<S3Config>,
    /// Log levels, overall and per module.
    pub log_filter: LogFilter,
    /// Log line format.
    pub log_format: LogFormat,
    /// Payloads over this many JSON bytes go through S3 as a claim check
    /// (`payload_ref`) when S3 is configured.
    pub claim_check_threshold: u64,
    /// Bucket for claim checks; `None` uses the S3 default bucket.
    pub claim_check_bucket: Option<String>,
    /// Key prefix of the claim checks this service writes, and of those it
    /// reads from its claim bucket (`MS_CLAIM_PREFIX`, default `claims/`).
    pub claim_prefix: String,
    /// More places this service reads claim checks from, besides its own
    /// claim bucket and prefix (`MS_CLAIM_ACCEPT`, comma-separated
    /// `bucket/prefix`). A `payload_ref` anywhere else is refused with
    /// `bad_request` before anything is read.
    pub claim_accept: Vec<ClaimLocation>,
    /// Timings and bounds of the runtime.
    pub tuning: Tuning,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("gateway_url", &RedactedUrl(&self.gateway_url))
            .field(
                "gateway_fallback_urls",
                &self
                    .gateway_fallback_urls
                    .iter()
                    .map(RedactedUrl)
                    .collect::<Vec<_>>(),
            )
            .field("credentials", &self.credentials)
            .field("service_name", &self.service_name)
            .field("instance_id", &self.instance_id)
            .field("max_in_flight", &self.max_in_flight)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("health_bind", &self.health_bind)
            .field("s3", &self.s3)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .field("claim_check_threshold", &self.claim_check_threshold)
            .field("claim_check_bucket", &self.claim_check_bucket)
            .field("claim_prefix", &self.claim_prefix)
            .field("claim_accept", &self.claim_accept)
            .field("tuning", &self.tuning)
            .finish()
    }
}

fn random_instance_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("i-{}", &id[..12])
}

impl Config {
    /// Starts a builder with every setting at its default.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads `MS_CONFIG_FILE` (if set) and the `MS_*` environment variables.
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
        for (key, value) in vars {
            let key = key.as_ref();
            if key == CONFIG_FILE_VAR {
                file = Some(PathBuf::from(value.into()));
            } else if let Some(setting) = ALL.iter().find(|s| s.var == key) {
                env.insert(setting.var, value.into());
            }
        }
        let mut layers = Layers::default();
        if let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) {
            let values = read_file(&path)?;
            layers.push(ConfigSource::File(path), values);
        }
        layers.push(ConfigSource::Env, env);
        layers.resolve()
    }
}

/// Sets the same settings as the environment, in code; [`ConfigBuilder::build`]
/// checks them with the same rules.
///
/// ```
/// use ms_runtime::Config;
///
/// let config = Config::builder()
///     .service_name("ocr")
///     .instance_id("ocr-1")
///     .s3_endpoint("http://127.0.0.1:9000")
///     .s3_keys("minio", "minio-secret")
///     .s3_bucket("scans")
///     .claim_check_bucket("claims")
///     .log_level("info,ms_runtime::gateway=debug")
///     .log_format("json")
///     .build()?;
/// assert_eq!(config.instance_id, "ocr-1");
/// assert_eq!(config.claim_check_bucket.as_deref(), Some("claims"));
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
#[derive(Default)]
pub struct ConfigBuilder {
    values: BTreeMap<&'static str, String>,
    tuning: Option<Tuning>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<_, _> = self
            .values
            .iter()
            .map(|(var, value)| {
                let shown = if is_secret(var) {
                    "***".to_owned()
                } else if is_url(var) {
                    redact_userinfo(value)
                } else {
                    value.clone()
                };
                (*var, shown)
            })
            .collect();
        f.debug_struct("ConfigBuilder")
            .field("values", &shown)
            .finish()
    }
}

impl ConfigBuilder {
    fn set(mut self, setting: &Setting, value: impl Into<String>) -> Self {
        self.values.insert(setting.var, value.into());
        self
    }

    /// The gateway URL (`MS_GATEWAY_URL`).
    pub fn gateway_url(self, url: impl Into<String>) -> Self {
        self.set(&GATEWAY_URL, url)
    }

    /// Basic auth credentials (`MS_USERNAME`, `MS_PASSWORD`).
    pub fn credentials(self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.set(&USERNAME, username).set(&PASSWORD, password)
    }

    /// The service name (`MS_SERVICE_NAME`).
    pub fn service_name(self, name: impl Into<String>) -> Self {
        self.set(&SERVICE_NAME, name)
    }

    /// This instance's name (`MS_INSTANCE_ID`).
    pub fn instance_id(self, id: impl Into<String>) -> Self {
        self.set(&INSTANCE_ID, id)
    }

    /// Where to answer health probes (`MS_HEALTH_BIND`), e.g. `0.0.0.0:8081`:
    /// `GET /healthz` is 200 while the service runs, `GET /readyz` is 200
    /// while the gateway has welcomed it (503 otherwise).
    ///
    /// ```
    /// use ms_runtime::Config;
    ///
    /// let config = Config::builder().health_bind("0.0.0.0:8081").build()?;
    /// assert_eq!(config.health_bind, Some("0.0.0.0:8081".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn health_bind(self, addr: impl Into<String>) -> Self {
        self.set(&HEALTH_BIND, addr)
    }

    /// Threads running handler actors (`MS_HANDLER_THREADS`; `0`: the
    /// connection's own thread); wins over the `handler_threads` of a
    /// [`ConfigBuilder::tuning`].
    ///
    /// ```
    /// use ms_runtime::{Config, Tuning};
    ///
    /// let config = Config::builder().handler_threads(0).tuning(Tuning::default()).build()?;
    /// assert_eq!(config.tuning.handler_threads, 0);
    /// # Ok::<(), ms_runtime::ConfigError>(())
    /// ```
    pub fn handler_threads(self, n: usize) -> Self {
        self.set(&HANDLER_THREADS, n.to_string())
    }

    /// Most requests handled at once (`MS_MAX_IN_FLIGHT`).
    pub fn max_in_flight(self, n: u32) -> Self {
        self.set(&MAX_IN_FLIGHT, n.to_string())
    }

    /// Extra CA certificate for `wss://` (`MS_TLS_CA_FILE`).
    ///
    /// ```
    /// use ms_runtime::Config;
    ///
    /// // a gateway whose certificate is signed by a company CA
    /// let config = Config::builder()
    ///     .gateway_url("wss://gateway.internal")
    ///     .tls_ca_file("/etc/ssl/company-ca.pem")
    ///     .build()?;
    /// assert_eq!(config.tls_ca_file.as_deref(), Some(std::path::Path::new("/etc/ssl/company-ca.pem")));
    /// # Ok::<(), ms_runtime::ConfigError>(())
    /// ```
    pub fn tls_ca_file(self, path: impl AsRef<Path>) -> Self {
        self.set(&TLS_CA_FILE, path.as_ref().to_string_lossy())
    }

    /// S3 endpoint URL (`MS_S3_ENDPOINT`).
    pub fn s3_endpoint(self, url: impl Into<String>) -> Self {
        self.set(&S3_ENDPOINT, url)
    }

    /// S3 region (`MS_S3_REGION`).
    pub fn s3_region(self, region: impl Into<String>) -> Self {
        self.set(&S3_REGION, region)
    }

    /// Default S3 bucket (`MS_S3_BUCKET`).
    pub fn s3_bucket(self, bucket: impl Into<String>) -> Self {
        self.set(&S3_BUCKET, bucket)
    }

    /// S3 key pair (`MS_S3_ACCESS_KEY_ID`, `MS_S3_SECRET_ACCESS_KEY`).
    pub fn s3_keys(
        self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.set(&S3_ACCESS_KEY_ID, access_key_id)
            .set(&S3_SECRET_ACCESS_KEY, secret_access_key)
    }

    /// Log levels, e.g. `info,ms_runtime::gateway=debug` (`MS_LOG_LEVEL`).
    pub fn log_level(self, filter: impl Into<String>) -> Self {
        self.set(&LOG_LEVEL, filter)
    }

    /// Claim-check threshold in bytes (`MS_CLAIM_CHECK_THRESHOLD`).
    pub fn claim_check_threshold(self, bytes: u64) -> Self {
        self.set(&CLAIM_THRESHOLD, bytes.to_string())
    }

    /// Claim-check bucket (`MS_CLAIM_CHECK_BUCKET`).
    pub fn claim_check_bucket(self, bucket: impl Into<String>) -> Self {
        self.set(&CLAIM_BUCKET, bucket)
    }

    /// Key prefix of the claim checks this service writes and reads in its
    /// claim bucket (`MS_CLAIM_PREFIX`, default `claims/`).
    pub fn claim_prefix(self, prefix: impl Into<String>) -> Self {
        self.set(&CLAIM_PREFIX, prefix)
    }

    /// One more place claim checks are read from, `bucket/prefix`
    /// (`MS_CLAIM_ACCEPT`); call it once per location.
    ///
    /// ```
    /// use ms_runtime::{ClaimLocation, Config};
    ///
    /// let config = Config::builder()
    ///     .claim_accept("claims-eu/claims/")
    ///     .claim_accept("archive/claims/ocr/")
    ///     .build()?;
    /// assert_eq!(config.claim_accept, [
    ///     ClaimLocation::new("claims-eu", "claims/"),
    ///     ClaimLocation::new("archive", "claims/ocr/"),
    /// ]);
    /// # Ok::<(), ms_runtime::ConfigError>(())
    /// ```
    pub fn claim_accept(mut self, location: impl Into<String>) -> Self {
        let location = location.into();
        let value = match self.values.remove(CLAIM_ACCEPT.var) {
            Some(before) if !before.trim().is_empty() => format!("{before},{location}"),
            _ => location,
        };
        self.set(&CLAIM_ACCEPT, value)
    }

    /// Log format, `term` or `json` (`MS_LOG_FORMAT`).
    pub fn log_format(self, format: impl Into<String>) -> Self {
        self.set(&LOG_FORMAT, format)
    }

    /// Timings and bounds of the runtime.
    pub fn tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = Some(tuning);
        self
    }

    /// Checks every setting and builds the config.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first setting that is invalid.
    ///
    /// ```
    /// use ms_runtime::{Config, ConfigError};
    ///
    /// assert!(Config::builder().service_name("ocr").build().is_ok());
    /// let refused = Config::builder().s3_bucket("Scans_2024").build();
    /// assert!(matches!(refused, Err(ConfigError::Invalid { var: "MS_S3_BUCKET", .. })));
    /// ```
    pub fn build(self) -> Result<Config, ConfigError> {
        let threads_given = self.values.contains_key(HANDLER_THREADS.var);
        let mut layers = Layers::default();
        layers.push(ConfigSource::Builder, self.values);
        let mut config = layers.resolve()?;
        if let Some(tuning) = self.tuning {
            let threads = config.tuning.handler_threads;
            config.tuning = tuning;
            if threads_given {
                config.tuning.handler_threads = threads;
            }
        }
        Ok(config)
    }
}

fn is_secret(var: &str) -> bool {
    ALL.iter().any(|s| s.var == var && s.is_secret)
}

/// Raw values by variable, lowest precedence first.
#[derive(Default)]
struct Layers(Vec<(ConfigSource, BTreeMap<&'static str, String>)>);

impl Layers {
    fn push(&mut self, source: ConfigSource, values: BTreeMap<&'static str, String>) {
        self.0.push((source, values));
    }

    /// The winning value of a setting and where it came from.
    fn get(&self, setting: &Setting) -> Option<(&str, &ConfigSource)> {
        self.0
            .iter()
            .rev()
            .find_map(|(source, values)| values.get(setting.var).map(|v| (v.as_str(), source)))
    }

    /// Index of the highest layer that sets any of `settings`.
    fn top_layer_of(&self, settings: &[&Setting]) -> Option<usize> {
        self.0
            .iter()
            .rposition(|(_, values)| settings.iter().any(|s| values.contains_key(s.var)))
    }

    fn invalid(&self, setting: &Setting, expected: &'static str) -> ConfigError {
        let (found, source_of) = match self.get(setting) {
            Some((value, source)) => (
                (!setting.is_secret).then(|| {
                    if is_url(setting.var) {
                        redact_userinfo(value)
                    } else {
                        value.to_owned()
                    }
                }),
                source.clone(),
            ),
            None => (None, ConfigSource::Builder),
        };
        ConfigError::Invalid {
            var: setting.var,
            source_of,
            expected,
            found,
        }
    }

    fn resolve(&self) -> Result<Config, ConfigError> {
        let credentials = match (self.get(&USERNAME), self.get(&PASSWORD)) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Incomplete {
                    var: USERNAME.var,
                    needs: PASSWORD.var,
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Incomplete {
                    var: PASSWORD.var,
                    needs: USERNAME.var,
                });
            }
            (Some((user, _)), Some((password, _))) => {
                if user.is_empty() || user.contains(':') {
                    return Err(self.invalid(&USERNAME, "a non-empty user name without ':'"));
                }
                Some(Credentials {
                    username: user.to_owned(),
                    password: Secret::new(password),
                })
            }
        };
        let (gateway_url, gateway_fallback_urls) = self.gateway_urls()?;
        Ok(Config {
            gateway_url,
            gateway_fallback_urls,
            credentials,
            service_name: self.name(&SERVICE_NAME)?,
            instance_id: match self.name(&INSTANCE_ID)? {
                Some(id) => id,
                None => random_instance_id(),
            },
            max_in_flight: match self.get(&MAX_IN_FLIGHT) {
                None => DEFAULT_MAX_IN_FLIGHT,
                Some((text, _)) => text
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        self.invalid(&MAX_IN_FLIGHT, "a whole number from 1 to 4294967295")
                    })?,
            },
            health_bind: match self.get(&HEALTH_BIND) {
                None => None,
                Some((text, _)) if text.trim().is_empty() => None,
                Some((text, _)) => Some(text.trim().parse::<SocketAddr>().map_err(|_| {
                    self.invalid(&HEALTH_BIND, "an address and port such as 0.0.0.0:8081")
                })?),
            },
            tls_ca_file: self
                .get(&TLS_CA_FILE)
                .map(|(path, _)| PathBuf::from(path))
                .filter(|p| !p.as_os_str().is_empty()),
            s3: self.s3()?,
            log_filter: match self.get(&LOG_LEVEL) {
                None => LogFilter::default(),
                Some((text, _)) => text.parse().map_err(|e: crate::logging::ParseLogError| {
                    self.invalid(&LOG_LEVEL, e.expected)
                })?,
            },
            log_format: match self.get(&LOG_FORMAT) {
                None => LogFormat::default(),
                Some((text, _)) => text
                    .parse()
                    .map_err(|_| self.invalid(&LOG_FORMAT, "term or json"))?,
            },
            claim_check_threshold: match self.get(&CLAIM_THRESHOLD) {
                None => DEFAULT_CLAIM_CHECK_THRESHOLD,
                Some((text, _)) => text
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1024)
                    .ok_or_else(|| {
                        self.invalid(&CLAIM_THRESHOLD, "a number of bytes, at least 1024")
                    })?,
            },
            claim_check_bucket: self.bucket(&CLAIM_BUCKET)?,
            claim_prefix: match self.get(&CLAIM_PREFIX) {
                None => crate::s3::DEFAULT_CLAIM_PREFIX.to_owned(),
                Some((text, _)) => {
                    let prefix = text.trim();
                    if !crate::claim_check::is_plain_key(prefix) {
                        return Err(self.invalid(
                            &CLAIM_PREFIX,
                            "a key prefix without '.' or '..' segments, backslashes or control characters",
                        ));
                    }
                    prefix.to_owned()
                }
            },
            claim_accept: match self.get(&CLAIM_ACCEPT) {
                None => Vec::new(),
                Some((text, _)) => text
                    .split(',')
                    .filter(|part| !part.trim().is_empty())
                    .map(str::parse::<ClaimLocation>)
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        self.invalid(
                            &CLAIM_ACCEPT,
                            "comma-separated bucket/prefix locations, like claims-eu/claims/,archive/in/",
                        )
                    })?,
            },
            tuning: match self.get(&HANDLER_THREADS) {
                None => Tuning::default(),
                Some((text, _)) => Tuning {
                    handler_threads: text
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n <= MAX_HANDLER_THREADS)
                        .ok_or_else(|| {
                            self.invalid(&HANDLER_THREADS, "a whole number from 0 to 1024")
                        })?,
                    ..Tuning::default()
                },
            },
        })
    }

    /// The first gateway URL and the other nodes': `MS_GATEWAY_URL` may list
    /// several, separated by commas.
    fn gateway_urls(&self) -> Result<(Url, Vec<Url>), ConfigError> {
        let first = self.gateway_url()?;
        let list = self
            .top_layer_of(&[&GATEWAY_URL, &GATEWAY_HOST])
            .and_then(|top| self.0.get(top))
            .and_then(|(_, values)| values.get(GATEWAY_URL.var));
        let Some(list) = list else {
            return Ok((first, Vec::new()));
        };
        let rest = list
            .split(',')
            .skip(1)
            .map(|url| self.parse_gateway_url(url))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((first, rest))
    }

    /// `MS_GATEWAY_URL` (its first URL), or the seed's `MS_GATEWAY_HOST` +
    /// `MS_GATEWAY_TLS`; the layer with the highest precedence that names
    /// either decides.
    fn gateway_url(&self) -> Result<Url, ConfigError> {
        let Some(top) = self.top_layer_of(&[&GATEWAY_URL, &GATEWAY_HOST]) else {
            if self.get(&GATEWAY_TLS).is_some() {
                return Err(ConfigError::Incomplete {
                    var: GATEWAY_TLS.var,
                    needs: GATEWAY_HOST.var,
                });
            }
            return self.parse_gateway_url(DEFAULT_GATEWAY_URL);
        };
        let (source, values) = &self.0[top];
        match (values.get(GATEWAY_URL.var), values.get(GATEWAY_HOST.var)) {
            (Some(_), Some(_)) => Err(ConfigError::Conflict {
                first: GATEWAY_URL.var,
                second: GATEWAY_HOST.var,
                source_of: source.clone(),
                advice: "give either the whole URL or the host (with MS_GATEWAY_TLS)",
            }),
            (Some(url), None) => {
                if self.get(&GATEWAY_TLS).is_some() {
                    return Err(ConfigError::Conflict {
                        first: GATEWAY_URL.var,
                        second: GATEWAY_TLS.var,
                        source_of: source.clone(),
                        advice: "with a URL, its scheme (ws:// or wss://) says whether TLS is used",
                    });
                }
                self.parse_gateway_url(url.split(',').next().unwrap_or_default())
            }
            (None, Some(host)) => {
                let tls = match self.get(&GATEWAY_TLS) {
                    None => false,
                    Some((flag, _)) => parse_bool(flag)
                        .ok_or_else(|| self.invalid(&GATEWAY_TLS, "true or false"))?,
                };
                let host = host.trim();
                if host.is_empty() || host.contains(['/', '@', ' ']) {
                    return Err(self.invalid(
                        &GATEWAY_HOST,
                        "a host name or address, with an optional :port",
                    ));
                }
                let scheme = if tls { "wss" } else { "ws" };
                Url::parse(&format!("{scheme}://{host}{DEFAULT_GATEWAY_PATH}")).map_err(|_| {
                    self.invalid(
                        &GATEWAY_HOST,
                        "a host name or address, with an optional :port",
                    )
                })
            }
            (None, None) => self.parse_gateway_url(DEFAULT_GATEWAY_URL),
        }
    }

    fn parse_gateway_url(&self, text: &str) -> Result<Url, ConfigError> {
        const EXPECTED: &str = "a ws:// or wss:// URL with a host, like ws://127.0.0.1:8080/v1/ws";
        let mut url = Url::parse(text.trim()).map_err(|_| self.invalid(&GATEWAY_URL, EXPECTED))?;
        if !matches!(url.scheme(), "ws" | "wss") || url.host_str().is_none_or(str::is_empty) {
            return Err(self.invalid(&GATEWAY_URL, EXPECTED));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // never echo it: the URL holds a password
            return Err(ConfigError::Invalid {
                var: GATEWAY_URL.var,
                source_of: self
                    .get(&GATEWAY_URL)
                    .map_or(ConfigSource::Builder, |(_, s)| s.clone()),
                expected: "a URL without credentials; set MS_USERNAME and MS_PASSWORD instead",
                found: None,
            });
        }
        if url.path().is_empty() || url.path() == "/" {
            url.set_path(DEFAULT_GATEWAY_PATH);
        }
        Ok(url)
    }

    /// An optional service or instance name: the protocol's name rule, 1 to
    /// 128 of `A-Z a-z 0-9 . _ -` (the gateway refuses any other `hello`).
    fn name(&self, setting: &Setting) -> Result<Option<String>, ConfigError> {
        let Some((text, _)) = self.get(setting) else {
            return Ok(None);
        };
        if crate::protocol::check_name(text).is_err() {
            return Err(self.invalid(
                setting,
                "1 to 128 characters from A-Z, a-z, 0-9, '.', '_', '-'",
            ));
        }
        Ok(Some(text.to_owned()))
    }

    /// An optional bucket name: 3 to 63 of `a-z 0-9 . -`.
    fn bucket(&self, setting: &Setting) -> Result<Option<String>, ConfigError> {
        let Some((name, _)) = self.get(setting) else {
            return Ok(None);
        };
        let ok = (3..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
        if !ok {
            return Err(self.invalid(
                setting,
                "a bucket name of 3 to 63 characters from a-z, 0-9, '.', '-'",
            ));
        }
        Ok(Some(name.to_owned()))
    }

    fn s3(&self) -> Result<Option<S3Config>, ConfigError> {
        let any = [
            &S3_ENDPOINT,
            &S3_REGION,
            &S3_BUCKET,
            &S3_ACCESS_KEY_ID,
            &S3_SECRET_ACCESS_KEY,
        ]
        .iter()
        .any(|s| self.get(s).is_some());
        if !any {
            return Ok(None);
        }
        let endpoint = match self.get(&S3_ENDPOINT) {
            None => None,
            Some((text, _)) => {
                let url = Url::parse(text.trim()).ok().filter(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.username().is_empty()
                        && u.password().is_none()
                });
                Some(url.ok_or_else(|| {
                    self.invalid(
                        &S3_ENDPOINT,
                        "an http:// or https:// URL without credentials",
                    )
                })?)
            }
        };
        let region = self
            .get(&S3_REGION)
            .map_or(DEFAULT_S3_REGION, |(r, _)| r)
            .trim();
        if region.is_empty() {
            return Err(self.invalid(&S3_REGION, "a region name such as us-east-1"));
        }
        let bucket = self.bucket(&S3_BUCKET)?;
        let (access_key_id, secret_access_key) =
            match (self.get(&S3_ACCESS_KEY_ID), self.get(&S3_SECRET_ACCESS_KEY)) {
                (None, None) => (None, None),
                (Some(_), None) => {
                    return Err(ConfigError::Incomplete {
                        var: S3_ACCESS_KEY_ID.var,
                        needs: S3_SECRET_ACCESS_KEY.var,
                    });
                }
                (None, Some(_)) => {
                    return Err(ConfigError::Incomplete {
                        var: S3_SECRET_ACCESS_KEY.var,
                        needs: S3_ACCESS_KEY_ID.var,
                    });
                }
                (Some((id, _)), Some((secret, _))) => {
                    (Some(id.to_owned()), Some(Secret::new(secret)))
                }
            };
        Ok(Some(S3Config {
            endpoint,
            region: region.to_owned(),
            bucket,
            access_key_id,
            secret_access_key,
        }))
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Reads the TOML file into values keyed by variable. Keys are the variable
/// names without `MS_`, lowercase; S3 settings may sit in an `[s3]` table.
fn read_file(path: &Path) -> Result<BTreeMap<&'static str, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::FileUnreadable {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| ConfigError::FileInvalid {
        path: path.to_owned(),
        reason,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| invalid(e.message().to_owned()))?;
    let mut values = BTreeMap::new();
    let mut flat = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(inner) => {
                for (inner_key, inner_value) in inner {
                    flat.push((format!("{key}.{inner_key}"), inner_value));
                }
            }
            other => flat.push((key, other)),
        }
    }
    for (key, value) in flat {
        let normalised = key.replacen("s3_", "s3.", 1);
        let setting = ALL
            .iter()
            .find(|s| s.file_key == normalised)
            .ok_or_else(|| invalid(format!("unknown key `{key}`")))?;
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            // a list of strings, such as claim_accept = ["a/x/", "b/y/"]
            toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => items
                .iter()
                .filter_map(toml::Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => {
                return Err(invalid(format!(
                    "`{key}` must be a string, number or boolean"
                )));
            }
        };
        values.insert(setting.var, text);
    }
    Ok(values)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
