//! What arrives from the gateway, and how handed-out work settles.

use std::time::{Duration, Instant};

use slog::{debug, error, warn};

use super::super::dedup::{Remembered, RequestKey};
use super::super::port::{Delivery, DeliveryKind};
use super::super::{CallError, Outcome};
use super::{Action, FrameText, Running, Session};
use crate::protocol::{
    Body, Envelope, ErrorCode, Headers, MessageId, Payload, Request, WireError, decode_shared,
    encode,
};

impl Session {
    /// One whole text frame from the gateway.
    pub(super) fn on_text(&mut self, text: &FrameText, now: Instant) {
        let envelope = match decode_shared(text, self.max_frame()) {
            Ok(envelope) => envelope,
            Err(e) => {
                warn!(self.log, "malformed frame from the gateway"; "error" => %e,
                    "frame_id" => e.id().map(ToString::to_string));
                self.write_envelope(&e.to_envelope(), now);
                return;
            }
        };
        if !self.welcomed_link() {
            self.before_welcome(envelope.body, now);
            return;
        }
        let Envelope { id, headers, body } = envelope;
        match body {
            Body::Request(request) => self.on_request(id, headers, request, now),
            Body::Event(event) => {
                if self.draining.is_some() {
                    // not acked: the gateway redelivers it elsewhere after we close
                    return;
                }
                let kind = DeliveryKind::Event { topic: event.topic };
                self.deliver(RequestKey::event(id), kind, headers, event.payload, None);
            }
            Body::Reply(reply) => {
                self.queue_ack(id, now);
                if self.calls.remove(&reply.correlation_id) {
                    self.actions
                        .push_back(Action::Answer(reply.correlation_id, Ok(reply.payload)));
                    self.mark_progress();
                }
            }
            Body::Error(report) => {
                self.queue_ack(id, now);
                let Some(correlation) = report.correlation_id else {
                    warn!(self.log, "gateway reported an error"; "code" => %report.error.code,
                        "message" => &report.error.message);
                    return;
                };
                // an error about one of our frames answers it: stop resending
                let ours = self.outbox.ack(&correlation);
                if self.calls.remove(&correlation) {
                    let answer = Err(CallError::Remote(report.error));
                    self.actions.push_back(Action::Answer(correlation, answer));
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
                if self.draining.is_some() {
                    self.check_drain(now);
                }
            }
            Body::Hello(_) | Body::Welcome(_) => {
                let e = WireError::new(
                    ErrorCode::BadRequest,
                    "hello and welcome only open a session",
                );
                self.write_envelope(&Envelope::error(Some(&id), e), now);
            }
        }
    }

    /// Before `welcome` only `welcome` itself, or a refusal, means anything.
    fn before_welcome(&mut self, body: Body, now: Instant) {
        match body {
            Body::Welcome(w) => self.welcomed(w.session, w.heartbeat_ms, w.max_frame_bytes, now),
            Body::Error(report) => {
                error!(self.log, "gateway refused the session"; "code" => %report.error.code,
                    "message" => &report.error.message);
                if matches!(
                    report.error.code,
                    ErrorCode::Forbidden | ErrorCode::Unauthorized
                ) {
                    self.refused_before_welcome(report.error.code, now);
                }
            }
            other => {
                warn!(self.log, "frame before welcome ignored"; "kind" => %other.kind());
            }
        }
    }

    fn on_request(&mut self, id: MessageId, headers: Headers, request: Request, now: Instant) {
        let key = RequestKey::new(request.from.as_deref(), id);
        match self.dedup.answer(&key, now) {
            Some(Remembered::Answer(answer)) => {
                self.counts.dedup_hits += 1;
                debug!(self.log, "redelivered request answered from memory"; "message_id" => %key.id);
                self.write_text(answer, now);
                return;
            }
            Some(Remembered::Evicted) => {
                self.counts.dedup_hits += 1;
                warn!(self.log, "redelivered request settled before, its answer no longer held: answered with an error";
                    "message_id" => %key.id);
                let mut error = WireError::new(
                    ErrorCode::Internal,
                    "this request was handled already and its answer is no longer held",
                );
                error.retryable = false;
                let answer = Envelope::error(Some(&key.id), error)
                    .with_headers(trace_headers(headers.trace_id()));
                self.write_envelope(&answer, now);
                return;
            }
            None => {}
        }
        if let Some(running) = self.running.get_mut(&key) {
            // delivered again (after a reconnect): still running here, and
            // now outstanding on this connection
            if running.generation != self.generation {
                running.generation = self.generation;
                self.window.add(self.generation);
            }
            return;
        }
        if self.held.contains(&key) {
            return;
        }
        if self.draining.is_some() {
            self.held.insert(key);
            return;
        }
        let trace = headers.trace_id().map(str::to_owned);
        if let Some(error) = self.refusal(&request.route) {
            let remember = error.code != ErrorCode::Overloaded;
            self.settle_request(key, trace, Err(error), remember, now);
            return;
        }
        let deadline = headers.deadline_ms().map(ms_protocol::clock::remaining);
        if deadline == Some(Duration::ZERO) {
            let error = WireError::new(
                ErrorCode::Timeout,
                "deadline passed before the request was handled",
            );
            self.settle_request(key, trace, Err(error), true, now);
            return;
        }
        let generation = self.generation;
        self.running
            .insert(key.clone(), Running { trace, generation });
        self.window.add(generation);
        let kind = DeliveryKind::Request {
            route: request.route,
            from: request.from,
        };
        self.deliver(key, kind, headers, request.payload, deadline);
    }

    /// Why a request for `route` is refused now, if it is.
    fn refusal(&self, route: &str) -> Option<WireError> {
        if !self.routes.contains(route) {
            Some(WireError::new(
                ErrorCode::UnknownRoute,
                format!("route `{route}` is not served here"),
            ))
        } else if self.window.count(self.generation) >= self.hello.max_in_flight as usize {
            Some(WireError::new(
                ErrorCode::Overloaded,
                "max_in_flight requests already running",
            ))
        } else {
            None
        }
    }

    fn deliver(
        &mut self,
        key: RequestKey,
        kind: DeliveryKind,
        headers: Headers,
        payload: Payload,
        deadline: Option<Duration>,
    ) {
        self.actions.push_back(Action::Deliver(Delivery {
            key,
            kind,
            headers,
            payload,
            deadline,
        }));
    }

    /// A handler finished the delivery keyed `key`.
    pub(crate) fn on_settled(&mut self, key: RequestKey, outcome: Outcome, now: Instant) {
        if !matches!(outcome, Outcome::EventHeld) {
            self.mark_progress();
        }
        match outcome {
            Outcome::EventDone => self.queue_ack(key.id, now),
            Outcome::EventHeld => {
                warn!(self.log, "event left unacknowledged: the gateway delivers it again after this connection closes";
                    "message_id" => %key.id);
            }
            Outcome::Reply(payload) => {
                if let Some(running) = self.running.remove(&key) {
                    self.window.remove(running.generation);
                    self.settle_request(key, running.trace, Ok(payload), true, now);
                }
            }
            Outcome::Failed(error) => {
                if let Some(running) = self.running.remove(&key) {
                    self.window.remove(running.generation);
                    // timeouts and overloads are not the request's fault: a redelivery may run it
                    let remember =
                        !matches!(error.code, ErrorCode::Timeout | ErrorCode::Overloaded);
                    self.settle_request(key, running.trace, Err(error), remember, now);
                }
            }
        }
        if self.draining.is_some() {
            self.check_drain(now);
        }
    }

    /// Answers a request: keeps the answer for acks and for redeliveries.
    fn settle_request(
        &mut self,
        key: RequestKey,
        trace: Option<String>,
        result: Result<Payload, WireError>,
        remember: bool,
        now: Instant,
    ) {
        let id = &key.id;
        let envelope = match result {
            Ok(payload) => Envelope::reply_to(id, payload),
            Err(error) => Envelope::error(Some(id), error),
        }
        .with_headers(trace_headers(trace.as_deref()));
        let Some(text) = self.encode_answer(&envelope) else {
            return;
        };
        if remember {
            self.dedup.remember(key, text.clone(), now);
        }
        // settlements are always accepted (bounded by max_in_flight upstream)
        let _ = self.send_reliably(envelope.id, text, true, now);
    }

    /// The answer's frame; one over the frame limit becomes a
    /// `payload_too_large` error for the caller.
    fn encode_answer(&self, envelope: &Envelope) -> Option<FrameText> {
        let id = envelope.id.clone();
        let text = match encode(envelope) {
            Ok(text) => FrameText::from(text),
            Err(e) => {
                error!(self.log, "answer could not be encoded"; "message_id" => %id, "error" => %e);
                return None;
            }
        };
        let limit = self.max_frame();
        if text.len() as u64 <= limit {
            return Some(text);
        }
        let correlation = match &envelope.body {
            Body::Reply(reply) => reply.correlation_id.clone(),
            Body::Error(report) => report.correlation_id.clone()?,
            _ => return None,
        };
        warn!(self.log, "reply over the frame limit replaced by an error";
            "message_id" => %correlation, "bytes" => text.len());
        let error = WireError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "reply of {} bytes is over the {limit}-byte frame limit",
                text.len()
            ),
        );
        let mut replacement =
            Envelope::error(Some(&correlation), error).with_headers(envelope.headers.clone());
        replacement.id = id;
        encode(&replacement).ok().map(FrameText::from)
    }
}

/// Headers that carry only `trace` (if any): what an answer echoes.
fn trace_headers(trace: Option<&str>) -> Headers {
    let mut headers = Headers::new();
    if let Some(trace) = trace {
        headers.set_trace_id(trace);
    }
    headers
}
