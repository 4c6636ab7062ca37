//! A logger made with `setup_logger` before the service starts shows the
//! service name and instance the runtime starts with, not the environment's
//! guess (`instance: -`, the component as service name).
//!
//! `setup_logger` writes to standard error and reads the environment: the
//! case runs in a child process (this test binary again) whose output the
//! test reads.

use std::process::Command;

#[test]
fn an_early_logger_takes_the_runtime_identity() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["child_logs_before_and_after_init", "--exact", "--ignored"])
        .env("MS_LOG_FORMAT", "json")
        .env_remove("MS_SERVICE_NAME")
        .env_remove("MS_INSTANCE_ID")
        .env_remove("MS_LOG_LEVEL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed: {stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let early = lines
        .iter()
        .find(|l| l["msg"] == "logged after start-up")
        .unwrap_or_else(|| panic!("the early logger's line is missing: {stderr}"));
    assert_eq!(early["service"], "tagger", "{early}");
    assert_eq!(early["instance"], "i-0123456789ab", "{early}");
    assert_eq!(early["component"], "main", "{early}");
}

/// The child: a logger first, then the runtime's `init`, as `run` does it.
#[test]
#[ignore = "run by the test above, in a child process"]
fn child_logs_before_and_after_init() {
    use ms_runtime::logging::{self, LogFormat, LogSettings};

    let log = logging::setup_logger("main");
    let sink =
        logging::init(LogSettings::new("tagger", "i-0123456789ab").with_format(LogFormat::Json))
            .unwrap();
    slog::info!(log, "logged after start-up");
    sink.flush(std::time::Duration::from_secs(5)).unwrap();
}
