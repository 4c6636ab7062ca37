//! Answers of settled requests, remembered for redeliveries.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::FrameText;
use crate::protocol::MessageId;

/// The settling frame of each request answered in the last `window`, so a
/// redelivered request is answered from memory and its handler does not run
/// twice. Bounded in age, in count and in bytes; the oldest go first.
pub(crate) struct Dedup {
    answers: HashMap<MessageId, FrameText>,
    order: VecDeque<(Instant, MessageId)>,
    window: Duration,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
}

impl Dedup {
    pub(crate) fn new(window: Duration, capacity: usize, max_bytes: usize) -> Self {
        Self {
            answers: HashMap::new(),
            order: VecDeque::new(),
            window,
            capacity: capacity.max(1),
            max_bytes,
            bytes: 0,
        }
    }

    pub(crate) fn remember(&mut self, request: MessageId, answer: FrameText, now: Instant) {
        self.bytes += answer.len();
        match self.answers.insert(request.clone(), answer) {
            // remembered again: the entry keeps its first place in line
            Some(old) => self.bytes -= old.len(),
            None => self.order.push_back((now, request)),
        }
        self.evict(now);
    }

    pub(crate) fn answer(&mut self, request: &MessageId, now: Instant) -> Option<FrameText> {
        self.evict(now);
        self.answers.get(request).cloned()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.answers.len()
    }

    fn evict(&mut self, now: Instant) {
        while let Some((at, id)) = self.order.front() {
            let expired = now.saturating_duration_since(*at) > self.window;
            let over = self.answers.len() > self.capacity || self.bytes > self.max_bytes;
            if !expired && !over {
                break;
            }
            let id = id.clone();
            self.order.pop_front();
            if let Some(old) = self.answers.remove(&id) {
                self.bytes -= old.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> MessageId {
        MessageId::new(format!("r{n}")).unwrap()
    }

    #[test]
    fn answers_are_remembered_within_the_window() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 100, 1 << 20);
        d.remember(id(1), FrameText::from("reply 1"), t0);
        assert_eq!(
            d.answer(&id(1), t0 + Duration::from_secs(599)).as_deref(),
            Some("reply 1")
        );
        assert_eq!(d.answer(&id(1), t0 + Duration::from_secs(601)), None);
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn count_and_byte_bounds_drop_the_oldest() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 3, 1 << 20);
        for n in 0..5 {
            d.remember(id(n), FrameText::from("x"), t0);
        }
        assert_eq!(d.len(), 3);
        assert_eq!(d.answer(&id(1), t0), None);
        assert!(d.answer(&id(4), t0).is_some());

        let mut d = Dedup::new(Duration::from_secs(600), 100, 10);
        d.remember(id(0), FrameText::from("12345"), t0);
        d.remember(id(1), FrameText::from("12345"), t0);
        d.remember(id(2), FrameText::from("12345"), t0);
        assert_eq!(d.answer(&id(0), t0), None);
        assert!(d.answer(&id(2), t0).is_some());
        assert!(d.bytes <= 10);
    }
}
