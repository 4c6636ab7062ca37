//! SIGKILL of the node two of three echo instances are connected to,
//! under steady load from a service on another node: every request is
//! answered once the instances reconnect to another node, and the
//! instance whose node stayed up never runs a request twice; the
//! handlers' run count, the reruns per instance and the time to recover
//! are reported.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::cluster::{EchoStats, NatsServer, spawn_echo};
use common::*;
use ms_protocol::{Body, Envelope, Json, Payload, Request};
use tokio::process::{Child, Command};

/// An `ms-gateway` child process in cluster mode; its address.
async fn node(nats: &NatsServer, name: &str) -> (Child, std::net::SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ms-gateway"))
        .args(["--bind", "127.0.0.1:0", "--nats", &nats.url, "--node", name])
        .args(["--nats-ack-wait-ms", "1000"])
        .env("MS_GATEWAY_USERS", USER)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, _) = listening(&mut child).await;
    (child, addr)
}

fn ws(addr: std::net::SocketAddr) -> String {
    format!("ws://{addr}/v1/ws")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_loses_no_request() {
    let nats = NatsServer::start();
    let (mut doomed, x) = node(&nats, "x").await;
    let (_y_child, y) = node(&nats, "y").await;
    let (_z_child, z) = node(&nats, "z").await;
    let stats = Arc::new(EchoStats::default());
    let delay = Duration::from_millis(30);
    let e1 = spawn_echo(vec![ws(x), ws(y)], "echo", "e1", 4, delay, stats.clone());
    let e2 = spawn_echo(vec![ws(x), ws(y)], "echo", "e2", 4, delay, stats.clone());
    let e3 = spawn_echo(vec![ws(z)], "echo", "e3", 4, delay, stats.clone());
    until_connections(x, "echo", 2).await;
    until_connections(z, "echo", 1).await;

    // The caller lives on node Z, which stays up.
    let mut caller = open_url(&ws(z)).await;
    caller.send(&hello("caller", "c1", 4)).await;
    assert!(matches!(
        caller.recv("welcome").await.body,
        Body::Welcome(_)
    ));
    let total = 200;
    let mut sent: HashMap<ms_protocol::MessageId, usize> = HashMap::new();
    let mut answered = HashSet::new();
    let mut killed_at = None;
    let mut last_answer = Instant::now();
    let started = Instant::now();
    let mut next = 0;
    while answered.len() < total {
        if next < total {
            let request = Envelope::new(Body::Request(Request {
                to: "echo".into(),
                route: "echo".into(),
                from: None,
                payload: Payload::Inline(Json::from_value(&serde_json::json!(next)).unwrap()),
            }));
            sent.insert(request.id.clone(), next);
            caller.send(&request).await;
            next += 1;
            if next == total / 3 {
                doomed.start_kill().unwrap();
                killed_at = Some(Instant::now());
            }
        }
        let wait = if next < total {
            Duration::from_millis(5)
        } else {
            Duration::from_secs(15)
        };
        let Ok(frame) = tokio::time::timeout(wait, caller.recv("a reply")).await else {
            continue;
        };
        if let Body::Reply(reply) = &frame.body {
            let id = frame.correlation_id().unwrap().clone();
            let n = sent[&id];
            assert_eq!(
                reply.payload,
                Payload::Inline(Json::from_value(&serde_json::json!(n)).unwrap())
            );
            answered.insert(id);
            last_answer = Instant::now();
            caller.ack(vec![frame.id.clone()]).await;
        } else {
            panic!("expected a reply, got {frame:?}");
        }
    }
    let runs = stats.runs.load(Ordering::SeqCst);
    let twice = stats
        .per_request
        .lock()
        .unwrap()
        .values()
        .filter(|&&n| n > 1)
        .count();
    let recovered = killed_at.map(|k| last_answer.duration_since(k));
    let reruns = stats.reruns.lock().unwrap().clone();
    println!(
        "{total} requests answered in {:?}; handler runs {runs} ({twice} requests run twice); \
         last answer {recovered:?} after the kill; runs per instance {:?}; \
         reruns by the same instance {reruns:?}",
        started.elapsed(),
        stats.per_instance.lock().unwrap()
    );
    assert_eq!(answered.len(), total);
    assert!(runs >= total as u64);
    // e3's node and connection stayed up: whatever the dead node held
    // may come to e3 once, but e3 never gets a request it already ran.
    assert_eq!(
        reruns.get("e3").copied().unwrap_or(0),
        0,
        "an instance that stayed connected ran a request twice: {reruns:?}"
    );
    e1.abort();
    e2.abort();
    e3.abort();
}

async fn open_url(url: &str) -> FakeService {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&basic(USER)).unwrap(),
    );
    let (ws, _) = within(
        "the websocket handshake",
        tokio_tungstenite::connect_async(request),
    )
    .await
    .unwrap();
    FakeService { ws }
}
