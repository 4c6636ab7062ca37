//! The connection's life: connect, hello, welcome, heartbeats, loss, retry.

use std::time::{Duration, Instant};

use actix_http::ws::{CloseCode, Frame};
use ms_protocol::peer_silent_too_long;
use slog::{debug, error, info, warn};

use super::super::frame_limit::FrameError;
use super::super::frames::{Incoming, Reassembly};
use super::super::port::Lifecycle;
use super::super::{ConnectionState, FrameText};
use super::{
    Action, ConnectFailure, HEARTBEAT_MAX_MS, HEARTBEAT_MIN_MS, Link, Open, Session, Welcome,
};
use crate::protocol::{Body, Envelope, ErrorCode, WireError};

impl Session {
    /// Starts connecting (the first attempt goes out at once).
    pub(crate) fn start(&mut self, now: Instant) {
        self.link = Link::Down {
            retry_at: Some(now),
        };
        self.connect();
    }

    pub(super) fn connect(&mut self) {
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
        self.counts.connect_failures += 1;
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

    pub(super) fn retry_in(&mut self, delay: Duration, now: Instant) {
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

    pub(super) fn welcomed(
        &mut self,
        session: String,
        heartbeat_ms: u64,
        max_frame: u64,
        now: Instant,
    ) {
        let Link::Open(open) = &mut self.link else {
            return;
        };
        open.welcome = Some(Welcome {
            // the gateway's choice, kept within sane bounds: 0 would ping
            // in a tight loop, u64::MAX would never notice a dead peer
            heartbeat: Duration::from_millis(
                heartbeat_ms.clamp(HEARTBEAT_MIN_MS, HEARTBEAT_MAX_MS),
            ),
            max_frame,
        });
        self.counts.sessions += 1;
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
    pub(super) fn refused_before_welcome(&mut self, code: ErrorCode, now: Instant) {
        self.counts.connect_failures += 1;
        let delay = self.auth_backoff.next_delay(self.rng.f64());
        self.set_state(ConnectionState::Refused {
            reason: code.to_string(),
        });
        self.actions.push_back(Action::Drop);
        self.retry_in(delay, now);
    }

    /// Closes the socket with `code` (after what is queued) and reconnects.
    pub(super) fn close_and_reconnect(&mut self, code: CloseCode, reason: &str, now: Instant) {
        if matches!(self.link, Link::Open(_)) {
            self.actions
                .push_back(Action::Close(code, reason.to_owned()));
        }
        self.lose_connection(reason, now);
    }

    pub(super) fn lose_connection(&mut self, reason: &str, now: Instant) {
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
                } else if peer_silent_too_long(now.duration_since(open.last_received), heartbeat) {
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
}
