//! Tuning from `MS_*` variables: each value, its bounds, its errors.

use super::*;

#[test]
fn handler_threads_come_from_the_environment_and_zero_means_inline() {
    let default = Config::from_vars([("MS_SERVICE_NAME", "x")]).unwrap();
    assert_eq!(
        default.tuning.handler_threads,
        Tuning::default().handler_threads
    );
    let inline = Config::from_vars([("MS_HANDLER_THREADS", "0")]).unwrap();
    assert_eq!(inline.tuning.handler_threads, 0);
    assert_eq!(
        Config::from_vars([("MS_HANDLER_THREADS", " 8 ")])
            .unwrap()
            .tuning
            .handler_threads,
        8
    );
    for bad in ["-1", "lots", "1025"] {
        let err = Config::from_vars([("MS_HANDLER_THREADS", bad)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "MS_HANDLER_THREADS (environment) must be a whole number from 0 to 1024, found {bad:?}"
            )
        );
    }
}

#[test]
fn every_tuning_value_has_a_variable() {
    let c = vars(&[
        ("MS_RECONNECT_INITIAL_MS", "250"),
        ("MS_RECONNECT_MAX_MS", "4000"),
        ("MS_AUTH_RETRY_INITIAL_MS", "2000"),
        ("MS_AUTH_RETRY_MAX_MS", "60000"),
        ("MS_HEALTHY_AFTER_MS", "0"),
        ("MS_CONNECT_TIMEOUT_MS", "3000"),
        ("MS_SHUTDOWN_GRACE_MS", " 5000 "),
        ("MS_DEDUP_WINDOW_MS", "120000"),
        ("MS_DEDUP_CAPACITY", "500"),
        ("MS_DEDUP_MAX_BYTES", "1048576"),
        ("MS_OUTBOX_CAPACITY", "77"),
        ("MS_REQUEST_TIMEOUT_MS", "9000"),
        ("MS_MAX_FRAME_BYTES", "2097152"),
        ("MS_HANDLER_THREADS", "2"),
        ("MS_INLINE_BUDGET_MS", "0"),
    ])
    .unwrap();
    let ms = Duration::from_millis;
    assert_eq!(
        c.tuning,
        Tuning {
            reconnect_initial: ms(250),
            reconnect_max: ms(4000),
            auth_retry_initial: ms(2000),
            auth_retry_max: ms(60_000),
            healthy_after: ms(0),
            connect_timeout: ms(3000),
            shutdown_grace: ms(5000),
            dedup_window: ms(120_000),
            dedup_capacity: 500,
            dedup_max_bytes: 1_048_576,
            outbox_capacity: 77,
            handler_threads: 2,
            inline_budget: ms(0),
            request_timeout: ms(9000),
            max_frame_bytes: 2_097_152,
        }
    );
}

#[test]
fn unset_tuning_variables_keep_the_defaults() {
    let c = vars(&[("MS_OUTBOX_CAPACITY", "5")]).unwrap();
    assert_eq!(
        c.tuning,
        Tuning {
            outbox_capacity: 5,
            ..Tuning::default()
        }
    );
}

#[test]
fn bad_tuning_values_name_the_variable_and_the_value() {
    let cases = [
        (
            "MS_SHUTDOWN_GRACE_MS",
            "5s",
            "a whole number of milliseconds from 0 to 3600000",
        ),
        (
            "MS_RECONNECT_INITIAL_MS",
            "0",
            "a whole number of milliseconds from 1 to 3600000",
        ),
        (
            "MS_CONNECT_TIMEOUT_MS",
            "3600001",
            "a whole number of milliseconds from 1 to 3600000",
        ),
        (
            "MS_DEDUP_WINDOW_MS",
            "-1",
            "a whole number of milliseconds from 1 to 86400000",
        ),
        (
            "MS_REQUEST_TIMEOUT_MS",
            "",
            "a whole number of milliseconds from 1 to 86400000",
        ),
        (
            "MS_DEDUP_CAPACITY",
            "0",
            "a whole number of answers from 1 to 100000000",
        ),
        (
            "MS_DEDUP_MAX_BYTES",
            "64MiB",
            "a whole number of bytes from 1 to 1099511627776",
        ),
        (
            "MS_OUTBOX_CAPACITY",
            "1e4",
            "a whole number of frames from 1 to 100000000",
        ),
        (
            "MS_MAX_FRAME_BYTES",
            "1023",
            "a whole number of bytes from 1024 to 1073741824",
        ),
    ];
    for (var, value, expected) in cases {
        let err = vars(&[(var, value)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{var} (environment) must be {expected}, found {value:?}")
        );
        assert_eq!(invalid_var(err), var);
    }
}

#[test]
fn a_first_backoff_bound_above_the_largest_is_refused() {
    let err = vars(&[("MS_RECONNECT_MAX_MS", "500")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"MS_RECONNECT_MAX_MS (environment) must be a whole number of milliseconds, at least MS_RECONNECT_INITIAL_MS (default 1000), found "500""#
    );
    let err = vars(&[("MS_AUTH_RETRY_INITIAL_MS", "400000")]).unwrap_err();
    assert_eq!(invalid_var(err), "MS_AUTH_RETRY_INITIAL_MS");
    let c = vars(&[
        ("MS_RECONNECT_INITIAL_MS", "100"),
        ("MS_RECONNECT_MAX_MS", "100"),
    ])
    .unwrap();
    assert_eq!(c.tuning.reconnect_max, Duration::from_millis(100));
}

#[test]
fn variables_given_to_the_builder_win_over_its_tuning() {
    let tuning = Tuning {
        shutdown_grace: Duration::from_secs(7),
        outbox_capacity: 9,
        ..Tuning::default()
    };
    let c = Config::builder()
        .tuning(tuning.clone())
        .handler_threads(1)
        .build()
        .unwrap();
    assert_eq!(
        c.tuning,
        Tuning {
            handler_threads: 1,
            ..tuning
        }
    );
}
