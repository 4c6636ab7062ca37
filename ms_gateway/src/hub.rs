//! The shared routing state and the channels to sessions and HTTP callers.
//!
//! The [`Router`] is pure logic; the hub owns it behind one mutex, together
//! with each session's outbox and each HTTP caller's answer slot, and runs
//! the router's effects while it holds the lock so that frames to one
//! connection leave in the order the router decided them. Sending on an
//! outbox never blocks; what an outbox holds is bounded in bytes
//! ([`Hub::new`]'s `max_outbound_bytes`): a session whose peer does not read
//! what it is sent is closed once its backlog passes the bound, and the
//! router delivers what it held elsewhere.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ms_protocol::clock::now_ms;
use ms_protocol::{Envelope, Headers, Hello, MessageId, Request, WireError, encode};
use tokio::sync::{mpsc, oneshot, watch};

use crate::refusal_log::RefusalLog;
use crate::router::{
    CallerId, ConnId, Effect, Forward, InstanceKey, Outcome, RemoteDone, Router, RouterLimits,
    Ticket,
};
use crate::trace::GatewayTracer;

/// Close code for a session whose peer does not read what it is sent.
pub const CLOSE_SLOW_PEER: u16 = 1008;

/// What a session's writer is asked to do, in order.
#[derive(Debug)]
pub enum Outgoing {
    /// Send this encoded frame.
    Frame(String),
    /// Acknowledge this id (batched by the session).
    Ack(MessageId),
    /// Close with 1001: the gateway is shutting down.
    GoingAway,
}

/// Why the hub ends a session at once, ahead of anything queued for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseOrder {
    /// The websocket close code.
    pub code: u16,
    /// The close reason.
    pub reason: &'static str,
}

/// A session's side of its outbox: frames in order, the bytes not yet
/// written, and orders to close that skip the queue.
#[derive(Debug)]
pub struct SessionPort {
    /// Frames and acks, in the router's order.
    pub inbox: mpsc::UnboundedReceiver<Outgoing>,
    /// Bytes of frames queued and not yet written; the session subtracts
    /// what it writes.
    pub pending: Arc<AtomicU64>,
    /// Set when the hub closes the session (replaced, or its peer does not read).
    pub close: watch::Receiver<Option<CloseOrder>>,
}

/// What the hub asks of the cluster shell (cluster mode only), in order.
#[derive(Debug)]
pub enum Order {
    /// Publish accepted work to the backplane.
    Forward(Forward),
    /// Send a request's answer back to its origin, then settle its message.
    RemoteAnswer {
        /// The backplane message.
        ticket: Ticket,
        /// The answer.
        envelope: Envelope,
    },
    /// Settle or give back a backplane message.
    RemoteDone {
        /// The backplane message.
        ticket: Ticket,
        /// How.
        done: RemoteDone,
    },
    /// An instance connected here: take work and answers for it, and tell
    /// the other nodes what it serves.
    InstanceUp {
        /// Who.
        key: InstanceKey,
        /// Its routes.
        routes: Vec<String>,
        /// Its topics.
        topics: Vec<String>,
    },
}

/// The gateway's shared state. See the module documentation.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    malformed: AtomicU64,
    slow_peers: AtomicU64,
    oversized: AtomicU64,
    /// Requests refused with 401.
    auth_failures: AtomicU64,
    draining: AtomicBool,
    max_outbound_bytes: u64,
    logger: slog::Logger,
    /// Cluster mode: where backplane work goes (`None`: single node).
    orders: Option<mpsc::UnboundedSender<Order>>,
    /// Cluster mode: whether the NATS connection is up (`/readyz`).
    backplane_up: AtomicBool,
    /// Woken when local connections may have free slots again.
    slots: tokio::sync::Notify,
    /// Log lines about refused and failed messages, bounded per peer.
    refusals: RefusalLog,
    /// Trace sanitising and gateway-hop spans.
    tracer: GatewayTracer,
}

#[derive(Debug)]
struct Outbox {
    tx: mpsc::UnboundedSender<Outgoing>,
    pending: Arc<AtomicU64>,
    close: watch::Sender<Option<CloseOrder>>,
}

#[derive(Debug)]
struct Inner {
    router: Router,
    outboxes: HashMap<ConnId, Outbox>,
    callers: HashMap<CallerId, oneshot::Sender<Outcome>>,
}

#[path = "hub_cluster.rs"]
mod cluster_port;

#[path = "hub_observe.rs"]
mod observe;
pub use observe::conn_peer;

impl Hub {
    /// A hub with an empty router; each session may have at most
    /// `max_outbound_bytes` queued for its socket. With `orders`, the hub
    /// is a cluster node: accepted work leaves through that channel.
    pub fn new(
        limits: RouterLimits,
        max_outbound_bytes: u64,
        logger: slog::Logger,
        orders: Option<mpsc::UnboundedSender<Order>>,
    ) -> Self {
        let mut router = Router::new(limits);
        if orders.is_some() {
            router.forward_to_backplane();
        }
        Self {
            inner: Mutex::new(Inner {
                router,
                outboxes: HashMap::new(),
                callers: HashMap::new(),
            }),
            next_id: AtomicU64::new(1),
            malformed: AtomicU64::new(0),
            slow_peers: AtomicU64::new(0),
            oversized: AtomicU64::new(0),
            auth_failures: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            max_outbound_bytes,
            orders,
            backplane_up: AtomicBool::new(true),
            slots: tokio::sync::Notify::new(),
            refusals: RefusalLog::new(logger.clone()),
            logger,
            tracer: GatewayTracer::default(),
        }
    }

