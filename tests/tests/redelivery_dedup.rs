//! Protocol situations the real gateway never creates on purpose, played by
//! a scripted peer: a reply lost with its connection is sent again (same id)
//! after the reconnect, and a settled request delivered again is answered
//! from memory without running the handler twice.

mod scripted;

use std::sync::atomic::Ordering;

use ms_runtime::protocol::{Body, Envelope, Json, Payload};
use ms_runtime::{Config, Service};
use ms_tests::{CountingEcho, fast_tuning};
use scripted::{Peer, accept, delivery, listen, next_envelope, send, settlement_of};

fn request(id: &str, attempt: u32) -> Envelope {
    let payload = Payload::Inline(Json::from_text("41").expect("json"));
    delivery(id, "counted", "echo", "http", attempt, payload)
}

#[actix_rt::test]
async fn lost_replies_are_resent_and_redeliveries_answered_from_memory() {
    let (listener, url) = listen().await;
    let config = Config::builder()
        .gateway_url(url)
        .log_level("critical")
        .tuning(fast_tuning())
        .build()
        .unwrap();
    let (echo, runs) = CountingEcho::new("counted");
    let service = Service::start(config, echo).await.unwrap();

    // first session: deliver r1, take the reply, drop the connection without acking it
    let mut peer = accept(&listener, "s1", None).await;
    let r1 = request("r1", 1);
    send(&mut peer, &r1).await;
    let reply = settlement_of(&mut peer, &r1.id).await;
    let Body::Reply(body) = &reply.body else {
        panic!("expected a reply, got {reply:?}")
    };
    assert_eq!(
        body.payload,
        Payload::Inline(Json::from_text("41").unwrap())
    );
    drop(peer);

    // second session: the unacked reply comes again, same id
    let mut peer = accept(&listener, "s2", None).await;
    let resent = settlement_of(&mut peer, &r1.id).await;
    assert_eq!(resent.id, reply.id, "a resent frame keeps its id");

    // the gateway redelivers r1 (attempt 2): answered from memory, handler not run again
    send(&mut peer, &request("r1", 2)).await;
    let remembered = settlement_of(&mut peer, &r1.id).await;
    assert_eq!(remembered.id, reply.id);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the handler ran twice for one request id"
    );

    // once acked, the reply is not sent again after a reconnect
    send(&mut peer, &Envelope::ack(vec![reply.id.clone()])).await;
    let r2 = request("r2", 1);
    send(&mut peer, &r2).await;
    // r2's answer proves the ack before it was read: the service takes
    // frames in order, and an ack takes effect as it is read
    let _ = settlement_of(&mut peer, &r2.id).await;
    drop(peer);
    let mut peer = accept(&listener, "s3", None).await;
    let r3 = request("r3", 1);
    send(&mut peer, &r3).await;
    // before r3's answer only r2's reply comes again (never acked), never r1's
    loop {
        let frame = reply_to_any(&mut peer).await;
        assert_ne!(frame.id, reply.id, "an acked reply was sent again");
        if frame.correlation_id() == Some(&r3.id) {
            break;
        }
        assert_eq!(
            frame.correlation_id(),
            Some(&r2.id),
            "unexpected frame {frame:?}"
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    // without a connection the shutdown does not wait to flush unacked replies
    drop(peer);
    service.shutdown().await;
}

/// The next reply or error, skipping acks.
async fn reply_to_any(peer: &mut Peer) -> Envelope {
    loop {
        let envelope = next_envelope(peer).await;
        if envelope.correlation_id().is_some() {
            return envelope;
        }
    }
}
