//! Settings from the environment: defaults, every variable, and every invalid value.

use super::*;

#[test]
fn defaults_without_any_variable() {
    let c = vars(&[]).unwrap();
    assert_eq!(c.gateway_url.as_str(), DEFAULT_GATEWAY_URL);
    assert_eq!(c.credentials, None);
    assert_eq!(c.service_name, None);
    assert!(
        c.instance_id.starts_with("i-") && c.instance_id.len() == 14,
        "{}",
        c.instance_id
    );
    assert_ne!(
        vars(&[]).unwrap().instance_id,
        c.instance_id,
        "instance ids are random"
    );
    assert_eq!(c.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
    assert_eq!(c.s3, None);
    assert_eq!(c.log_filter, LogFilter::default());
    assert_eq!(c.log_format, LogFormat::Term);
    assert_eq!(c.claim_check_threshold, DEFAULT_CLAIM_CHECK_THRESHOLD);
    assert_eq!(c.claim_check_bucket, None);
}

#[test]
fn every_variable_is_read_from_the_environment() {
    let c = vars(&[
        ("MS_GATEWAY_URL", "wss://gw.example.com:9443/custom/ws"),
        ("MS_USERNAME", "ocr"),
        ("MS_PASSWORD", "pw"),
        ("MS_SERVICE_NAME", "ocr"),
        ("MS_INSTANCE_ID", "ocr-1"),
        ("MS_MAX_IN_FLIGHT", "16"),
        ("MS_TLS_CA_FILE", "/etc/ca.pem"),
        ("MS_S3_ENDPOINT", "http://127.0.0.1:9000"),
        ("MS_S3_REGION", "eu-west-3"),
        ("MS_S3_BUCKET", "documents"),
        ("MS_S3_ACCESS_KEY_ID", "AK"),
        ("MS_S3_SECRET_ACCESS_KEY", "SK"),
        ("MS_LOG_LEVEL", "debug,awc=warn"),
        ("MS_LOG_FORMAT", "json"),
        ("MS_CLAIM_CHECK_THRESHOLD", "2097152"),
        ("MS_CLAIM_CHECK_BUCKET", "claims"),
        ("UNRELATED", "ignored"),
    ])
    .unwrap();
    assert_eq!(
        c.gateway_url.as_str(),
        "wss://gw.example.com:9443/custom/ws"
    );
    let creds = c.credentials.unwrap();
    assert_eq!(
        (creds.username.as_str(), creds.password.expose()),
        ("ocr", "pw")
    );
    assert_eq!(c.service_name.as_deref(), Some("ocr"));
    assert_eq!(c.instance_id, "ocr-1");
    assert_eq!(c.max_in_flight, 16);
    assert_eq!(c.tls_ca_file, Some(PathBuf::from("/etc/ca.pem")));
    let s3 = c.s3.unwrap();
    assert_eq!(s3.endpoint.unwrap().as_str(), "http://127.0.0.1:9000/");
    assert_eq!(s3.region, "eu-west-3");
    assert_eq!(s3.bucket.as_deref(), Some("documents"));
    assert_eq!(s3.access_key_id.as_deref(), Some("AK"));
    assert_eq!(s3.secret_access_key.unwrap().expose(), "SK");
    assert_eq!(c.log_filter.level_for("awc::ws"), LogLevel::Warning);
    assert_eq!(c.log_filter.default_level(), LogLevel::Debug);
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.claim_check_threshold, 2 * 1024 * 1024);
    assert_eq!(c.claim_check_bucket.as_deref(), Some("claims"));
}

#[test]
fn a_url_without_path_gets_the_default_path() {
    let c = vars(&[("MS_GATEWAY_URL", "ws://10.0.0.5:8080")]).unwrap();
    assert_eq!(c.gateway_url.as_str(), "ws://10.0.0.5:8080/v1/ws");
}

#[test]
fn seed_style_host_and_tls_flag() {
    let c = vars(&[
        ("MS_GATEWAY_HOST", "gateway.internal"),
        ("MS_GATEWAY_TLS", "true"),
    ])
    .unwrap();
    assert_eq!(c.gateway_url.as_str(), "wss://gateway.internal/v1/ws");
    let c = vars(&[("MS_GATEWAY_HOST", "gateway.internal:8080")]).unwrap();
    assert_eq!(c.gateway_url.as_str(), "ws://gateway.internal:8080/v1/ws");
    let c = vars(&[
        ("MS_GATEWAY_HOST", "gateway.internal"),
        ("MS_GATEWAY_TLS", "0"),
    ])
    .unwrap();
    assert_eq!(c.gateway_url.scheme(), "ws");
}

