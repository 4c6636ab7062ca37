//! [`ConfigBuilder`]: the settings in code, checked like the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::resolve::Layers;
use super::settings::{
    CLAIM_ACCEPT, CLAIM_BUCKET, CLAIM_PREFIX, CLAIM_THRESHOLD, GATEWAY_URL, HANDLER_THREADS,
    HEALTH_BIND, INSTANCE_ID, LOG_FORMAT, LOG_LEVEL, MAX_IN_FLIGHT, METRICS_BIND, PASSWORD,
    S3_ACCESS_KEY_ID, S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_SECRET_ACCESS_KEY, SERVICE_NAME,
    Setting, TLS_CA_FILE, USERNAME, is_secret, is_url,
};
use super::{Config, ConfigError, ConfigSource, Tuning};
use crate::secret::redact_userinfo;

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

    /// A port of its own for Prometheus metrics (`MS_METRICS_BIND`), e.g.
    /// `0.0.0.0:9100`. Without it, `GET /metrics` is answered on the probe
    /// port ([`ConfigBuilder::health_bind`]) only.
    ///
    /// ```
    /// use ms_runtime::Config;
    ///
    /// let config = Config::builder().metrics_bind("127.0.0.1:9100").build()?;
    /// assert_eq!(config.metrics_bind, Some("127.0.0.1:9100".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics_bind(self, addr: impl Into<String>) -> Self {
        self.set(&METRICS_BIND, addr)
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

    /// Timings and bounds of the runtime; a value set by its own method
    /// (such as [`ConfigBuilder::handler_threads`]) wins over its field here.
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
        let mut layers = Layers::default();
        layers.push(ConfigSource::Builder, self.values);
        layers.resolve(self.tuning.unwrap_or_default())
    }
}
