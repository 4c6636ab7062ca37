use ms_protocol::{
    Body, Envelope, ErrorCode, Headers, Hello, Json, MessageId, Payload, Request, WireError,
};

use super::*;

pub(super) fn hello(service: &str, instance: &str, max: u32) -> Hello {
    Hello {
        service: service.into(),
        instance: instance.into(),
        routes: vec!["echo".into()],
        topics: vec!["news".into()],
        max_in_flight: max,
        version: String::new(),
    }
}

pub(super) fn request(to: &str, route: &str) -> Request {
    Request {
        to: to.into(),
        route: route.into(),
        from: None,
        payload: Payload::Inline(Json::null()),
    }
}

pub(super) fn deadline(ms: u64) -> Headers {
    let mut h = Headers::new();
    h.set_deadline_ms(ms);
    h
}

pub(super) fn sends(effects: &[Effect]) -> Vec<(ConnId, Envelope)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn, envelope } => Some((*conn, envelope.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn answers(effects: &[Effect]) -> Vec<(CallerId, Outcome)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Answer { caller, outcome } => Some((*caller, outcome.clone())),
            _ => None,
        })
        .collect()
}

fn failed_code(effects: &[Effect]) -> Option<ErrorCode> {
    answers(effects).into_iter().find_map(|(_, o)| match o {
        Outcome::Failed(e) => Some(e.code),
        Outcome::Reply { .. } => None,
    })
}

pub(super) fn id(text: &str) -> MessageId {
    MessageId::new(text).unwrap()
}

fn reply_to(request_id: &MessageId) -> Envelope {
    Envelope::reply_to(
        request_id,
        Payload::Inline(Json::from_value(&"done").unwrap()),
    )
}

#[test]
fn a_request_is_delivered_and_its_reply_answers_the_caller() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", 4), 0);
    let e = r.invoke_from_http(7, id("r1"), request("svc", "echo"), deadline(1000), 0);
    let sent = sends(&e);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.headers.attempt(), 1);
    assert!(matches!(&sent[0].1.body, Body::Request(r) if r.from.as_deref() == Some("http")));
    let e = r.frame(1, reply_to(&id("r1")), 5);
    assert!(matches!(answers(&e)[..], [(7, Outcome::Reply { .. })]));
    assert!(
        e.iter().any(|e| matches!(e, Effect::Ack { conn: 1, .. })),
        "the reply is acked"
    );
    // A duplicate reply is dropped (but acked again).
    let e = r.frame(1, reply_to(&id("r1")), 6);
    assert!(answers(&e).is_empty());
    assert_eq!(
        r.counters()
            .series
            .iter()
            .map(|(_, s)| s.latency.count())
            .sum::<u64>(),
        1
    );
}

#[test]
fn flow_control_never_exceeds_max_in_flight_and_the_queue_is_bounded() {
    let limits = RouterLimits {
        queue_limit: 2,
        ..RouterLimits::default()
    };
    let mut r = Router::new(limits);
    r.connect(1, &hello("svc", "a", 1), 0);
    let mut delivered = 0;
    let mut overloaded = 0;
    for n in 0..5 {
        let e = r.invoke_from_http(
            n,
            id(&format!("r{n}")),
            request("svc", "echo"),
            deadline(1000),
            0,
        );
        delivered += sends(&e).len();
        if failed_code(&e) == Some(ErrorCode::Overloaded) {
            overloaded += 1;
        }
    }
    assert_eq!(delivered, 1, "one in flight");
    assert_eq!(overloaded, 2, "two queued, the rest refused");
    let e = r.frame(1, reply_to(&id("r0")), 1);
    assert_eq!(sends(&e).len(), 1, "settling frees the slot for the next");
}

#[test]
fn round_robin_alternates_between_instances() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", 10), 0);
    r.connect(2, &hello("svc", "b", 10), 0);
    let conns: Vec<ConnId> = (0..4)
        .flat_map(|n| {
            sends(&r.invoke_from_http(
                n,
                id(&format!("r{n}")),
                request("svc", "echo"),
                deadline(1000),
                0,
            ))
        })
        .map(|(c, _)| c)
        .collect();
    assert_eq!(conns, [1, 2, 1, 2]);
}

#[test]
fn unknown_route_is_refused_without_delivery_and_unknown_service_waits_for_the_deadline() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", 10), 0);
    let e = r.invoke_from_http(1, id("r1"), request("svc", "nope"), deadline(1000), 0);
    assert!(sends(&e).is_empty());
    assert_eq!(failed_code(&e), Some(ErrorCode::UnknownRoute));
    let e = r.invoke_from_http(2, id("r2"), request("ghost", "x"), deadline(1000), 0);
    assert!(
        answers(&e).is_empty(),
        "waits: an instance may connect before the deadline"
    );
    assert!(r.tick(999).is_empty());
    assert_eq!(failed_code(&r.tick(1000)), Some(ErrorCode::UnknownService));
}

#[test]
fn a_never_seen_service_is_unknown_after_the_short_wait_not_the_deadline() {
    let mut r = Router::new(RouterLimits::default());
    let wait = RouterLimits::default().unknown_service_wait_ms;
    let e = r.invoke_from_http(2, id("r1"), request("ghsot", "x"), deadline(30_000), 0);
    assert!(answers(&e).is_empty(), "waits for a first instance");
    assert!(r.tick(wait - 1).is_empty());
    let e = r.tick(wait);
    assert_eq!(failed_code(&e), Some(ErrorCode::UnknownService));
    assert!(r.tick(30_000).is_empty(), "answered once");
}

