//! Three gateway nodes on one nats-server: a service on node A answers an
//! HTTP caller at node B and a service caller on node C; instances on A
//! and C share the load and never hold more than their `max_in_flight`;
//! node B's `/metrics` counts what it accepted and answered.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::cluster::{EchoStats, NatsServer, spawn_echo, start_node};
use common::*;
use ms_protocol::{Body, Envelope, Json, Payload, Request};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn work_crosses_nodes_and_flow_control_holds_per_connection() {
    let nats = NatsServer::start();
    let a = start_node(&nats, "a");
    let b = start_node(&nats, "b");
    let c = start_node(&nats, "c");
    let stats = Arc::new(EchoStats::default());
    let delay = Duration::from_millis(20);
    let on_a = spawn_echo(vec![a.ws_url()], "echo", "on-a", 2, delay, stats.clone());
    let on_c = spawn_echo(vec![c.ws_url()], "echo", "on-c", 2, delay, stats.clone());

    let started = Instant::now();
    // 40 HTTP callers at node B, 8 at a time.
    let addr = b.addr();
    let mut callers = Vec::new();
    for i in 0..40 {
        callers.push(tokio::spawn(async move {
            post(addr, "/v1/invoke/echo/echo", &[], &format!("{{\"n\":{i}}}")).await
        }));
    }
    // A service caller on node C sends 20 requests.
    let mut caller = connect(&c, "caller", "c1", 4).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let request = Envelope::new(Body::Request(Request {
            to: "echo".into(),
            route: "echo".into(),
            from: None,
            payload: Payload::Inline(Json::from_value(&serde_json::json!({ "m": i })).unwrap()),
        }));
        ids.push(request.id.clone());
        caller.send(&request).await;
    }
    let mut answered = std::collections::HashSet::new();
    while answered.len() < ids.len() {
        let frame = caller
            .recv("a reply for the service caller on node C")
            .await;
        if let Body::Reply(_) = &frame.body {
            let id = frame.correlation_id().unwrap().clone();
            assert!(
                ids.contains(&id),
                "a reply to an unknown request: {frame:?}"
            );
            answered.insert(id);
            caller.ack(vec![frame.id.clone()]).await;
        } else {
            panic!("expected a reply, got {frame:?}");
        }
    }
    for (i, caller) in callers.into_iter().enumerate() {
        let response = within("an HTTP answer at node B", caller).await.unwrap();
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.json(), serde_json::json!({ "n": i }));
    }
    let elapsed = started.elapsed();
    let per_instance = stats.per_instance.lock().unwrap().clone();
    println!(
        "60 requests across nodes in {elapsed:?}; runs per instance {per_instance:?}; most held at once {}",
        stats.max_held.load(Ordering::SeqCst)
    );
    assert_eq!(stats.runs.load(Ordering::SeqCst), 60);
    assert!(
        per_instance.get("on-a").copied().unwrap_or(0) > 0,
        "{per_instance:?}"
    );
    assert!(
        per_instance.get("on-c").copied().unwrap_or(0) > 0,
        "{per_instance:?}"
    );
    assert!(stats.max_held.load(Ordering::SeqCst) <= 2);
    assert_eq!(get(b.addr(), "/readyz").await.status, 200);
    // node B accepted and answered its 40 HTTP callers, and says so
    let scrape = get(b.addr(), "/metrics").await.body;
    let total = |name: &str| samples(&scrape, name).iter().map(|(_, v)| v).sum::<f64>();
    assert_eq!(total("ms_gateway_requests_total"), 40.0, "{scrape}");
    assert_eq!(
        total("ms_gateway_request_duration_seconds_count"),
        40.0,
        "{scrape}"
    );
    assert_eq!(total("ms_gateway_errors_total"), 0.0, "{scrape}");
    promtool_check(&scrape);
    on_a.abort();
    on_c.abort();
    a.stop().await;
    b.stop().await;
    c.stop().await;
}
