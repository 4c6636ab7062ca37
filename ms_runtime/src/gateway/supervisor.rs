//! The supervisor actor: one websocket to the gateway, kept alive forever.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{CloseCode, CloseReason, Codec, Frame, Message as WsMessage};
use futures_util::SinkExt as _;
use futures_util::stream::{self, SplitSink, StreamExt};
use slog::{Logger, debug, error, info, warn};
use tokio::sync::{oneshot, watch};

use super::backoff::Backoff;
use super::connect::{self, ConnectError};
use super::dedup::{Dedup, Remembered, RequestKey};
use super::frame_limit::{FrameError, LimitedCodec};
use super::frames::{Incoming, Reassembly};
use super::outbox::Outbox;
use super::{
    Call, CallError, ConnectionState, ForgetCall, FrameText, Gateway, Outcome, Publish, Settle,
    Shutdown,
};
use crate::Secret;
use crate::clock;
use crate::config::Tuning;
use crate::dispatch::{Delivery, DeliveryKind, Dispatch, Lifecycle};
use crate::protocol::{
    Body, DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_FRAME_BYTES, Envelope, ErrorCode, Headers, Hello,
    MessageId, Payload, WireError, decode_shared, encode,
};

type WsSink = SplitSink<Framed<BoxedSocket, LimitedCodec>, WsMessage>;

/// How often the heartbeat and deadline checks run.
const TICK: Duration = Duration::from_millis(100);
/// Acks wait at most this long to be batched (the protocol allows 50 ms).
const ACK_DELAY: Duration = Duration::from_millis(20);
/// Bound of the supervisor's mailbox for handler calls and publishes.
const MAILBOX: usize = 4_096;
/// Acks sent at once when this many are waiting.
const ACK_BATCH: usize = 512;

/// What the supervisor needs to know to connect and say hello.
pub(crate) struct SupervisorSettings {
    /// The gateway node URLs; each connection attempt takes the next.
    pub(crate) urls: Vec<String>,
    pub(crate) authorization: Option<Secret>,
    pub(crate) hello: Hello,
    pub(crate) tuning: Tuning,
    pub(crate) tls: Arc<rustls::ClientConfig>,
}

/// One open websocket.
struct Connection {
    /// Frames to the writer task; dropping it closes the socket.
    out: tokio::sync::mpsc::UnboundedSender<WsMessage>,
    generation: u64,
    stream: SpawnHandle,
    /// Set by `welcome`: (session, heartbeat, frame limit).
    welcome: Option<(String, Duration, u64)>,
    opened_at: Instant,
    /// Whether this session, once welcomed, moved work forward (settled a
    /// delivery, got an answer or an ack): such a session resets the
    /// reconnect backoff when it ends, however short it was.
    progressed: bool,
    last_received: Instant,
    last_sent: Instant,
    reassembly: Reassembly,
    /// The frame limit the reader enforces; `welcome` may change it.
    frame_limit: Rc<Cell<usize>>,
}

/// Items of the connection's read stream, tagged with its generation so that
/// events of a connection already replaced are ignored.
enum StreamEvent {
    Frame(u64, Result<Frame, FrameError>),
    Ended(u64),
}

impl Message for StreamEvent {
    type Result = ();
}

pub(crate) struct Supervisor {
    settings: SupervisorSettings,
    log: Logger,
    client: Option<awc::Client>,
    dispatch: Box<dyn Dispatch>,
    /// The routes of `hello`, for the per-request check.
    routes: HashSet<String>,
    gateway: Option<Gateway>,
    state_tx: watch::Sender<ConnectionState>,
    conn: Option<Connection>,
    generation: u64,
    backoff: Backoff,
    auth_backoff: Backoff,
    outbox: Outbox,
    dedup: Dedup,
    /// Requests handed to handlers and not settled yet.
    in_flight: HashSet<RequestKey>,
    /// Requests received while draining: left unsettled, handed back on close.
    held: HashSet<RequestKey>,
    /// The trace id of each request in flight, for the settling frame.
    traces: HashMap<RequestKey, String>,
    /// Handed to the `Gateway` handles this actor makes.
    storage: super::Storage,
    calls: HashMap<MessageId, oneshot::Sender<Result<Payload, CallError>>>,
    acks: Vec<MessageId>,
    ack_timer: Option<SpawnHandle>,
    draining: Option<Draining>,
    stopping: bool,
}

