//! Threat: two senders use the same request id and one request vanishes.
//! The gateway keys open requests by (sender, id): both are delivered, each
//! sender gets its own answer.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::*;
use ms_protocol::{Body, Envelope, Payload};

fn request(id: &str, n: u32) -> Envelope {
    let mut envelope = Envelope::request(
        "svc",
        "echo",
        Payload::inline(&serde_json::json!({ "n": n })).unwrap(),
    );
    envelope.id = ms_protocol::MessageId::new(id).unwrap();
    envelope
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_id_from_two_senders_is_two_requests() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "one", 4).await;
    let mut a = connect(&gateway, "caller-a", "1", 4).await;
    let mut b = connect(&gateway, "caller-b", "1", 4).await;
    a.send(&request("same", 1)).await;
    b.send(&request("same", 2)).await;

    // One connection never holds two deliveries with one id: the second
    // comes once the first is settled.
    for _ in 0..2 {
        let delivered = svc.recv("a delivery").await;
        let Body::Request(r) = &delivered.body else {
            panic!("{delivered:?}")
        };
        assert_eq!(delivered.id.as_str(), "same");
        let n: serde_json::Value = match &r.payload {
            Payload::Inline(json) => json.parse::<serde_json::Value>().unwrap(),
            other => panic!("{other:?}"),
        };
        svc.reply(&delivered, serde_json::json!({"n": n["n"], "from": r.from}))
            .await;
    }
    for (caller, n, from) in [(&mut a, 1, "caller-a/1"), (&mut b, 2, "caller-b/1")] {
        let answer = caller.recv("the answer").await;
        let Body::Reply(reply) = &answer.body else {
            panic!("{answer:?}")
        };
        assert_eq!(reply.correlation_id.as_str(), "same");
        let value = match &reply.payload {
            Payload::Inline(json) => json.parse::<serde_json::Value>().unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(value, serde_json::json!({"n": n, "from": from}));
    }
    gateway.stop().await;
}
