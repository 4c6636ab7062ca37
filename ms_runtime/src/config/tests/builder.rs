//! The builder: the same checks as the environment, and its tuning.

use super::*;

#[test]
fn builder_checks_like_the_environment() {
    let c = Config::builder()
        .gateway_url("ws://127.0.0.1:1234")
        .service_name("echo")
        .instance_id("echo-a")
        .max_in_flight(2)
        .tls_ca_file("/tmp/ca.pem")
        .s3_endpoint("http://127.0.0.1:9000")
        .s3_region("local")
        .s3_bucket("bucket")
        .s3_keys("a", "b")
        .log_level("trace")
        .log_format("json")
        .build()
        .unwrap();
    assert_eq!(c.gateway_url.as_str(), "ws://127.0.0.1:1234/v1/ws");
    assert_eq!(c.instance_id, "echo-a");
    assert_eq!(c.log_filter.default_level(), LogLevel::Trace);
    let err = Config::builder().max_in_flight(0).build().unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                var: "MS_MAX_IN_FLIGHT",
                source_of: ConfigSource::Builder,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_explicit_handler_threads_wins_over_the_tuning_given_in_code() {
    let tuning = Tuning {
        handler_threads: 3,
        ..Tuning::default()
    };
    let c = Config::builder().tuning(tuning.clone()).build().unwrap();
    assert_eq!(c.tuning.handler_threads, 3);
    let c = Config::builder()
        .tuning(tuning)
        .handler_threads(0)
        .build()
        .unwrap();
    assert_eq!(c.tuning.handler_threads, 0);
}