    /// The same hub, tracing with `tracer` (the default only sanitises).
    #[must_use]
    pub fn with_tracer(mut self, tracer: GatewayTracer) -> Self {
        self.tracer = tracer;
        self
    }

    /// Trace sanitising and spans (the HTTP edge starts its spans here).
    pub fn tracer(&self) -> &GatewayTracer {
        &self.tracer
    }

    /// The hub's logger.
    pub fn logger(&self) -> &slog::Logger {
        &self.logger
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the router half-updated
        // in a way worse than losing the gateway, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh connection or caller id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// What the gateway grants a connection whose `hello` asked `asked`.
    pub fn granted_in_flight(&self, asked: u32) -> u32 {
        self.lock().router.granted_in_flight(asked)
    }

    /// Whether a shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Registers a session that said hello; queued work starts flowing to
    /// it through the returned port.
    pub fn connect(&self, conn: ConnId, hello: &Hello) -> SessionPort {
        let (tx, inbox) = mpsc::unbounded_channel();
        let (close_tx, close) = watch::channel(None);
        let pending = Arc::new(AtomicU64::new(0));
        let mut inner = self.lock();
        inner.outboxes.insert(
            conn,
            Outbox {
                tx,
                pending: pending.clone(),
                close: close_tx,
            },
        );
        let effects = inner.router.connect(conn, hello, now_ms());
        self.run(&mut inner, effects);
        if let Some(orders) = &self.orders {
            let _ = orders.send(Order::InstanceUp {
                key: InstanceKey {
                    service: hello.service.clone(),
                    instance: hello.instance.clone(),
                },
                routes: hello.routes.clone(),
                topics: hello.topics.clone(),
            });
        }
        SessionPort {
            inbox,
            pending,
            close,
        }
    }

    /// Forgets a session; what it held is delivered again elsewhere.
    pub fn disconnect(&self, conn: ConnId) {
        let mut inner = self.lock();
        inner.outboxes.remove(&conn);
        let effects = inner.router.disconnect(conn, now_ms());
        self.run(&mut inner, effects);
        self.slots.notify_waiters();
        self.refusals.forget(&observe::conn_peer(conn));
    }

    /// A decoded frame from a session.
    pub fn frame(&self, conn: ConnId, mut envelope: Envelope) {
        self.tracer.received(conn, &mut envelope);
        let mut inner = self.lock();
        let effects = inner.router.frame(conn, envelope, now_ms());
        self.run(&mut inner, effects);
    }

    /// An HTTP invocation; the answer arrives on the returned channel.
    /// Dropping the [`Invocation`] before the answer cancels the request.
    pub fn invoke(self: &Arc<Self>, request: Request, headers: Headers) -> Invocation {
        let (tx, rx) = oneshot::channel();
        let caller = self.next_id();
        let id = MessageId::random();
        let mut inner = self.lock();
        inner.callers.insert(caller, tx);
        let effects = inner
            .router
            .invoke_from_http(caller, id.clone(), request, headers, now_ms());
        self.run(&mut inner, effects);
        Invocation {
            hub: self.clone(),
            caller,
            id,
            answer: Some(rx),
        }
    }

    fn cancel(&self, caller: CallerId, id: &MessageId) {
        let mut inner = self.lock();
        if inner.callers.remove(&caller).is_some() {
            inner.router.cancel_http(caller, id);
        }
    }

    /// An HTTP publish. In cluster mode the returned channel answers once
    /// the backplane holds every copy (or why not).
    ///
    /// # Errors
    /// `overloaded` when a subscriber's queue is full.
    pub fn publish(
        &self,
        envelope: Envelope,
    ) -> Result<Option<oneshot::Receiver<Outcome>>, WireError> {
        let mut inner = self.lock();
        if self.orders.is_none() {
            let effects = inner.router.publish_from_http(envelope, now_ms())?;
            self.run(&mut inner, effects);
            return Ok(None);
        }
        let (tx, rx) = oneshot::channel();
        let caller = self.next_id();
        inner.callers.insert(caller, tx);
        match inner.router.publish_confirmed(envelope, caller, now_ms()) {
            Ok(effects) => {
                self.run(&mut inner, effects);
                Ok(Some(rx))
            }
            Err(error) => {
                inner.callers.remove(&caller);
                Err(error)
            }
        }
    }

    /// Answers what passed its deadline.
    pub fn tick(&self) {
        self.tracer.sweep(now_ms());
        let mut inner = self.lock();
        let effects = inner.router.tick(now_ms());
        self.run(&mut inner, effects);
    }

    /// First step of a graceful shutdown: refuse new work, answer the queued.
    pub fn begin_shutdown(&self) {
        self.draining.store(true, Ordering::Relaxed);
        let mut inner = self.lock();
        let effects = inner.router.begin_shutdown();
        self.run(&mut inner, effects);
    }

    /// Requests still held by services.
    pub fn in_flight(&self) -> usize {
        self.lock().router.requests_in_flight()
    }

    /// Last step of a graceful shutdown: answer everything still held and
    /// ask every session to close with 1001.
    pub fn close_all(&self) {
        let mut inner = self.lock();
        let effects = inner.router.abandon_all();
        self.run(&mut inner, effects);
        for outbox in inner.outboxes.values() {
            let _ = outbox.tx.send(Outgoing::GoingAway);
        }
    }

    /// Runs a router operation and its effects under the lock.
    fn with_router(&self, operation: impl FnOnce(&mut Router) -> Vec<Effect>) {
        let mut inner = self.lock();
        let effects = operation(&mut inner.router);
        self.run(&mut inner, effects);
    }

    /// Reads the router under the lock.
    fn read<T>(&self, read: impl FnOnce(&Router) -> T) -> T {
        read(&self.lock().router)
    }

    fn run(&self, inner: &mut Inner, effects: Vec<Effect>) {
        let mut effects = std::collections::VecDeque::from(effects);
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Send { conn, envelope } => match encode(&envelope) {
                    Ok(text) => {
                        self.tracer.sending(conn, &envelope);
                        if let Some(slow) = self.enqueue(inner, conn, text) {
                            effects.extend(slow);
                        }
                    }
                    Err(e) => slog::error!(self.logger, "cannot encode a frame"; "error" => %e),
                },
                Effect::Ack { conn, id } => {
                    if let Some(outbox) = inner.outboxes.get(&conn) {
                        let _ = outbox.tx.send(Outgoing::Ack(id));
                    }
                }
                Effect::Answer { caller, outcome } => {
                    if let Some(tx) = inner.callers.remove(&caller) {
                        // The caller may have gone away; nothing to do then.
                        let _ = tx.send(outcome);
                    }
                }
                Effect::Close { conn, code, reason } => {
                    if let Some(outbox) = inner.outboxes.remove(&conn) {
                        let _ = outbox.close.send(Some(CloseOrder { code, reason }));
                    }
                }
                Effect::Forward(forward) => self.order(Order::Forward(forward)),
                Effect::RemoteAnswer { ticket, envelope } => {
                    self.order(Order::RemoteAnswer { ticket, envelope });
                    self.slots.notify_waiters();
                }
                Effect::RemoteDone { ticket, done } => {
                    self.order(Order::RemoteDone { ticket, done });
                    self.slots.notify_waiters();
                }
                Effect::Failed(failure) => self.log_failure(&inner.router, &failure),
                Effect::EventDropped { service, topic, id } => {
                    slog::warn!(self.logger, "subscriber queue full, its copy of an event is dropped";
                        "service" => service, "topic" => topic, "id" => %id);
                }
            }
        }
    }

    /// Queues a frame for `conn`; when that takes the session's backlog past
    /// the bound, closes the session instead and returns the router's
    /// effects of its departure.
    fn enqueue(&self, inner: &mut Inner, conn: ConnId, text: String) -> Option<Vec<Effect>> {
        let outbox = inner.outboxes.get(&conn)?;
        let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
        let pending = outbox.pending.load(Ordering::Relaxed);
        if pending.saturating_add(len) <= self.max_outbound_bytes {
            outbox.pending.fetch_add(len, Ordering::Relaxed);
            // A closed outbox means the session is ending; its disconnect
            // will hand the work back.
            let _ = outbox.tx.send(Outgoing::Frame(text));
            return None;
        }
        slog::warn!(self.logger, "peer does not read, closing its session";
            "conn" => conn, "outbound_bytes" => pending);
        self.count_slow_peer();
        if let Some(outbox) = inner.outboxes.remove(&conn) {
            let _ = outbox.close.send(Some(CloseOrder {
                code: CLOSE_SLOW_PEER,
                reason: "peer does not read what it is sent",
            }));
        }
        Some(inner.router.disconnect(conn, now_ms()))
    }
}

/// An HTTP caller's pending answer; dropping it before the answer cancels
/// the request (queued, it is dropped; delivered, its answer goes nowhere).
#[derive(Debug)]
pub struct Invocation {
    hub: Arc<Hub>,
    caller: CallerId,
    id: MessageId,
    answer: Option<oneshot::Receiver<Outcome>>,
}

impl Invocation {
    /// Waits for the answer; `None` if the router dropped it.
    pub async fn answer(&mut self) -> Option<Outcome> {
        let answer = self.answer.as_mut()?;
        let outcome = answer.await.ok();
        self.answer = None;
        outcome
    }
}

impl Drop for Invocation {
    fn drop(&mut self) {
        if self.answer.is_some() {
            self.hub.cancel(self.caller, &self.id);
        }
    }
}
