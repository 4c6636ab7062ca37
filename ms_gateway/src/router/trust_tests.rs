//! Unit tests of the router's trust rules and bounds (issue: zero trust).

use ms_protocol::{Body, Envelope, ErrorCode, Headers, Hello, Json, MessageId, Payload, Request};

use super::*;

fn hello(service: &str, instance: &str, routes: &[&str], max: u32) -> Hello {
    Hello {
        service: service.into(),
        instance: instance.into(),
        routes: routes.iter().map(|r| (*r).to_owned()).collect(),
        topics: vec!["news".into()],
        max_in_flight: max,
        version: String::new(),
    }
}

fn request(to: &str, route: &str, bytes: usize) -> Request {
    Request {
        to: to.into(),
        route: route.into(),
        from: None,
        payload: Payload::Inline(Json::from_value(&"x".repeat(bytes)).unwrap()),
    }
}

fn deadline(ms: u64) -> Headers {
    let mut h = Headers::new();
    h.set_deadline_ms(ms);
    h
}

fn id(text: &str) -> MessageId {
    MessageId::new(text).unwrap()
}

fn sends(effects: &[Effect]) -> Vec<(ConnId, Envelope)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn, envelope } => Some((*conn, envelope.clone())),
            _ => None,
        })
        .collect()
}

fn failed(effects: &[Effect]) -> Option<ErrorCode> {
    effects.iter().find_map(|e| match e {
        Effect::Answer {
            outcome: Outcome::Failed(error),
            ..
        } => Some(error.code.clone()),
        _ => None,
    })
}

fn reply(to: &MessageId) -> Envelope {
    Envelope::reply_to(to, Payload::Inline(Json::null()))
}

fn service_request(id_text: &str) -> Envelope {
    let mut e = Envelope::request("svc", "echo", Payload::Inline(Json::null()));
    e.id = id(id_text);
    e
}

#[test]
fn only_the_connection_holding_a_request_settles_it() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", &["echo"], 4), 0);
    r.connect(2, &hello("evil", "x", &["echo"], 4), 0);
    r.invoke_from_http(7, id("r1"), request("svc", "echo", 1), deadline(1000), 0);
    let e = r.frame(2, reply(&id("r1")), 1);
    assert!(!e.iter().any(|e| matches!(e, Effect::Answer { .. })));
    let refusal = sends(&e);
    assert!(
        matches!(&refusal[..], [(2, env)] if matches!(&env.body, Body::Error(r) if r.error.code == ErrorCode::BadRequest)),
        "{e:?}"
    );
    assert_eq!(r.counters().settlements_refused, 1);
    let e = r.frame(1, reply(&id("r1")), 2);
    assert!(
        e.iter()
            .any(|e| matches!(e, Effect::Answer { caller: 7, .. }))
    );
}

#[test]
fn one_connection_never_holds_two_deliveries_with_one_id() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "s", &["echo"], 8), 0);
    r.connect(2, &hello("a", "1", &[], 8), 0);
    r.connect(3, &hello("b", "1", &[], 8), 0);
    let first = r.frame(2, service_request("same"), 0);
    assert_eq!(sends(&first).len(), 1);
    let second = r.frame(3, service_request("same"), 0);
    assert!(sends(&second).is_empty(), "waits for the first");
    let settled = r.frame(1, reply(&id("same")), 1);
    let sent = sends(&settled);
    // the answer to a/1, then the second delivery
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, 2);
    assert!(matches!(&sent[1].1.body, Body::Request(q) if q.from.as_deref() == Some("b/1")));
}

#[test]
fn a_resent_request_from_the_same_sender_is_not_taken_twice() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "s", &["echo"], 8), 0);
    r.connect(2, &hello("a", "1", &[], 8), 0);
    assert_eq!(sends(&r.frame(2, service_request("q"), 0)).len(), 1);
    assert!(sends(&r.frame(2, service_request("q"), 0)).is_empty());
    assert_eq!(r.counters().requests_accepted(), 1);
}

#[test]
fn a_newer_hello_closes_the_older_connection_and_takes_back_its_work() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", &["echo"], 4), 0);
    r.invoke_from_http(7, id("r1"), request("svc", "echo", 1), deadline(1000), 0);
    let e = r.connect(2, &hello("svc", "a", &["echo"], 4), 1);
    assert!(matches!(
        e.first(),
        Some(Effect::Close {
            conn: 1,
            code: CLOSE_REPLACED,
            ..
        })
    ));
    let sent = sends(&e);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 2);
    assert_eq!(sent[0].1.headers.attempt(), 2);
    // the old connection's late reply settles nothing now
    assert!(r.frame(1, reply(&id("r1")), 2).is_empty());
}

#[test]
fn the_grant_is_capped_whatever_hello_asks() {
    let limits = RouterLimits {
        max_in_flight: 3,
        ..RouterLimits::default()
    };
    let mut r = Router::new(limits);
    assert_eq!(r.granted_in_flight(u32::MAX), 3);
    r.connect(1, &hello("svc", "a", &["echo"], u32::MAX), 0);
    let delivered: usize = (0..10)
        .map(|n| {
            sends(&r.invoke_from_http(
                n,
                id(&format!("r{n}")),
                request("svc", "echo", 1),
                deadline(1000),
                0,
            ))
            .len()
        })
        .sum();
    assert_eq!(delivered, 3);
}

