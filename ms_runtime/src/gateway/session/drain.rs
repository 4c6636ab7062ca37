//! Shutdown: no new work, handlers get a grace period, the outbox a flush.

use std::time::{Duration, Instant};

use actix_http::ws::CloseCode;
use slog::{info, warn};

use super::{Action, Link, Session};
use crate::gateway::{CallError, ConnectionState};

/// How long unacknowledged frames may still be flushed after the grace.
const FLUSH_AFTER_GRACE: Duration = Duration::from_secs(5);

/// The deadlines of a shutdown in progress.
pub(super) struct Draining {
    handlers_until: Instant,
    flush_until: Instant,
}

impl Session {
    /// Stop taking work; close once handlers are done (or `grace` passed)
    /// and the outbox is acknowledged (or 5 s more passed).
    /// Returns `false` if a shutdown was already under way.
    pub(crate) fn shutdown(&mut self, grace: Duration, now: Instant) -> bool {
        if self.draining.is_some() || self.stopped {
            return false;
        }
        info!(self.log, "shutting down: no new work; waiting for handlers";
            "in_flight" => self.running.len(), "grace_ms" => grace.as_millis() as u64);
        self.draining = Some(Draining {
            handlers_until: now + grace,
            flush_until: now + grace + FLUSH_AFTER_GRACE,
        });
        self.check_drain(now);
        true
    }

    /// The next drain deadline, while draining.
    pub(super) fn drain_due(&self) -> Option<Instant> {
        let d = self.draining.as_ref().filter(|_| !self.stopped)?;
        Some(if self.running.is_empty() {
            d.flush_until
        } else {
            d.handlers_until
        })
    }

    pub(super) fn check_drain(&mut self, now: Instant) {
        let Some((handlers_until, flush_until)) = self
            .draining
            .as_ref()
            .map(|d| (d.handlers_until, d.flush_until))
        else {
            return;
        };
        if self.stopped || (!self.running.is_empty() && now < handlers_until) {
            return;
        }
        if !self.running.is_empty() {
            warn!(self.log, "grace period over: requests handed back to the gateway";
                "count" => self.running.len());
            let keys: Vec<_> = self.running.drain().map(|(key, _)| key).collect();
            self.window = super::Window::default();
            self.held.extend(keys);
        }
        self.flush_acks(now);
        let flushed = self.outbox.is_empty() || !self.welcomed_link() || now >= flush_until;
        if !flushed {
            return;
        }
        if !self.outbox.is_empty() {
            warn!(self.log, "closing with unacknowledged frames"; "count" => self.outbox.len());
        }
        self.stopped = true;
        if matches!(self.link, Link::Open(_)) {
            let reason = "service shutting down".to_owned();
            self.actions
                .push_back(Action::Close(CloseCode::Away, reason));
        }
        self.link = Link::Down { retry_at: None };
        info!(self.log, "disconnected from the gateway (shutdown)"; "handed_back" => self.held.len());
        self.set_state(ConnectionState::Stopped);
        let calls: Vec<_> = self.calls.drain().collect();
        for id in calls {
            self.actions
                .push_back(Action::Answer(id, Err(CallError::Stopped)));
        }
        self.actions.push_back(Action::Stopped);
    }
}
