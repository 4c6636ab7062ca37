//! The shared routing state and the channels to sessions and HTTP callers.
//!
//! The [`Router`] is pure logic; the hub owns it behind one mutex, together
//! with each session's outbox and each HTTP caller's answer slot, and runs
//! the router's effects while it holds the lock so that frames to one
//! connection leave in the order the router decided them. Sending on an
//! outbox never blocks: the bound on what an outbox holds is the router's
//! flow control (`max_in_flight` deliveries) plus the answers to what that
//! connection itself sent, which its queue bounds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use ms_protocol::{Envelope, Headers, Hello, MessageId, Request, WireError, encode};
use tokio::sync::{mpsc, oneshot};

use crate::router::{CallerId, ConnId, Effect, Outcome, Router, RouterLimits};

/// What a session's writer is asked to do.
#[derive(Debug)]
pub enum Outgoing {
    /// Send this encoded frame.
    Frame(String),
    /// Acknowledge this id (batched by the session).
    Ack(MessageId),
    /// Close with 1001: the gateway is shutting down.
    GoingAway,
}

/// The gateway's shared state. See the module documentation.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    malformed: AtomicU64,
    draining: AtomicBool,
    logger: slog::Logger,
}

#[derive(Debug)]
struct Inner {
    router: Router,
    outboxes: HashMap<ConnId, mpsc::UnboundedSender<Outgoing>>,
    callers: HashMap<CallerId, oneshot::Sender<Outcome>>,
}

/// Milliseconds since the Unix epoch, the router's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Hub {
    /// A hub with an empty router.
    pub fn new(limits: RouterLimits, logger: slog::Logger) -> Self {
        Self {
            inner: Mutex::new(Inner {
                router: Router::new(limits),
                outboxes: HashMap::new(),
                callers: HashMap::new(),
            }),
            next_id: AtomicU64::new(1),
            malformed: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            logger,
        }
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

    /// Counts a frame answered as malformed.
    pub fn count_malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Registers a session that said hello; queued work starts flowing to it.
    pub fn connect(&self, conn: ConnId, hello: &Hello, outbox: mpsc::UnboundedSender<Outgoing>) {
        let mut inner = self.lock();
        inner.outboxes.insert(conn, outbox);
        let effects = inner.router.connect(conn, hello, now_ms());
        self.run(&mut inner, effects);
    }

    /// Forgets a session; what it held is delivered again elsewhere.
    pub fn disconnect(&self, conn: ConnId) {
        let mut inner = self.lock();
        inner.outboxes.remove(&conn);
        let effects = inner.router.disconnect(conn, now_ms());
        self.run(&mut inner, effects);
    }

    /// A decoded frame from a session.
    pub fn frame(&self, conn: ConnId, envelope: Envelope) {
        let mut inner = self.lock();
        let effects = inner.router.frame(conn, envelope, now_ms());
        self.run(&mut inner, effects);
    }

    /// An HTTP invocation; the answer arrives on the returned channel.
    pub fn invoke(&self, request: Request, headers: Headers) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        let caller = self.next_id();
        let mut inner = self.lock();
        inner.callers.insert(caller, tx);
        let effects =
            inner
                .router
                .invoke_from_http(caller, MessageId::random(), request, headers, now_ms());
        self.run(&mut inner, effects);
        rx
    }

    /// An HTTP publish.
    ///
    /// # Errors
    /// `overloaded` when a subscriber's queue is full.
    pub fn publish(&self, envelope: Envelope) -> Result<(), WireError> {
        let mut inner = self.lock();
        let effects = inner.router.publish_from_http(envelope, now_ms())?;
        self.run(&mut inner, effects);
        Ok(())
    }

    /// Answers what passed its deadline.
    pub fn tick(&self) {
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
            let _ = outbox.send(Outgoing::GoingAway);
        }
    }

    /// The Prometheus text of every metric.
    pub fn metrics(&self) -> String {
        let inner = self.lock();
        crate::metrics::render(
            inner.router.counters(),
            &inner.router.gauges(),
            self.malformed.load(Ordering::Relaxed),
        )
    }

    fn run(&self, inner: &mut Inner, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send { conn, envelope } => match encode(&envelope) {
                    Ok(text) => {
                        if let Some(outbox) = inner.outboxes.get(&conn) {
                            // A closed outbox means the session is ending; its
                            // disconnect will hand the work back.
                            let _ = outbox.send(Outgoing::Frame(text));
                        }
                    }
                    Err(e) => slog::error!(self.logger, "cannot encode a frame"; "error" => %e),
                },
                Effect::Ack { conn, id } => {
                    if let Some(outbox) = inner.outboxes.get(&conn) {
                        let _ = outbox.send(Outgoing::Ack(id));
                    }
                }
                Effect::Answer { caller, outcome } => {
                    if let Some(tx) = inner.callers.remove(&caller) {
                        // The caller may have gone away; nothing to do then.
                        let _ = tx.send(outcome);
                    }
                }
            }
        }
    }
}
