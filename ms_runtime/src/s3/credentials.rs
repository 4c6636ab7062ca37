//! Where the S3 client's credentials come from, first match wins:
//!
//! 1. static keys in the config (`MS_S3_ACCESS_KEY_ID`, `MS_S3_SECRET_ACCESS_KEY`);
//! 2. the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//!    `AWS_SESSION_TOKEN`);
//! 3. with the `aws-chain` feature, the standard AWS chain: profiles
//!    (`AWS_PROFILE`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`), web
//!    identity (IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`), ECS
//!    container roles, then EC2 instance roles. It is built on first use and
//!    talks through the same rustls-ring HTTP client as S3 itself.
//!
//! Without the feature and without keys, building the client fails with a
//! message naming the variables and the feature.

use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

use super::error::S3Error;
use crate::config::S3Config;

/// The credentials provider for `config`: static keys when given (config,
/// then `AWS_*` variables read through `env`), else the AWS chain.
///
/// # Errors
/// [`S3Error::InvalidConfig`] when no keys are set and the `aws-chain`
/// feature is off.
pub(super) fn provider(
    config: &S3Config,
    env: &dyn Fn(&str) -> Option<String>,
    http: &aws_sdk_s3::config::SharedHttpClient,
) -> Result<SharedCredentialsProvider, S3Error> {
    if let Some(keys) = static_keys(config, env) {
        return Ok(SharedCredentialsProvider::new(keys));
    }
    #[cfg(feature = "aws-chain")]
    return Ok(SharedCredentialsProvider::new(chain::AwsChain::new(
        &config.region,
        http.clone(),
    )));
    #[cfg(not(feature = "aws-chain"))]
    {
        let _ = http;
        Err(S3Error::InvalidConfig {
            reason: "no S3 credentials: set MS_S3_ACCESS_KEY_ID and MS_S3_SECRET_ACCESS_KEY \
                     (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or build ms_runtime \
                     with its `aws-chain` feature for roles and profiles"
                .to_owned(),
        })
    }
}

/// Static keys: the config's, else the standard AWS variables'.
pub(super) fn static_keys(
    config: &S3Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Credentials> {
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        return Some(Credentials::new(
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
        (Some(id), Some(secret)) => Some(Credentials::new(
            id,
            secret,
            non_empty("AWS_SESSION_TOKEN"),
            None,
            "ms_runtime-environment",
        )),
        _ => None,
    }
}

#[cfg(feature = "aws-chain")]
mod chain {
    use aws_config::default_provider::credentials::DefaultCredentialsChain;
    use aws_config::provider_config::ProviderConfig;
    use aws_credential_types::provider::{ProvideCredentials, future};
    use aws_sdk_s3::config::{Region, SharedHttpClient};
    use tokio::sync::OnceCell;

    /// The AWS default credential chain, built on the first request: its
    /// builder is async (it resolves the region and reads profile files),
    /// while [`S3::connect`](crate::S3::connect) is not. The client's
    /// identity cache keeps what it returns until shortly before expiry.
    #[derive(Debug)]
    pub(super) struct AwsChain {
        /// Region for STS (web identity) and the profile's region lookups.
        region: Region,
        /// The rustls-ring client: the chain has no HTTP client of its own
        /// (aws-config is built without `default-https-client`).
        http: SharedHttpClient,
        /// The chain, once built.
        chain: OnceCell<DefaultCredentialsChain>,
    }

    impl AwsChain {
        pub(super) fn new(region: &str, http: SharedHttpClient) -> Self {
            Self {
                region: Region::new(region.to_owned()),
                http,
                chain: OnceCell::new(),
            }
        }
    }

    impl ProvideCredentials for AwsChain {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::new(async move {
                let chain = self
                    .chain
                    .get_or_init(|| {
                        DefaultCredentialsChain::builder()
                            .region(self.region.clone())
                            .configure(
                                ProviderConfig::default().with_http_client(self.http.clone()),
                            )
                            .build()
                    })
                    .await;
                chain.provide_credentials().await
            })
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::Secret;

    /// S3 settings with an endpoint and no keys; shared with `client.rs`.
    pub(in crate::s3) fn config() -> S3Config {
        let mut config = crate::Config::from_vars([("MS_S3_ENDPOINT", "http://127.0.0.1:9000")])
            .unwrap()
            .s3
            .unwrap();
        config.access_key_id = None;
        config.secret_access_key = None;
        config
    }

    fn http() -> aws_sdk_s3::config::SharedHttpClient {
        super::super::client::http_client()
    }

    #[cfg(not(feature = "aws-chain"))]
    #[test]
    fn missing_credentials_say_which_variables_and_feature_to_set() {
        let err = provider(&config(), &|_| None, &http()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("MS_S3_ACCESS_KEY_ID"), "{text}");
        assert!(text.contains("aws-chain"), "{text}");
    }

    #[cfg(feature = "aws-chain")]
    #[test]
    fn without_keys_the_aws_chain_is_used() {
        let provider = provider(&config(), &|_| None, &http()).unwrap();
        assert!(format!("{provider:?}").contains("AwsChain"), "{provider:?}");
    }

    #[test]
    fn aws_variables_are_the_fallback_and_never_printed() {
        let creds = static_keys(&config(), &|name| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIA1".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("very-secret".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(creds.access_key_id(), "AKIA1");
        assert!(!format!("{creds:?}").contains("very-secret"));
    }

    #[test]
    fn config_keys_win_over_aws_variables() {
        let mut config = config();
        config.access_key_id = Some("from-config".into());
        config.secret_access_key = Some(Secret::new("s"));
        let creds = static_keys(&config, &|_| Some("env".into())).unwrap();
        assert_eq!(creds.access_key_id(), "from-config");
    }

    #[test]
    fn an_id_without_a_secret_is_not_a_key_pair() {
        let creds = static_keys(&config(), &|name| {
            (name == "AWS_ACCESS_KEY_ID").then(|| "AKIA1".to_owned())
        });
        assert!(creds.is_none());
    }
}
