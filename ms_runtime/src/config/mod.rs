//! One `Config` for a service: gateway, credentials, S3, logging and tuning.
//!
//! Settings come from three places, later ones winning: built-in defaults, an
//! optional TOML file named by `MS_CONFIG_FILE`, and `MS_*` environment
//! variables. The builder sets the same settings in code and checks them the
//! same way. Every invalid value is an error naming the variable and the form
//! it must take; secret values are never repeated in errors or `Debug`.
//!
//! - `settings`: the table of settings (variable, file key, secret or not).
//! - `env`: [`Config::from_env`] and [`Config::from_vars`], with the
//!   `*_FILE` variants of secrets.
//! - `file`: the TOML file, its errors with line and column.
//! - `builder`: [`ConfigBuilder`], the same settings in code.
//! - `resolve`: the layers of raw values and the checks that turn them into
//!   a [`Config`].
//! - `tuning`: [`Tuning`], its defaults and its `MS_*` variables.
//! - `error`: [`ConfigError`] and what it names.

mod builder;
mod claim_location;
mod env;
mod error;
mod file;
mod log_settings;
mod resolve;
mod settings;
mod tuning;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

use crate::logging::{LogFilter, LogFormat};
use crate::secret::{RedactedUrl, Secret};

pub use builder::ConfigBuilder;
pub use claim_location::{ClaimLocation, DEFAULT_CLAIM_PREFIX, InvalidClaimLocation};
pub use error::{ConfigError, ConfigSource};
pub use tuning::Tuning;

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
    /// Access key id; `None` means `AWS_ACCESS_KEY_ID`, else the standard
    /// AWS credential chain (feature `aws-chain`).
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
    /// A port of its own for `GET /metrics` (`MS_METRICS_BIND`); without
    /// it, metrics are served on the probe port only.
    pub metrics_bind: Option<SocketAddr>,
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
            .field("metrics_bind", &self.metrics_bind)
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

impl Config {
    /// Starts a builder with every setting at its default.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }
}

#[cfg(test)]
mod tests;
