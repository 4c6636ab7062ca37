//! The service's side of the protocol as a pure state machine.
//!
//! [`Session`] holds everything the protocol asks a service to remember
//! across frames and connections: the unacknowledged outbox, the dedup
//! memory, requests in flight and held, calls waiting for answers, batched
//! acks, heartbeats, reconnect backoff and the shutdown drain. It does no
//! I/O and reads no clock of its own: every input carries `now`, and what
//! must happen (open a socket, write a frame, hand a delivery to a handler,
//! answer a call) comes out as [`Action`]s, in order, from
//! [`Session::next_action`]. [`Session::poll_timeout`] says when to call
//! [`Session::on_timeout`] next.
//!
//! The supervisor actor (`supervisor.rs`) is the thin shell that owns the
//! socket, the timers and the call waiters, and feeds this machine. Unit
//! tests (`tests.rs`) drive it with plain `Instant`s.
//!
//! The machine's concerns, one file each: the connection's life here,
//! what arrives (`inbound.rs`), what leaves and must be acknowledged
//! (`outbound.rs`), and the shutdown drain (`drain.rs`).

mod drain;
mod inbound;
mod outbound;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use actix_http::ws::{CloseCode, Frame};
use bytes::Bytes;
use slog::{Logger, debug, error, info, warn};

use super::backoff::Backoff;
use super::dedup::{Dedup, RequestKey};
use super::frame_limit::FrameError;
use super::frames::{Incoming, Reassembly};
use super::outbox::Outbox;
use super::port::{Delivery, Lifecycle};
use super::{CallError, ConnectionState, FrameText};
use crate::config::Tuning;
use crate::protocol::{
    Body, DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_FRAME_BYTES, Envelope, ErrorCode, Hello, MessageId,
    Payload, WireError, encode,
};

/// Acks wait at most this long to be batched (the protocol allows 50 ms).
const ACK_DELAY: Duration = Duration::from_millis(20);
/// Acks sent at once when this many are waiting.
const ACK_BATCH: usize = 512;
/// A peer silent for this many heartbeat intervals is gone (protocol rule).
const MISSED_HEARTBEATS: u32 = 3;

/// What the shell must do, in the order the session decided it.
#[derive(Debug)]
pub(crate) enum Action {
    /// Open a websocket to `url`, then report `opened` or `connect_failed`
    /// with this `generation`.
    Connect { generation: u64, url: String },
    /// Write one text frame on the open socket.
    Send(FrameText),
    /// Write a ping.
    Ping,
    /// Answer a ping.
    Pong(Bytes),
    /// The largest frame the reader may now accept.
    FrameLimit(usize),
    /// Write a close frame (after what is queued), then drop the socket.
    Close(CloseCode, String),
    /// Drop the socket without a close frame.
    Drop,
    /// Publish the connection state to the service's watchers.
    State(ConnectionState),
    /// Hand a request or event to the dispatcher.
    Deliver(Delivery),
    /// Tell the dispatcher the session came up or went down.
    Lifecycle(Lifecycle),
    /// Answer the caller waiting on this call id.
    Answer(MessageId, Result<Payload, CallError>),
    /// Shutdown is complete: signal whoever waits, stop the shell.
    Stopped,
}

/// Why the shell could not open a websocket.
#[derive(Debug)]
pub(crate) enum ConnectFailure {
    /// The gateway answered the upgrade with 401/403 (this status).
    Refused(u16),
    /// Anything else: DNS, TCP, TLS, timeout, other HTTP statuses.
    Failed(String),
}

/// Where the session stands with its socket.
enum Link {
    /// No socket. Reconnect at `retry_at`; `None` once stopped.
    Down { retry_at: Option<Instant> },
    /// The shell is opening a socket for this generation.
    Opening { generation: u64 },
    /// A socket is open.
    Open(Open),
}

/// One open websocket, as the protocol sees it.
struct Open {
    generation: u64,
    welcome: Option<Welcome>,
    opened_at: Instant,
    /// Whether this session, once welcomed, moved work forward (settled a
    /// delivery, got an answer or an ack): such a session resets the
    /// reconnect backoff when it ends, however short it was.
    progressed: bool,
    last_received: Instant,
    last_sent: Instant,
    reassembly: Reassembly,
}

/// What `welcome` said.
struct Welcome {
    heartbeat: Duration,
    max_frame: u64,
}

/// A request handed to a handler and not settled yet.
struct Running {
    /// Its trace id, for the settling frame.
    trace: Option<String>,
}

