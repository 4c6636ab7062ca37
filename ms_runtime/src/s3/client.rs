//! Builds the aws-sdk-s3 client from [`S3Config`] and [`S3Options`]: the lean
//! rustls-ring HTTP client, path-style addressing for custom endpoints,
//! checksums only when required, timeouts and retries.

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::error::S3Error;
use super::options::S3Options;
use crate::config::S3Config;

/// Where requests go, for error messages: the custom endpoint, or AWS.
pub(crate) fn endpoint_label(config: &S3Config) -> String {
    match &config.endpoint {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("https://s3.{}.amazonaws.com", config.region),
    }
}

/// Credentials from the config, else from the standard AWS variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
fn credentials(
    config: &S3Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, S3Error> {
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        return Ok(Credentials::new(
            id.clone(),
            secret.expose().to_owned(),
            None,
            None,
            "ms_runtime-config",
        ));
    }
    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    match (
        non_empty("AWS_ACCESS_KEY_ID"),
        non_empty("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Ok(Credentials::new(
            id,
            secret,
            non_empty("AWS_SESSION_TOKEN"),
            None,
            "ms_runtime-environment",
        )),
        _ => Err(S3Error::InvalidConfig {
            reason: "no S3 credentials: set MS_S3_ACCESS_KEY_ID and MS_S3_SECRET_ACCESS_KEY \
                     (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
                .to_owned(),
        }),
    }
}

/// Builds a client for `config`; `endpoint` overrides the configured one
/// (presigned URLs for a public endpoint).
pub(crate) fn build(
    config: &S3Config,
    options: &S3Options,
    endpoint: Option<&url::Url>,
) -> Result<aws_sdk_s3::Client, S3Error> {
    build_with_env(config, options, endpoint, &|name| std::env::var(name).ok())
}

pub(crate) fn build_with_env(
    config: &S3Config,
    options: &S3Options,
    endpoint: Option<&url::Url>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<aws_sdk_s3::Client, S3Error> {
    if options.max_concurrent == 0 || options.parts_in_flight == 0 || options.max_attempts == 0 {
        return Err(S3Error::InvalidConfig {
            reason: "max_concurrent, parts_in_flight and max_attempts must be at least 1"
                .to_owned(),
        });
    }
    if options.part_size < 5 * 1024 * 1024 {
        return Err(S3Error::InvalidConfig {
            reason: format!(
                "part_size {} is below the 5 MiB minimum S3 accepts for a multipart part",
                options.part_size
            ),
        });
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut builder = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(credentials(config, env)?)
        .http_client(http)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(options.connect_timeout)
                .read_timeout(options.read_timeout)
                .operation_attempt_timeout(options.attempt_timeout)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(options.max_attempts)
                .with_initial_backoff(options.initial_backoff),
        );
    if let Some(url) = endpoint.or(config.endpoint.as_ref()) {
        // S3-compatible stores (MinIO, Ceph, s3s) serve buckets under the
        // path, not as virtual hosts.
        builder = builder
            .endpoint_url(url.as_str().trim_end_matches('/'))
            .force_path_style(true);
    }
    Ok(aws_sdk_s3::Client::from_conf(builder.build()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn config() -> S3Config {
        let mut config = crate::Config::from_vars([("MS_S3_ENDPOINT", "http://127.0.0.1:9000")])
            .unwrap()
            .s3
            .unwrap();
        config.access_key_id = None;
        config.secret_access_key = None;
        config
    }

    #[test]
    fn missing_credentials_say_which_variables_to_set() {
        let err = credentials(&config(), &|_| None).unwrap_err();
        assert!(err.to_string().contains("MS_S3_ACCESS_KEY_ID"), "{err}");
    }

    #[test]
    fn aws_variables_are_the_fallback_and_never_printed() {
        let creds = credentials(&config(), &|name| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIA1".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("very-secret".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(creds.access_key_id(), "AKIA1");
        assert!(!format!("{creds:?}").contains("very-secret"));
    }

    #[test]
    fn config_keys_win() {
        let mut config = config();
        config.access_key_id = Some("from-config".into());
        config.secret_access_key = Some(Secret::new("s"));
        let creds = credentials(&config, &|_| Some("env".into())).unwrap();
        assert_eq!(creds.access_key_id(), "from-config");
    }

    #[test]
    fn small_parts_are_refused() {
        let options = S3Options {
            part_size: 1024,
            ..S3Options::default()
        };
        let err = build_with_env(&config(), &options, None, &|_| Some("x".into())).unwrap_err();
        assert!(err.to_string().contains("5 MiB"), "{err}");
    }
}
