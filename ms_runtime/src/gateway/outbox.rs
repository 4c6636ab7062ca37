//! Frames sent to the gateway and not yet acknowledged.

use std::collections::VecDeque;

use foldhash::{HashMap, HashMapExt as _};

use super::FrameText;
use crate::protocol::MessageId;

/// Unacknowledged frames in the order they were first sent, to be sent again
/// after a reconnect.
///
/// Bound: `capacity` frames for what a handler starts (`request`, `publish`);
/// replies and errors settle requests the gateway already handed over, so
/// they are taken up to twice the bound, after which the oldest frame is
/// dropped (the gateway then redelivers or times out the request).
pub(crate) struct Outbox {
    order: VecDeque<MessageId>,
    frames: HashMap<MessageId, FrameText>,
    capacity: usize,
    /// Total length of `frames`.
    bytes: usize,
}

/// The outbox is at its bound for new work.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OutboxFull;

impl Outbox {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            order: VecDeque::new(),
            frames: HashMap::new(),
            capacity: capacity.max(1),
            bytes: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Total size of the kept frames.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Keeps a frame that starts new work; refused at the bound.
    pub(crate) fn push_new(&mut self, id: MessageId, text: FrameText) -> Result<(), OutboxFull> {
        if self.frames.len() >= self.capacity {
            return Err(OutboxFull);
        }
        self.insert(id, text);
        Ok(())
    }

    /// Keeps a reply or error; past twice the bound the oldest frame is
    /// dropped and returned so the caller can log it.
    pub(crate) fn push_settlement(&mut self, id: MessageId, text: FrameText) -> Option<MessageId> {
        let dropped = if self.frames.len() >= self.capacity.saturating_mul(2) {
            self.pop_oldest()
        } else {
            None
        };
        self.insert(id, text);
        dropped
    }

    fn insert(&mut self, id: MessageId, text: FrameText) {
        self.bytes += text.len();
        match self.frames.insert(id.clone(), text) {
            None => self.order.push_back(id),
            Some(replaced) => self.bytes -= replaced.len(),
        }
    }

    fn pop_oldest(&mut self) -> Option<MessageId> {
        while let Some(id) = self.order.pop_front() {
            if let Some(text) = self.frames.remove(&id) {
                self.bytes -= text.len();
                return Some(id);
            }
        }
        None
    }

    /// Forgets an acknowledged frame; false when it was not kept (a duplicate ack).
    pub(crate) fn ack(&mut self, id: &MessageId) -> bool {
        let known = match self.frames.remove(id) {
            Some(text) => {
                self.bytes -= text.len();
                true
            }
            None => false,
        };
        // acks mostly come oldest first: drop settled ids from the front
        while self
            .order
            .front()
            .is_some_and(|front| !self.frames.contains_key(front))
        {
            self.order.pop_front();
        }
        // stale ids further in are skipped lazily; compact when they dominate
        if self.order.len() > 2 * self.frames.len() + 64 {
            let frames = &self.frames;
            self.order.retain(|id| frames.contains_key(id));
        }
        known
    }

    /// Every kept frame, oldest first.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &FrameText> {
        self.order.iter().filter_map(|id| self.frames.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> MessageId {
        MessageId::new(format!("m{n}")).unwrap()
    }

    fn text(n: u32) -> FrameText {
        FrameText::from(format!("frame {n}"))
    }

    #[test]
    fn pending_frames_keep_their_order_and_acks_remove_them() {
        let mut o = Outbox::new(10);
        for n in 0..5 {
            o.push_new(id(n), text(n)).unwrap();
        }
        assert!(o.ack(&id(1)));
        assert!(o.ack(&id(3)));
        assert!(!o.ack(&id(3)), "duplicate acks are noticed, and harmless");
        let left: Vec<&str> = o.pending().map(|t| &**t).collect();
        assert_eq!(left, ["frame 0", "frame 2", "frame 4"]);
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn new_work_is_refused_at_the_bound_but_settlements_are_not() {
        let mut o = Outbox::new(2);
        o.push_new(id(0), text(0)).unwrap();
        o.push_new(id(1), text(1)).unwrap();
        assert_eq!(o.push_new(id(2), text(2)), Err(OutboxFull));
        assert_eq!(o.push_settlement(id(3), text(3)), None);
        assert_eq!(o.push_settlement(id(4), text(4)), None);
        assert_eq!(o.len(), 4);
        assert_eq!(
            o.push_settlement(id(5), text(5)),
            Some(id(0)),
            "the oldest goes past twice the bound"
        );
        assert_eq!(o.len(), 4);
    }

    #[test]
    fn stale_order_entries_are_compacted() {
        let mut o = Outbox::new(1_000);
        for n in 0..500 {
            o.push_new(id(n), text(n)).unwrap();
        }
        for n in 0..499 {
            o.ack(&id(n));
        }
        assert!(o.order.len() <= 2 * o.len() + 64);
        assert_eq!(o.pending().count(), 1);
    }
}
