//! A peer that answers nothing, pongs included, for 3 heartbeat intervals
//! is dropped; one that reads keeps its session.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_dropped_and_a_live_one_kept() {
    let gateway = start(|c| c.heartbeat_ms = 100);
    let _silent = connect(&gateway, "silent", "a", 1).await;
    let mut live = connect(&gateway, "live", "a", 1).await;
    // The live one keeps reading (tungstenite answers pings while reading);
    // the silent one never polls its socket, so it never pongs.
    let (ping_tx, mut ping_rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = live.ws.next().await {
            if message.is_ping() {
                let _ = ping_tx.send(());
            }
        }
    });
    let addr = gateway.addr();
    within("the silent peer to be dropped", async {
        while !get(addr, "/metrics")
            .await
            .body
            .contains("ms_gateway_connections{service=\"silent\"} 0")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // The gateway pings a peer after each interval it sent nothing: six
    // answered pings are six intervals, twice what a silent peer is given.
    within("six pings to the live peer", async {
        for _ in 0..6 {
            ping_rx
                .recv()
                .await
                .expect("the live peer's connection ended");
        }
    })
    .await;
    let metrics = get(addr, "/metrics").await.body;
    assert!(
        metrics.contains("ms_gateway_connections{service=\"live\"} 1"),
        "{metrics}"
    );
    assert!(!reader.is_finished(), "the live peer's connection ended");
    gateway.stop().await;
}
