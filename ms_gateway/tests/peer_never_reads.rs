//! Threat: a subscriber that asks for 2^32-1 deliveries and never reads grows
//! the gateway without bound and stays "connected" for good. The gateway
//! grants at most its own cap (`welcome.max_in_flight`), bounds each
//! session's outbound bytes, drops a peer whose writes stall for 3
//! heartbeat intervals even while it keeps sending pings, and delivers what
//! that peer held to another instance.

mod common;

use std::time::Duration;

use common::*;
use ms_protocol::{Body, decode};
use tokio::io::AsyncWriteExt as _;

const EVENT_BYTES: usize = 512 * 1024;
const EVENTS: usize = 80;
const OUTBOUND_BOUND: u64 = 40 << 20;
const FRAME_LIMIT: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_is_dropped_and_its_work_redelivered() {
    let gateway = start(|c| {
        c.heartbeat_ms = 300;
        c.max_in_flight = 64;
        c.max_outbound_bytes = OUTBOUND_BOUND;
        c.max_frame_bytes = FRAME_LIMIT;
    });
    let addr = gateway.addr();
    let raw = RawSocket::open(&gateway).await;
    let (mut read, mut write) = raw.tcp.into_split();
    let hello = r#"{"v":1,"kind":"hello","id":"h","service":"sub","instance":"greedy","routes":[],"topics":["news"],"max_in_flight":4294967295,"version":"1"}"#;
    let mut frame = vec![0x81, 0x80 | 126];
    frame.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(hello.as_bytes());
    write.write_all(&frame).await.unwrap();
    let (_, welcome) = within("welcome", read_frame(&mut read)).await.unwrap();
    let welcome = decode(std::str::from_utf8(&welcome).unwrap()).unwrap();
    let Body::Welcome(w) = &welcome.body else {
        panic!("{welcome:?}")
    };
    assert_eq!(w.max_in_flight, Some(64), "the grant is capped");

    // From now on it never reads, but it pings: it is not silent.
    let pinger = tokio::spawn(async move {
        loop {
            if write.write_all(&[0x89, 0x80, 0, 0, 0, 0]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let body = format!("\"{}\"", "e".repeat(EVENT_BYTES));
    for _ in 0..EVENTS {
        let answer = post(addr, "/v1/publish/news", &[], &body).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert!(metric(addr, "ms_gateway_outbound_bytes").await <= OUTBOUND_BOUND + FRAME_LIMIT);
    }
    within("the greedy peer dropped", async {
        while metric(addr, "ms_gateway_slow_peers_dropped_total").await == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    pinger.abort();
    drop(read);

    // A polite instance gets everything, what the greedy one held again.
    let mut polite = connect(&gateway, "sub", "polite", 100).await;
    let mut redelivered = 0;
    for n in 0..EVENTS {
        let event = polite.recv(&format!("event {n}")).await;
        assert!(matches!(event.body, Body::Event(_)), "{event:?}");
        if event.headers.attempt() > 1 {
            redelivered += 1;
        }
        polite.ack(vec![event.id.clone()]).await;
    }
    assert!(redelivered > 0, "what the dropped peer held came again");
    gateway.stop().await;
}
