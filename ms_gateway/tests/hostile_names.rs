//! Threat: a newline in `hello.service` forged a whole gateway log line, and
//! odd names grew odd metric labels. Names (`service`, `instance`,
//! `version`, `to`, `route`, `topic`) are 1..=128 bytes of `[A-Za-z0-9._-]`;
//! anything else is answered `bad_request` (docs/protocol.md section 2).

mod common;

use common::*;
use ms_protocol::{Body, ErrorCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_with_a_forged_log_line_is_refused() {
    let gateway = start(|_| {});
    let mut svc = open(&gateway, Some(&basic(USER))).await.unwrap();
    svc.send_text(
        r#"{"v":1,"kind":"hello","id":"h1","service":"a\nINFO forged line","instance":"1","routes":[],"topics":[],"max_in_flight":1}"#,
    )
    .await;
    let answer = svc.recv("the refusal of the hello").await;
    let Body::Error(report) = &answer.body else {
        panic!("expected an error, got {answer:?}")
    };
    assert_eq!(report.error.code, ErrorCode::BadRequest);
    // still no session: a valid hello is welcomed afterwards
    svc.send(&hello("svc", "1", 1)).await;
    assert!(matches!(svc.recv("welcome").await.body, Body::Welcome(_)));
    // names inside frames are checked too
    svc.send_text(
        r#"{"v":1,"kind":"request","id":"r1","to":"svc x","route":"echo","payload":null}"#,
    )
    .await;
    let answer = svc.recv("the refusal of the request").await;
    assert!(
        matches!(&answer.body, Body::Error(r) if r.error.code == ErrorCode::BadRequest),
        "{answer:?}"
    );
    let metrics = get(gateway.addr(), "/metrics").await.body;
    assert!(!metrics.contains("forged"), "{metrics}");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_in_http_paths_are_refused() {
    let gateway = start(|_| {});
    let addr = gateway.addr();
    for path in [
        "/v1/invoke/svc%0Ax/echo",
        "/v1/invoke/svc/ec%20ho",
        "/v1/publish/news%22",
    ] {
        let answer = post(addr, path, &[], "{}").await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert_eq!(answer.json()["code"], "bad_request");
    }
    let long = "a".repeat(129);
    let answer = post(addr, &format!("/v1/invoke/{long}/echo"), &[], "{}").await;
    assert_eq!(answer.status, 400);
    gateway.stop().await;
}
