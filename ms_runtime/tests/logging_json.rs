//! JSON log lines parse and carry timestamp, level, message, service,
//! instance, component and the call's fields; secrets are redacted.

mod common;

use std::time::Duration;

use common::Buffer;
use ms_runtime::logging::{LogFormat, LogOutput, LogSettings, LogSink, Redaction};

fn sink(buffer: &Buffer, filter: &str) -> LogSink {
    LogSink::start(
        LogSettings::new("ocr", "ocr-1")
            .with_format(LogFormat::Json)
            .with_filter(filter.parse().expect("test filters are valid"))
            .with_output(LogOutput::Writer(Box::new(buffer.clone()))),
    )
    .expect("the sink starts")
}

#[test]
fn json_lines_carry_every_field() {
    let buffer = Buffer::default();
    let sink = sink(&buffer, "info");
    let log = sink.logger("extractor");
    slog::info!(log, "page read"; "page" => 3u32, "ratio" => 0.5, "ok" => true, "name" => "scan.pdf");
    slog::warn!(log, "slow page"; "ms" => -1i64);
    sink.flush(Duration::from_secs(5)).unwrap();

    let lines = buffer.json_lines();
    assert_eq!(lines.len(), 2, "{}", buffer.text());
    let first = &lines[0];
    assert_eq!(first["msg"], "page read");
    assert_eq!(first["level"], "info");
    assert_eq!(first["service"], "ocr");
    assert_eq!(first["instance"], "ocr-1");
    assert_eq!(first["component"], "extractor");
    assert_eq!(first["page"], 3);
    assert_eq!(first["ratio"], 0.5);
    assert_eq!(first["ok"], true);
    assert_eq!(first["name"], "scan.pdf");
    let ts = first["ts"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    assert_eq!(lines[1]["level"], "warning");
    assert_eq!(lines[1]["ms"], -1);
}

#[test]
fn levels_below_the_filter_are_not_written() {
    let buffer = Buffer::default();
    let sink = sink(&buffer, "warning");
    let log = sink.logger("c");
    slog::debug!(log, "debug line");
    slog::info!(log, "info line");
    slog::warn!(log, "warning line");
    slog::error!(log, "error line");
    slog::crit!(log, "critical line");
    sink.flush(Duration::from_secs(5)).unwrap();
    let msgs: Vec<_> = buffer
        .json_lines()
        .iter()
        .map(|l| l["msg"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(msgs, ["warning line", "error line", "critical line"]);
}

#[test]
fn per_module_overrides_apply_to_slog_records() {
    // this test file's module path is `logging_json`
    let buffer = Buffer::default();
    let loud = sink(&buffer, "error,logging_json=trace");
    slog::trace!(loud.logger("c"), "trace from this module");
    loud.flush(Duration::from_secs(5)).unwrap();
    let lines = buffer.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["level"], "trace");

    let other = Buffer::default();
    let quiet = sink(&other, "error,other_module=trace");
    slog::trace!(quiet.logger("c"), "never written");
    slog::error!(quiet.logger("c"), "written");
    quiet.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(other.json_lines().len(), 1, "{}", other.text());
}

#[test]
fn secret_fields_are_written_as_stars() {
    let buffer = Buffer::default();
    let sink = LogSink::start(
        LogSettings::new("ocr", "ocr-1")
            .with_format(LogFormat::Json)
            .with_redaction(Redaction::new(["password", "token", "pin"]))
            .with_output(LogOutput::Writer(Box::new(buffer.clone()))),
    )
    .unwrap();
    let log = sink
        .logger("auth")
        .new(slog::o!("session_token" => "tok-123"));
    slog::info!(log, "login"; "user" => "ann", "password" => "hunter2", "card_pin" => 1234);
    sink.flush(Duration::from_secs(5)).unwrap();
    let text = buffer.text();
    for secret in ["tok-123", "hunter2", "1234"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let line = &buffer.json_lines()[0];
    assert_eq!(line["password"], "***");
    assert_eq!(line["session_token"], "***");
    assert_eq!(line["card_pin"], "***");
    assert_eq!(line["user"], "ann");
}

#[test]
fn term_format_is_one_human_line_per_record() {
    let buffer = Buffer::default();
    let sink = LogSink::start(
        LogSettings::new("ocr", "ocr-1").with_output(LogOutput::Writer(Box::new(buffer.clone()))),
    )
    .unwrap();
    slog::info!(sink.logger("c"), "hello there"; "page" => 2);
    sink.flush(Duration::from_secs(5)).unwrap();
    let lines = buffer.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    for part in [
        "INFO",
        "hello there",
        "page: 2",
        "service: ocr",
        "instance: ocr-1",
    ] {
        assert!(line.contains(part), "{part:?} missing from {line:?}");
    }
}
