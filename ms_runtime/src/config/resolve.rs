//! Raw values in layers (file, environment or builder) and the checks that
//! turn them into a [`Config`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

use super::ClaimLocation;
use super::settings::{
    CLAIM_ACCEPT, CLAIM_BUCKET, CLAIM_PREFIX, CLAIM_THRESHOLD, GATEWAY_HOST, GATEWAY_TLS,
    GATEWAY_URL, HEALTH_BIND, INSTANCE_ID, LOG_FORMAT, LOG_LEVEL, MAX_IN_FLIGHT, METRICS_BIND,
    PASSWORD, S3_ACCESS_KEY_ID, S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_SECRET_ACCESS_KEY,
    SERVICE_NAME, Setting, TLS_CA_FILE, USERNAME, is_url,
};
use super::{
    Config, ConfigError, ConfigSource, Credentials, DEFAULT_CLAIM_CHECK_THRESHOLD,
    DEFAULT_GATEWAY_PATH, DEFAULT_GATEWAY_URL, DEFAULT_MAX_IN_FLIGHT, DEFAULT_S3_REGION, S3Config,
    Tuning,
};
use crate::logging::{LogFilter, LogFormat};
use crate::secret::{Secret, redact_userinfo};

/// A random instance name, `i-` and 12 hex digits: unique enough among one
/// service's instances, and within the protocol's name rule.
fn random_instance_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("i-{}", &id[..12])
}

/// The standard AWS variables that fill in S3 settings no `MS_S3_*` value
/// gives, in order of preference; they never turn S3 on by themselves (an
/// `AWS_REGION` is set in many pods that use no S3 at all).
pub(super) const AWS_FALLBACKS: [(&str, &Setting); 4] = [
    ("AWS_REGION", &S3_REGION),
    ("AWS_DEFAULT_REGION", &S3_REGION),
    ("AWS_ENDPOINT_URL_S3", &S3_ENDPOINT),
    ("AWS_ENDPOINT_URL", &S3_ENDPOINT),
];

/// Raw values by variable, lowest precedence first; then the values of the
/// [`AWS_FALLBACKS`] found, by `MS_*` setting: (AWS variable, value).
#[derive(Default)]
pub(super) struct Layers(
    Vec<(ConfigSource, BTreeMap<&'static str, String>)>,
    BTreeMap<&'static str, (&'static str, String)>,
);

impl Layers {
    pub(super) fn push(&mut self, source: ConfigSource, values: BTreeMap<&'static str, String>) {
        self.0.push((source, values));
    }

    /// Records an AWS variable's value as the fallback of its `MS_*`
    /// setting, unless a preferred AWS variable gave one already.
    pub(super) fn push_aws_fallback(&mut self, aws_var: &'static str, value: String) {
        let Some((_, setting)) = AWS_FALLBACKS.iter().find(|(var, _)| *var == aws_var) else {
            return;
        };
        if !value.trim().is_empty() {
            self.1.entry(setting.var).or_insert((aws_var, value));
        }
    }

    /// A setting's value, else its AWS fallback (with the AWS variable's
    /// name, for errors).
    fn get_or_aws(&self, setting: &Setting) -> Option<(&str, &'static str)> {
        match self.get(setting) {
            Some((value, _)) => Some((value, setting.var)),
            None => self
                .1
                .get(setting.var)
                .map(|(var, value)| (value.as_str(), *var)),
        }
    }

    /// The winning value of a setting and where it came from.
    pub(super) fn get(&self, setting: &Setting) -> Option<(&str, &ConfigSource)> {
        self.0
            .iter()
            .rev()
            .find_map(|(source, values)| values.get(setting.var).map(|v| (v.as_str(), source)))
    }

    /// An optional `address:port` setting (empty means unset).
    fn socket_addr(&self, setting: &Setting) -> Result<Option<SocketAddr>, ConfigError> {
        match self.get(setting) {
            None => Ok(None),
            Some((text, _)) if text.trim().is_empty() => Ok(None),
            Some((text, _)) => text
                .trim()
                .parse::<SocketAddr>()
                .map(Some)
                .map_err(|_| self.invalid(setting, "an address and port such as 0.0.0.0:8081")),
        }
    }

    /// Index of the highest layer that sets any of `settings`.
    fn top_layer_of(&self, settings: &[&Setting]) -> Option<usize> {
        self.0
            .iter()
            .rposition(|(_, values)| settings.iter().any(|s| values.contains_key(s.var)))
    }

    /// The error for a setting whose value does not have the `expected` form;
    /// never repeats a secret, and hides what may be a URL's password.
    pub(super) fn invalid(&self, setting: &Setting, expected: &'static str) -> ConfigError {
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

    /// Checks every setting and builds the config; tuning values the layers
    /// do not set come from `tuning`.
    pub(super) fn resolve(&self, tuning: Tuning) -> Result<Config, ConfigError> {
        #[cfg(not(feature = "s3"))]
        if let Some(setting) = [
            &S3_ENDPOINT,
            &S3_REGION,
            &S3_BUCKET,
            &S3_ACCESS_KEY_ID,
            &S3_SECRET_ACCESS_KEY,
            &CLAIM_BUCKET,
            &CLAIM_ACCEPT,
        ]
        .into_iter()
        .find(|s| self.get(s).is_some())
        {
            return Err(ConfigError::FeatureDisabled {
                var: setting.var,
                feature: "s3",
            });
        }
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
            health_bind: self.socket_addr(&HEALTH_BIND)?,
            metrics_bind: self.socket_addr(&METRICS_BIND)?,
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
                None => super::DEFAULT_CLAIM_PREFIX.to_owned(),
                Some((text, _)) => {
                    let prefix = text.trim();
                    if !super::claim_location::is_plain_key(prefix) {
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
            tuning: self.tuning(tuning)?,
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
        let endpoint = match self.get_or_aws(&S3_ENDPOINT) {
            None => None,
            Some((text, var)) => {
                let url = Url::parse(text.trim()).ok().filter(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.username().is_empty()
                        && u.password().is_none()
                });
                let expected = "an http:// or https:// URL without credentials";
                Some(url.ok_or_else(|| match var == S3_ENDPOINT.var {
                    true => self.invalid(&S3_ENDPOINT, expected),
                    false => ConfigError::Invalid {
                        var,
                        source_of: ConfigSource::Env,
                        expected,
                        found: Some(redact_userinfo(text)),
                    },
                })?)
            }
        };
        let region = self
            .get_or_aws(&S3_REGION)
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