/// The protocol state of one service's connection to the gateway.
pub(crate) struct Session {
    urls: Vec<String>,
    hello: Hello,
    /// The routes of `hello`, for the per-request check.
    routes: HashSet<String>,
    tuning: Tuning,
    log: Logger,
    rng: fastrand::Rng,
    link: Link,
    generation: u64,
    backoff: Backoff,
    auth_backoff: Backoff,
    outbox: Outbox,
    dedup: Dedup,
    running: HashMap<RequestKey, Running>,
    /// Requests received while draining: left unsettled, handed back on close.
    held: HashSet<RequestKey>,
    /// Calls waiting for a reply (the shell holds the waiters).
    calls: HashSet<MessageId>,
    acks: Vec<MessageId>,
    ack_due: Option<Instant>,
    draining: Option<drain::Draining>,
    stopped: bool,
    actions: VecDeque<Action>,
}

impl Session {
    /// A session that says `hello` to the gateway at `urls` (in turn, one
    /// per connection attempt); `rng` jitters the backoff.
    pub(crate) fn new(
        urls: Vec<String>,
        hello: Hello,
        tuning: Tuning,
        log: Logger,
        rng: fastrand::Rng,
    ) -> Self {
        let t = &tuning;
        Self {
            urls,
            routes: hello.routes.iter().cloned().collect(),
            hello,
            backoff: Backoff::new(t.reconnect_initial, t.reconnect_max),
            auth_backoff: Backoff::new(t.auth_retry_initial, t.auth_retry_max).with_floor(0.5),
            outbox: Outbox::new(t.outbox_capacity),
            dedup: Dedup::new(t.dedup_window, t.dedup_capacity, t.dedup_max_bytes),
            tuning,
            log,
            rng,
            link: Link::Down { retry_at: None },
            generation: 0,
            running: HashMap::new(),
            held: HashSet::new(),
            calls: HashSet::new(),
            acks: Vec::new(),
            ack_due: None,
            draining: None,
            stopped: false,
            actions: VecDeque::new(),
        }
    }

