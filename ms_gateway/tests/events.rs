//! A published event reaches one instance of every subscribed service and
//! is delivered again, attempt incremented, until an instance acks it.

mod common;

use std::time::Duration;

use common::*;
use ms_protocol::Body;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_fan_out_and_come_back_until_acked() {
    let gateway = start(|_| {});
    let mut svc_a = connect(&gateway, "svc", "a", 4).await;
    let mut other = connect(&gateway, "other", "a", 4).await;
    let addr = gateway.addr();
    let published = post(addr, "/v1/publish/news", &[], r#"{"headline":"hi"}"#).await;
    assert_eq!(published.status, 202, "{published:?}");

    let to_other = other.recv("the event at the other service").await;
    let Body::Event(event) = &to_other.body else {
        panic!("{to_other:?}")
    };
    assert_eq!(event.topic, "news");
    other.ack(vec![to_other.id.clone()]).await;

    let to_svc = svc_a.recv("the event at svc/a").await;
    assert_eq!(to_svc.id, to_other.id);
    // svc/a drops without acking; svc/b, connecting later, gets it again.
    drop(svc_a);
    let mut svc_b = connect(&gateway, "svc", "b", 4).await;
    let again = svc_b.recv("the event redelivered to svc/b").await;
    assert_eq!(again.id, to_svc.id);
    assert_eq!(again.headers.attempt(), 2);
    svc_b.ack(vec![again.id.clone()]).await;
    // Acked: a new instance gets nothing. Close cleanly so the ack is read
    // (a dropped socket may be reset before the gateway reads it).
    svc_b.ws.close(None).await.unwrap();
    while svc_b.next_message("the end of svc/b").await.is_some() {}
    let mut svc_c = connect(&gateway, "svc", "c", 4).await;
    let nothing = tokio::time::timeout(Duration::from_millis(300), svc_c.recv("nothing")).await;
    assert!(nothing.is_err(), "an acked event came back: {nothing:?}");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_from_a_service_is_acked_and_fanned_out() {
    let gateway = start(|_| {});
    let mut listener = connect(&gateway, "listener", "a", 4).await;
    let mut sender = connect(&gateway, "sender", "a", 4).await;
    let event = ms_protocol::Envelope::event(
        "news",
        ms_protocol::Payload::Inline(ms_protocol::Json::null()),
    );
    sender.send(&event).await;
    // The sender subscribes to the topic too: its copy may come before the ack.
    let ack = loop {
        let frame = sender.recv_any("the ack of the event").await;
        if let Body::Ack(ack) = frame.body {
            break ack;
        }
    };
    assert_eq!(ack.ids, vec![event.id.clone()]);
    let got = listener.recv("the event").await;
    assert_eq!(got.id, event.id);
    listener.ack(vec![got.id]).await;
    gateway.stop().await;
}
