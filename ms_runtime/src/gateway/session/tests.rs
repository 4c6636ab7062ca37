//! The session driven by hand: frames in, actions out, time as `Instant`s.

use std::time::{Duration, Instant};

use actix_http::ws::{CloseCode, Frame};
use bytes::Bytes;

use super::{Action, ConnectFailure, Session};
use crate::config::Tuning;
use crate::gateway::dedup::RequestKey;
use crate::gateway::frame_limit::FrameError;
use crate::gateway::{CallError, ConnectionState, Lifecycle, Outcome};
use crate::protocol::{
    Body, Envelope, ErrorCode, Hello, Json, MessageId, Payload, Request, Welcome, WireError,
    decode, encode,
};

const MS: Duration = Duration::from_millis(1);

fn tuning() -> Tuning {
    Tuning {
        reconnect_initial: Duration::from_millis(100),
        reconnect_max: Duration::from_secs(10),
        healthy_after: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        ..Tuning::default()
    }
}

fn session_with(tuning: Tuning) -> Session {
    let hello = Hello {
        service: "echo".into(),
        instance: "echo-1".into(),
        routes: vec!["say".into()],
        topics: vec!["news".into()],
        max_in_flight: 2,
        version: String::new(),
    };
    let urls = vec!["ws://a".to_owned(), "ws://b".to_owned()];
    let log = slog::Logger::root(slog::Discard, slog::o!());
    Session::new(urls, hello, tuning, log, fastrand::Rng::with_seed(7))
}

fn actions(s: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| s.next_action()).collect()
}

/// The envelopes among `actions` that write a text frame.
fn sent(actions: &[Action]) -> Vec<Envelope> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(text) => Some(decode(text).expect("session wrote a valid frame")),
            _ => None,
        })
        .collect()
}

fn frame(envelope: &Envelope) -> Result<Frame, FrameError> {
    let text = encode(envelope).expect("test frame encodes");
    Ok(Frame::Text(Bytes::from(text)))
}

fn welcome_frame(heartbeat_ms: u64) -> Result<Frame, FrameError> {
    frame(&Envelope::new(Body::Welcome(Welcome {
        session: "s-1".into(),
        heartbeat_ms,
        max_frame_bytes: 1 << 20,
        max_in_flight: None,
    })))
}

fn json(text: &str) -> Payload {
    Payload::Inline(Json::from_text(text).expect("test json"))
}

fn request(id: &str, from: Option<&str>, route: &str) -> Envelope {
    let mut envelope = Envelope::new(Body::Request(Request {
        to: "echo".into(),
        route: route.into(),
        from: from.map(str::to_owned),
        payload: json("1"),
    }));
    envelope.id = MessageId::new(id).expect("test id");
    envelope
}

fn key(id: &str, from: Option<&str>) -> RequestKey {
    RequestKey::new(from, MessageId::new(id).expect("test id"))
}

/// A session that is connected and welcomed (generation 1) at `t0`.
fn welcomed(t0: Instant) -> Session {
    let mut s = session_with(tuning());
    s.start(t0);
    s.opened(1, t0);
    s.on_frame(1, welcome_frame(1_000), t0);
    actions(&mut s);
    s
}

fn deliveries(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Deliver(_)))
        .count()
}

#[test]
fn connects_to_each_node_in_turn_with_backoff_between() {
    let t0 = Instant::now();
    let mut s = session_with(tuning());
    s.start(t0);
    let first = actions(&mut s);
    assert!(
        matches!(&first[..], [Action::State(ConnectionState::Connecting), Action::Connect { generation: 1, url }] if url == "ws://a")
    );
    s.connect_failed(1, ConnectFailure::Failed("refused".into()), t0);
    actions(&mut s);
    let retry = s.poll_timeout().expect("a retry is scheduled");
    assert!(retry > t0 && retry <= t0 + Duration::from_millis(100));
    s.on_timeout(retry - MS);
    assert!(actions(&mut s).is_empty(), "no attempt before the delay");
    s.on_timeout(retry);
    let second = actions(&mut s);
    assert!(
        second
            .iter()
            .any(|a| matches!(a, Action::Connect { generation: 2, url } if url == "ws://b"))
    );
}

