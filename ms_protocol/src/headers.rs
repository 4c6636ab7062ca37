use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The optional `headers` of an envelope: string keys to string values.
///
/// The protocol defines six keys, offered here as typed accessors; any other
/// key travels untouched. `deadline_ms` and `attempt` must be decimal numbers,
/// which [`Headers::validate`] (and so the decoder) checks.
///
/// ```
/// use ms_protocol::Headers;
///
/// let mut headers = Headers::new();
/// headers.set_trace_id("t-42");
/// headers.set_attempt(2);
/// assert_eq!(headers.trace_id(), Some("t-42"));
/// assert_eq!(headers.attempt(), 2);
/// assert_eq!(headers.deadline_ms(), None);
/// ```
///
/// Cloning is cheap: the map is shared until one of the copies changes it,
/// and an empty one holds nothing.
#[derive(Clone, Default)]
pub struct Headers(Option<Arc<BTreeMap<Key, String>>>);

/// A header's name: the defined ones are not copied.
type Key = Cow<'static, str>;

/// The map when there is none.
static EMPTY: BTreeMap<Key, String> = BTreeMap::new();

impl Headers {
    fn map(&self) -> &BTreeMap<Key, String> {
        self.0.as_deref().unwrap_or(&EMPTY)
    }

    /// Sets a defined header (its name is not copied).
    pub(crate) fn set(&mut self, key: &'static str, value: String) {
        self.map_mut().insert(Cow::Borrowed(key), value);
    }

    fn map_mut(&mut self) -> &mut BTreeMap<Key, String> {
        Arc::make_mut(self.0.get_or_insert_with(Arc::default))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.map(), f)
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.map() == other.map()
    }
}

impl Eq for Headers {}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::deserialize(deserializer)?;
        Ok(Self((!map.is_empty()).then(|| Arc::new(map))))
    }
}

/// A defined header whose value breaks its rule.
///
/// ```
/// use ms_protocol::Headers;
///
/// let headers: Headers = [("deadline_ms", "soon")].into_iter().collect();
/// let Err(err) = headers.validate() else { unreachable!() };
/// assert_eq!(err.key, Headers::DEADLINE_MS);
/// assert_eq!(err.value, "soon");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header `{key}` must be {expected}, found {value:?}")]
pub struct HeaderError {
    /// The header's key.
    pub key: &'static str,
    /// The form the protocol requires.
    pub expected: &'static str,
    /// The value that was found.
    pub value: String,
}

