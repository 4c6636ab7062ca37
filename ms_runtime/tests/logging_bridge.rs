//! Records from the `log` crate and from `tracing` reach the global sink with
//! the same format, as component `dep` with their target, at `warning` and up
//! unless `MS_LOG_LEVEL` names their target; a panic's last lines are flushed.

mod common;

use std::time::Duration;

use common::Buffer;
use ms_runtime::logging::{self, LogFormat, LogOutput, LogSettings};

#[test]
fn log_and_tracing_records_share_the_sink_and_the_filter() {
    let buffer = Buffer::default();
    let sink = logging::init(
        LogSettings::new("bridge", "b-1")
            .with_format(LogFormat::Json)
            .with_filter("info,awc=warning,aws_sdk_s3=debug".parse().unwrap())
            .with_output(LogOutput::Writer(Box::new(buffer.clone()))),
    )
    .unwrap();

    log::info!(target: "actix_server::builder", "log info is below the dependency floor");
    log::warn!(target: "actix_server::builder", "log warning");
    log::info!(target: "awc::client", "awc info is filtered");
    log::warn!(target: "awc::client", "awc warning");
    tracing::debug!(target: "aws_sdk_s3::operation", "tracing debug");
    tracing::debug!(target: "hyper::proto", "hyper debug is filtered");
    slog::info!(logging::setup_logger("app"), "slog info");

    // a panic on another thread: the hook logs it and flushes before unwinding
    let _ = std::thread::Builder::new()
        .name("worker".into())
        .spawn(|| panic!("worker failed"))
        .unwrap()
        .join();
    let after_panic = buffer.json_lines();
    let panic_line = after_panic
        .iter()
        .find(|l| l["msg"] == "panic: worker failed")
        .expect("the panic hook wrote and flushed the panic");
    assert_eq!(panic_line["level"], "critical");
    assert_eq!(panic_line["thread"], "worker");

    sink.flush(Duration::from_secs(5)).unwrap();
    let lines = buffer.json_lines();
    let msgs: Vec<&str> = lines.iter().filter_map(|l| l["msg"].as_str()).collect();
    for expected in ["log warning", "awc warning", "tracing debug", "slog info"] {
        assert!(
            msgs.contains(&expected),
            "{expected:?} missing from {msgs:?}"
        );
    }
    for filtered in [
        "log info is below the dependency floor",
        "awc info is filtered",
        "hyper debug is filtered",
    ] {
        assert!(
            !msgs.contains(&filtered),
            "{filtered:?} should be filtered: {msgs:?}"
        );
    }
    let awc = lines.iter().find(|l| l["msg"] == "awc warning").unwrap();
    assert_eq!(awc["target"], "awc::client");
    assert_eq!(awc["component"], "dep");
    assert_eq!(awc["service"], "bridge");
    assert_eq!(awc["instance"], "b-1");
    assert_eq!(awc["level"], "warning");
    assert!(awc["ts"].is_string());
}
