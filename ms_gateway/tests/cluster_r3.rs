//! Two gateway nodes on a three-server NATS cluster with streams of three
//! replicas: under steady load from a caller on node B to an echo service
//! on node A, the nats-server leading `MS_WORK` is SIGKILLed. Every
//! request sent, before or after the kill, is eventually answered; the
//! test prints how long answers stopped.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::cluster::{EchoStats, NatsCluster, r3_config, spawn_echo};
use common::*;
use futures_util::StreamExt as _;
use ms_protocol::{Body, Envelope, Json, MessageId, Payload, Request, decode};
use tokio_tungstenite::tungstenite::Message;

/// One request every this long.
const EVERY: Duration = Duration::from_millis(20);
/// Load before the kill.
const BEFORE_KILL: Duration = Duration::from_millis(1_500);
/// Load after the kill (longer than a stream leader election, ~8 s).
const AFTER_KILL: Duration = Duration::from_secs(12);
/// How long the last answers may take after the last request.
const DRAIN: Duration = Duration::from_secs(30);

/// The server name of the leader of `stream`, once it has one.
async fn leader(js: &async_nats::jetstream::Context, stream: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(found) = js.get_stream(stream).await
            && let Some(leader) = found
                .cached_info()
                .cluster
                .as_ref()
                .and_then(|c| c.leader.clone())
        {
            return leader;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for a leader of stream {stream}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What became of one request.
struct Sent {
    n: usize,
    at: Instant,
    answered: Option<Instant>,
    refused: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_work_stream_leader_loses_no_request() {
    let mut nats = NatsCluster::start();
    let a = start(|c| c.cluster = Some(r3_config(&nats, "a")));
    let b = start(|c| c.cluster = Some(r3_config(&nats, "b")));
    let stats = Arc::new(EchoStats::default());
    let delay = Duration::from_millis(5);
    let e1 = spawn_echo(vec![a.ws_url()], "echo", "e1", 16, delay, stats.clone());
    let e2 = spawn_echo(vec![a.ws_url()], "echo", "e2", 16, delay, stats.clone());

    // The test's own view of the streams, through every member.
    let observer = async_nats::connect(
        nats.urls
            .iter()
            .map(|u| u.parse::<async_nats::ServerAddr>().unwrap())
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    let js = async_nats::jetstream::new(observer);
    let work_leader = leader(&js, "MS_WORK").await;
    let answer_leader = leader(&js, "MS_ANSWER").await;

    let mut caller = connect(&b, "caller", "c1", 4).await;
    // The echo service must be known on node B before the load starts.
    within("a first answer through the cluster", async {
        let probe = request(usize::MAX);
        caller.send(&probe).await;
        loop {
            let frame = caller.recv("the first answer").await;
            if let Body::Reply(_) = &frame.body {
                caller.ack(vec![frame.id.clone()]).await;
                return;
            }
            // `unknown service` while node B has not heard of echo yet.
            tokio::time::sleep(Duration::from_millis(100)).await;
            caller.send(&request(usize::MAX)).await;
        }
    })
    .await;
    // Late answers to retried probes are ignored below.

    let mut sent: HashMap<MessageId, Sent> = HashMap::new();
    let mut answers: Vec<Instant> = Vec::new();
    let mut refusals: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut killed_at: Option<Instant> = None;
    let mut tick = tokio::time::interval(EVERY);
    let mut next = 0usize;
    let mut last_send = Instant::now();
    loop {
        let sending = killed_at.is_none_or(|k| k.elapsed() < AFTER_KILL);
        if !sending && sent.values().all(|s| s.answered.is_some() || s.refused) {
            break;
        }
        if !sending && last_send.elapsed() > DRAIN {
            let mut missing: Vec<usize> = sent
                .values()
                .filter(|s| s.answered.is_none())
                .map(|s| s.n)
                .collect();
            missing.sort_unstable();
            panic!(
                "timed out waiting for answers to {} of {} requests, sent {:?} after the kill: {missing:?} \
                 (refusals: {refusals:?})",
                missing.len(),
                sent.len(),
                killed_at.map(|k| sent.values().filter(|s| s.at >= k).count()),
            );
        }
        tokio::select! {
            _ = tick.tick(), if sending => {
                let envelope = request(next);
                sent.insert(envelope.id.clone(), Sent { n: next, at: Instant::now(), answered: None, refused: false });
                caller.send(&envelope).await;
                next += 1;
                last_send = Instant::now();
                if killed_at.is_none() && started.elapsed() >= BEFORE_KILL {
                    nats.kill(&work_leader);
                    killed_at = Some(Instant::now());
                }
            }
            frame = tokio::time::timeout(Duration::from_millis(200), caller.ws.next()) => {
                let Ok(frame) = frame else { continue };
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    other => panic!("the caller's connection to node B ended: {other:?}"),
                };
                let frame = decode(text.as_str()).unwrap();
                match &frame.body {
                    Body::Ack(_) => {}
                    Body::Reply(reply) => {
                        caller.ack(vec![frame.id.clone()]).await;
                        let id = frame.correlation_id().unwrap();
                        let Some(s) = sent.get_mut(id) else { continue };
                        assert_eq!(reply.payload, payload(s.n), "the answer to request {}", s.n);
                        if s.answered.is_none() {
                            s.answered = Some(Instant::now());
                            answers.push(Instant::now());
                        }
                    }
                    Body::Error(error) => {
                        let s = frame.correlation_id().and_then(|id| sent.get_mut(id));
                        let n = s.map(|s| {
                            s.refused = true;
                            s.n
                        });
                        refusals.push(format!("request {n:?}: {error:?}"));
                    }
                    _ => panic!("unexpected frame at the caller: {frame:?}"),
                }
            }
        }
    }

    let killed_at = killed_at.unwrap();
    assert!(
        refusals.is_empty(),
        "the cluster refused {} requests (kill at {:?}); first: {:?}",
        refusals.len(),
        killed_at - started,
        refusals.first()
    );
    let new_work_leader = leader(&js, "MS_WORK").await;
    // The longest time without any answer, from the kill on.
    let mut stall = Duration::ZERO;
    let mut previous = killed_at;
    for &at in answers.iter().filter(|&&at| at >= killed_at) {
        stall = stall.max(at - previous);
        previous = at;
    }
    let after_kill: Vec<&Sent> = sent.values().filter(|s| s.at >= killed_at).collect();
    let first_after = after_kill.iter().filter_map(|s| s.answered).min();
    let slowest = sent
        .values()
        .filter_map(|s| s.answered.map(|a| a - s.at))
        .max()
        .unwrap();
    let runs = stats.runs.load(Ordering::SeqCst);
    println!(
        "MS_WORK leader {work_leader} (MS_ANSWER leader {answer_leader}) SIGKILLed after {} requests; \
         new MS_WORK leader {new_work_leader}; {} requests, {} sent after the kill, all answered; \
         answers stopped for {stall:?} (longest gap from the kill on); first answer to a request \
         sent after the kill {:?} after the kill; slowest request {slowest:?}; handler runs {runs}; \
         refusals {}",
        sent.len() - after_kill.len(),
        sent.len(),
        after_kill.len(),
        first_after.map(|f| f - killed_at),
        refusals.len(),
    );
    e1.abort();
    e2.abort();
}

fn payload(n: usize) -> Payload {
    Payload::Inline(Json::from_value(&serde_json::json!(n)).unwrap())
}

fn request(n: usize) -> Envelope {
    Envelope::new(Body::Request(Request {
        to: "echo".into(),
        route: "echo".into(),
        from: None,
        payload: payload(n),
    }))
}