#[test]
fn a_service_that_registers_within_the_wait_gets_the_request() {
    let mut r = Router::new(RouterLimits::default());
    let wait = RouterLimits::default().unknown_service_wait_ms;
    let e = r.invoke_from_http(2, id("r1"), request("svc", "echo"), deadline(30_000), 0);
    assert!(answers(&e).is_empty());
    let e = r.connect(1, &hello("svc", "a", 10), wait / 2);
    assert_eq!(sends(&e).len(), 1, "delivered once the service registers");
    assert!(failed_code(&r.tick(wait)).is_none(), "not unknown any more");
}

#[test]
fn a_request_past_its_deadline_times_out_and_keeps_its_slot_until_settled() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", 1), 0);
    r.invoke_from_http(1, id("r1"), request("svc", "echo"), deadline(100), 0);
    r.invoke_from_http(2, id("r2"), request("svc", "echo"), deadline(10_000), 0);
    let e = r.tick(100);
    assert_eq!(failed_code(&e), Some(ErrorCode::Timeout));
    assert!(sends(&e).is_empty(), "r1 still holds the only slot");
    let e = r.frame(1, reply_to(&id("r1")), 150);
    assert!(answers(&e).is_empty(), "the late reply is dropped");
    assert_eq!(sends(&e).len(), 1, "r2 goes out once r1 is settled");
    assert_eq!(r.counters().timeouts, 1);
}

#[test]
fn a_dropped_connection_hands_its_requests_to_another_instance_with_attempt_incremented() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", 10), 0);
    r.invoke_from_http(1, id("r1"), request("svc", "echo"), deadline(1000), 0);
    r.connect(2, &hello("svc", "b", 10), 0);
    let e = r.disconnect(1, 10);
    let sent = sends(&e);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 2);
    assert_eq!(sent[0].1.headers.attempt(), 2);
    assert_eq!(
        sent[0].1.id,
        id("r1"),
        "same id, so the runtime's dedup works"
    );
    let e = r.frame(2, reply_to(&id("r1")), 20);
    assert!(matches!(answers(&e)[..], [(1, Outcome::Reply { .. })]));
    assert_eq!(r.counters().redelivered, 1);
}

#[test]
fn events_fan_out_to_one_instance_per_service_and_come_back_until_acked() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", 10), 0);
    r.connect(2, &hello("svc", "b", 10), 0);
    r.connect(3, &hello("other", "a", 10), 0);
    let event = Envelope::event("news", Payload::Inline(Json::null()));
    let e = r.publish_from_http(event.clone(), 0).unwrap();
    let mut conns: Vec<ConnId> = sends(&e).into_iter().map(|(c, _)| c).collect();
    conns.sort();
    assert_eq!(conns, [1, 3]);
    // Instance a drops without acking: b gets it again.
    let e = r.disconnect(1, 5);
    let sent = sends(&e);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 2);
    assert_eq!(sent[0].1.headers.attempt(), 2);
    // Acked: gone for good.
    r.frame(2, Envelope::ack(vec![event.id.clone()]), 6);
    assert!(sends(&r.disconnect(2, 7)).is_empty());
}

#[test]
fn service_requests_are_acked_and_their_answers_wait_for_the_instance_to_return() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("front", "a", 10), 0);
    r.connect(2, &hello("svc", "a", 10), 0);
    let call = Envelope::request("svc", "echo", Payload::Inline(Json::null()))
        .with_headers(deadline(1000));
    let e = r.frame(1, call.clone(), 0);
    assert!(e.contains(&Effect::Ack {
        conn: 1,
        id: call.id.clone()
    }));
    let delivered = sends(&e);
    assert!(
        matches!(&delivered[0].1.body, Body::Request(req) if req.from.as_deref() == Some("front/a"))
    );
    // The same request sent again (lost ack) is not delivered twice.
    assert!(sends(&r.frame(1, call.clone(), 1)).is_empty());
    r.disconnect(1, 2);
    assert!(
        sends(&r.frame(2, reply_to(&call.id), 3)).is_empty(),
        "front/a is away"
    );
    let e = r.connect(3, &hello("front", "a", 10), 4);
    let back = sends(&e);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].1.correlation_id(), Some(&call.id));
    let answer_id = back[0].1.id.clone();
    r.frame(3, Envelope::ack(vec![answer_id]), 5);
    assert!(
        sends(&r.connect(4, &hello("front", "a", 10), 6)).is_empty(),
        "acked answers are forgotten"
    );
}

#[test]
fn shutdown_answers_queued_requests_overloaded() {
    let mut r = Router::new(RouterLimits::default());
    r.invoke_from_http(1, id("r1"), request("ghost", "x"), deadline(1000), 0);
    let e = r.begin_shutdown();
    let (_, outcome) = answers(&e).pop().unwrap();
    assert_eq!(
        outcome,
        Outcome::Failed(WireError::new(
            ErrorCode::Overloaded,
            "the gateway is shutting down"
        ))
    );
    assert_eq!(
        failed_code(&r.invoke_from_http(2, id("r2"), request("ghost", "x"), deadline(1000), 0)),
        Some(ErrorCode::Overloaded)
    );
}