#[test]
fn says_hello_first_and_resends_the_outbox_in_order_after_welcome() {
    let t0 = Instant::now();
    let mut s = session_with(tuning());
    let one = Envelope::event("news", json("1"));
    let two = Envelope::event("news", json("2"));
    s.publish(&one, t0).expect("queued");
    s.publish(&two, t0).expect("queued");
    s.start(t0);
    s.opened(1, t0);
    let before = sent(&actions(&mut s));
    assert_eq!(before.len(), 1, "only hello before welcome");
    assert!(matches!(before[0].body, Body::Hello(_)));
    s.on_frame(1, welcome_frame(1_000), t0);
    let after = actions(&mut s);
    let ids: Vec<_> = sent(&after).into_iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![one.id.clone(), two.id.clone()]);
    assert!(
        after
            .iter()
            .any(|a| matches!(a, Action::Lifecycle(Lifecycle::Connected)))
    );
    // acked frames are not sent again on the next session
    s.on_frame(1, frame(&Envelope::ack(vec![one.id.clone()])), t0);
    s.on_frame(1, Ok(Frame::Close(None)), t0);
    actions(&mut s);
    let retry = s.poll_timeout().expect("retry");
    s.on_timeout(retry);
    s.opened(2, retry);
    s.on_frame(2, welcome_frame(1_000), retry);
    let resent = sent(&actions(&mut s));
    assert!(matches!(resent[0].body, Body::Hello(_)));
    let ids: Vec<_> = resent[1..].iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, vec![two.id], "the acked frame is not sent again");
}

#[test]
fn a_redelivered_request_is_answered_from_memory_not_run_again() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_frame(1, frame(&request("r1", Some("caller"), "say")), t0);
    assert_eq!(deliveries(&actions(&mut s)), 1);
    s.on_settled(
        key("r1", Some("caller")),
        Outcome::Reply(json("\"hi\"")),
        t0,
    );
    let first = actions(&mut s);
    s.on_frame(1, frame(&request("r1", Some("caller"), "say")), t0 + MS);
    let again = actions(&mut s);
    assert_eq!(deliveries(&again), 0);
    let (a, b) = (&first[0], &again[0]);
    match (a, b) {
        (Action::Send(x), Action::Send(y)) => assert_eq!(x, y, "the same answer, same frame id"),
        other => panic!("expected two sends, got {other:?}"),
    }
}

#[test]
fn the_same_id_from_two_senders_is_two_requests() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_frame(1, frame(&request("r1", Some("alice"), "say")), t0);
    s.on_settled(key("r1", Some("alice")), Outcome::Reply(json("1")), t0);
    actions(&mut s);
    s.on_frame(1, frame(&request("r1", Some("mallory"), "say")), t0);
    assert_eq!(deliveries(&actions(&mut s)), 1);
}

#[test]
fn refuses_unknown_routes_and_work_past_max_in_flight() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_frame(1, frame(&request("u", None, "nope")), t0);
    let refused = sent(&actions(&mut s));
    assert!(matches!(&refused[0].body, Body::Error(r) if r.error.code == ErrorCode::UnknownRoute));
    for id in ["a", "b", "c"] {
        s.on_frame(1, frame(&request(id, None, "say")), t0);
    }
    let all = actions(&mut s);
    assert_eq!(deliveries(&all), 2, "max_in_flight is 2");
    assert!(matches!(&sent(&all)[0].body, Body::Error(r) if r.error.code == ErrorCode::Overloaded));
    // an overload is not remembered: once a slot frees, the redelivery runs
    s.on_settled(key("a", None), Outcome::Reply(json("1")), t0);
    s.on_frame(1, frame(&request("c", None, "say")), t0);
    assert_eq!(deliveries(&actions(&mut s)), 1);
}