impl Headers {
    /// Key of the trace id, propagated to every message a message causes.
    pub const TRACE_ID: &'static str = "trace_id";
    /// Key of the absolute deadline, Unix time in milliseconds.
    pub const DEADLINE_MS: &'static str = "deadline_ms";
    /// Key of the delivery attempt, "1" for the first delivery.
    pub const ATTEMPT: &'static str = "attempt";
    /// Key of the payload's media type.
    pub const CONTENT_TYPE: &'static str = "content_type";
    /// Key of the W3C `traceparent` (see [`TraceParent`](crate::TraceParent)).
    pub const TRACEPARENT: &'static str = "traceparent";
    /// Key of the W3C `tracestate`, propagated beside `traceparent`.
    pub const TRACESTATE: &'static str = "tracestate";

    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when there are no headers (the field is then left out on the wire).
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// The value of any header.
    ///
    /// ```
    /// use ms_protocol::Headers;
    ///
    /// let headers: Headers = [("content_type", "application/pdf"), ("x-tenant", "acme")]
    ///     .into_iter()
    ///     .collect();
    /// assert_eq!(headers.get(Headers::CONTENT_TYPE), Some("application/pdf"));
    /// assert_eq!(headers.get("x-tenant"), Some("acme"));
    /// assert_eq!(headers.get("x-region"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map().get(key).map(String::as_str)
    }

    /// Sets any header, returning the value it replaces.
    ///
    /// ```
    /// use ms_protocol::Headers;
    ///
    /// let mut headers = Headers::new();
    /// assert_eq!(headers.insert("x-tenant", "acme"), None);
    /// assert_eq!(headers.insert("x-tenant", "globex").as_deref(), Some("acme"));
    /// assert_eq!(headers.remove("x-tenant").as_deref(), Some("globex"));
    /// assert!(headers.is_empty());
    /// ```
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.map_mut().insert(Cow::Owned(key.into()), value.into())
    }

    /// Removes a header, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        if !self.map().contains_key(key) {
            return None;
        }
        self.map_mut().remove(key)
    }

    /// All headers, ordered by key.
    ///
    /// ```
    /// use ms_protocol::Headers;
    ///
    /// let mut headers = Headers::new();
    /// headers.set_trace_id("t-1");
    /// headers.set_attempt(2);
    /// let pairs: Vec<_> = headers.iter().collect();
    /// assert_eq!(pairs, [("attempt", "2"), ("trace_id", "t-1")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map().iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// The `trace_id` header.
    pub fn trace_id(&self) -> Option<&str> {
        self.get(Self::TRACE_ID)
    }

    /// Sets the `trace_id` header.
    pub fn set_trace_id(&mut self, trace_id: impl Into<String>) {
        self.set(Self::TRACE_ID, trace_id.into());
    }

    /// The `deadline_ms` header; `None` when absent or not a number
    /// (the decoder refuses frames where it is not a number).
    pub fn deadline_ms(&self) -> Option<u64> {
        self.get(Self::DEADLINE_MS).and_then(parse_decimal)
    }

    /// Sets the `deadline_ms` header.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use ms_protocol::Headers;
    ///
    /// let in_30s = SystemTime::now() + Duration::from_secs(30);
    /// let mut headers = Headers::new();
    /// headers.set_deadline_ms(in_30s.duration_since(UNIX_EPOCH)?.as_millis() as u64);
    /// assert!(headers.deadline_ms().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_deadline_ms(&mut self, deadline_ms: u64) {
        self.set(Self::DEADLINE_MS, deadline_ms.to_string());
    }

    /// The `attempt` header; 1 when absent, as the protocol counts deliveries from 1.
    pub fn attempt(&self) -> u32 {
        self.get(Self::ATTEMPT)
            .and_then(parse_decimal)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1)
    }

    /// Sets the `attempt` header.
    pub fn set_attempt(&mut self, attempt: u32) {
        self.set(Self::ATTEMPT, attempt.to_string());
    }

    /// The `content_type` header.
    ///
    /// ```
    /// use ms_protocol::Headers;
    ///
    /// let mut headers = Headers::new();
    /// headers.insert(Headers::CONTENT_TYPE, "application/pdf");
    /// assert_eq!(headers.content_type(), Some("application/pdf"));
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.get(Self::CONTENT_TYPE)
    }

    /// Checks the defined headers: `deadline_ms` a decimal number, `attempt`
    /// a decimal number of at least 1.
    ///
    /// # Errors
    /// The first header that breaks its rule.
    ///
    /// ```
    /// use ms_protocol::Headers;
    ///
    /// let good: Headers = [("attempt", "2"), ("deadline_ms", "1700000000000")].into_iter().collect();
    /// assert_eq!(good.validate(), Ok(()));
    ///
    /// let bad: Headers = [("attempt", "0")].into_iter().collect();
    /// assert!(bad.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), HeaderError> {
        if let Some(value) = self.get(Self::DEADLINE_MS)
            && parse_decimal(value).is_none()
        {
            return Err(HeaderError {
                key: Self::DEADLINE_MS,
                expected: "a decimal number of milliseconds since the Unix epoch",
                value: value.to_owned(),
            });
        }
        if let Some(value) = self.get(Self::ATTEMPT)
            && !parse_decimal(value).is_some_and(|n| (1..=u64::from(u32::MAX)).contains(&n))
        {
            return Err(HeaderError {
                key: Self::ATTEMPT,
                expected: "a decimal number from 1",
                value: value.to_owned(),
            });
        }
        Ok(())
    }
}

/// Plain ASCII digits only: no sign, no spaces, no exponent.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let map: BTreeMap<Key, String> = iter
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k.into()), v.into()))
            .collect();
        Self((!map.is_empty()).then(|| Arc::new(map)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_defaults_to_one() {
        assert_eq!(Headers::new().attempt(), 1);
    }

    #[test]
    fn validate_refuses_signed_or_spaced_numbers() {
        for bad in ["-1", "+1", " 1", "1e3", "", "abc"] {
            let h: Headers = [("deadline_ms", bad)].into_iter().collect();
            assert_eq!(h.validate().unwrap_err().key, "deadline_ms", "{bad:?}");
        }
        let h: Headers = [("attempt", "0")].into_iter().collect();
        assert_eq!(h.validate().unwrap_err().key, "attempt");
        let h: Headers = [("attempt", "3"), ("deadline_ms", "1700000000000")]
            .into_iter()
            .collect();
        assert_eq!(h.validate(), Ok(()));
    }

    #[test]
    fn unknown_headers_are_kept() {
        let h: Headers = [("x-tenant", "acme")].into_iter().collect();
        assert_eq!(h.get("x-tenant"), Some("acme"));
        assert_eq!(h.validate(), Ok(()));
    }
}