#[test]
fn each_invalid_value_names_its_variable() {
    let cases: &[(&str, &str)] = &[
        ("MS_GATEWAY_URL", "http://gw:8080/v1/ws"),
        ("MS_GATEWAY_URL", "not a url"),
        ("MS_GATEWAY_HOST", "gw/path"),
        ("MS_SERVICE_NAME", "has space"),
        ("MS_SERVICE_NAME", ""),
        ("MS_INSTANCE_ID", &"x".repeat(129)),
        ("MS_INSTANCE_ID", "host\nname"),
        ("MS_CLAIM_PREFIX", "claims/../private/"),
        ("MS_CLAIM_ACCEPT", "other-bucket"),
        ("MS_CLAIM_ACCEPT", "ok-bucket/in/,Bad_Bucket/x/"),
        ("MS_MAX_IN_FLIGHT", "0"),
        ("MS_MAX_IN_FLIGHT", "-3"),
        ("MS_MAX_IN_FLIGHT", "99999999999"),
        ("MS_S3_ENDPOINT", "ftp://store"),
        ("MS_S3_REGION", " "),
        ("MS_S3_BUCKET", "Upper_Case"),
        ("MS_S3_BUCKET", "ab"),
        ("MS_LOG_LEVEL", "loud"),
        ("MS_LOG_FORMAT", "xml"),
        ("MS_CLAIM_CHECK_THRESHOLD", "12"),
        ("MS_CLAIM_CHECK_THRESHOLD", "big"),
        ("MS_CLAIM_CHECK_BUCKET", "No_Such"),
    ];
    for (var, value) in cases {
        let err = vars(&[(var, value)]).unwrap_err();
        assert_eq!(invalid_var(err), *var, "{var}={value}");
    }
    let err = vars(&[("MS_GATEWAY_HOST", "gw"), ("MS_GATEWAY_TLS", "maybe")]).unwrap_err();
    assert_eq!(invalid_var(err), "MS_GATEWAY_TLS");
    let err = vars(&[("MS_USERNAME", "a:b"), ("MS_PASSWORD", "pw")]).unwrap_err();
    assert_eq!(invalid_var(err), "MS_USERNAME");
}

#[test]
fn settings_that_go_together() {
    assert!(matches!(
        vars(&[("MS_USERNAME", "u")]).unwrap_err(),
        ConfigError::Incomplete {
            var: "MS_USERNAME",
            needs: "MS_PASSWORD"
        }
    ));
    assert!(matches!(
        vars(&[("MS_PASSWORD", "p")]).unwrap_err(),
        ConfigError::Incomplete {
            var: "MS_PASSWORD",
            ..
        }
    ));
    assert!(matches!(
        vars(&[("MS_S3_ACCESS_KEY_ID", "a")]).unwrap_err(),
        ConfigError::Incomplete { .. }
    ));
    assert!(matches!(
        vars(&[("MS_GATEWAY_TLS", "true")]).unwrap_err(),
        ConfigError::Incomplete {
            var: "MS_GATEWAY_TLS",
            ..
        }
    ));
    assert!(matches!(
        vars(&[("MS_GATEWAY_URL", "ws://a/v1/ws"), ("MS_GATEWAY_HOST", "b")]).unwrap_err(),
        ConfigError::Conflict { .. }
    ));
    assert!(matches!(
        vars(&[
            ("MS_GATEWAY_URL", "ws://a/v1/ws"),
            ("MS_GATEWAY_TLS", "true")
        ])
        .unwrap_err(),
        ConfigError::Conflict { .. }
    ));
}

