//! The cluster shell's state and the hub's orders carried out: accepted
//! work published, answers sent back, backplane messages settled.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::{self, AckKind, message::Acker};
use async_nats::{HeaderMap, Subject};
use bytes::Bytes;
use futures_util::StreamExt as _;
use ms_protocol::{Envelope, ErrorCode, WireError, decode, encode};
use tokio::sync::mpsc;

use super::backplane::Backplane;
use super::config::ClusterConfig;
use super::names::{
    AnswerTo, CALLER_HEADER, MSG_ID_HEADER, ORIGIN_HEADER, answer_msg_id, http_answer_subject,
    service_answer_subject, work_msg_id, work_subject,
};
use super::patience::retry_until;
use crate::hub::{Hub, Order};
use crate::router::{Forward, InstanceKey, Origin, RemoteDone, Ticket};

/// A backplane message this node took and has not settled.
pub(super) struct Held {
    /// Its ack subject.
    pub reply: Subject,
    /// Where a request's answer goes; `None` for events and answers.
    pub answer_to: Option<AnswerTo>,
    /// Keep-alive rounds in a row the router did not hold it.
    pub orphan_rounds: u8,
}

/// What the local instances of a service serve: routes and topics.
pub(super) type Served = (BTreeSet<String>, BTreeSet<String>);

/// The shell: see the module documentation of `cluster`.
pub(super) struct Shell {
    pub config: ClusterConfig,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub hub: Arc<Hub>,
    pub log: slog::Logger,
    pub service_ttl: Duration,
    held: Mutex<HashMap<Ticket, Held>>,
    next_ticket: AtomicU64,
    /// Work intake per service with local instances.
    pub work_loops: Mutex<HashMap<String, actix_rt::task::JoinHandle<()>>>,
    /// Answer intake per local instance.
    pub answer_loops: Mutex<HashMap<InstanceKey, actix_rt::task::JoinHandle<()>>>,
    /// What local instances serve, per service (announced to the others).
    pub announced: Mutex<HashMap<String, Served>>,
}