#[test]
fn held_bytes_are_bounded_and_freed() {
    let limits = RouterLimits {
        max_held_bytes: 10_000,
        ..RouterLimits::default()
    };
    let mut r = Router::new(limits);
    let mut refused = 0;
    for n in 0..10 {
        let e = r.invoke_from_http(
            n,
            id(&format!("r{n}")),
            request("nobody", "x", 2_800),
            deadline(1000),
            0,
        );
        if failed(&e) == Some(ErrorCode::Overloaded) {
            refused += 1;
        }
    }
    assert_eq!(refused, 7, "three of about 3.3 KB fit in 10 KB");
    assert!(r.gauges().held_bytes <= 10_000);
    r.tick(1000);
    assert_eq!(r.gauges().held_bytes, 0, "answered at the deadline, freed");
}

#[test]
fn deadlines_past_the_maximum_are_refused() {
    let mut r = Router::new(RouterLimits::default());
    let e = r.invoke_from_http(1, id("r"), request("svc", "echo", 1), deadline(u64::MAX), 0);
    assert_eq!(failed(&e), Some(ErrorCode::BadRequest));
    let event =
        Envelope::event("news", Payload::Inline(Json::null())).with_headers(deadline(u64::MAX));
    assert_eq!(
        r.publish_from_http(event, 0)
            .map(|_| ())
            .map_err(|e| e.code),
        Err(ErrorCode::BadRequest)
    );
}

#[test]
fn names_are_capped_and_idle_ones_forgotten() {
    let limits = RouterLimits {
        max_services: 3,
        service_ttl_ms: 500,
        ..RouterLimits::default()
    };
    let mut r = Router::new(limits);
    let mut overloaded = 0;
    for n in 0..6 {
        let e = r.invoke_from_http(
            n,
            id(&format!("r{n}")),
            request(&format!("name-{n}"), "x", 1),
            deadline(100),
            0,
        );
        if failed(&e) == Some(ErrorCode::Overloaded) {
            overloaded += 1;
        }
    }
    assert_eq!((r.gauges().services, overloaded), (3, 3));
    r.tick(100);
    r.tick(400);
    assert_eq!(r.gauges().services, 3, "kept for the TTL");
    r.tick(1_600);
    assert_eq!(r.gauges().services, 0);
    assert_eq!(r.counters().services_forgotten, 3);
}

#[test]
fn a_busy_route_does_not_hold_up_another() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "slow", &["slow"], 1), 0);
    r.connect(2, &hello("svc", "fast", &["fast"], 1), 0);
    r.invoke_from_http(1, id("s1"), request("svc", "slow", 1), deadline(1000), 0);
    r.invoke_from_http(2, id("s2"), request("svc", "slow", 1), deadline(1000), 0);
    let e = r.invoke_from_http(3, id("f1"), request("svc", "fast", 1), deadline(1000), 0);
    let sent = sends(&e);
    assert_eq!(sent.len(), 1, "the fast request passes the queued slow one");
    assert_eq!(sent[0].0, 2);
}

#[test]
fn an_absent_subscriber_with_a_full_queue_loses_its_copy_not_the_publish() {
    let limits = RouterLimits {
        queue_limit: 2,
        ..RouterLimits::default()
    };
    let mut r = Router::new(limits);
    r.connect(1, &hello("reader", "a", &[], 100), 0);
    r.connect(2, &hello("gone", "a", &[], 1), 0);
    r.disconnect(2, 0);
    let mut delivered = 0;
    for _ in 0..5 {
        let event = Envelope::event("news", Payload::Inline(Json::null()));
        let e = r.publish_from_http(event, 0).expect("accepted");
        delivered += sends(&e).iter().filter(|(c, _)| *c == 1).count();
    }
    assert_eq!(delivered, 5);
    assert_eq!(r.counters().events_dropped, 3);
}

#[test]
fn a_departed_http_caller_takes_its_queued_request_with_it() {
    let mut r = Router::new(RouterLimits::default());
    r.connect(1, &hello("svc", "a", &["echo"], 1), 0);
    r.invoke_from_http(1, id("r1"), request("svc", "echo", 1), deadline(1000), 0);
    r.invoke_from_http(2, id("r2"), request("svc", "echo", 1), deadline(1000), 0);
    assert_eq!(r.gauges().queued, vec![("svc".to_owned(), 1)]);
    r.cancel_http(2, &id("r2"));
    assert_eq!(r.gauges().queued, vec![("svc".to_owned(), 0)]);
    // the delivered one keeps its slot until settled; its answer goes nowhere
    r.cancel_http(1, &id("r1"));
    let e = r.frame(1, reply(&id("r1")), 5);
    assert!(!e.iter().any(|e| matches!(e, Effect::Answer { .. })));
    assert_eq!(r.counters().requests_abandoned, 2);
}
