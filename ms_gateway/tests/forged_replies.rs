//! Threat: one account forges another caller's answer. A `reply` or `error`
//! settles a request only on the connection the request is delivered to;
//! from any other it settles nothing and is answered `bad_request`
//! (docs/protocol.md section 4, revision 2).

mod common;

use common::*;
use ms_protocol::{Body, Envelope, ErrorCode, MessageId, Payload, WireError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_another_connection_settles_nothing() {
    let gateway = start(|_| {});
    let addr = gateway.addr();
    let mut real = connect(&gateway, "svc", "real", 4).await;
    let mut attacker = connect(&gateway, "evil", "x", 4).await;

    let caller = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "{}").await });
    let request = real.recv("the request at the real service").await;
    assert!(matches!(request.body, Body::Request(_)), "{request:?}");

    // The attacker knows the id (the best guess possible) and answers first,
    // with a reply and with an error.
    let forged = Envelope::reply_to(
        &request.id,
        Payload::inline(&serde_json::json!({"who": "ATTACKER"})).unwrap(),
    );
    attacker.send(&forged).await;
    let refusal = attacker.recv("the refusal of the forged reply").await;
    let Body::Error(report) = &refusal.body else {
        panic!("expected an error, got {refusal:?}")
    };
    assert_eq!(report.error.code, ErrorCode::BadRequest);
    assert_eq!(report.correlation_id.as_ref(), Some(&forged.id));

    let forged_error = Envelope::error(
        Some(&request.id),
        WireError::new(ErrorCode::HandlerError, "forged"),
    );
    attacker.send(&forged_error).await;
    let refusal = attacker.recv("the refusal of the forged error").await;
    assert!(matches!(&refusal.body, Body::Error(r) if r.error.code == ErrorCode::BadRequest));

    real.reply(&request, serde_json::json!({"who": "REAL"}))
        .await;
    let answer = caller.await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["who"], "REAL");
    assert_eq!(
        metric(addr, "ms_gateway_settlements_refused_total").await,
        2
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_nothing_live_is_dropped_silently() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "a", 4).await;
    let late = Envelope::reply_to(
        &MessageId::new("long-gone").unwrap(),
        Payload::inline(&serde_json::json!(1)).unwrap(),
    );
    svc.send(&late).await;
    // acknowledged (so the sender stops resending it), and nothing else
    let ack = svc.recv_any("the ack of a late reply").await;
    let Body::Ack(ack) = &ack.body else {
        panic!("expected an ack, got {ack:?}")
    };
    assert_eq!(ack.ids, vec![late.id.clone()]);
    assert_eq!(
        metric(gateway.addr(), "ms_gateway_settlements_refused_total").await,
        0
    );
    gateway.stop().await;
}