/// Locks a mutex of the shell; a panic elsewhere does not stop the node.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shell {
    pub fn new(
        config: ClusterConfig,
        backplane: Backplane,
        hub: Arc<Hub>,
        service_ttl: Duration,
    ) -> Self {
        let log = hub.logger().new(slog::o!("node" => config.node.clone()));
        Self {
            config,
            client: backplane.client,
            js: backplane.js,
            hub,
            log,
            service_ttl,
            held: Mutex::new(HashMap::new()),
            next_ticket: AtomicU64::new(1),
            work_loops: Mutex::new(HashMap::new()),
            answer_loops: Mutex::new(HashMap::new()),
            announced: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a message taken from the backplane.
    pub fn hold(&self, reply: Subject, answer_to: Option<AnswerTo>) -> Ticket {
        let ticket = Ticket(self.next_ticket.fetch_add(1, Ordering::Relaxed));
        lock(&self.held).insert(
            ticket,
            Held {
                reply,
                answer_to,
                orphan_rounds: 0,
            },
        );
        ticket
    }

    fn release(&self, ticket: Ticket) -> Option<Held> {
        lock(&self.held).remove(&ticket)
    }

    /// Carries out the hub's orders until the hub is gone.
    pub async fn dispatch(self: Arc<Self>, mut orders: mpsc::UnboundedReceiver<Order>) {
        while let Some(order) = orders.recv().await {
            match order {
                Order::Forward(forward) => {
                    actix_rt::spawn(self.clone().forward(forward));
                }
                Order::RemoteAnswer { ticket, envelope } => {
                    if let Some(held) = self.release(ticket) {
                        actix_rt::spawn(self.clone().send_answer(held, envelope));
                    }
                }
                Order::RemoteDone { ticket, done } => {
                    if let Some(held) = self.release(ticket) {
                        let kind = match done {
                            RemoteDone::Settled => AckKind::Ack,
                            RemoteDone::HandBack => AckKind::Nak(None),
                        };
                        actix_rt::spawn(self.clone().settle(held.reply, kind));
                    }
                }
                Order::InstanceUp {
                    key,
                    routes,
                    topics,
                } => {
                    self.instance_up(key, routes, topics);
                }
            }
        }
    }

    /// Acks, naks or reports progress on a held message.
    pub async fn settle(self: Arc<Self>, reply: Subject, kind: AckKind) {
        let acker = Acker::new(self.js.clone(), Some(reply));
        if let Err(e) = acker.ack_with(kind).await {
            slog::debug!(self.log, "cannot settle a backplane message"; "error" => %e);
        }
    }

    /// Publishes one copy of accepted work per target, then confirms it to
    /// the sender; on any failure the sender gets `overloaded`.
    async fn forward(self: Arc<Self>, forward: Forward) {
        let payload = match encode(&forward.envelope) {
            Ok(text) => Bytes::from(text),
            Err(e) => {
                slog::error!(self.log, "cannot encode a frame"; "error" => %e);
                return;
            }
        };
        let answer_to = match &forward.origin {
            Some(Origin::Http(caller)) => Some(AnswerTo::Http {
                node: self.config.node.clone(),
                caller: *caller,
            }),
            Some(Origin::Service(key)) => Some(AnswerTo::Service(key.clone())),
            Some(Origin::Remote(_)) | None => None,
        };
        let id = forward.envelope.id.clone();
        let publishes = forward.targets.iter().map(|target| {
            let mut headers = HeaderMap::new();
            headers.insert(
                MSG_ID_HEADER,
                work_msg_id(&forward.sender, id.as_str(), target).as_str(),
            );
            if let Some(answer_to) = &answer_to {
                headers.insert(ORIGIN_HEADER, answer_to.header().as_str());
            }
            self.publish_stored(work_subject(target), headers, payload.clone())
        });
        let failure = futures_util::future::join_all(publishes)
            .await
            .into_iter()
            .find_map(Result::err);
        match failure {
            None => {
                if let Some(confirm) = forward.confirm {
                    self.hub.confirm(confirm, id);
                }
            }
            Some(reason) => {
                slog::warn!(self.log, "the backplane did not take accepted work";
                    "id" => %id, "reason" => reason);
                let error = WireError::new(
                    ErrorCode::Overloaded,
                    "the cluster cannot take this work now; try again",
                );
                self.hub
                    .refuse(forward.origin.as_ref(), forward.confirm, &id, error);
            }
        }
    }

    /// Publishes one message to a stream (work or an answer) and awaits
    /// its ack. A failure that a stream leader election explains (no
    /// responder, no ack in time, a connection lost to a dead server) is
    /// retried for [`ClusterConfig::patience_ms`] with the same
    /// `Nats-Msg-Id`, so a retry that follows a lost ack stores nothing
    /// twice; a refusal (the stream full) is not.
    async fn publish_stored(
        &self,
        subject: String,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), String> {
        let give_up = tokio::time::Instant::now() + Duration::from_millis(self.config.patience_ms);
        retry_until(
            give_up,
            || async {
                self.js
                    .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                    .await?
                    .await
                    .map(|_| ())
            },
            |e| {
                matches!(
                    e.kind(),
                    PublishErrorKind::StreamNotFound
                        | PublishErrorKind::TimedOut
                        | PublishErrorKind::BrokenPipe
                        | PublishErrorKind::MaxAckPending
                )
            },
            |e| slog::debug!(self.log, "not stored yet; retrying"; "subject" => &subject, "error" => %e),
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Sends a request's answer to its origin, then settles the request's
    /// message; an answer for a service goes through `MS_ANSWER` first, so
    /// the request counts as done only once its answer is safe.
    async fn send_answer(self: Arc<Self>, held: Held, envelope: Envelope) {
        let payload = match encode(&envelope) {
            Ok(text) => Bytes::from(text),
            Err(e) => {
                slog::error!(self.log, "cannot encode an answer"; "error" => %e);
                return;
            }
        };
        let kind = match held.answer_to {
            Some(AnswerTo::Http { node, caller }) => {
                let mut headers = HeaderMap::new();
                headers.insert(CALLER_HEADER, caller.to_string().as_str());
                // Core NATS: the caller waits on that node and dies with it.
                if let Err(e) = self
                    .client
                    .publish_with_headers(http_answer_subject(&node), headers, payload)
                    .await
                {
                    slog::debug!(self.log, "cannot send an HTTP answer"; "error" => %e);
                }
                AckKind::Ack
            }
            Some(AnswerTo::Service(key)) => {
                let request_id = envelope
                    .correlation_id()
                    .map(|id| id.as_str().to_owned())
                    .unwrap_or_default();
                let mut headers = HeaderMap::new();
                headers.insert(MSG_ID_HEADER, answer_msg_id(&key, &request_id).as_str());
                match self
                    .publish_stored(service_answer_subject(&key), headers, payload)
                    .await
                {
                    Ok(()) => AckKind::Ack,
                    Err(reason) => {
                        slog::warn!(self.log, "cannot store an answer; the request goes back";
                            "reason" => reason);
                        AckKind::Nak(Some(Duration::from_millis(500)))
                    }
                }
            }
            None => AckKind::Ack,
        };
        self.settle(held.reply, kind).await;
    }

    /// Answers for HTTP callers waiting on this node.
    pub async fn http_answers(self: Arc<Self>) {
        let subject = http_answer_subject(&self.config.node);
        loop {
            let mut answers = match self.client.subscribe(subject.clone()).await {
                Ok(s) => s,
                Err(e) => {
                    slog::warn!(self.log, "cannot subscribe to HTTP answers"; "error" => %e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(message) = answers.next().await {
                let caller = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(CALLER_HEADER))
                    .and_then(|v| v.as_str().parse::<u64>().ok());
                let envelope = std::str::from_utf8(&message.payload)
                    .ok()
                    .and_then(|text| decode(text).ok());
                if let (Some(caller), Some(envelope)) = (caller, envelope) {
                    self.hub.http_answer(caller, envelope);
                }
            }
        }
    }

    /// Gives back every message still held, so other nodes take them at once.
    pub async fn stop(&self) {
        for handle in lock(&self.work_loops).values() {
            handle.abort();
        }
        for handle in lock(&self.answer_loops).values() {
            handle.abort();
        }
        let held: Vec<Held> = lock(&self.held).drain().map(|(_, h)| h).collect();
        for h in held {
            let acker = Acker::new(self.js.clone(), Some(h.reply));
            let _ = acker.ack_with(AckKind::Nak(None)).await;
        }
        let _ = self.client.flush().await;
    }

    /// Every `ack_wait / 3`: progress for what the router holds, and
    /// messages it no longer holds (dropped without a word, say past
    /// their deadline) given back.
    pub async fn keep_alive(self: Arc<Self>) {
        let every = Duration::from_millis((self.config.ack_wait_ms / 3).max(100));
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let held_now = self.hub.held_tickets();
            let mut progress = Vec::new();
            let mut give_back = Vec::new();
            {
                let mut held = lock(&self.held);
                held.retain(|ticket, h| {
                    if held_now.contains(ticket) {
                        h.orphan_rounds = 0;
                        progress.push(h.reply.clone());
                        return true;
                    }
                    h.orphan_rounds = h.orphan_rounds.saturating_add(1);
                    if h.orphan_rounds < 2 {
                        return true;
                    }
                    give_back.push(h.reply.clone());
                    false
                });
            }
            for reply in progress {
                let acker = Acker::new(self.js.clone(), Some(reply));
                let _ = acker.ack_with(AckKind::Progress).await;
            }
            for reply in give_back {
                let acker = Acker::new(self.js.clone(), Some(reply));
                let _ = acker.ack_with(AckKind::Nak(None)).await;
            }
        }
    }
}