#[test]
fn handlers_of_a_lost_connection_do_not_fill_the_next_ones_window() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    for id in ["a", "b"] {
        s.on_frame(1, frame(&request(id, None, "say")), t0);
    }
    assert_eq!(deliveries(&actions(&mut s)), 2);
    // the gateway node dies while both handlers run; the next one welcomes
    // this instance with a window of its own
    s.on_frame(1, Ok(Frame::Close(None)), t0);
    let now = s.poll_timeout().expect("a reconnect is scheduled");
    s.on_timeout(now);
    s.opened(2, now);
    s.on_frame(2, welcome_frame(1_000), now);
    actions(&mut s);
    for id in ["c", "d", "e"] {
        s.on_frame(2, frame(&request(id, None, "say")), now);
    }
    let all = actions(&mut s);
    assert_eq!(deliveries(&all), 2, "c and d run beside a and b");
    let refused = sent(&all);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        matches!(&refused[0].body, Body::Error(r) if r.error.code == ErrorCode::Overloaded
            && r.correlation_id.as_ref().map(MessageId::as_str) == Some("e")),
        "e is past this connection's window"
    );
    // an old handler settling frees nothing in the new window...
    s.on_settled(key("a", None), Outcome::Reply(json("1")), now);
    s.on_frame(2, frame(&request("f", None, "say")), now);
    assert_eq!(deliveries(&actions(&mut s)), 0);
    // ...a request of the old connection delivered again counts in the new
    // one (the gateway counts it there), and settling it frees a place
    s.on_frame(2, frame(&request("b", None, "say")), now);
    assert_eq!(
        deliveries(&actions(&mut s)),
        0,
        "b still runs: not run twice"
    );
    s.on_settled(key("c", None), Outcome::Reply(json("1")), now);
    s.on_frame(2, frame(&request("g", None, "say")), now);
    assert_eq!(deliveries(&actions(&mut s)), 0, "b took c's place");
    s.on_settled(key("b", None), Outcome::Reply(json("1")), now);
    s.on_frame(2, frame(&request("g", None, "say")), now);
    assert_eq!(deliveries(&actions(&mut s)), 1);
}

#[test]
fn acks_wait_for_the_batch_delay() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    let event = Envelope::event("news", json("1"));
    s.on_frame(1, frame(&event), t0);
    assert_eq!(deliveries(&actions(&mut s)), 1);
    s.on_settled(RequestKey::event(event.id.clone()), Outcome::EventDone, t0);
    assert!(sent(&actions(&mut s)).is_empty(), "not acked at once");
    let due = s.poll_timeout().expect("an ack is due");
    assert_eq!(due, t0 + Duration::from_millis(20));
    s.on_timeout(due);
    let acks = sent(&actions(&mut s));
    assert!(
        matches!(&acks[..], [e] if matches!(&e.body, Body::Ack(a) if a.ids == vec![event.id.clone()]))
    );
}

#[test]
fn pings_when_idle_and_drops_a_silent_gateway() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_timeout(t0 + Duration::from_millis(999));
    assert!(actions(&mut s).is_empty());
    s.on_timeout(t0 + Duration::from_secs(1));
    assert!(matches!(&actions(&mut s)[..], [Action::Ping]));
    s.on_timeout(t0 + Duration::from_secs(3));
    let lost = actions(&mut s);
    assert!(lost.iter().any(|a| matches!(a, Action::Drop)));
    assert!(
        lost.iter()
            .any(|a| matches!(a, Action::Lifecycle(Lifecycle::Disconnected)))
    );
}

#[test]
fn no_welcome_in_time_drops_the_socket() {
    let t0 = Instant::now();
    let mut s = session_with(tuning());
    s.start(t0);
    s.opened(1, t0);
    actions(&mut s);
    s.on_timeout(t0 + Duration::from_secs(5));
    let lost = actions(&mut s);
    assert!(lost.iter().any(|a| matches!(a, Action::Drop)));
    assert!(
        !lost.iter().any(|a| matches!(a, Action::Lifecycle(_))),
        "never welcomed"
    );
}

