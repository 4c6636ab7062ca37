//! A node started before its NATS server listens waits for it (and for
//! JetStream to be ready) instead of failing, then routes work through the
//! backplane; the wait is reported.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::cluster::NatsServer;
use common::*;
use ms_gateway::ClusterConfig;
use ms_protocol::Body;

/// Polls `done` every 10 ms until it holds, or fails naming `what`.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_before_nats_waits_for_it_and_routes() {
    // The port NATS will listen on, held by a plain listener until the
    // node has tried it once (so the node surely started first).
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let mut config = ClusterConfig::new(vec![format!("nats://127.0.0.1:{port}")], "early");
    config.ack_wait_ms = 1_000;
    config.max_work_bytes = 32 << 20;
    config.patience_ms = 30_000;
    let starting = std::thread::spawn(move || start(move |c| c.cluster = Some(config)));

    holder.set_nonblocking(true).unwrap();
    wait_for("the node's first try to reach NATS", WAIT, || {
        holder.accept().is_ok()
    });
    drop(holder);
    assert!(
        !starting.is_finished(),
        "the node must still be starting: NATS is not up"
    );

    let nats = NatsServer::start_on_port(Some(port));
    let nats_up = Instant::now();
    wait_for("the node to start once NATS is up", WAIT, || {
        starting.is_finished()
    });
    let waited = nats_up.elapsed();
    let node = starting.join().unwrap();

    // Work crosses the backplane: published to MS_WORK, taken back for
    // the local instance.
    let mut echo = connect(&node, "echo", "e1", 1).await;
    let addr = node.addr();
    let caller =
        tokio::spawn(async move { post(addr, "/v1/invoke/echo/echo", &[], "{\"n\":1}").await });
    let request = echo.recv("the request through the backplane").await;
    assert!(matches!(request.body, Body::Request(_)), "{request:?}");
    echo.reply(&request, serde_json::json!({ "n": 1 })).await;
    let response = within("the HTTP answer", caller).await.unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json(), serde_json::json!({ "n": 1 }));
    assert_eq!(get(addr, "/readyz").await.status, 200);
    println!("the node started {waited:?} after nats-server was ready");
    node.stop().await;
    drop(nats);
}
