use std::fmt;

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
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

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
        let id = id.into();
        match id.len() {
            0 => Err(InvalidId::Empty),
            n if n > MAX_ID_BYTES => Err(InvalidId::TooLong(n)),
            _ => Ok(Self(id)),
        }
    }

    /// A fresh unique id: 32 hex digits, a random 64-bit prefix drawn once
    /// per process followed by a 64-bit counter. Unique across processes
    /// like a UUID v4, without a system call per id (the runtime makes one
    /// for every reply it sends).
    pub fn random() -> Self {
        use std::sync::OnceLock;
        use std::sync::atomic::{AtomicU64, Ordering};
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self(format!("{prefix:016x}{n:016x}"))
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
        self.0
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
        let text = String::deserialize(deserializer)?;
        Self::new(text).map_err(serde::de::Error::custom)
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
}
