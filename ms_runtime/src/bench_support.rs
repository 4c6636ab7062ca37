//! Not public API: a harness that lets `ms_bench`'s criterion benchmark time
//! the real dispatch path without sockets: a request frame is decoded, handed
//! to the handler pool (a fresh handler actor, on a handler thread or inline),
//! the handler runs, its outcome comes back as a `Settle` message and the
//! reply frame is encoded. Only the websocket and the supervisor's
//! bookkeeping (acks, outbox, dedup) are left out.
//!
//! Enabled by the `bench` feature; names and signatures may change at any time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::{mpsc, watch};

use crate::dispatch::HandlerPool;
use crate::gateway::{
    Call, CallError, ConnectionState, ForgetCall, Gateway, Outcome, Publish, Settle, Storage,
};
use crate::gateway::{Delivery, DeliveryKind, Dispatch, RequestKey};
use crate::handler::Handler;
use crate::protocol::{Body, ByteString, Envelope, decode_shared, encode};

/// A handler pool wired to an in-memory settle sink.
pub struct DispatchBench {
    pool: Box<dyn Dispatch>,
    gateway: Gateway,
    replies: mpsc::UnboundedReceiver<String>,
    arbiters: Vec<Arbiter>,
    _state: watch::Sender<ConnectionState>,
}

impl DispatchBench {
    /// `threads` handler threads (`0`: handlers on the calling thread), and
    /// the default placement (proven-light routes on the calling thread).
    /// Must be called inside an actix system.
    pub fn new<H: Handler>(handler: H, threads: usize) -> Self {
        let arbiters: Vec<Arbiter> = (0..threads).map(|_| Arbiter::new()).collect();
        let handles = Arc::new(arbiters.iter().map(Arbiter::handle).collect::<Vec<_>>());
        let discard = slog::Logger::root(slog::Discard, slog::o!());
        let pool: Box<dyn Dispatch> = Box::new(HandlerPool::new(
            Arc::new(handler),
            handles,
            crate::placement::Placement::new(threads, crate::Tuning::default().inline_budget),
            // recorded as in a service, so the benchmark pays what services pay
            Arc::new(crate::metrics::HandledMetrics::default()),
            discard,
            crate::trace::Tracer::default(),
        ));
        let (tx, replies) = mpsc::unbounded_channel();
        let sink = SettleSink { replies: tx }.start();
        let (state, state_rx) = watch::channel(ConnectionState::Connected {
            session: "bench".to_owned(),
        });
        let gateway = Gateway::new(&sink, state_rx, Duration::from_secs(30), Storage::default());
        Self {
            pool,
            gateway,
            replies,
            arbiters,
            _state: state,
        }
    }

    /// One request frame through the pool and the handler to its reply frame.
    ///
    /// # Errors
    /// When the frame is not a valid request or the pool stopped.
    pub async fn round_trip(&mut self, frame: &ByteString) -> Result<String, String> {
        match self.deliver(frame)? {
            Some(reply) => Ok(reply),
            None => self.next_reply().await,
        }
    }

    /// Hands one request frame to the pool: its reply frame when the
    /// handler ended within the delivery (on this thread, at its first
    /// poll), else `None` and the reply comes from [`Self::next_reply`].
    ///
    /// # Errors
    /// When the frame is not a valid request.
    pub fn deliver(&mut self, frame: &ByteString) -> Result<Option<String>, String> {
        let envelope = decode_shared(frame, u64::MAX).map_err(|e| e.to_string())?;
        let Body::Request(request) = envelope.body else {
            return Err("not a request frame".to_owned());
        };
        let delivery = Delivery {
            key: RequestKey::new(request.from.as_deref(), envelope.id),
            kind: DeliveryKind::Request {
                route: request.route,
                from: request.from,
            },
            headers: envelope.headers,
            payload: request.payload,
            deadline: None,
        };
        Ok(self
            .pool
            .deliver(delivery, &self.gateway, Instant::now())
            .and_then(answer))
    }

    /// The next reply settled through the supervisor's mailbox.
    ///
    /// # Errors
    /// When the pool stopped.
    pub async fn next_reply(&mut self) -> Result<String, String> {
        self.replies
            .recv()
            .await
            .ok_or_else(|| "the settle sink stopped".to_owned())
    }
}

impl Drop for DispatchBench {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

/// Stands in for the supervisor: encodes each settled outcome as its frame.
struct SettleSink {
    replies: mpsc::UnboundedSender<String>,
}

impl Actor for SettleSink {
    type Context = Context<Self>;
}

impl actix::Handler<Settle> for SettleSink {
    type Result = ();

    fn handle(&mut self, settle: Settle, _ctx: &mut Context<Self>) {
        if let Some(text) = answer(settle) {
            let _ = self.replies.send(text);
        }
    }
}

impl actix::Handler<Call> for SettleSink {
    type Result = ();

    fn handle(&mut self, call: Call, _ctx: &mut Context<Self>) {
        let _ = call.reply.send(Err(CallError::Stopped));
    }
}

impl actix::Handler<ForgetCall> for SettleSink {
    type Result = ();

    fn handle(&mut self, _forget: ForgetCall, _ctx: &mut Context<Self>) {}
}

impl actix::Handler<Publish> for SettleSink {
    type Result = Result<(), CallError>;

    fn handle(&mut self, _publish: Publish, _ctx: &mut Context<Self>) -> Self::Result {
        Err(CallError::Stopped)
    }
}

/// A request's settlement as its answer frame.
fn answer(settle: Settle) -> Option<String> {
    let envelope = match settle.outcome {
        Outcome::Reply(payload) => Envelope::reply_to(&settle.key.id, payload),
        Outcome::Failed(error) => Envelope::error(Some(&settle.key.id), error),
        Outcome::EventDone | Outcome::EventHeld => return None,
    };
    encode(&envelope).ok()
}
