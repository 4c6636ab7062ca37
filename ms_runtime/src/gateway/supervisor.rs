//! The supervisor actor: the I/O shell around the protocol [`Session`].
//!
//! It opens websockets, feeds their frames to the session, writes what the
//! session says to write, keeps one timer at the session's next deadline,
//! holds the waiters of handlers' calls, and hands deliveries to the
//! dispatcher. Every protocol decision is the session's (`session/`).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{CloseReason, Codec, Frame, Message as WsMessage};
use foldhash::{HashMap, HashMapExt as _};
use futures_util::SinkExt as _;
use futures_util::stream::{self, SplitSink, StreamExt};
use slog::Logger;
use tokio::sync::{oneshot, watch};

use super::connect::{self, ConnectError};
use super::frame_limit::{FrameError, LimitedCodec};
use super::port::Dispatch;
use super::session::{Action, ConnectFailure, Session};
use super::{
    Call, CallError, ConnectionState, ForgetCall, Gateway, Publish, Settle, Shutdown, Storage,
};
use crate::Secret;
use crate::config::Tuning;
use crate::metrics::StatsCell;
use crate::protocol::{DEFAULT_MAX_FRAME_BYTES, Hello, MessageId, Payload};

type WsSink = SplitSink<Framed<BoxedSocket, LimitedCodec>, WsMessage>;

/// Bound of the supervisor's mailbox for handler calls and publishes.
const MAILBOX: usize = 4_096;

/// What the supervisor needs to know to connect and say hello.
pub(crate) struct SupervisorSettings {
    /// The gateway node URLs; each connection attempt takes the next.
    pub(crate) urls: Vec<String>,
    pub(crate) authorization: Option<Secret>,
    pub(crate) hello: Hello,
    pub(crate) tuning: Tuning,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// Where the session's figures go after every step, for the metrics.
    pub(crate) stats: Arc<StatsCell>,
}

/// The open socket's I/O ends.
struct Socket {
    generation: u64,
    /// Frames to the writer task; dropping it closes the socket.
    out: tokio::sync::mpsc::UnboundedSender<WsMessage>,
    stream: SpawnHandle,
    /// The frame limit the reader enforces; the session may change it.
    frame_limit: Rc<Cell<usize>>,
}

/// Items of a socket's read stream, tagged with its generation so that
/// events of a socket already replaced are ignored by the session.
enum StreamEvent {
    Frame(u64, Result<Frame, FrameError>),
    Ended(u64),
}

impl Message for StreamEvent {
    type Result = ();
}

pub(crate) struct Supervisor {
    session: Session,
    authorization: Option<Secret>,
    tls: Arc<rustls::ClientConfig>,
    tuning: Tuning,
    client: Option<awc::Client>,
    dispatch: Box<dyn Dispatch>,
    gateway: Option<Gateway>,
    state_tx: watch::Sender<ConnectionState>,
    storage: Storage,
    socket: Option<Socket>,
    calls: HashMap<MessageId, oneshot::Sender<Result<Payload, CallError>>>,
    /// Who waits for the shutdown to finish.
    stopped_waiters: Vec<oneshot::Sender<()>>,
    /// The one timer: when it fires, and its handle.
    wake: Option<(Instant, SpawnHandle)>,
    /// The session's figures, published for scrapes.
    stats: Arc<StatsCell>,
}

impl Supervisor {
    /// Starts the actor on the current arbiter and returns its handle.
    pub(crate) fn start(
        settings: SupervisorSettings,
        log: Logger,
        dispatch: Box<dyn Dispatch>,
        storage: Storage,
    ) -> (Addr<Supervisor>, Gateway) {
        let (state_tx, state_rx) = watch::channel(ConnectionState::Connecting);
        let timeout = settings.tuning.request_timeout;
        let actor_storage = storage.clone();
        let addr = Supervisor::create(move |_ctx| {
            let SupervisorSettings {
                urls,
                authorization,
                hello,
                tuning,
                tls,
                stats,
            } = settings;
            Supervisor {
                session: Session::new(urls, hello, tuning.clone(), log, fastrand::Rng::new()),
                authorization,
                tls,
                tuning,
                client: None,
                dispatch,
                gateway: None,
                state_tx,
                storage: actor_storage,
                socket: None,
                calls: HashMap::new(),
                stopped_waiters: Vec::new(),
                wake: None,
                stats,
            }
        });
        let gateway = Gateway::new(&addr, state_rx, timeout, storage);
        (addr, gateway)
    }

