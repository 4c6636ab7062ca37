//! What leaves for the gateway: frames kept until acknowledged, and acks.

use std::time::Instant;

use slog::error;

use super::{ACK_BATCH, ACK_DELAY, FrameText, Session};
use crate::gateway::CallError;
use crate::protocol::{Body, Envelope, MessageId, encode};

impl Session {
    /// A handler's call to another service: kept until answered or acked.
    /// On `Ok` the shell keeps the caller's waiter under the envelope's id.
    pub(crate) fn call(&mut self, envelope: &Envelope, now: Instant) -> Result<(), CallError> {
        if self.stopped || self.draining.is_some() {
            return Err(CallError::Stopped);
        }
        let text = encode(envelope).map_err(|e| CallError::Payload(e.to_string()))?;
        self.send_reliably(envelope.id.clone(), FrameText::from(text), false, now)?;
        self.calls.insert(envelope.id.clone());
        Ok(())
    }

    /// The caller stopped waiting for the call `id` (timeout, dropped).
    pub(crate) fn forget_call(&mut self, id: &MessageId) {
        self.calls.remove(id);
    }

    /// A frame a handler sends without waiting for an answer: an event, or
    /// a reply sent by hand through the low-level client.
    pub(crate) fn publish(&mut self, envelope: &Envelope, now: Instant) -> Result<(), CallError> {
        if self.stopped {
            return Err(CallError::Stopped);
        }
        let text = encode(envelope).map_err(|e| CallError::Payload(e.to_string()))?;
        let is_settlement = matches!(envelope.body, Body::Reply(_) | Body::Error(_));
        self.send_reliably(
            envelope.id.clone(),
            FrameText::from(text),
            is_settlement,
            now,
        )
    }

    /// Keeps a frame until acked and sends it now if welcomed.
    pub(super) fn send_reliably(
        &mut self,
        id: MessageId,
        text: FrameText,
        is_settlement: bool,
        now: Instant,
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
        if self.welcomed_link() {
            self.write_text(text, now);
        }
        Ok(())
    }

    /// Acknowledges `id` soon: acks are batched for up to `ACK_DELAY`.
    pub(super) fn queue_ack(&mut self, id: MessageId, now: Instant) {
        self.acks.push(id);
        if self.acks.len() >= ACK_BATCH {
            self.flush_acks(now);
        } else if self.ack_due.is_none() {
            self.ack_due = Some(now + ACK_DELAY);
        }
    }

    /// Sends the waiting acks now, if a session is up to take them.
    pub(super) fn flush_acks(&mut self, now: Instant) {
        self.ack_due = None;
        if self.acks.is_empty() || !self.welcomed_link() {
            return;
        }
        let ids = std::mem::take(&mut self.acks);
        self.write_envelope(&Envelope::ack(ids), now);
    }
}
