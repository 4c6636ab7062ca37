//! The standard AWS variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...) as
//! fallbacks of the `MS_S3_*` settings, and S3 settings in a build without
//! the `s3` feature.

use super::*;

#[cfg(feature = "s3")]
#[test]
fn aws_region_and_endpoint_fill_in_what_ms_s3_leaves_unset() {
    let c = vars(&[
        ("MS_S3_BUCKET", "scans"),
        ("AWS_ENDPOINT_URL", "http://minio:9000"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "us-west-2"),
    ])
    .unwrap();
    let s3 = c.s3.unwrap();
    assert_eq!(
        s3.region, "eu-west-1",
        "AWS_REGION wins over AWS_DEFAULT_REGION"
    );
    assert_eq!(s3.endpoint.unwrap().as_str(), "http://minio:9000/");
}

#[cfg(feature = "s3")]
#[test]
fn ms_s3_settings_win_over_aws_variables() {
    let c = vars(&[
        ("MS_S3_REGION", "ap-south-1"),
        ("MS_S3_ENDPOINT", "http://ceph:7480"),
        ("AWS_ENDPOINT_URL_S3", "http://minio:9000"),
        ("AWS_REGION", "eu-west-1"),
    ])
    .unwrap();
    let s3 = c.s3.unwrap();
    assert_eq!(s3.region, "ap-south-1");
    assert_eq!(s3.endpoint.unwrap().as_str(), "http://ceph:7480/");
}

#[cfg(feature = "s3")]
#[test]
fn the_s3_specific_endpoint_wins_over_the_general_one() {
    let c = vars(&[
        ("MS_S3_BUCKET", "scans"),
        ("AWS_ENDPOINT_URL", "http://general:9000"),
        ("AWS_ENDPOINT_URL_S3", "http://s3-only:9000"),
    ])
    .unwrap();
    assert_eq!(
        c.s3.unwrap().endpoint.unwrap().as_str(),
        "http://s3-only:9000/"
    );
}

#[test]
fn aws_variables_alone_do_not_turn_s3_on() {
    let c = vars(&[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL", "http://minio:9000"),
    ])
    .unwrap();
    assert_eq!(c.s3, None);
}

#[cfg(feature = "s3")]
#[test]
fn an_invalid_aws_endpoint_is_named_without_its_credentials() {
    let err = vars(&[
        ("MS_S3_BUCKET", "scans"),
        ("AWS_ENDPOINT_URL", "ftp://user:hunter2@minio"),
    ])
    .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(invalid_var(err), "AWS_ENDPOINT_URL");
}

#[cfg(not(feature = "s3"))]
#[test]
fn s3_settings_without_the_s3_feature_name_the_feature() {
    for var in ["MS_S3_BUCKET", "MS_CLAIM_CHECK_BUCKET", "MS_S3_ENDPOINT"] {
        let value = if var == "MS_S3_ENDPOINT" {
            "http://minio:9000"
        } else {
            "scans"
        };
        let err = vars(&[(var, value)]).unwrap_err();
        assert!(
            matches!(err, ConfigError::FeatureDisabled { var: v, feature: "s3" } if v == var),
            "{err:?}"
        );
        assert!(err.to_string().contains("`s3` feature"), "{err}");
    }
}