/// The reconnect delay's bound after a session cut at `cut`.
fn bound_after_cut(s: &mut Session, generation: u64, now: Instant) -> Duration {
    s.on_frame(generation, Ok(Frame::Close(None)), now);
    actions(s);
    s.backoff.bound()
}

#[test]
fn a_session_that_made_progress_resets_the_backoff() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    // three short sessions without progress: the delay climbs
    let mut now = t0;
    for generation in 1..=3 {
        if generation > 1 {
            now = s.poll_timeout().expect("retry");
            s.on_timeout(now);
            s.opened(generation, now);
            s.on_frame(generation, welcome_frame(1_000), now);
        }
        bound_after_cut(&mut s, generation, now);
    }
    let climbed = s.backoff.bound();
    assert!(climbed > Duration::from_millis(400), "bound {climbed:?}");
    // a session that got an ack: back to the initial delay
    now = s.poll_timeout().expect("retry");
    s.on_timeout(now);
    s.opened(4, now);
    s.on_frame(4, welcome_frame(1_000), now);
    s.on_frame(4, frame(&Envelope::ack(vec![MessageId::random()])), now);
    let bound = bound_after_cut(&mut s, 4, now);
    assert_eq!(bound, Duration::from_millis(200), "reset, then one step");
}

#[test]
fn a_refusal_before_welcome_retries_on_the_auth_schedule() {
    let t0 = Instant::now();
    let mut s = session_with(tuning());
    s.start(t0);
    s.opened(1, t0);
    let refusal = WireError::new(ErrorCode::Unauthorized, "no");
    s.on_frame(1, frame(&Envelope::error(None, refusal)), t0);
    let out = actions(&mut s);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::State(ConnectionState::Refused { .. })))
    );
    assert!(out.iter().any(|a| matches!(a, Action::Drop)));
    let retry = s.poll_timeout().expect("retry");
    assert!(retry >= t0 + tuning().auth_retry_initial / 2);
}

#[test]
fn calls_are_answered_by_reply_or_error_and_failed_on_shutdown() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    let ok = Envelope::request("other", "say", json("1"));
    let bad = Envelope::request("other", "say", json("2"));
    let hanging = Envelope::request("other", "say", json("3"));
    for call in [&ok, &bad, &hanging] {
        s.call(call, t0).expect("sent");
    }
    assert_eq!(sent(&actions(&mut s)).len(), 3);
    s.on_frame(1, frame(&Envelope::reply_to(&ok.id, json("\"ok\""))), t0);
    let refusal = WireError::new(ErrorCode::UnknownRoute, "no");
    s.on_frame(1, frame(&Envelope::error(Some(&bad.id), refusal)), t0);
    let answers = actions(&mut s);
    assert!(
        answers
            .iter()
            .any(|a| matches!(a, Action::Answer(id, Ok(_)) if *id == ok.id))
    );
    assert!(answers.iter().any(|a| matches!(a, Action::Answer(id, Err(CallError::Remote(e))) if *id == bad.id && e.code == ErrorCode::UnknownRoute)));
    assert!(s.shutdown(Duration::from_secs(1), t0));
    assert!(matches!(
        s.call(&Envelope::request("o", "r", json("4")), t0),
        Err(CallError::Stopped)
    ));
    s.on_timeout(t0 + Duration::from_secs(10));
    let end = actions(&mut s);
    assert!(
        end.iter()
            .any(|a| matches!(a, Action::Answer(id, Err(CallError::Stopped)) if *id == hanging.id))
    );
    assert!(matches!(end.last(), Some(Action::Stopped)));
}