#[test]
fn health_bind_is_an_address_or_nothing() {
    assert_eq!(
        Config::from_vars([("MS_SERVICE_NAME", "x")])
            .unwrap()
            .health_bind,
        None
    );
    let c = Config::from_vars([("MS_HEALTH_BIND", "0.0.0.0:8081")]).unwrap();
    assert_eq!(c.health_bind, Some("0.0.0.0:8081".parse().unwrap()));
    let err = Config::from_vars([("MS_HEALTH_BIND", "8081")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"MS_HEALTH_BIND (environment) must be an address and port such as 0.0.0.0:8081, found "8081""#
    );
}

#[test]
fn names_follow_the_protocol_rule() {
    let long = "n".repeat(128);
    let c = vars(&[
        ("MS_SERVICE_NAME", long.as_str()),
        ("MS_INSTANCE_ID", "ocr-1.eu_west"),
    ])
    .unwrap();
    assert_eq!(c.service_name.as_deref(), Some(long.as_str()));
    assert_eq!(c.instance_id, "ocr-1.eu_west");
    // the default instance name is a valid name too
    let c = vars(&[]).unwrap();
    assert!(
        crate::protocol::check_name(&c.instance_id).is_ok(),
        "{}",
        c.instance_id
    );
    let err = Config::builder().instance_id("ocr 1").build().unwrap_err();
    assert_eq!(invalid_var(err), "MS_INSTANCE_ID");
}

#[test]
fn claim_locations_come_from_the_environment_the_file_and_the_builder() {
    use crate::ClaimLocation;
    let c = vars(&[]).unwrap();
    assert_eq!(
        (c.claim_prefix.as_str(), c.claim_accept.len()),
        ("claims/", 0)
    );
    let c = vars(&[
        ("MS_CLAIM_PREFIX", "claims/ocr/"),
        ("MS_CLAIM_ACCEPT", "claims-eu/claims/, archive/"),
    ])
    .unwrap();
    assert_eq!(c.claim_prefix, "claims/ocr/");
    assert_eq!(
        c.claim_accept,
        [
            ClaimLocation::new("claims-eu", "claims/"),
            ClaimLocation::new("archive", "")
        ]
    );
    let f =
        file("claim_prefix = \"in/\"\nclaim_accept = [\"claims-eu/claims/\", \"archive/x/\"]\n");
    let c = vars(&[(CONFIG_FILE_VAR, f.path().to_str().unwrap())]).unwrap();
    assert_eq!(c.claim_prefix, "in/");
    assert_eq!(c.claim_accept.len(), 2);
    let c = Config::builder()
        .claim_prefix("p/")
        .claim_accept("claims-eu/claims/")
        .claim_accept("archive/x/")
        .build()
        .unwrap();
    assert_eq!(c.claim_prefix, "p/");
    assert_eq!(c.claim_accept[1], ClaimLocation::new("archive", "x/"));
}

#[test]
fn several_gateway_urls_are_a_cluster_tried_in_turn() {
    let c = vars(&[("MS_GATEWAY_URL", "ws://a:1/v1/ws, ws://b:2 ,wss://c:3/x")]).unwrap();
    assert_eq!(c.gateway_url.as_str(), "ws://a:1/v1/ws");
    let rest: Vec<&str> = c.gateway_fallback_urls.iter().map(Url::as_str).collect();
    assert_eq!(rest, ["ws://b:2/v1/ws", "wss://c:3/x"]);
    assert!(vars(&[]).unwrap().gateway_fallback_urls.is_empty());
    // every one is checked, credentials included
    let err = vars(&[("MS_GATEWAY_URL", "ws://a:1,ws://u:s3cret@b:2")]).unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert_eq!(invalid_var(err), "MS_GATEWAY_URL");
    assert_eq!(
        invalid_var(vars(&[("MS_GATEWAY_URL", "ws://a:1,http://b")]).unwrap_err()),
        "MS_GATEWAY_URL"
    );
}

#[test]
fn metrics_bind_is_an_address_or_nothing() {
    assert_eq!(vars(&[]).unwrap().metrics_bind, None);
    let c = Config::from_vars([("MS_METRICS_BIND", "127.0.0.1:9090")]).unwrap();
    assert_eq!(c.metrics_bind, Some("127.0.0.1:9090".parse().unwrap()));
    let err = Config::from_vars([("MS_METRICS_BIND", "9090")]).unwrap_err();
    assert!(err.to_string().starts_with("MS_METRICS_BIND"), "{err}");
}

#[test]
fn rust_log_is_read_only_when_ms_log_level_is_unset() {
    use crate::logging::LogLevel;
    let c = Config::from_vars([("RUST_LOG", "warn,my_service=debug")]).unwrap();
    assert_eq!(c.log_filter.default_level(), LogLevel::Warning);
    assert_eq!(c.log_filter.level_for("my_service::x"), LogLevel::Debug);
    // MS_LOG_LEVEL wins, whichever comes first
    let c = Config::from_vars([("RUST_LOG", "trace"), ("MS_LOG_LEVEL", "error")]).unwrap();
    assert_eq!(c.log_filter.default_level(), LogLevel::Error);
    let c = Config::from_vars([("MS_LOG_LEVEL", "off"), ("RUST_LOG", "trace")]).unwrap();
    assert_eq!(c.log_filter.default_level(), LogLevel::Off);
    // an empty RUST_LOG is no setting; a malformed one names its variable
    assert_eq!(
        Config::from_vars([("RUST_LOG", " ")]).unwrap().log_filter,
        vars(&[]).unwrap().log_filter
    );
    let err = Config::from_vars([("RUST_LOG", "a=loud")]).unwrap_err();
    assert!(err.to_string().starts_with("RUST_LOG"), "{err}");
}
