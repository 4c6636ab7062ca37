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
mod link;
mod outbound;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use foldhash::{HashSet, HashSetExt as _};
use std::time::{Duration, Instant};

use actix_http::ws::CloseCode;
use bytes::Bytes;
use ms_protocol::{DEFAULT_HEARTBEAT, silence_limit};
use slog::{Logger, error};

use super::backoff::Backoff;
use super::dedup::{Dedup, KeyMap, KeySet};
use super::frames::Reassembly;
use super::outbox::Outbox;
use super::port::{Delivery, Lifecycle};
use super::{CallError, ConnectionState, FrameText};
use crate::config::Tuning;
use crate::metrics::SessionStats;
use crate::protocol::{DEFAULT_MAX_FRAME_BYTES, Envelope, Hello, MessageId, Payload, encode};

/// Acks wait at most this long to be batched (well inside the protocol's
/// [`MAX_ACK_DELAY`](ms_protocol::MAX_ACK_DELAY)).
const ACK_DELAY: Duration = Duration::from_millis(20);
/// The heartbeat the session accepts from `welcome`: 100 ms to 10 minutes.
const HEARTBEAT_MIN_MS: u64 = 100;
const HEARTBEAT_MAX_MS: u64 = 600_000;
const _: () = assert!(ACK_DELAY.as_millis() < ms_protocol::MAX_ACK_DELAY.as_millis());
/// Acks sent at once when this many are waiting.
const ACK_BATCH: usize = 512;

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
    /// The connection it is outstanding on, as the gateway counts it: the
    /// one that delivered it last.
    generation: u64,
}

/// How many running requests are outstanding on one connection: what
/// `max_in_flight` bounds (flow control is per connection, PROTOCOL.md
/// section 4). Handlers of an earlier connection that still run do not
/// count against a new one, whose gateway has granted its own window.
#[derive(Default)]
struct Window {
    generation: u64,
    count: usize,
}

impl Window {
    fn count(&self, generation: u64) -> usize {
        if self.generation == generation {
            self.count
        } else {
            0
        }
    }

    fn add(&mut self, generation: u64) {
        if self.generation != generation {
            *self = Self {
                generation,
                count: 0,
            };
        }
        self.count += 1;
    }

    fn remove(&mut self, generation: u64) {
        if self.generation == generation {
            self.count = self.count.saturating_sub(1);
        }
    }
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
    running: KeyMap<Running>,
    /// The running requests outstanding on the current connection.
    window: Window,
    /// Requests received while draining: left unsettled, handed back on close.
    held: KeySet,
    /// Calls waiting for a reply (the shell holds the waiters).
    calls: HashSet<MessageId>,
    acks: Vec<MessageId>,
    ack_due: Option<Instant>,
    draining: Option<drain::Draining>,
    stopped: bool,
    actions: VecDeque<Action>,
    /// The counters of [`Session::stats`].
    counts: SessionStats,
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
            running: KeyMap::default(),
            window: Window::default(),
            held: KeySet::default(),
            calls: HashSet::new(),
            acks: Vec::new(),
            ack_due: None,
            draining: None,
            stopped: false,
            actions: VecDeque::new(),
            counts: SessionStats::default(),
        }
    }

    /// The next thing the shell must do, oldest first.
    pub(crate) fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The figures the metrics show: the counters kept as things happen,
    /// the sizes read now.
    pub(crate) fn stats(&self) -> SessionStats {
        SessionStats {
            connected: self.welcomed_link(),
            outbox_frames: self.outbox.len() as u64,
            outbox_bytes: self.outbox.bytes() as u64,
            dedup_entries: self.dedup.len() as u64,
            ..self.counts
        }
    }

    /// The earliest instant at which [`Session::on_timeout`] has work to do.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let link = match &self.link {
            Link::Down { retry_at } => *retry_at,
            Link::Opening { .. } => None,
            Link::Open(open) => {
                // a peer may announce any heartbeat: past `Instant`'s range is never
                let heartbeat = open.heartbeat();
                let ping = open.last_sent.checked_add(heartbeat);
                let silent = open.last_received.checked_add(silence_limit(heartbeat));
                let welcome = open
                    .welcome
                    .is_none()
                    .then(|| open.opened_at.checked_add(self.tuning.connect_timeout))
                    .flatten();
                [ping, silent, welcome].into_iter().flatten().min()
            }
        };
        [link, self.ack_due, self.drain_due()]
            .into_iter()
            .flatten()
            .min()
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
            .map_or(DEFAULT_HEARTBEAT, |w| w.heartbeat)
    }
}
