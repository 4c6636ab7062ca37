//! Builds the aws-sdk-s3 client from [`S3Config`] and [`S3Options`]: the lean
//! rustls-ring HTTP client, credentials (`credentials.rs`), path-style addressing for custom endpoints,
//! checksums only when required, timeouts and retries.

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    SharedHttpClient,
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

/// The rustls-ring HTTP client (serves `http://` too): no aws-lc, no
/// second hyper stack; the credential chain uses it as well.
pub(crate) fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
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
    let http = http_client();
    let mut builder = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(super::credentials::provider(config, env, &http)?)
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
    use super::super::credentials::tests::config;
    use super::*;

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
