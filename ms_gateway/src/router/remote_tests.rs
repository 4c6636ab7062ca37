//! Cluster mode of the router (`remote.rs`): forwarding, work and answers
//! taken from the backplane, tickets settled or handed back. Time is an
//! argument; no sockets.

use ms_protocol::{Body, Envelope, ErrorCode, Json, Payload, Request};

use super::tests::{answers, deadline, hello, id, request, sends};
use super::*;

/// A request as another node published it: `from` and deadline set.
fn remote_request(id_text: &str, deadline_ms: u64) -> Envelope {
    Envelope {
        id: id(id_text),
        headers: deadline(deadline_ms),
        body: Body::Request(Request {
            from: Some("caller/c1".into()),
            ..request("svc", "echo")
        }),
    }
}

fn forwarding() -> Router {
    let mut r = Router::new(RouterLimits::default());
    r.forward_to_backplane();
    r
}

fn forwards(effects: &[Effect]) -> Vec<Forward> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Forward(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn remote_done(effects: &[Effect]) -> Vec<(Ticket, RemoteDone)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RemoteDone { ticket, done } => Some((*ticket, *done)),
            _ => None,
        })
        .collect()
}

fn instance(service: &str, name: &str) -> InstanceKey {
    InstanceKey {
        service: service.into(),
        instance: name.into(),
    }
}

#[test]
fn accepted_work_goes_to_the_backplane_not_to_a_local_instance() {
    let mut r = forwarding();
    r.connect(1, &hello("svc", "a", 4), 0);
    let numbered = Request {
        payload: Payload::Inline(Json::from_value(&5).unwrap()),
        ..request("svc", "echo")
    };
    let e = r.invoke_from_http(7, id("r1"), numbered, deadline(1_000), 0);
    assert!(sends(&e).is_empty(), "delivered locally: {e:?}");
    let f = forwards(&e);
    assert_eq!(f.len(), 1, "{e:?}");
    assert_eq!(f[0].targets, vec!["svc".to_owned()]);
    assert_eq!(f[0].sender, "http");
    assert_eq!(f[0].origin, Some(Origin::Http(7)));
    assert!(
        matches!(&f[0].envelope.body, Body::Request(q) if q.payload == Payload::Inline(Json::from_value(&5).unwrap())),
        "the forwarded copy keeps its payload"
    );
}

#[test]
fn a_service_request_is_acked_only_once_the_backplane_holds_it() {
    let mut r = forwarding();
    r.connect(1, &hello("caller", "c1", 4), 0);
    r.learn_service("svc", &["echo".into()], &[], 0);
    let e = r.frame(1, Envelope::new(Body::Request(request("svc", "echo"))), 0);
    assert!(
        !e.iter().any(|e| matches!(e, Effect::Ack { .. })),
        "acked before the backplane confirmed: {e:?}"
    );
    let f = forwards(&e);
    assert_eq!(f.len(), 1, "{e:?}");
    assert_eq!(f[0].confirm, Some(Confirm::Conn(1)));
    assert_eq!(f[0].sender, "caller/c1");
}

#[test]
fn a_learned_service_is_admitted_only_for_its_routes() {
    let mut r = forwarding();
    r.learn_service("svc", &["echo".into()], &[], 0);
    let e = r.invoke_from_http(7, id("r1"), request("svc", "nope"), deadline(1_000), 0);
    assert!(forwards(&e).is_empty());
    assert!(matches!(
        answers(&e).as_slice(),
        [(7, Outcome::Failed(err))] if err.code == ErrorCode::UnknownRoute
    ));
    let e = r.invoke_from_http(7, id("r2"), request("svc", "echo"), deadline(1_000), 0);
    assert_eq!(forwards(&e).len(), 1, "{e:?}");
}

#[test]
fn learning_stops_at_the_cap_on_service_names() {
    let mut r = Router::new(RouterLimits {
        max_services: 1,
        ..RouterLimits::default()
    });
    r.forward_to_backplane();
    r.learn_service("one", &["echo".into()], &[], 0);
    r.learn_service("two", &["echo".into()], &[], 0);
    assert_eq!(r.gauges().services, 1);
}

#[test]
fn events_are_forwarded_to_the_subscribers_another_node_announced() {
    let mut r = forwarding();
    r.learn_service("reader", &[], &["news".into()], 0);
    r.learn_service("other", &[], &["sports".into()], 0);
    let event = Envelope::new(Body::Event(ms_protocol::Event {
        topic: "news".into(),
        payload: Payload::Inline(Json::null()),
    }));
    let e = r.publish_confirmed(event, 9, 0).unwrap();
    let f = forwards(&e);
    assert_eq!(f.len(), 1, "{e:?}");
    assert_eq!(f[0].targets, vec!["reader".to_owned()]);
    assert_eq!(f[0].confirm, Some(Confirm::Caller(9)));
    assert!(
        answers(&e).is_empty(),
        "answered before the backplane held it"
    );
}

