//! Dependencies' records (the `log` and `tracing` crates) never carry an
//! `authorization` header value or another credential into a log line, and
//! stay under their own component at `warning` by default.

mod common;

use std::time::Duration;

use common::Buffer;
use ms_runtime::logging::{self, LogFormat, LogOutput, LogSettings};

/// What s3s and hyper print when a span holds a request's headers.
const HEADERS: &str = r#"request; headers={"host": "127.0.0.1:9000", "authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY/20261203/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", "x-amz-security-token": "FQoGZXIvYXdzEXAMPLETOKEN"}"#;

#[test]
fn header_values_of_credentials_never_reach_a_line() {
    let buffer = Buffer::default();
    let sink = logging::init(
        LogSettings::new("tagger", "t-1")
            .with_format(LogFormat::Json)
            .with_output(LogOutput::Writer(Box::new(buffer.clone()))),
    )
    .unwrap();

    log::info!(target: "tracing::span", "{HEADERS} (info: below the floor)");
    log::warn!(target: "tracing::span", "{HEADERS}");
    log::error!(target: "s3s::ops", "authorization: Bearer eyJhbGciOiJIUzI1NiJ9.secret-part");
    sink.flush(Duration::from_secs(5)).unwrap();

    let raw = buffer.text();
    for secret in [
        "AKIAEXAMPLEKEY",
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        "FQoGZXIvYXdzEXAMPLETOKEN",
        "eyJhbGciOiJIUzI1NiJ9",
    ] {
        assert!(!raw.contains(secret), "{secret} was written: {raw}");
    }
    let lines = buffer.json_lines();
    assert!(
        !raw.contains("below the floor"),
        "an info record of a dependency passed the warning floor: {raw}"
    );
    let span = lines
        .iter()
        .find(|l| l["target"] == "tracing::span")
        .expect("the warning record is written");
    assert_eq!(span["component"], "dep");
    assert_eq!(span["service"], "tagger");
    let msg = span["msg"].as_str().unwrap();
    assert!(msg.contains(r#""host": "127.0.0.1:9000""#), "{msg}");
    assert!(msg.contains(r#""authorization": "***""#), "{msg}");
    let bearer = lines.iter().find(|l| l["target"] == "s3s::ops").unwrap();
    assert_eq!(bearer["msg"], "authorization: ***");
}
