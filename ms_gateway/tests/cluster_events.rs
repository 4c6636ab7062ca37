//! Events published while no subscriber instance is connected wait in the
//! cluster and are delivered when one connects, after every gateway node
//! has been restarted.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::cluster::{EchoStats, NatsServer, spawn_echo, start_node};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_wait_for_a_subscriber_across_a_full_restart() {
    let nats = NatsServer::start();
    let a = start_node(&nats, "a");
    let b = start_node(&nats, "b");
    // The subscriber says hello once (topic "news"), then leaves.
    let stats = Arc::new(EchoStats::default());
    let first = spawn_echo(
        vec![a.ws_url()],
        "sub",
        "s1",
        4,
        Duration::ZERO,
        stats.clone(),
    );
    // connected on A, and B has learned of it (and of its topic)
    until_connections(a.addr(), "sub", 1).await;
    until_connections(b.addr(), "sub", 0).await;
    first.abort();
    until_connections(a.addr(), "sub", 0).await;
    for i in 0..5 {
        let response = post(b.addr(), "/v1/publish/news", &[], &format!("{{\"e\":{i}}}")).await;
        assert_eq!(response.status, 202, "{}", response.body);
    }
    a.stop().await;
    b.stop().await;

    let a = start_node(&nats, "a");
    let b = start_node(&nats, "b");
    let stats = Arc::new(EchoStats::default());
    let again = spawn_echo(
        vec![b.ws_url()],
        "sub",
        "s2",
        4,
        Duration::ZERO,
        stats.clone(),
    );
    within("the five events after the restart", async {
        while stats.events.lock().unwrap().len() < 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut events = stats.events.lock().unwrap().clone();
    events.sort();
    assert_eq!(
        events,
        (0..5).map(|i| format!("{{\"e\":{i}}}")).collect::<Vec<_>>()
    );
    again.abort();
    a.stop().await;
    b.stop().await;
}