#[test]
fn the_answer_to_a_forwarded_request_reaches_its_http_caller_once() {
    let mut r = forwarding();
    r.learn_service("svc", &["echo".into()], &[], 0);
    r.invoke_from_http(7, id("r1"), request("svc", "echo"), deadline(1_000), 0);
    let reply = Envelope::reply_to(&id("r1"), Payload::Inline(Json::from_value(&2).unwrap()));
    let e = r.forwarded_answer(&Origin::Http(7), reply.clone(), 10);
    assert!(matches!(
        answers(&e).as_slice(),
        [(7, Outcome::Reply { .. })]
    ));
    // A second copy of the answer (a redelivery) finds no record.
    assert!(r.forwarded_answer(&Origin::Http(7), reply, 11).is_empty());
    // Nor does the deadline answer it again.
    assert!(answers(&r.tick(2_000)).is_empty());
}

#[test]
fn a_forwarded_request_without_an_answer_times_out_at_its_deadline() {
    let mut r = forwarding();
    r.learn_service("svc", &["echo".into()], &[], 0);
    r.invoke_from_http(7, id("r1"), request("svc", "echo"), deadline(1_000), 0);
    assert!(answers(&r.tick(999)).is_empty());
    let e = r.tick(1_000);
    assert!(matches!(
        answers(&e).as_slice(),
        [(7, Outcome::Failed(err))] if err.code == ErrorCode::Timeout
    ));
}

#[test]
fn a_refused_forward_answers_its_caller_with_the_refusal() {
    let mut r = forwarding();
    r.learn_service("svc", &["echo".into()], &[], 0);
    r.invoke_from_http(7, id("r1"), request("svc", "echo"), deadline(1_000), 0);
    let e = r.forward_failed(
        &Origin::Http(7),
        &id("r1"),
        WireError::new(ErrorCode::Overloaded, "full"),
    );
    assert!(matches!(
        answers(&e).as_slice(),
        [(7, Outcome::Failed(err))] if err.code == ErrorCode::Overloaded
    ));
    assert!(answers(&r.tick(2_000)).is_empty(), "answered twice");
}

#[test]
fn remote_work_runs_here_and_its_reply_goes_back_by_ticket() {
    let mut r = forwarding();
    r.connect(1, &hello("svc", "a", 4), 0);
    let e = r.take_remote(Ticket(3), "svc", remote_request("q1", 1_000), 1, 0);
    let sent = sends(&e);
    assert_eq!(sent.len(), 1, "{e:?}");
    assert_eq!(sent[0].0, 1);
    assert_eq!(r.held_tickets(), [Ticket(3)].into_iter().collect());
    let reply = Envelope::reply_to(&id("q1"), Payload::Inline(Json::null()));
    let e = r.frame(1, reply, 5);
    assert!(
        e.iter().any(
            |e| matches!(e, Effect::RemoteAnswer { ticket, envelope } if *ticket == Ticket(3) && envelope.correlation_id() == Some(&id("q1")))
        ),
        "{e:?}"
    );
    assert!(r.held_tickets().is_empty());
}

#[test]
fn the_attempt_counts_every_delivery_by_the_backplane() {
    let mut r = forwarding();
    r.connect(1, &hello("svc", "a", 4), 0);
    let e = r.take_remote(Ticket(3), "svc", remote_request("q1", 1_000), 3, 0);
    assert_eq!(sends(&e)[0].1.headers.attempt(), 3);
}

#[test]
fn remote_work_nobody_here_serves_is_handed_back() {
    let mut r = forwarding();
    let e = r.take_remote(Ticket(1), "svc", remote_request("q1", 1_000), 1, 0);
    assert_eq!(remote_done(&e), vec![(Ticket(1), RemoteDone::HandBack)]);
    // An instance of the service without the route does not serve it either.
    let mut other = hello("svc", "a", 4);
    other.routes = vec!["other".into()];
    r.connect(1, &other, 0);
    let e = r.take_remote(Ticket(2), "svc", remote_request("q2", 1_000), 1, 0);
    assert_eq!(remote_done(&e), vec![(Ticket(2), RemoteDone::HandBack)]);
    assert!(sends(&e).is_empty());
    assert!(r.held_tickets().is_empty());
}

#[test]
fn remote_work_past_its_deadline_is_answered_timeout_and_not_run() {
    let mut r = forwarding();
    r.connect(1, &hello("svc", "a", 4), 0);
    let e = r.take_remote(Ticket(1), "svc", remote_request("q1", 1_000), 1, 1_000);
    assert!(sends(&e).is_empty(), "ran past its deadline: {e:?}");
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::RemoteAnswer { ticket: Ticket(1), envelope }
            if matches!(&envelope.body, Body::Error(report) if report.error.code == ErrorCode::Timeout)
    )));
}