struct Draining {
    handlers_until: Instant,
    flush_until: Instant,
    done: Option<oneshot::Sender<()>>,
}

impl Supervisor {
    pub(crate) fn new(
        settings: SupervisorSettings,
        log: Logger,
        dispatch: Box<dyn Dispatch>,
        state_tx: watch::Sender<ConnectionState>,
        storage: super::Storage,
    ) -> Self {
        let t = &settings.tuning;
        Self {
            backoff: Backoff::new(t.reconnect_initial, t.reconnect_max),
            auth_backoff: Backoff::new(t.auth_retry_initial, t.auth_retry_max).with_floor(0.5),
            outbox: Outbox::new(t.outbox_capacity),
            dedup: Dedup::new(t.dedup_window, t.dedup_capacity, t.dedup_max_bytes),
            routes: settings.hello.routes.iter().cloned().collect(),
            settings,
            log,
            client: None,
            dispatch,
            gateway: None,
            state_tx,
            conn: None,
            generation: 0,
            in_flight: HashSet::new(),
            held: HashSet::new(),
            traces: HashMap::new(),
            storage,
            calls: HashMap::new(),
            acks: Vec::new(),
            ack_timer: None,
            draining: None,
            stopping: false,
        }
    }

    /// Starts the actor on the current arbiter and returns its handle.
    pub(crate) fn start(
        settings: SupervisorSettings,
        log: Logger,
        dispatch: Box<dyn Dispatch>,
        storage: super::Storage,
    ) -> (Addr<Supervisor>, Gateway) {
        let (state_tx, state_rx) = watch::channel(ConnectionState::Connecting);
        let timeout = settings.tuning.request_timeout;
        let actor_storage = storage.clone();
        let addr = Supervisor::create(move |_ctx| {
            Supervisor::new(settings, log, dispatch, state_tx, actor_storage)
        });
        let gateway = Gateway::new(&addr, state_rx, timeout, storage);
        (addr, gateway)
    }

    fn set_state(&self, state: ConnectionState) {
        self.state_tx.send_replace(state);
    }

    /// The frame limit in force: the gateway's (or the protocol's default
    /// before `welcome`), capped by `Tuning::max_frame_bytes`.
    fn max_frame(&self) -> u64 {
        self.conn
            .as_ref()
            .and_then(|c| c.welcome.as_ref().map(|w| w.2))
            .unwrap_or(DEFAULT_MAX_FRAME_BYTES)
            .min(self.settings.tuning.max_frame_bytes)
    }

