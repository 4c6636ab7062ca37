//! Answers of settled requests, remembered for redeliveries.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use super::FrameText;
use crate::protocol::MessageId;

/// Who sent a request and its id: the key of everything the runtime keeps
/// per request (docs/protocol.md section 4). The same id from another `from` is
/// another request, so one account cannot read another's answers by
/// reusing its ids.
///
/// The key is hashed once, when it is made, with a hasher seeded at random
/// per process (peers choose ids, so they must not be able to choose
/// collisions); the maps keyed by it ([`KeyMap`], [`KeySet`]) use that hash
/// as is instead of hashing the two strings at every lookup.
#[derive(Debug, Clone)]
pub(crate) struct RequestKey {
    /// The request's `from`, as the gateway set it ("service/instance" or "http").
    pub(crate) from: Option<Arc<str>>,
    /// The request's `id`.
    pub(crate) id: MessageId,
    hash: u64,
}

/// The hasher of every [`RequestKey`].
static KEY_HASHER: LazyLock<foldhash::quality::RandomState> = LazyLock::new(Default::default);

impl RequestKey {
    /// An event's key: no sender.
    pub(crate) fn event(id: MessageId) -> Self {
        Self::new(None, id)
    }

    pub(crate) fn new(from: Option<&str>, id: MessageId) -> Self {
        let hash = KEY_HASHER.hash_one((from, id.as_str()));
        Self {
            from: from.map(Arc::from),
            id,
            hash,
        }
    }
}

impl PartialEq for RequestKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.id == other.id && self.from == other.from
    }
}

impl Eq for RequestKey {}

impl Hash for RequestKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A map keyed by [`RequestKey`], using the key's stored hash.
pub(crate) type KeyMap<V> = HashMap<RequestKey, V, BuildHasherDefault<StoredHash>>;

/// A set of [`RequestKey`]s, using each key's stored hash.
pub(crate) type KeySet = HashSet<RequestKey, BuildHasherDefault<StoredHash>>;

/// Passes a [`RequestKey`]'s stored hash through.
#[derive(Default)]
pub(crate) struct StoredHash(u64);

impl Hasher for StoredHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn write(&mut self, bytes: &[u8]) {
        // only `write_u64` is used by the keys; anything else still mixes in
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }
}

/// What the memory holds for a request settled within the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Remembered {
    /// Its settling frame: send it again.
    Answer(FrameText),
    /// Settled, but the frame went to keep within the byte bound: the
    /// handler must not run again, so the redelivery gets an `error`.
    Evicted,
}

/// One remembered request: when it was settled, and its frame until the
/// byte bound evicts it (`seq` tells its place in the byte queue).
struct Entry {
    seq: u64,
    answer: Option<FrameText>,
}

/// The settling frame of each request answered in the last `window`, so a
/// redelivered request is answered from memory and its handler does not run
/// twice.
///
/// Bounds: keys live for `window` and at most `capacity` of them are kept
/// (past it the oldest key goes, and a redelivery of it would run again);
/// settling frames take at most `max_bytes` (past it the oldest frames go
/// first, their keys stay for the window and answer [`Remembered::Evicted`]).
pub(crate) struct Dedup {
    /// Each key is stored once and shared by the two queues.
    entries: HashMap<Rc<RequestKey>, Entry, BuildHasherDefault<StoredHash>>,
    /// Every key, oldest first, with its settling time: window and count.
    order: VecDeque<(Instant, Rc<RequestKey>)>,
    /// Keys whose frame is held, oldest first: the byte bound.
    frames: VecDeque<(u64, Rc<RequestKey>)>,
    next_seq: u64,
    window: Duration,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
}

impl Dedup {
    pub(crate) fn new(window: Duration, capacity: usize, max_bytes: usize) -> Self {
        Self {
            entries: HashMap::default(),
            order: VecDeque::new(),
            frames: VecDeque::new(),
            next_seq: 0,
            window,
            capacity: capacity.max(1),
            max_bytes,
            bytes: 0,
        }
    }

    pub(crate) fn remember(&mut self, key: RequestKey, answer: FrameText, now: Instant) {
        let key = Rc::new(key);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += answer.len();
        let entry = Entry {
            seq,
            answer: Some(answer),
        };
        match self.entries.insert(key.clone(), entry) {
            // remembered again: the key keeps its first place in line
            Some(old) => self.bytes -= old.answer.map_or(0, |a| a.len()),
            None => self.order.push_back((now, key.clone())),
        }
        self.frames.push_back((seq, key));
        self.evict(now);
    }

    pub(crate) fn answer(&mut self, key: &RequestKey, now: Instant) -> Option<Remembered> {
        self.evict(now);
        self.entries.get(key).map(|e| match &e.answer {
            Some(answer) => Remembered::Answer(answer.clone()),
            None => Remembered::Evicted,
        })
    }

