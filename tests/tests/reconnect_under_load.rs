//! Issue 14's stand-in gateway: 20,000 requests, 64 unanswered at a time,
//! and the connection cut after every 1,000 replies. With the default
//! backoff the service is back within about a second of each cut (a welcomed
//! session that made progress resets the backoff) and every request is
//! answered, by one run of the handler: requests cut in flight are delivered
//! again (same id, next attempt) and dedup answers those that already ran.

mod scripted;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use ms_runtime::protocol::{Body, Envelope, MessageId, Payload};
use ms_runtime::{Config, Service, Tuning};
use ms_tests::CountingEcho;
use scripted::{Peer, accept, delivery, feed, listen, next_envelope};

const REQUESTS: usize = 20_000;
const CUT_EVERY: usize = 1_000;
const WINDOW: usize = 64;
/// Longest wait from a cut to the next `hello`. A reset backoff draws the
/// delay below its first bound (1 s); without the reset the bound doubles
/// with each of the 19 cuts up to 30 s, and full jitter would make some
/// delay far longer than this. The margin over 1 s is for a loaded machine.
const MAX_GAP: Duration = Duration::from_secs(3);

/// What the stand-in gateway knows of the requests it delivers; request `n`
/// has the id `r{n}` and the payload `n`.
struct Ledger {
    /// Deliveries of each request so far: its last `attempt` header.
    attempts: Vec<u32>,
    answered: Vec<bool>,
    answered_count: usize,
    /// The first request never delivered.
    next_new: usize,
    /// Delivered on the current connection and not answered.
    in_flight: HashSet<usize>,
    /// Unanswered when their connection was cut: delivered first on the next.
    cut_in_flight: VecDeque<usize>,
    /// Deliveries with an attempt above 1.
    redelivered: usize,
    /// Replies to requests answered before: sent again after a reconnect
    /// (the ack was lost with the connection) or answered again by dedup.
    duplicate_replies: usize,
}

impl Ledger {
    fn new() -> Self {
        Self {
            attempts: vec![0; REQUESTS],
            answered: vec![false; REQUESTS],
            answered_count: 0,
            next_new: 0,
            in_flight: HashSet::new(),
            cut_in_flight: VecDeque::new(),
            redelivered: 0,
            duplicate_replies: 0,
        }
    }

    /// The next request to deliver on this connection, redeliveries first.
    fn next_delivery(&mut self) -> Option<Envelope> {
        let n = match self.cut_in_flight.pop_front() {
            Some(n) => n,
            None if self.next_new < REQUESTS => {
                self.next_new += 1;
                self.next_new - 1
            }
            None => return None,
        };
        self.attempts[n] += 1;
        if self.attempts[n] > 1 {
            self.redelivered += 1;
        }
        self.in_flight.insert(n);
        let payload = Payload::inline(&n).expect("json");
        Some(delivery(
            &format!("r{n}"),
            "echo",
            "echo",
            "caller/1",
            self.attempts[n],
            payload,
        ))
    }

    /// A reply to `request` came: it must carry the request's own number.
    fn settle(&mut self, request: &MessageId, payload: &Payload) {
        let n: usize = request
            .as_str()
            .strip_prefix('r')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a reply to {request}, which was never sent"));
        let answer = payload.as_inline().and_then(|json| json.parse().ok());
        assert_eq!(
            answer,
            Some(n),
            "request {request} answered with {payload:?}"
        );
        if self.answered[n] {
            self.duplicate_replies += 1;
            return;
        }
        // a connection's redeliveries all go out right after `welcome`, so
        // an unanswered request is always delivered on the connection its
        // reply comes on (docs/protocol.md section 4)
        assert!(
            self.in_flight.remove(&n),
            "a reply to {request}, not delivered on this connection"
        );
        self.answered[n] = true;
        self.answered_count += 1;
    }

    /// The connection was cut: what it had unanswered is delivered again.
    fn cut(&mut self) {
        self.cut_in_flight.extend(self.in_flight.drain());
    }
}

/// Plays the gateway on one connection until `CUT_EVERY` more requests are
/// answered (or all of them): keeps `WINDOW` requests unanswered and acks
/// every reply.
async fn serve_connection(peer: &mut Peer, ledger: &mut Ledger) {
    let goal = (ledger.answered_count / CUT_EVERY + 1) * CUT_EVERY;
    let mut acks = Vec::new();
    loop {
        if ledger.answered_count < goal {
            while ledger.in_flight.len() < WINDOW {
                let Some(request) = ledger.next_delivery() else {
                    break;
                };
                feed(peer, &request).await;
            }
        }
        if !acks.is_empty() {
            feed(peer, &Envelope::ack(std::mem::take(&mut acks))).await;
        }
        peer.flush().await.expect("flush");
        if ledger.answered_count == goal {
            return;
        }
        let frame = next_envelope(peer).await;
        match &frame.body {
            Body::Reply(reply) => {
                ledger.settle(&reply.correlation_id, &reply.payload);
                acks.push(frame.id);
            }
            Body::Ack(_) => {}
            _ => panic!("unexpected frame from the service: {frame:?}"),
        }
    }
}

#[actix_rt::test]
async fn reconnects_within_a_second_of_each_cut_and_answers_every_request() {
    let (listener, url) = listen().await;
    let config = Config::builder()
        .gateway_url(url)
        .max_in_flight(WINDOW as u32)
        .log_level("error")
        // the default reconnect schedule (1 s doubling to 30 s) is under test
        .tuning(Tuning::default())
        .build()
        .unwrap();
    let (echo, runs) = CountingEcho::new("echo");
    let service = Service::start(config, echo).await.unwrap();

    let mut ledger = Ledger::new();
    let mut gaps = Vec::new();
    let mut peer = accept(&listener, "s0", None).await;
    let start = Instant::now();
    loop {
        serve_connection(&mut peer, &mut ledger).await;
        if ledger.answered_count == REQUESTS {
            break;
        }
        // the cut: the socket closed without a close frame, whatever was on
        // the way lost
        drop(peer);
        let cut = Instant::now();
        ledger.cut();
        let session = format!("s{}", gaps.len() + 1);
        peer = tokio::time::timeout(MAX_GAP, accept(&listener, &session, None))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no hello within {MAX_GAP:?} of cut {} (earlier gaps {gaps:?}): \
                     the backoff was not reset by a productive session",
                    gaps.len() + 1
                )
            });
        gaps.push(cut.elapsed());
    }
    let took = start.elapsed();

    let mut sorted = gaps.clone();
    sorted.sort();
    println!(
        "{REQUESTS} requests in {took:.2?} ({:.0} req/s), {} cuts; reconnect gaps: max {:.0?}, \
         median {:.0?}; {} deliveries repeated after a cut, {} duplicate replies",
        REQUESTS as f64 / took.as_secs_f64(),
        gaps.len(),
        sorted.last().copied().unwrap_or_default(),
        sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
        ledger.redelivered,
        ledger.duplicate_replies,
    );
    assert_eq!(
        gaps.len(),
        REQUESTS / CUT_EVERY - 1,
        "one reconnect per cut"
    );
    assert!(
        ledger.redelivered > 0,
        "no request was in flight at a cut: the redelivery path never ran"
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        REQUESTS,
        "the handler ran more (or less) than once per request"
    );

    // without a connection the shutdown does not wait for a close handshake
    drop(peer);
    service.shutdown().await;
}