    fn is_welcomed(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.welcome.is_some())
    }

    // ---- connecting -------------------------------------------------------

    fn connect(&mut self, ctx: &mut Context<Self>) {
        if self.stopping || self.conn.is_some() {
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        self.set_state(ConnectionState::Connecting);
        let timeout = self.settings.tuning.connect_timeout;
        let client = self
            .client
            .get_or_insert_with(|| connect::client(self.settings.tls.clone(), timeout))
            .clone();
        // a cluster's nodes in turn: a dead node is left at the next attempt
        let turn = usize::try_from(generation.saturating_sub(1)).unwrap_or(0);
        let url = self
            .settings
            .urls
            .get(turn % self.settings.urls.len().max(1))
            .cloned()
            .unwrap_or_default();
        let authorization = self
            .settings
            .authorization
            .as_ref()
            .map(|s| s.expose().to_owned());
        let max_frame = DEFAULT_MAX_FRAME_BYTES as usize;
        debug!(self.log, "connecting"; "url" => &url);
        let opening = async move {
            match tokio::time::timeout(
                timeout,
                connect::open(&client, &url, authorization.as_deref(), max_frame),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => Err(ConnectError::Failed(format!(
                    "no websocket within {timeout:?}"
                ))),
            }
        };
        ctx.spawn(opening.into_actor(self).map(move |result, act, ctx| {
            if act.generation != generation || act.stopping {
                return;
            }
            match result {
                Ok(framed) => act.opened(framed, ctx),
                Err(ConnectError::Refused(status)) => {
                    let delay = act.auth_backoff.next_delay(fastrand::f64());
                    error!(act.log, "gateway refused the credentials; retrying on the slower schedule";
                        "status" => status, "retry_in_ms" => delay.as_millis() as u64,
                        "hint" => "check MS_USERNAME and MS_PASSWORD");
                    act.set_state(ConnectionState::Refused {
                        reason: format!("HTTP {status}"),
                    });
                    act.retry_after(delay, ctx);
                }
                Err(ConnectError::Failed(reason)) => {
                    let delay = act.backoff.next_delay(fastrand::f64());
                    warn!(act.log, "gateway unreachable"; "reason" => &reason, "retry_in_ms" => delay.as_millis() as u64);
                    act.set_state(ConnectionState::Disconnected { reason });
                    act.retry_after(delay, ctx);
                }
            }
        }));
    }

    fn retry_after(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        ctx.run_later(delay, |act, ctx| act.connect(ctx));
    }

    fn opened(&mut self, framed: Framed<BoxedSocket, Codec>, ctx: &mut Context<Self>) {
        let generation = self.generation;
        let frame_limit = Rc::new(Cell::new(limit_usize(
            DEFAULT_MAX_FRAME_BYTES.min(self.settings.tuning.max_frame_bytes),
        )));
        let shared = frame_limit.clone();
        let framed = framed.into_map_codec(move |codec| LimitedCodec::new(codec, shared.clone()));
        let (sink, stream) = framed.split();
        let events = stream
            .map(move |frame| StreamEvent::Frame(generation, frame))
            .chain(stream::once(async move { StreamEvent::Ended(generation) }));
        let stream = ctx.add_stream(events);
        let now = Instant::now();
        self.conn = Some(Connection {
            out: spawn_writer(sink),
            generation,
            stream,
            welcome: None,
            opened_at: now,
            progressed: false,
            last_received: now,
            last_sent: now,
            reassembly: Reassembly::default(),
            frame_limit,
        });
        let hello = Envelope::new(Body::Hello(self.settings.hello.clone()));
        self.write_envelope(&hello);
        // no welcome in time: drop and retry
        ctx.run_later(self.settings.tuning.connect_timeout, move |act, ctx| {
            if act
                .conn
                .as_ref()
                .is_some_and(|c| c.generation == generation && c.welcome.is_none())
            {
                act.lose_connection("no welcome in time", ctx);
            }
        });
    }

    fn welcomed(
        &mut self,
        session: String,
        heartbeat_ms: u64,
        max_frame: u64,
        ctx: &mut Context<Self>,
    ) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        conn.welcome = Some((
            session.clone(),
            Duration::from_millis(heartbeat_ms),
            max_frame,
        ));
        conn.frame_limit.set(limit_usize(
            max_frame.min(self.settings.tuning.max_frame_bytes),
        ));
        info!(self.log, "connected to the gateway"; "session" => &session, "heartbeat_ms" => heartbeat_ms,
            "resending" => self.outbox.len());
        self.set_state(ConnectionState::Connected { session });
        // everything not acknowledged goes again, same ids, oldest first
        let pending: Vec<FrameText> = self.outbox.pending().cloned().collect();
        for text in pending {
            self.write_text(&text);
        }
        self.flush_acks(ctx);
        if let Some(gateway) = &self.gateway {
            self.dispatch.lifecycle(Lifecycle::Connected, gateway);
        }
    }

    /// Closes the socket with `code` (after what is queued) and reconnects.
    fn close_and_reconnect(&mut self, code: CloseCode, reason: &str, ctx: &mut Context<Self>) {
        if let Some(conn) = &self.conn {
            let _ = conn.out.send(WsMessage::Close(Some(CloseReason {
                code,
                description: Some(reason.to_owned()),
            })));
        }
        self.lose_connection(reason, ctx);
    }

    fn lose_connection(&mut self, reason: &str, ctx: &mut Context<Self>) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        ctx.cancel_future(conn.stream);
        // dropping `conn.out` ends the writer task, which closes the socket
        let was_welcomed = conn.welcome.is_some();
        // A session that was welcomed and made progress was a good one, even
        // if the gateway cut it after a second: reconnect fast. One that died
        // before welcome or without progress keeps backing off (no tight loop
        // against a gateway that accepts and drops).
        if (was_welcomed && conn.progressed)
            || conn.opened_at.elapsed() >= self.settings.tuning.healthy_after
        {
            self.backoff.reset();
            self.auth_backoff.reset();
        }
        if self.stopping {
            return;
        }
        let delay = self.backoff.next_delay(fastrand::f64());
        warn!(self.log, "connection to the gateway lost"; "reason" => reason,
            "retry_in_ms" => delay.as_millis() as u64, "unacked" => self.outbox.len());
        self.set_state(ConnectionState::Disconnected {
            reason: reason.to_owned(),
        });
        if was_welcomed && let Some(gateway) = &self.gateway {
            self.dispatch.lifecycle(Lifecycle::Disconnected, gateway);
        }
        self.retry_after(delay, ctx);
    }

    // ---- writing ----------------------------------------------------------

    fn write_text(&mut self, text: &FrameText) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        conn.last_sent = Instant::now();
        conn.out.send(WsMessage::Text(text.clone())).is_ok()
    }

    fn write_envelope(&mut self, envelope: &Envelope) -> bool {
        match encode(envelope) {
            Ok(text) => self.write_text(&FrameText::from(text)),
            Err(e) => {
                error!(self.log, "frame could not be encoded"; "error" => %e);
                false
            }
        }
    }

    /// Keeps a frame until acked and sends it now if welcomed.
    fn send_reliably(
        &mut self,
        id: MessageId,
        text: FrameText,
        is_settlement: bool,
    ) -> Result<(), CallError> {
        let limit = self.max_frame();
        if text.len() as u64 > limit {
            return Err(CallError::PayloadTooLarge {
                size: text.len(),
                limit,
            });
        }
        if is_settlement {
            if let Some(dropped) = self.outbox.push_settlement(id, text.clone()) {
                error!(self.log, "outbox over twice its bound: oldest unacked frame dropped"; "frame_id" => %dropped);
            }
        } else {
            self.outbox
                .push_new(id, text.clone())
                .map_err(|_| CallError::Overloaded)?;
        }
        if self.is_welcomed() {
            self.write_text(&text);
        }
        Ok(())
    }

    fn queue_ack(&mut self, id: MessageId, ctx: &mut Context<Self>) {
        self.acks.push(id);
        if self.acks.len() >= ACK_BATCH {
            self.flush_acks(ctx);
        } else if self.ack_timer.is_none() {
            self.ack_timer = Some(ctx.run_later(ACK_DELAY, |act, ctx| {
                act.ack_timer = None;
                act.flush_acks(ctx);
            }));
        }
    }

    fn flush_acks(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.ack_timer.take() {
            ctx.cancel_future(timer);
        }
        if self.acks.is_empty() || !self.is_welcomed() {
            return;
        }
        let ids = std::mem::take(&mut self.acks);
        self.write_envelope(&Envelope::ack(ids));
    }

    // ---- reading ----------------------------------------------------------

    fn on_text(&mut self, text: &FrameText, ctx: &mut Context<Self>) {
        let envelope = match decode_shared(text, self.max_frame()) {
            Ok(envelope) => envelope,
            Err(e) => {
                warn!(self.log, "malformed frame from the gateway"; "error" => %e,
                    "frame_id" => e.id().map(ToString::to_string));
                self.write_envelope(&e.to_envelope());
                return;
            }
        };
        if !self.is_welcomed() {
            match envelope.body {
                Body::Welcome(w) => {
                    self.welcomed(w.session, w.heartbeat_ms, w.max_frame_bytes, ctx)
                }
                Body::Error(report) => {
                    let refused = matches!(
                        report.error.code,
                        ErrorCode::Forbidden | ErrorCode::Unauthorized
                    );
                    error!(self.log, "gateway refused the session"; "code" => %report.error.code,
                        "message" => &report.error.message);
                    if refused {
                        let delay = self.auth_backoff.next_delay(fastrand::f64());
                        self.set_state(ConnectionState::Refused {
                            reason: report.error.code.to_string(),
                        });
                        if let Some(conn) = self.conn.take() {
                            ctx.cancel_future(conn.stream);
                        }
                        self.retry_after(delay, ctx);
                    }
                }
                other => {
                    warn!(self.log, "frame before welcome ignored"; "kind" => %other.kind());
                }
            }
            return;
        }
        let Envelope { id, headers, body } = envelope;
        match body {
            Body::Request(request) => self.on_request(id, headers, request),
            Body::Event(event) => {
                if self.draining.is_some() {
                    // not acked: the gateway redelivers it elsewhere after we close
                    return;
                }
                self.deliver(
                    id,
                    DeliveryKind::Event { topic: event.topic },
                    headers,
                    event.payload,
                    None,
                );
            }
            Body::Reply(reply) => {
                self.queue_ack(id, ctx);
                if let Some(waiter) = self.calls.remove(&reply.correlation_id) {
                    let _ = waiter.send(Ok(reply.payload));
                    self.mark_progress();
                }
            }
            Body::Error(report) => {
                self.queue_ack(id, ctx);
                let Some(correlation) = report.correlation_id else {
                    warn!(self.log, "gateway reported an error"; "code" => %report.error.code,
                        "message" => &report.error.message);
                    return;
                };
                // an error about one of our frames answers it: stop resending
                let ours = self.outbox.ack(&correlation);
                if let Some(waiter) = self.calls.remove(&correlation) {
                    let _ = waiter.send(Err(CallError::Remote(report.error)));
                } else if ours {
                    error!(self.log, "gateway refused a frame"; "frame_id" => %correlation,
                        "code" => %report.error.code, "message" => &report.error.message);
                }
            }
            Body::Ack(ack) => {
                for id in &ack.ids {
                    self.outbox.ack(id);
                }
                self.mark_progress();
            }
            Body::Hello(_) | Body::Welcome(_) => {
                let e = WireError::new(
                    ErrorCode::BadRequest,
                    "hello and welcome only open a session",
                );
                self.write_envelope(&Envelope::error(Some(&id), e));
            }
        }
    }

    fn on_request(&mut self, id: MessageId, headers: Headers, request: crate::protocol::Request) {
        let now = Instant::now();
        let key = RequestKey::new(request.from.clone(), id);
        match self.dedup.answer(&key, now) {
            Some(Remembered::Answer(answer)) => {
                debug!(self.log, "redelivered request answered from memory"; "message_id" => %key.id);
                self.write_text(&answer);
                return;
            }
            Some(Remembered::Evicted) => {
                warn!(self.log, "redelivered request settled before, its answer no longer held: answered with an error";
                    "message_id" => %key.id);
                let mut error = WireError::new(
                    ErrorCode::Internal,
                    "this request was handled already and its answer is no longer held",
                );
                error.retryable = false;
                let mut reply_headers = Headers::new();
                if let Some(trace) = headers.trace_id() {
                    reply_headers.set_trace_id(trace);
                }
                self.write_envelope(
                    &Envelope::error(Some(&key.id), error).with_headers(reply_headers),
                );
                return;
            }
            None => {}
        }
        if self.in_flight.contains(&key) || self.held.contains(&key) {
            return;
        }
        if self.draining.is_some() {
            self.held.insert(key);
            return;
        }
        let refuse = |code: ErrorCode, message: String| Some(WireError::new(code, message));
        let refusal = if !self.routes.contains(&request.route) {
            refuse(
                ErrorCode::UnknownRoute,
                format!("route `{}` is not served here", request.route),
            )
        } else if self.in_flight.len() >= self.settings.hello.max_in_flight as usize {
            refuse(
                ErrorCode::Overloaded,
                "max_in_flight requests already running".to_owned(),
            )
        } else {
            None
        };
        if let Some(error) = refusal {
            let remember = error.code != ErrorCode::Overloaded;
            self.settle_request(
                key,
                headers.trace_id().map(str::to_owned),
                Err(error),
                remember,
            );
            return;
        }
        let deadline = headers.deadline_ms().map(clock::remaining);
        if deadline == Some(Duration::ZERO) {
            let error = WireError::new(
                ErrorCode::Timeout,
                "deadline passed before the request was handled",
            );
            self.settle_request(key, headers.trace_id().map(str::to_owned), Err(error), true);
            return;
        }
        if let Some(trace) = headers.trace_id() {
            self.traces.insert(key.clone(), trace.to_owned());
        }
        self.in_flight.insert(key.clone());
        let kind = DeliveryKind::Request {
            route: request.route,
            from: request.from,
        };
        self.deliver(key.id, kind, headers, request.payload, deadline);
    }

    fn deliver(
        &mut self,
        id: MessageId,
        kind: DeliveryKind,
        headers: Headers,
        payload: Payload,
        deadline: Option<Duration>,
    ) {
        let Some(gateway) = self.gateway.clone() else {
            return;
        };
        self.dispatch.deliver(
            Delivery {
                id,
                kind,
                headers,
                payload,
                deadline,
            },
            &gateway,
        );
    }

    /// Answers a request: keeps the answer for acks and for redeliveries.
    fn settle_request(
        &mut self,
        key: RequestKey,
        trace: Option<String>,
        result: Result<Payload, WireError>,
        remember: bool,
    ) {
        let id = &key.id;
        let mut headers = Headers::new();
        if let Some(trace) = trace {
            headers.set_trace_id(trace);
        }
        let envelope = match result {
            Ok(payload) => Envelope::reply_to(id, payload),
            Err(error) => Envelope::error(Some(id), error),
        }
        .with_headers(headers);
        let text: FrameText = match encode(&envelope) {
            Ok(text) => FrameText::from(text),
            Err(e) => {
                error!(self.log, "answer could not be encoded"; "message_id" => %id, "error" => %e);
                return;
            }
        };
        let text = if text.len() as u64 > self.max_frame() {
            warn!(self.log, "reply over the frame limit replaced by an error"; "message_id" => %id, "bytes" => text.len());
            let error = WireError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "reply of {} bytes is over the {}-byte frame limit",
                    text.len(),
                    self.max_frame()
                ),
            );
            match encode(&Envelope::error(Some(id), error).with_headers(envelope.headers.clone())) {
                Ok(t) => FrameText::from(t),
                Err(_) => return,
            }
        } else {
            text
        };
        if remember {
            self.dedup.remember(key, text.clone(), Instant::now());
        }
        let frame_id = envelope.id;
        // settlements are always accepted (bounded by max_in_flight upstream)
        let _ = self.send_reliably(frame_id, text, true);
    }

    /// Notes that the current session moved work forward.
    fn mark_progress(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && conn.welcome.is_some()
        {
            conn.progressed = true;
        }
    }

    fn on_settled(&mut self, key: RequestKey, outcome: Outcome, ctx: &mut Context<Self>) {
        if !matches!(outcome, Outcome::EventHeld) {
            self.mark_progress();
        }
        match outcome {
            Outcome::EventDone => self.queue_ack(key.id, ctx),
            Outcome::EventHeld => {
                warn!(self.log, "event left unacknowledged: the gateway delivers it again after this connection closes";
                    "message_id" => %key.id);
            }
            Outcome::Reply(payload) => {
                if self.in_flight.remove(&key) {
                    let trace = self.traces.remove(&key);
                    self.settle_request(key, trace, Ok(payload), true);
                }
            }
            Outcome::Failed(error) => {
                if self.in_flight.remove(&key) {
                    let trace = self.traces.remove(&key);
                    // timeouts and overloads are not the request's fault: a redelivery may run it
                    let remember =
                        !matches!(error.code, ErrorCode::Timeout | ErrorCode::Overloaded);
                    self.settle_request(key, trace, Err(error), remember);
                }
            }
        }
    }

    // ---- heartbeat and shutdown --------------------------------------------

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        if let Some(conn) = self.conn.as_mut() {
            let heartbeat = conn
                .welcome
                .as_ref()
                .map_or(Duration::from_millis(DEFAULT_HEARTBEAT_MS), |w| w.1);
            if now.duration_since(conn.last_received) >= heartbeat * 3 {
                self.lose_connection("no traffic for 3 heartbeat intervals", ctx);
            } else if now.duration_since(conn.last_sent) >= heartbeat {
                conn.last_sent = now;
                let _ = conn.out.send(WsMessage::Ping(bytes::Bytes::new()));
            }
        }
        self.check_drain(ctx);
    }

    fn check_drain(&mut self, ctx: &mut Context<Self>) {
        let Some((handlers_until, flush_until)) = self
            .draining
            .as_ref()
            .map(|d| (d.handlers_until, d.flush_until))
        else {
            return;
        };
        let now = Instant::now();
        let handlers_done = self.in_flight.is_empty() || now >= handlers_until;
        if !handlers_done {
            return;
        }
        if !self.in_flight.is_empty() {
            warn!(self.log, "grace period over: requests handed back to the gateway"; "count" => self.in_flight.len());
            let keys: Vec<RequestKey> = self.in_flight.drain().collect();
            self.held.extend(keys);
        }
        self.flush_acks(ctx);
        let flushed = self.outbox.is_empty() || !self.is_welcomed() || now >= flush_until;
        if !flushed {
            return;
        }
        if !self.outbox.is_empty() {
            warn!(self.log, "closing with unacknowledged frames"; "count" => self.outbox.len());
        }
        self.stopping = true;
        if let Some(conn) = self.conn.take() {
            let _ = conn.out.send(WsMessage::Close(Some(CloseReason {
                code: CloseCode::Away,
                description: Some("service shutting down".to_owned()),
            })));
        }
        info!(self.log, "disconnected from the gateway (shutdown)"; "handed_back" => self.held.len());
        self.set_state(ConnectionState::Stopped);
        for (_, waiter) in self.calls.drain() {
            let _ = waiter.send(Err(CallError::Stopped));
        }
        if let Some(done) = self.draining.as_mut().and_then(|d| d.done.take()) {
            let _ = done.send(());
        }
        ctx.stop();
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
            self.settings.tuning.request_timeout,
            self.storage.clone(),
        ));
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
        self.connect(ctx);
    }
}

