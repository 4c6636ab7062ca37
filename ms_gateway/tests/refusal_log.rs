//! The binary with `--log-format json` writes one line per refused
//! message, with its trace id, service, route and code, and never the
//! payload or a password; a peer that floods the gateway with malformed
//! frames gets at most its budget of lines, then one line saying how many
//! were left out.

mod common;

use std::process::Stdio;
use std::time::Instant;

use common::*;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::AsyncReadExt as _;
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const PASSWORD_PAIR: &str = "svc:s3cret-pw";
const FLOOD: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_messages_are_logged_with_their_trace_id_within_a_budget() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ms-gateway"))
        .args(["--bind", "127.0.0.1:0", "--user", PASSWORD_PAIR])
        .args(["--log-format", "json", "--log-level", "INFO"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, _stdout) = listening(&mut child).await;
    let auth = basic(PASSWORD_PAIR);
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Trace-Id", "trace-refused-42"),
        ("X-Timeout-Ms", "0"),
    ];
    let refused = http(
        addr,
        "POST",
        "/v1/invoke/svc/echo",
        &headers,
        r#"{"m":"payload-marker-77"}"#,
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    // a hostile peer: a flood of frames that are not JSON
    let started = Instant::now();
    let mut request = format!("ws://{addr}/v1/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", HeaderValue::from_str(&auth).unwrap());
    let (mut ws, _) = within("the websocket", tokio_tungstenite::connect_async(request))
        .await
        .unwrap();
    let hello = ms_protocol::encode(&hello("svc", "a", 1)).unwrap();
    ws.send(Message::Text(hello.into())).await.unwrap();
    for _ in 0..FLOOD {
        ws.send(Message::Text("not json".into())).await.unwrap();
    }
    let mut answers = 0;
    while answers < FLOOD + 1 {
        match within("the answers to the flood", ws.next()).await {
            Some(Ok(Message::Text(_))) => answers += 1,
            Some(Ok(_)) => {}
            other => panic!("the session ended early: {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    ws.close(None).await.unwrap();
    // the session's end writes the summary; then stop the gateway
    until_connections_as(addr, PASSWORD_PAIR, "svc", 0).await;
    sigterm(&child).await;
    let mut stderr = String::new();
    within(
        "the gateway's stderr",
        child.stderr.take().unwrap().read_to_string(&mut stderr),
    )
    .await
    .unwrap();
    within("the gateway to exit", child.wait()).await.unwrap();

    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        !stderr.contains("payload-marker-77"),
        "a payload was logged:\n{stderr}"
    );
    assert!(
        !stderr.contains("s3cret-pw"),
        "a password was logged:\n{stderr}"
    );
    let http_line = lines
        .iter()
        .find(|l| l["trace_id"] == "trace-refused-42")
        .unwrap_or_else(|| panic!("no line with the trace id:\n{stderr}"));
    assert_eq!(http_line["msg"], "message refused or failed");
    assert_eq!(http_line["code"], "bad_request");
    assert_eq!(http_line["service"], "svc");
    assert_eq!(http_line["route"], "echo");
    assert_eq!(http_line["level"], "WARN");
    assert_eq!(http_line["peer"], "user svc");

    let flood_peer =
        |l: &&serde_json::Value| l["peer"].as_str().is_some_and(|p| p.starts_with("conn "));
    let written = lines
        .iter()
        .filter(flood_peer)
        .filter(|l| l["msg"] == "message refused or failed")
        .count();
    let suppressed: u64 = lines
        .iter()
        .filter(flood_peer)
        .filter_map(|l| l["suppressed"].as_u64())
        .sum();
    println!(
        "{FLOOD} malformed frames in {elapsed:?}: {written} lines written, {suppressed} left out"
    );
    let regained = 2 * elapsed.as_secs() as usize + 2;
    assert!(
        (20..=20 + regained).contains(&written),
        "{written} lines for {FLOOD} refusals:\n{stderr}"
    );
    assert_eq!(
        written + suppressed as usize,
        FLOOD,
        "every refusal is written or counted:\n{stderr}"
    );
}
