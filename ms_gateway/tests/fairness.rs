//! Threat: one busy route or one absent subscriber starves everyone else.
//! Queued work that no instance can take does not hold up work that one
//! can; a subscriber whose queue is full loses its own copy of an event,
//! and the publish still reaches the other subscribers.

mod common;

use common::*;
use ms_protocol::{Body, Envelope, Hello};

fn hello_routes(service: &str, instance: &str, routes: &[&str]) -> Envelope {
    Envelope::new(Body::Hello(Hello {
        service: service.into(),
        instance: instance.into(),
        routes: routes.iter().map(|r| (*r).to_owned()).collect(),
        topics: vec![],
        max_in_flight: 1,
        version: "1".into(),
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_route_does_not_block_an_idle_one() {
    let gateway = start(|_| {});
    let addr = gateway.addr();
    let mut slow = open(&gateway, Some(&basic(USER))).await.unwrap();
    slow.send(&hello_routes("svc", "slow", &["slow"])).await;
    slow.recv("welcome").await;
    let mut fast = open(&gateway, Some(&basic(USER))).await.unwrap();
    fast.send(&hello_routes("svc", "fast", &["fast"])).await;
    fast.recv("welcome").await;

    let _held = tokio::spawn(async move { post(addr, "/v1/invoke/svc/slow", &[], "1").await });
    slow.recv("the first slow request").await;
    let _queued = tokio::spawn(async move { post(addr, "/v1/invoke/svc/slow", &[], "2").await });
    let quick = tokio::spawn(async move { post(addr, "/v1/invoke/svc/fast", &[], "3").await });
    let request = fast
        .recv("the fast request, past the queued slow one")
        .await;
    fast.reply(&request, serde_json::json!("fast")).await;
    assert_eq!(quick.await.unwrap().status, 200);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_subscriber_does_not_refuse_publishes() {
    let gateway = start(|c| c.queue_limit = 5);
    let addr = gateway.addr();
    let gone = connect(&gateway, "gone", "1", 1).await;
    drop(gone);
    let mut reader = connect(&gateway, "reader", "1", 100).await;
    for n in 0..20 {
        let answer = post(addr, "/v1/publish/news", &[], &n.to_string()).await;
        assert_eq!(answer.status, 202, "publish {n}: {}", answer.body);
    }
    for n in 0..20 {
        let event = reader.recv(&format!("event {n}")).await;
        assert!(matches!(event.body, Body::Event(_)));
        reader.ack(vec![event.id]).await;
    }
    assert_eq!(metric(addr, "ms_gateway_events_dropped_total").await, 15);
    gateway.stop().await;
}