    /// Carries out what the session decided at `now`, then re-arms the timer.
    fn pump(&mut self, ctx: &mut Context<Self>, now: Instant) {
        while let Some(action) = self.session.next_action() {
            self.perform(action, ctx, now);
        }
        self.stats.store(&self.session.stats());
        self.arm_timer(ctx);
    }

    fn perform(&mut self, action: Action, ctx: &mut Context<Self>, now: Instant) {
        match action {
            Action::Connect { generation, url } => self.open(generation, url, ctx),
            Action::Send(text) => self.write(WsMessage::Text(text)),
            Action::Ping => self.write(WsMessage::Ping(bytes::Bytes::new())),
            Action::Pong(bytes) => self.write(WsMessage::Pong(bytes)),
            Action::FrameLimit(limit) => {
                if let Some(socket) = &self.socket {
                    socket.frame_limit.set(limit);
                }
            }
            Action::Close(code, reason) => {
                self.write(WsMessage::Close(Some(CloseReason {
                    code,
                    description: Some(reason),
                })));
                self.drop_socket(ctx);
            }
            Action::Drop => self.drop_socket(ctx),
            Action::State(state) => {
                self.state_tx.send_replace(state);
            }
            Action::Deliver(delivery) => {
                let Some(gateway) = &self.gateway else {
                    return;
                };
                // a handler that ended at once settles here, without a message
                if let Some(settled) = self.dispatch.deliver(delivery, gateway, now) {
                    self.session.on_settled(settled.key, settled.outcome, now);
                }
            }
            Action::Lifecycle(event) => {
                if let Some(gateway) = &self.gateway {
                    self.dispatch.lifecycle(event, gateway);
                }
            }
            Action::Answer(id, result) => {
                if let Some(waiter) = self.calls.remove(&id) {
                    let _ = waiter.send(result);
                }
            }
            Action::Stopped => {
                for (_, waiter) in self.calls.drain() {
                    let _ = waiter.send(Err(CallError::Stopped));
                }
                for done in self.stopped_waiters.drain(..) {
                    let _ = done.send(());
                }
                ctx.stop();
            }
        }
    }

    /// Keeps one timer, at the session's earliest deadline.
    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        let Some(due) = self.session.poll_timeout() else {
            return;
        };
        if let Some((at, handle)) = self.wake {
            if at <= due {
                return;
            }
            ctx.cancel_future(handle);
        }
        let delay = due.saturating_duration_since(Instant::now());
        let handle = ctx.run_later(delay, |act, ctx| {
            act.wake = None;
            let now = Instant::now();
            act.session.on_timeout(now);
            act.pump(ctx, now);
        });
        self.wake = Some((due, handle));
    }

    fn write(&mut self, message: WsMessage) {
        if let Some(socket) = &self.socket {
            let _ = socket.out.send(message);
        }
    }

    fn drop_socket(&mut self, ctx: &mut Context<Self>) {
        // dropping `out` ends the writer task, which closes the socket
        if let Some(socket) = self.socket.take() {
            ctx.cancel_future(socket.stream);
        }
    }

    /// Opens a websocket for `generation` and reports back to the session.
    fn open(&mut self, generation: u64, url: String, ctx: &mut Context<Self>) {
        let timeout = self.tuning.connect_timeout;
        let client = self
            .client
            .get_or_insert_with(|| connect::client(self.tls.clone(), timeout))
            .clone();
        let authorization = self.authorization.as_ref().map(|s| s.expose().to_owned());
        let max_frame = DEFAULT_MAX_FRAME_BYTES as usize;
        let opening = async move {
            let open = connect::open(&client, &url, authorization.as_deref(), max_frame);
            match tokio::time::timeout(timeout, open).await {
                Ok(result) => result,
                Err(_) => Err(ConnectError::Failed(format!(
                    "no websocket within {timeout:?}"
                ))),
            }
        };
        ctx.spawn(opening.into_actor(self).map(move |result, act, ctx| {
            let now = Instant::now();
            match result {
                Ok(framed) if act.session.is_opening(generation) => {
                    act.attach(generation, framed, ctx);
                    act.session.opened(generation, now);
                }
                Ok(_stale) => {}
                Err(ConnectError::Refused(status)) => {
                    act.session
                        .connect_failed(generation, ConnectFailure::Refused(status), now);
                }
                Err(ConnectError::Failed(reason)) => {
                    act.session
                        .connect_failed(generation, ConnectFailure::Failed(reason), now);
                }
            }
            act.pump(ctx, now);
        }));
    }

    /// Wires an opened websocket: a bounded reader stream into this actor,
    /// a writer task fed by a channel.
    fn attach(
        &mut self,
        generation: u64,
        framed: Framed<BoxedSocket, Codec>,
        ctx: &mut Context<Self>,
    ) {
        self.drop_socket(ctx);
        let frame_limit = Rc::new(Cell::new(DEFAULT_MAX_FRAME_BYTES as usize));
        let shared = frame_limit.clone();
        let framed = framed.into_map_codec(move |codec| LimitedCodec::new(codec, shared.clone()));
        let (sink, stream) = framed.split();
        let events = stream
            .map(move |frame| StreamEvent::Frame(generation, frame))
            .chain(stream::once(async move { StreamEvent::Ended(generation) }));
        let stream = ctx.add_stream(events);
        self.socket = Some(Socket {
            generation,
            out: spawn_writer(sink),
            stream,
            frame_limit,
        });
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Settlements arrive with do_send, which ignores this bound (they are
        // bounded upstream by max_in_flight); calls and publishes from
        // handlers wait or fail past it.
        ctx.set_mailbox_capacity(MAILBOX);
        self.gateway = Some(Gateway::new(
            &ctx.address(),
            self.state_tx.subscribe(),
            self.tuning.request_timeout,
            self.storage.clone(),
        ));
        let now = Instant::now();
        self.session.start(now);
        self.pump(ctx, now);
    }
}