#[test]
fn draining_holds_new_work_waits_for_handlers_and_closes_with_1001() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_frame(1, frame(&request("r1", None, "say")), t0);
    actions(&mut s);
    assert!(s.shutdown(Duration::from_secs(30), t0));
    s.on_frame(1, frame(&request("r2", None, "say")), t0);
    s.on_frame(1, frame(&Envelope::event("news", json("1"))), t0);
    let during = actions(&mut s);
    assert_eq!(deliveries(&during), 0, "no new work while draining");
    assert!(
        sent(&during).is_empty(),
        "held work is neither answered nor acked"
    );
    s.on_settled(key("r1", None), Outcome::Reply(json("1")), t0 + MS);
    let reply = sent(&actions(&mut s));
    assert!(matches!(&reply[..], [e] if matches!(e.body, Body::Reply(_))));
    s.on_frame(1, frame(&Envelope::ack(vec![reply[0].id.clone()])), t0 + MS);
    let end = actions(&mut s);
    assert!(
        end.iter()
            .any(|a| matches!(a, Action::Close(CloseCode::Away, _)))
    );
    assert!(matches!(end.last(), Some(Action::Stopped)));
    assert_eq!(s.held.len(), 1);
}

#[test]
fn the_grace_period_hands_back_what_still_runs() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_frame(1, frame(&request("slow", None, "say")), t0);
    actions(&mut s);
    s.shutdown(Duration::from_secs(2), t0);
    assert!(
        s.poll_timeout()
            .is_some_and(|t| t <= t0 + Duration::from_secs(2))
    );
    s.on_timeout(t0 + Duration::from_secs(2));
    let end = actions(&mut s);
    assert!(matches!(end.last(), Some(Action::Stopped)));
    assert!(
        s.held.contains(&key("slow", None)),
        "handed back, not answered"
    );
    // a late settlement after the close changes nothing
    s.on_settled(
        key("slow", None),
        Outcome::Reply(json("1")),
        t0 + Duration::from_secs(3),
    );
    assert!(sent(&actions(&mut s)).is_empty());
}

#[test]
fn an_oversized_answer_becomes_payload_too_large_under_the_same_frame_id() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_frame(1, frame(&request("big", None, "say")), t0);
    actions(&mut s);
    let huge = format!("\"{}\"", "x".repeat(2 << 20));
    s.on_settled(key("big", None), Outcome::Reply(json(&huge)), t0);
    let answer = sent(&actions(&mut s));
    let [envelope] = &answer[..] else {
        panic!("one answer expected, got {answer:?}");
    };
    assert!(matches!(&envelope.body, Body::Error(r) if r.error.code == ErrorCode::PayloadTooLarge));
    // the gateway's ack of that frame id empties the outbox
    s.on_frame(1, frame(&Envelope::ack(vec![envelope.id.clone()])), t0);
    assert!(s.outbox.is_empty());
}

#[test]
fn frames_of_a_replaced_socket_are_ignored() {
    let t0 = Instant::now();
    let mut s = welcomed(t0);
    s.on_frame(1, Ok(Frame::Close(None)), t0);
    actions(&mut s);
    let retry = s.poll_timeout().expect("retry");
    s.on_timeout(retry);
    s.opened(2, retry);
    actions(&mut s);
    s.on_frame(1, frame(&request("old", None, "say")), retry);
    s.closed(1, retry);
    assert!(actions(&mut s).is_empty());
}

#[test]
fn a_hostile_heartbeat_neither_spins_nor_overflows() {
    for heartbeat_ms in [0, u64::MAX] {
        let t0 = Instant::now();
        let mut s = session_with(tuning());
        s.start(t0);
        s.opened(1, t0);
        s.on_frame(1, welcome_frame(heartbeat_ms), t0);
        actions(&mut s);
        let due = s.poll_timeout().expect("a heartbeat is due");
        assert!(
            due >= t0 + Duration::from_millis(100),
            "{heartbeat_ms}: due too soon"
        );
        assert!(
            due <= t0 + Duration::from_secs(600),
            "{heartbeat_ms}: never checked"
        );
    }
}
