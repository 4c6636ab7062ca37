//! The TOML file: its values, its precedence under the environment, its errors.

use super::*;

#[test]
fn file_values_are_read_and_env_overrides_them() {
    let f = file(
        r#"
gateway_url = "ws://from-file:1/v1/ws"
service_name = "from-file"
max_in_flight = 3
log_format = "json"

[s3]
endpoint = "http://127.0.0.1:9000"
bucket = "file-bucket"
"#,
    );
    let path = f.path().to_str().unwrap();
    let c = vars(&[("MS_CONFIG_FILE", path)]).unwrap();
    assert_eq!(c.gateway_url.as_str(), "ws://from-file:1/v1/ws");
    assert_eq!(c.service_name.as_deref(), Some("from-file"));
    assert_eq!(c.max_in_flight, 3);
    assert_eq!(
        c.s3.as_ref().unwrap().bucket.as_deref(),
        Some("file-bucket")
    );

    let c = vars(&[
        ("MS_CONFIG_FILE", path),
        ("MS_SERVICE_NAME", "from-env"),
        ("MS_S3_BUCKET", "env-bucket"),
    ])
    .unwrap();
    assert_eq!(
        c.service_name.as_deref(),
        Some("from-env"),
        "env wins over file"
    );
    assert_eq!(c.s3.as_ref().unwrap().bucket.as_deref(), Some("env-bucket"));
    assert_eq!(c.max_in_flight, 3, "file values env does not set stay");
    assert_eq!(c.log_format, LogFormat::Json);
}

#[test]
fn env_host_overrides_file_url() {
    let f = file("gateway_url = \"ws://from-file:1/v1/ws\"\n");
    let c = vars(&[
        ("MS_CONFIG_FILE", f.path().to_str().unwrap()),
        ("MS_GATEWAY_HOST", "env-host"),
    ])
    .unwrap();
    assert_eq!(c.gateway_url.as_str(), "ws://env-host/v1/ws");
}

#[test]
fn flat_s3_keys_work_in_the_file_too() {
    let f = file("s3_bucket = \"flat-bucket\"\n");
    let c = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap();
    assert_eq!(c.s3.unwrap().bucket.as_deref(), Some("flat-bucket"));
}

#[test]
fn file_errors_name_the_file_and_the_problem() {
    let f = file("servce_name = \"typo\"\n");
    let err = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::FileInvalid { reason, .. } if reason == "line 1, column 1: unknown key `servce_name`"),
        "{err:?}"
    );
    let f = file("service_name = \n");
    let err = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap_err();
    assert!(matches!(err, ConfigError::FileInvalid { .. }), "{err:?}");
    let err = vars(&[("MS_CONFIG_FILE", "/nonexistent/ms.toml")]).unwrap_err();
    assert!(matches!(err, ConfigError::FileUnreadable { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "cannot read config file /nonexistent/ms.toml"
    );
}

#[test]
fn file_values_in_errors_name_the_file() {
    let f = file("max_in_flight = 0\n");
    let err = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("MS_MAX_IN_FLIGHT (config file "), "{text}");
    assert!(
        text.ends_with("must be a whole number from 1 to 4294967295, found \"0\""),
        "{text}"
    );
}

#[test]
fn toml_syntax_errors_name_the_line_and_column() {
    let f = file("service_name = \"ocr\"\nmax_in_flight = 4\nlog_format = \n");
    let err = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap_err();
    let ConfigError::FileInvalid { reason, .. } = &err else {
        panic!("expected FileInvalid, got {err:?}");
    };
    assert!(reason.starts_with("line 3, column 14: "), "{reason}");
    assert!(!reason.contains('\n'), "one line: {reason:?}");
    let shown = err.to_string();
    assert!(shown.contains("is invalid: line 3, column 14: "), "{shown}");
}

#[test]
fn key_errors_name_the_line_of_the_key_in_tables_too() {
    let f = file("service_name = \"ocr\"\n\n[s3]\nbucket = \"scans\"\n  regoin = \"eu\"\n");
    let err = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "config file {} is invalid: line 5, column 3: unknown key `s3.regoin`",
            f.path().display()
        )
    );
    let f = file("max_in_flight = 4\nhealthy_after_ms = 2.5\n");
    let err = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::FileInvalid { reason, .. }
            if reason == "line 2, column 1: `healthy_after_ms` must be a string, number or boolean"),
        "{err:?}"
    );
    let f = file("[s3]\nbucket = 1979-05-27\n");
    let err = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::FileInvalid { reason, .. }
            if reason == "line 2, column 1: `s3.bucket` must be a string, number or boolean"),
        "{err:?}"
    );
}

#[test]
fn tuning_values_come_from_the_file_too() {
    let f = file("shutdown_grace_ms = 1500\noutbox_capacity = 20\n");
    let c = vars(&[("MS_CONFIG_FILE", f.path().to_str().unwrap())]).unwrap();
    assert_eq!(c.tuning.shutdown_grace, Duration::from_millis(1500));
    assert_eq!(c.tuning.outbox_capacity, 20);
}
