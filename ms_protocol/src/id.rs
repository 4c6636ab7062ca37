use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MAX_ID_BYTES;

/// A message `id`: a string of 1 to 128 bytes, unique per sender.
///
/// The protocol uses it for acks, for `correlation_id` and for the runtime's
/// dedup window, so an id that breaks the length rule is refused at the door
/// rather than carried around.
///
/// ```
/// use ms_protocol::MessageId;
///
/// let id = MessageId::new("req-1")?;
/// assert_eq!(id.as_str(), "req-1");
/// assert!(MessageId::new("").is_err());
/// assert_eq!(MessageId::random().as_str().len(), 32);
/// # Ok::<(), ms_protocol::InvalidId>(())
/// ```
///
/// Cloning one is cheap (the text is shared, not copied): the runtime keeps
/// an id in several places per message.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(Arc<str>);

/// Why a string cannot be a [`MessageId`].
///
/// ```
/// use ms_protocol::{InvalidId, MessageId, MAX_ID_BYTES};
///
/// assert_eq!(MessageId::new(""), Err(InvalidId::Empty));
/// let long = "x".repeat(MAX_ID_BYTES + 1);
/// assert_eq!(MessageId::try_from(long.as_str()), Err(InvalidId::TooLong(MAX_ID_BYTES + 1)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidId {
    /// The id is the empty string.
    #[error("id is empty; it must hold 1 to {MAX_ID_BYTES} bytes")]
    Empty,
    /// The id is longer than [`MAX_ID_BYTES`].
    #[error("id is {0} bytes long; at most {MAX_ID_BYTES} are allowed")]
    TooLong(usize),
}

impl MessageId {
    /// Checks the length rule and wraps the string.
    ///
    /// # Errors
    /// [`InvalidId`] when the string is empty or longer than 128 bytes.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidId> {
        Self::checked(&id.into())
    }

    /// [`MessageId::new`] from borrowed text: one copy, into the shared text.
    pub(crate) fn checked(id: &str) -> Result<Self, InvalidId> {
        match id.len() {
            0 => Err(InvalidId::Empty),
            n if n > MAX_ID_BYTES => Err(InvalidId::TooLong(n)),
            _ => Ok(Self(Arc::from(id))),
        }
    }

    /// A fresh id: 32 hex digits holding 128 random bits.
    ///
    /// The bits come from a ChaCha12 generator per thread, seeded from the
    /// operating system on first use and reseeded every 64 KiB of output
    /// (`rand::rng()`): unpredictable like a UUID v4 (docs/protocol.md section 2
    /// asks for at least 96 such bits), without a system call per id (the
    /// runtime makes one for every reply it sends). Nobody can guess the
    /// next id from ids already seen.
    ///
    /// # Panics
    /// Only if the operating system's random source cannot be read at all
    /// when a thread first needs one, as `rand::rng()` does.
    pub fn random() -> Self {
        let bits: u128 = rand::random();
        let mut text = [0u8; 32];
        crate::trace_context::hex_into(&bits.to_be_bytes(), &mut text);
        Self(Arc::from(crate::trace_context::as_ascii(&text)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    ///
    /// ```
    /// use ms_protocol::MessageId;
    ///
    /// let id = MessageId::new("req-1")?;
    /// let key: String = id.into_string();
    /// assert_eq!(key, "req-1");
    /// # Ok::<(), ms_protocol::InvalidId>(())
    /// ```
    pub fn into_string(self) -> String {
        self.0.to_string()
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for MessageId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MessageId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<&str> for MessageId {
    type Error = InvalidId;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(IdVisitor)
    }
}

/// Reads an id from borrowed or owned text without an intermediate `String`.
struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = MessageId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message id (1 to 128 bytes of text)")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<MessageId, E> {
        MessageId::checked(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rule_counts_bytes_not_chars() {
        assert!(MessageId::new("a".repeat(128)).is_ok());
        assert_eq!(
            MessageId::new("a".repeat(129)),
            Err(InvalidId::TooLong(129))
        );
        // 43 three-byte characters = 129 bytes
        assert_eq!(MessageId::new("€".repeat(43)), Err(InvalidId::TooLong(129)));
        assert_eq!(MessageId::new(""), Err(InvalidId::Empty));
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(MessageId::random(), MessageId::random());
    }

    fn bits(id: &MessageId) -> u128 {
        assert_eq!(id.as_str().len(), 32, "{id}");
        u128::from_str_radix(id.as_str(), 16).unwrap()
    }

    /// A counter (the old form) differs from its successor in a few low
    /// bits; 128 random bits differ in about 64, and never in fewer than 24
    /// by chance (odds below 2^-40 per pair).
    #[test]
    fn consecutive_ids_are_not_predictable() {
        let ids: Vec<u128> = (0..256).map(|_| bits(&MessageId::random())).collect();
        let mut total = 0;
        for pair in ids.windows(2) {
            let differing = (pair[0] ^ pair[1]).count_ones();
            assert!(differing >= 24, "{:032x} then {:032x}", pair[0], pair[1]);
            total += differing;
        }
        let mean = f64::from(total) / 255.0;
        assert!((56.0..=72.0).contains(&mean), "mean differing bits {mean}");
        // no half is shared: neither a fixed prefix nor a fixed suffix
        assert!(ids.windows(2).all(|p| (p[0] >> 64) != (p[1] >> 64)));
        assert!(ids.windows(2).all(|p| (p[0] as u64) != (p[1] as u64)));
        // ids from another thread are from another generator, just as fresh
        let other = std::thread::spawn(|| bits(&MessageId::random()))
            .join()
            .unwrap();
        assert!(ids.iter().all(|id| (id ^ other).count_ones() >= 24));
    }
}