impl StreamHandler<StreamEvent> for Supervisor {
    fn handle(&mut self, event: StreamEvent, ctx: &mut Self::Context) {
        let now = Instant::now();
        match event {
            StreamEvent::Frame(generation, frame) => self.session.on_frame(generation, frame, now),
            StreamEvent::Ended(generation) => {
                if self
                    .socket
                    .as_ref()
                    .is_some_and(|s| s.generation == generation)
                {
                    self.socket = None;
                }
                self.session.closed(generation, now);
            }
        }
        self.pump(ctx, now);
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {
        // each socket's stream ends with StreamEvent::Ended; the actor lives on
    }
}

impl Handler<Call> for Supervisor {
    type Result = ();

    fn handle(&mut self, call: Call, ctx: &mut Self::Context) {
        let now = Instant::now();
        match self.session.call(&call.envelope, now) {
            Ok(()) => {
                self.calls.insert(call.envelope.id, call.reply);
            }
            Err(e) => {
                let _ = call.reply.send(Err(e));
            }
        }
        self.pump(ctx, now);
    }
}

impl Handler<ForgetCall> for Supervisor {
    type Result = ();

    fn handle(&mut self, ForgetCall(id): ForgetCall, _ctx: &mut Self::Context) {
        self.session.forget_call(&id);
        self.calls.remove(&id);
    }
}

impl Handler<Publish> for Supervisor {
    type Result = Result<(), CallError>;

    fn handle(&mut self, Publish(envelope): Publish, ctx: &mut Self::Context) -> Self::Result {
        let now = Instant::now();
        let result = self.session.publish(&envelope, now);
        self.pump(ctx, now);
        result
    }
}

impl Handler<Settle> for Supervisor {
    type Result = ();

    fn handle(&mut self, settle: Settle, ctx: &mut Self::Context) {
        let now = Instant::now();
        self.session.on_settled(settle.key, settle.outcome, now);
        self.pump(ctx, now);
    }
}

impl Handler<Shutdown> for Supervisor {
    type Result = ();

    fn handle(&mut self, shutdown: Shutdown, ctx: &mut Self::Context) {
        let now = Instant::now();
        if self.session.shutdown(shutdown.grace, now) {
            self.stopped_waiters.push(shutdown.done);
        } else {
            let _ = shutdown.done.send(());
        }
        self.pump(ctx, now);
    }
}

/// Writes frames in order on its own task: each burst is fed to the socket
/// and flushed once. Ends, closing the socket, when the sender is dropped or
/// a write fails (the read side then reports the lost connection).
fn spawn_writer(mut sink: WsSink) -> tokio::sync::mpsc::UnboundedSender<WsMessage> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<WsMessage>();
    actix_rt::spawn(async move {
        while let Some(message) = rx.recv().await {
            let closing = matches!(message, WsMessage::Close(_));
            if sink.feed(message).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    tx
}