    /// The next thing the shell must do, oldest first.
    pub(crate) fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which [`Session::on_timeout`] has work to do.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let link = match &self.link {
            Link::Down { retry_at } => *retry_at,
            Link::Opening { .. } => None,
            Link::Open(open) => {
                let heartbeat = open.heartbeat();
                let mut due = (open.last_sent + heartbeat)
                    .min(open.last_received + heartbeat * MISSED_HEARTBEATS);
                if open.welcome.is_none() {
                    due = due.min(open.opened_at + self.tuning.connect_timeout);
                }
                Some(due)
            }
        };
        [link, self.ack_due, self.drain_due()]
            .into_iter()
            .flatten()
            .min()
    }

    // ---- the connection's life --------------------------------------------

    /// Starts connecting (the first attempt goes out at once).
    pub(crate) fn start(&mut self, now: Instant) {
        self.link = Link::Down {
            retry_at: Some(now),
        };
        self.connect();
    }

    fn connect(&mut self) {
        if self.stopped || !matches!(self.link, Link::Down { .. }) {
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        // a cluster's nodes in turn: a dead node is left at the next attempt
        let turn = usize::try_from(generation.saturating_sub(1)).unwrap_or(0);
        let url = self
            .urls
            .get(turn % self.urls.len().max(1))
            .cloned()
            .unwrap_or_default();
        debug!(self.log, "connecting"; "url" => &url);
        self.link = Link::Opening { generation };
        self.set_state(ConnectionState::Connecting);
        self.actions.push_back(Action::Connect { generation, url });
    }

    /// Whether the shell's socket for `generation` is still wanted.
    pub(crate) fn is_opening(&self, generation: u64) -> bool {
        matches!(self.link, Link::Opening { generation: g } if g == generation)
    }

    /// The shell opened the websocket of `generation`: say hello.
    pub(crate) fn opened(&mut self, generation: u64, now: Instant) {
        if !matches!(self.link, Link::Opening { generation: g } if g == generation) {
            // a socket nobody waits for any more
            self.actions.push_back(Action::Drop);
            return;
        }
        self.link = Link::Open(Open {
            generation,
            welcome: None,
            opened_at: now,
            progressed: false,
            last_received: now,
            last_sent: now,
            reassembly: Reassembly::default(),
        });
        self.actions
            .push_back(Action::FrameLimit(self.frame_limit_usize()));
        let hello = Envelope::new(Body::Hello(self.hello.clone()));
        self.write_envelope(&hello, now);
    }

    /// The shell could not open the websocket of `generation`.
    pub(crate) fn connect_failed(
        &mut self,
        generation: u64,
        failure: ConnectFailure,
        now: Instant,
    ) {
        if !matches!(self.link, Link::Opening { generation: g } if g == generation) {
            return;
        }
        match failure {
            ConnectFailure::Refused(status) => {
                let delay = self.auth_backoff.next_delay(self.rng.f64());
                error!(self.log, "gateway refused the credentials; retrying on the slower schedule";
                    "status" => status, "retry_in_ms" => delay.as_millis() as u64,
                    "hint" => "check MS_USERNAME and MS_PASSWORD");
                self.set_state(ConnectionState::Refused {
                    reason: format!("HTTP {status}"),
                });
                self.retry_in(delay, now);
            }
            ConnectFailure::Failed(reason) => {
                let delay = self.backoff.next_delay(self.rng.f64());
                warn!(self.log, "gateway unreachable"; "reason" => &reason,
                    "retry_in_ms" => delay.as_millis() as u64);
                self.set_state(ConnectionState::Disconnected { reason });
                self.retry_in(delay, now);
            }
        }
    }

    fn retry_in(&mut self, delay: Duration, now: Instant) {
        self.link = Link::Down {
            retry_at: (!self.stopped).then_some(now + delay),
        };
    }

    /// The socket of `generation` ended (read side closed or failed).
    pub(crate) fn closed(&mut self, generation: u64, now: Instant) {
        if self.open_generation() == Some(generation) {
            self.lose_connection("gateway closed the connection", now);
        }
    }

    /// One frame (or a read error) from the socket of `generation`.
    pub(crate) fn on_frame(
        &mut self,
        generation: u64,
        frame: Result<Frame, FrameError>,
        now: Instant,
    ) {
        let limit = self.frame_limit_usize();
        match &mut self.link {
            Link::Open(open) if open.generation == generation => open.last_received = now,
            _ => return,
        }
        let frame = match frame {
            Ok(frame) => frame,
            Err(e @ FrameError::TooLarge { .. }) => {
                self.close_and_reconnect(CloseCode::Size, &e.to_string(), now);
                return;
            }
            Err(e) => {
                self.lose_connection(&e.to_string(), now);
                return;
            }
        };
        let incoming = match &mut self.link {
            Link::Open(open) => open.reassembly.accept(frame, limit),
            _ => return,
        };
        match incoming {
            Incoming::Text(bytes) => match FrameText::try_from(bytes) {
                Ok(text) => self.on_text(&text, now),
                Err(_) => {
                    let reason = "gateway sent a text frame that is not UTF-8";
                    self.close_and_reconnect(CloseCode::Invalid, reason, now);
                }
            },
            Incoming::Binary => {
                let refusal = crate::protocol::DecodeError::binary_frame().to_envelope();
                self.write_envelope(&refusal, now);
            }
            Incoming::Ping(bytes) => {
                if let Link::Open(open) = &mut self.link {
                    open.last_sent = now;
                }
                self.actions.push_back(Action::Pong(bytes));
            }
            Incoming::Pong | Incoming::Partial => {}
            Incoming::Close => self.lose_connection("gateway sent close", now),
            Incoming::Invalid(reason) => {
                let e = WireError::new(ErrorCode::BadFrame, reason);
                self.write_envelope(&Envelope::error(None, e), now);
            }
        }
    }

    fn welcomed(&mut self, session: String, heartbeat_ms: u64, max_frame: u64, now: Instant) {
        let Link::Open(open) = &mut self.link else {
            return;
        };
        open.welcome = Some(Welcome {
            heartbeat: Duration::from_millis(heartbeat_ms),
            max_frame,
        });
        info!(self.log, "connected to the gateway"; "session" => &session,
            "heartbeat_ms" => heartbeat_ms, "resending" => self.outbox.len());
        self.actions
            .push_back(Action::FrameLimit(self.frame_limit_usize()));
        self.set_state(ConnectionState::Connected { session });
        // everything not acknowledged goes again, same ids, oldest first
        let pending: Vec<FrameText> = self.outbox.pending().cloned().collect();
        for text in pending {
            self.write_text(text, now);
        }
        self.flush_acks(now);
        self.actions
            .push_back(Action::Lifecycle(Lifecycle::Connected));
    }

    /// The gateway refused the session before `welcome` (an error frame).
    fn refused_before_welcome(&mut self, code: ErrorCode, now: Instant) {
        let delay = self.auth_backoff.next_delay(self.rng.f64());
        self.set_state(ConnectionState::Refused {
            reason: code.to_string(),
        });
        self.actions.push_back(Action::Drop);
        self.retry_in(delay, now);
    }

    /// Closes the socket with `code` (after what is queued) and reconnects.
    fn close_and_reconnect(&mut self, code: CloseCode, reason: &str, now: Instant) {
        if matches!(self.link, Link::Open(_)) {
            self.actions
                .push_back(Action::Close(code, reason.to_owned()));
        }
        self.lose_connection(reason, now);
    }

    fn lose_connection(&mut self, reason: &str, now: Instant) {
        let Link::Open(open) = std::mem::replace(&mut self.link, Link::Down { retry_at: None })
        else {
            return;
        };
        self.actions.push_back(Action::Drop);
        let was_welcomed = open.welcome.is_some();
        // A session that was welcomed and made progress was a good one, even
        // if the gateway cut it after a second: reconnect fast. One that died
        // before welcome or without progress keeps backing off (no tight loop
        // against a gateway that accepts and drops).
        if (was_welcomed && open.progressed)
            || now.duration_since(open.opened_at) >= self.tuning.healthy_after
        {
            self.backoff.reset();
            self.auth_backoff.reset();
        }
        if self.stopped {
            return;
        }
        let delay = self.backoff.next_delay(self.rng.f64());
        warn!(self.log, "connection to the gateway lost"; "reason" => reason,
            "retry_in_ms" => delay.as_millis() as u64, "unacked" => self.outbox.len());
        self.set_state(ConnectionState::Disconnected {
            reason: reason.to_owned(),
        });
        if was_welcomed {
            self.actions
                .push_back(Action::Lifecycle(Lifecycle::Disconnected));
        }
        self.retry_in(delay, now);
    }

    /// Time passed: reconnect, welcome deadline, heartbeat, acks, drain.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        let lost = match &mut self.link {
            Link::Down { retry_at: Some(at) } if *at <= now => {
                self.connect();
                None
            }
            Link::Open(open) => {
                let heartbeat = open.heartbeat();
                if open.welcome.is_none()
                    && now.duration_since(open.opened_at) >= self.tuning.connect_timeout
                {
                    Some("no welcome in time")
                } else if now.duration_since(open.last_received) >= heartbeat * MISSED_HEARTBEATS {
                    Some("no traffic for 3 heartbeat intervals")
                } else {
                    if now.duration_since(open.last_sent) >= heartbeat {
                        open.last_sent = now;
                        self.actions.push_back(Action::Ping);
                    }
                    None
                }
            }
            _ => None,
        };
        if let Some(reason) = lost {
            self.lose_connection(reason, now);
        }
        if self.ack_due.is_some_and(|due| due <= now) {
            self.flush_acks(now);
        }
        self.check_drain(now);
    }

    // ---- small helpers -----------------------------------------------------

    fn set_state(&mut self, state: ConnectionState) {
        self.actions.push_back(Action::State(state));
    }

    fn open_generation(&self) -> Option<u64> {
        match &self.link {
            Link::Open(open) => Some(open.generation),
            _ => None,
        }
    }

    fn welcomed_link(&self) -> bool {
        matches!(&self.link, Link::Open(open) if open.welcome.is_some())
    }

    /// The frame limit in force: the gateway's (or the protocol's default
    /// before `welcome`), capped by `Tuning::max_frame_bytes`.
    fn max_frame(&self) -> u64 {
        let gateway = match &self.link {
            Link::Open(Open {
                welcome: Some(w), ..
            }) => w.max_frame,
            _ => DEFAULT_MAX_FRAME_BYTES,
        };
        gateway.min(self.tuning.max_frame_bytes)
    }

    /// The frame limit as a buffer size (a limit past `usize` is no limit).
    fn frame_limit_usize(&self) -> usize {
        usize::try_from(self.max_frame()).unwrap_or(usize::MAX)
    }

    /// Notes that the current session moved work forward.
    fn mark_progress(&mut self) {
        if let Link::Open(open) = &mut self.link
            && open.welcome.is_some()
        {
            open.progressed = true;
        }
    }

    /// Writes a frame now if a socket is open (not kept for resending).
    fn write_text(&mut self, text: FrameText, now: Instant) -> bool {
        let Link::Open(open) = &mut self.link else {
            return false;
        };
        open.last_sent = now;
        self.actions.push_back(Action::Send(text));
        true
    }

    fn write_envelope(&mut self, envelope: &Envelope, now: Instant) -> bool {
        match encode(envelope) {
            Ok(text) => self.write_text(FrameText::from(text), now),
            Err(e) => {
                error!(self.log, "frame could not be encoded"; "error" => %e);
                false
            }
        }
    }
}

impl Open {
    /// The heartbeat interval in force (the protocol's default before `welcome`).
    fn heartbeat(&self) -> Duration {
        self.welcome
            .as_ref()
            .map_or(Duration::from_millis(DEFAULT_HEARTBEAT_MS), |w| w.heartbeat)
    }
}