impl StreamHandler<StreamEvent> for Supervisor {
    fn handle(&mut self, event: StreamEvent, ctx: &mut Self::Context) {
        let (generation, frame) = match event {
            StreamEvent::Ended(generation) => {
                if self
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.generation == generation)
                {
                    self.lose_connection("gateway closed the connection", ctx);
                }
                return;
            }
            StreamEvent::Frame(generation, frame) => (generation, frame),
        };
        let limit = self.max_frame() as usize;
        let Some(conn) = self.conn.as_mut().filter(|c| c.generation == generation) else {
            return;
        };
        conn.last_received = Instant::now();
        let frame = match frame {
            Ok(frame) => frame,
            Err(e @ FrameError::TooLarge { .. }) => {
                self.close_and_reconnect(CloseCode::Size, &e.to_string(), ctx);
                return;
            }
            Err(e) => {
                self.lose_connection(&e.to_string(), ctx);
                return;
            }
        };
        match conn.reassembly.accept(frame, limit) {
            Incoming::Text(bytes) => match FrameText::try_from(bytes) {
                Ok(text) => self.on_text(&text, ctx),
                Err(_) => {
                    let reason = "gateway sent a text frame that is not UTF-8";
                    self.close_and_reconnect(CloseCode::Invalid, reason, ctx);
                }
            },
            Incoming::Binary => {
                self.write_envelope(&crate::protocol::DecodeError::binary_frame().to_envelope());
            }
            Incoming::Ping(bytes) => {
                let _ = conn.out.send(WsMessage::Pong(bytes));
            }
            Incoming::Pong | Incoming::Partial => {}
            Incoming::Close => self.lose_connection("gateway sent close", ctx),
            Incoming::Invalid(reason) => {
                let e = WireError::new(ErrorCode::BadFrame, reason);
                self.write_envelope(&Envelope::error(None, e));
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {
        // each connection's stream ends with StreamEvent::Ended; the actor lives on
    }
}

impl Handler<Call> for Supervisor {
    type Result = ();

    fn handle(&mut self, call: Call, _ctx: &mut Self::Context) {
        if self.stopping || self.draining.is_some() {
            let _ = call.reply.send(Err(CallError::Stopped));
            return;
        }
        let id = call.envelope.id.clone();
        let text = match encode(&call.envelope) {
            Ok(text) => FrameText::from(text),
            Err(e) => {
                let _ = call.reply.send(Err(CallError::Payload(e.to_string())));
                return;
            }
        };
        match self.send_reliably(id.clone(), text, false) {
            Ok(()) => {
                self.calls.insert(id, call.reply);
            }
            Err(e) => {
                let _ = call.reply.send(Err(e));
            }
        }
    }
}

impl Handler<ForgetCall> for Supervisor {
    type Result = ();

    fn handle(&mut self, ForgetCall(id): ForgetCall, _ctx: &mut Self::Context) {
        self.calls.remove(&id);
    }
}

impl Handler<Publish> for Supervisor {
    type Result = Result<(), CallError>;

    fn handle(&mut self, Publish(envelope): Publish, _ctx: &mut Self::Context) -> Self::Result {
        if self.stopping {
            return Err(CallError::Stopped);
        }
        let text = encode(&envelope).map_err(|e| CallError::Payload(e.to_string()))?;
        let is_settlement = matches!(envelope.body, Body::Reply(_) | Body::Error(_));
        self.send_reliably(envelope.id, FrameText::from(text), is_settlement)
    }
}

impl Handler<Settle> for Supervisor {
    type Result = ();

    fn handle(&mut self, settle: Settle, ctx: &mut Self::Context) {
        self.on_settled(RequestKey::new(settle.from, settle.id), settle.outcome, ctx);
    }
}

impl Handler<Shutdown> for Supervisor {
    type Result = ();

    fn handle(&mut self, shutdown: Shutdown, ctx: &mut Self::Context) {
        if self.draining.is_some() {
            let _ = shutdown.done.send(());
            return;
        }
        let now = Instant::now();
        info!(self.log, "shutting down: no new work; waiting for handlers";
            "in_flight" => self.in_flight.len(), "grace_ms" => shutdown.grace.as_millis() as u64);
        self.draining = Some(Draining {
            handlers_until: now + shutdown.grace,
            flush_until: now + shutdown.grace + Duration::from_secs(5),
            done: Some(shutdown.done),
        });
        self.check_drain(ctx);
    }
}

/// The frame limit as a buffer size (a limit past `usize` is no limit).
fn limit_usize(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
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