#[test]
fn a_dropped_connection_hands_its_remote_work_back_instead_of_requeueing_it() {
    let mut r = forwarding();
    r.connect(1, &hello("svc", "a", 4), 0);
    r.connect(2, &hello("svc", "b", 4), 0);
    let e = r.take_remote(Ticket(1), "svc", remote_request("q1", 1_000), 1, 0);
    let holder = sends(&e)[0].0;
    let e = r.disconnect(holder, 10);
    assert_eq!(remote_done(&e), vec![(Ticket(1), RemoteDone::HandBack)]);
    assert!(sends(&e).is_empty(), "delivered again here: {e:?}");
    assert!(r.held_tickets().is_empty());
}

#[test]
fn free_slots_are_the_local_slots_less_what_waits_for_them() {
    let mut r = forwarding();
    assert_eq!(r.free_slots("svc"), 0);
    r.connect(1, &hello("svc", "a", 1), 0);
    let mut other_route = hello("svc", "b", 2);
    other_route.routes = vec!["other".into()];
    r.connect(2, &other_route, 0);
    assert_eq!(r.free_slots("svc"), 3);
    r.take_remote(Ticket(1), "svc", remote_request("q1", 1_000), 1, 0);
    assert_eq!(r.free_slots("svc"), 2);
    // Only "a" serves the route: the next one waits in the queue, and
    // counts against the slots "b" still has.
    let e = r.take_remote(Ticket(2), "svc", remote_request("q2", 1_000), 1, 0);
    assert!(sends(&e).is_empty(), "{e:?}");
    assert_eq!(r.free_slots("svc"), 1);
    assert!(r.has_instances("svc"));
    assert!(!r.has_instances("other"));
}

#[test]
fn a_remote_answer_is_settled_only_when_its_instance_acks_it() {
    let mut r = forwarding();
    let key = instance("caller", "c1");
    r.connect(1, &hello("caller", "c1", 4), 0);
    let answer = Envelope::reply_to(&id("r1"), Payload::Inline(Json::null()));
    let e = r.remote_answer(&key, answer.clone(), Ticket(5));
    assert_eq!(sends(&e), vec![(1, answer.clone())]);
    assert!(remote_done(&e).is_empty());
    assert_eq!(r.remote_answers_held(&key), 1);
    let e = r.frame(1, Envelope::ack(vec![answer.id.clone()]), 1);
    assert_eq!(remote_done(&e), vec![(Ticket(5), RemoteDone::Settled)]);
    assert_eq!(r.remote_answers_held(&key), 0);
    assert!(r.held_tickets().is_empty());
}

#[test]
fn a_remote_answer_goes_back_when_its_instance_leaves_unacked() {
    let mut r = forwarding();
    let key = instance("caller", "c1");
    r.connect(1, &hello("caller", "c1", 4), 0);
    let answer = Envelope::reply_to(&id("r1"), Payload::Inline(Json::null()));
    r.remote_answer(&key, answer, Ticket(5));
    let e = r.disconnect(1, 10);
    assert_eq!(remote_done(&e), vec![(Ticket(5), RemoteDone::HandBack)]);
    assert_eq!(r.remote_answers_held(&key), 0);
    assert!(!r.is_connected(&key));
}

#[test]
fn a_redelivered_remote_answer_replaces_the_ticket_and_is_held_once() {
    let mut r = forwarding();
    let key = instance("caller", "c1");
    r.connect(1, &hello("caller", "c1", 4), 0);
    let answer = Envelope::reply_to(&id("r1"), Payload::Inline(Json::null()));
    r.remote_answer(&key, answer.clone(), Ticket(5));
    r.remote_answer(&key, answer, Ticket(6));
    assert_eq!(r.remote_answers_held(&key), 1);
    assert_eq!(r.held_tickets(), [Ticket(6)].into_iter().collect());
}

#[test]
fn shutdown_hands_queued_remote_work_back_without_failing_it() {
    let mut r = forwarding();
    r.connect(1, &hello("svc", "a", 1), 0);
    r.take_remote(Ticket(1), "svc", remote_request("q1", 1_000), 1, 0);
    r.take_remote(Ticket(2), "svc", remote_request("q2", 1_000), 1, 0);
    let e = r.begin_shutdown();
    assert_eq!(remote_done(&e), vec![(Ticket(2), RemoteDone::HandBack)]);
    assert!(
        !e.iter().any(|e| matches!(e, Effect::RemoteAnswer { .. })),
        "queued remote work was answered, not handed back: {e:?}"
    );
}