    /// Requests remembered.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn evict(&mut self, now: Instant) {
        while let Some((at, key)) = self.order.front() {
            let expired = now.saturating_duration_since(*at) > self.window;
            if !expired && self.entries.len() <= self.capacity {
                break;
            }
            if let Some(old) = self.entries.remove(key) {
                self.bytes -= old.answer.map_or(0, |a| a.len());
            }
            self.order.pop_front();
        }
        while self.bytes > self.max_bytes {
            let Some((seq, key)) = self.frames.pop_front() else {
                break;
            };
            // a stale place in line (key gone or remembered again) holds nothing
            if let Some(entry) = self.entries.get_mut(&key).filter(|e| e.seq == seq)
                && let Some(old) = entry.answer.take()
            {
                self.bytes -= old.len();
            }
        }
        // stale places in line (key gone or remembered again) must not pile
        // up while the byte bound is not hit: dropped when they dominate
        if self.entries.is_empty() {
            self.frames.clear();
        } else if self.frames.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.frames
                .retain(|(seq, key)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(from: &str, n: u32) -> RequestKey {
        RequestKey::new(Some(from), MessageId::new(format!("r{n}")).unwrap())
    }

    fn answer(d: &mut Dedup, key: &RequestKey, now: Instant) -> Option<String> {
        match d.answer(key, now) {
            Some(Remembered::Answer(text)) => Some(text.to_string()),
            Some(Remembered::Evicted) => Some("<evicted>".into()),
            None => None,
        }
    }

    #[test]
    fn answers_are_remembered_within_the_window() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 100, 1 << 20);
        d.remember(key("a/1", 1), FrameText::from("reply 1"), t0);
        let later = t0 + Duration::from_secs(599);
        assert_eq!(
            answer(&mut d, &key("a/1", 1), later).as_deref(),
            Some("reply 1")
        );
        assert_eq!(
            answer(&mut d, &key("a/1", 1), t0 + Duration::from_secs(601)),
            None
        );
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn the_same_id_from_another_sender_is_another_request() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 100, 1 << 20);
        d.remember(key("a/1", 7), FrameText::from("a's card number"), t0);
        assert_eq!(answer(&mut d, &key("b/1", 7), t0), None);
        assert_eq!(
            answer(&mut d, &RequestKey::new(None, key("a/1", 7).id), t0),
            None
        );
        d.remember(key("b/1", 7), FrameText::from("b's answer"), t0);
        assert_eq!(
            answer(&mut d, &key("a/1", 7), t0).as_deref(),
            Some("a's card number")
        );
        assert_eq!(
            answer(&mut d, &key("b/1", 7), t0).as_deref(),
            Some("b's answer")
        );
    }

    #[test]
    fn the_count_bound_drops_the_oldest_keys() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 3, 1 << 20);
        for n in 0..5 {
            d.remember(key("a/1", n), FrameText::from("x"), t0);
        }
        assert_eq!(d.len(), 3);
        assert_eq!(answer(&mut d, &key("a/1", 1), t0), None);
        assert!(answer(&mut d, &key("a/1", 4), t0).is_some());
    }

    #[test]
    fn the_byte_bound_drops_frames_but_keeps_keys_for_the_window() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 100, 10);
        for n in 0..3 {
            d.remember(key("a/1", n), FrameText::from("12345"), t0);
        }
        assert!(d.bytes <= 10);
        assert_eq!(
            answer(&mut d, &key("a/1", 0), t0).as_deref(),
            Some("<evicted>")
        );
        assert_eq!(answer(&mut d, &key("a/1", 2), t0).as_deref(), Some("12345"));
        // a frame bigger than the bound is never held, its key still is
        d.remember(key("a/1", 9), FrameText::from("x".repeat(11)), t0);
        assert_eq!(
            answer(&mut d, &key("a/1", 9), t0).as_deref(),
            Some("<evicted>")
        );
        assert_eq!(d.len(), 4);
        // the window ends the keys whose frames went
        let after = t0 + Duration::from_secs(601);
        assert_eq!(answer(&mut d, &key("a/1", 0), after), None);
        assert_eq!((d.len(), d.bytes), (0, 0));
        assert!(d.frames.is_empty());
    }

    #[test]
    fn stale_places_in_line_do_not_pile_up() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 100, 1 << 20);
        for _ in 0..1_000 {
            d.remember(key("a/1", 1), FrameText::from("again"), t0);
        }
        assert_eq!(d.len(), 1);
        assert!(d.frames.len() <= 2 + 64, "{} places kept", d.frames.len());
        assert_eq!(answer(&mut d, &key("a/1", 1), t0).as_deref(), Some("again"));
    }

    #[test]
    fn keys_equal_by_sender_and_id_hash_alike() {
        let build = BuildHasherDefault::<StoredHash>::default();
        assert_eq!(key("a/1", 1), key("a/1", 1));
        assert_eq!(build.hash_one(key("a/1", 1)), build.hash_one(key("a/1", 1)));
        assert_ne!(key("a/1", 1), key("a/2", 1));
        assert_ne!(key("a/1", 1), RequestKey::new(None, key("a/1", 1).id));
    }

    #[test]
    fn remembering_again_replaces_the_frame_and_keeps_the_bytes_right() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(600), 100, 10);
        d.remember(key("a/1", 1), FrameText::from("12345"), t0);
        d.remember(key("a/1", 1), FrameText::from("123"), t0);
        assert_eq!(d.bytes, 3);
        // the first frame's stale place in line does not evict the second
        d.remember(key("a/1", 2), FrameText::from("1234567"), t0);
        assert_eq!(answer(&mut d, &key("a/1", 1), t0).as_deref(), Some("123"));
        d.remember(key("a/1", 3), FrameText::from("1"), t0);
        assert_eq!(
            answer(&mut d, &key("a/1", 1), t0).as_deref(),
            Some("<evicted>")
        );
        assert_eq!(d.bytes, 8);
    }
}
