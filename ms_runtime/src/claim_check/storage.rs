//! The service's object storage and claim-check settings, set up once at
//! start from its [`Config`](crate::Config).

/// Connects the S3 store when `config` has one, and sets up claim checks:
/// uploads go to the claim bucket (`MS_CLAIM_CHECK_BUCKET`, else
/// `MS_S3_BUCKET`) under `MS_CLAIM_PREFIX`; references are read only there
/// and in the `MS_CLAIM_ACCEPT` locations. The claim bucket is created in
/// the background if missing; a store that is down is logged, not fatal: it
/// may come up after the service.
#[cfg(feature = "s3")]
pub(crate) fn open_storage(
    config: &crate::Config,
    log: &slog::Logger,
    metrics: crate::metrics::S3Metrics,
) -> Result<Storage, crate::Error> {
    let Some(s3_config) = &config.s3 else {
        return Ok(Storage::default());
    };
    let options = crate::s3::S3Options {
        claim_prefix: config.claim_prefix.clone(),
        ..crate::s3::S3Options::default()
    };
    let s3 = crate::s3::S3::connect_with(s3_config, options)?.with_metrics(metrics);
    let bucket = config
        .claim_check_bucket
        .clone()
        .or_else(|| s3_config.bucket.clone());
    let mut accept = Vec::new();
    match &bucket {
        Some(bucket) => {
            let (store, log, name) = (s3.clone(), log.clone(), bucket.clone());
            actix_rt::spawn(async move {
                match store.ensure_bucket(&name).await {
                    Ok(true) => slog::info!(log, "claim-check bucket created"; "bucket" => &name),
                    Ok(false) => {}
                    Err(e) => {
                        slog::warn!(log, "claim-check bucket not reachable yet"; "bucket" => &name, "error" => %e)
                    }
                }
            });
            accept.push(crate::config::ClaimLocation::new(
                bucket.clone(),
                config.claim_prefix.clone(),
            ));
        }
        None => {
            slog::info!(
                log,
                "claim checks off: set MS_S3_BUCKET or MS_CLAIM_CHECK_BUCKET to send large payloads"
            );
        }
    }
    accept.extend(config.claim_accept.iter().cloned());
    let claims = super::ClaimCheck::new(s3.clone(), bucket, accept, config.claim_check_threshold);
    Ok(Storage {
        s3: Some(s3),
        claims: Some(claims),
    })
}

/// Built without the `s3` feature: no storage, and S3 settings are an
/// error naming the feature rather than being ignored.
///
/// # Errors
/// [`ConfigError::FeatureDisabled`](crate::ConfigError::FeatureDisabled)
/// when `config` holds S3 or claim-check settings.
#[cfg(not(feature = "s3"))]
pub(crate) fn open_storage(
    config: &crate::Config,
    _log: &slog::Logger,
    _metrics: crate::metrics::S3Metrics,
) -> Result<Storage, crate::Error> {
    let var = if config.s3.is_some() {
        "MS_S3_*"
    } else if config.claim_check_bucket.is_some() {
        "MS_CLAIM_CHECK_BUCKET"
    } else if !config.claim_accept.is_empty() {
        "MS_CLAIM_ACCEPT"
    } else {
        return Ok(Storage::default());
    };
    Err(crate::ConfigError::FeatureDisabled { var, feature: "s3" }.into())
}

/// The service's object storage, if configured: the S3 handle, and the claim
/// check settings when a bucket for them is known.
#[derive(Clone, Debug, Default)]
pub(crate) struct Storage {
    #[cfg(feature = "s3")]
    pub(crate) s3: Option<crate::s3::S3>,
    pub(crate) claims: Option<super::ClaimCheck>,
}
