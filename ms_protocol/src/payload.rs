use std::fmt;

use bytestring::ByteString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON value kept as its text.
///
/// Payloads are stored unparsed: the gateway forwards them without building a
/// tree, and a handler parses them once, straight into its own type. Two
/// `Json`s are equal when their texts are.
///
/// The text is a shared buffer: a payload decoded from a frame is a view
/// into that frame (no copy), and cloning a `Json` does not copy the text.
///
/// ```
/// use ms_protocol::Json;
///
/// let json = Json::from_value(&serde_json::json!({"page": 3}))?;
/// assert_eq!(json.as_str(), r#"{"page":3}"#);
/// let page: serde_json::Value = json.parse()?;
/// assert_eq!(page["page"], 3);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct Json(ByteString);

impl Json {
    /// Serialises any value.
    ///
    /// # Errors
    /// When serde cannot serialise it (for example a map with non-string keys).
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(|text| Self(ByteString::from(text)))
    }

    /// Checks that `text` is one JSON value and keeps it as it is.
    ///
    /// # Errors
    /// When `text` is not valid JSON.
    pub fn from_text(text: impl Into<String>) -> Result<Self, serde_json::Error> {
        let text = text.into();
        serde_json::from_str::<&RawValue>(&text)?;
        Ok(Self(ByteString::from(text)))
    }

    /// The JSON `null`.
    pub fn null() -> Self {
        Self(ByteString::from_static("null"))
    }

    /// Deserialises into any type.
    ///
    /// # Errors
    /// When the JSON does not fit `T`; serde's message says where.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Length of the JSON text in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty text, which a valid `Json` never has.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` (a value's JSON text, which points into `frame`) as a view
    /// of the frame's buffer; a copy when it does not point into it.
    pub(crate) fn shared(frame: Option<&ByteString>, text: &str) -> Self {
        match frame {
            Some(frame) if contains(frame, text) => Self(frame.slice_ref(text)),
            _ => Self(ByteString::from(text)),
        }
    }
}

/// Whether `part` lies inside `whole`'s buffer.
fn contains(whole: &str, part: &str) -> bool {
    let (start, end) = (
        whole.as_ptr() as usize,
        whole.as_ptr() as usize + whole.len(),
    );
    let (p_start, p_end) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
    start <= p_start && p_end <= end
}

impl From<Box<RawValue>> for Json {
    /// Wraps JSON already checked by serde_json, without checking it again.
    fn from(raw: Box<RawValue>) -> Self {
        Self(ByteString::from(String::from(Box::<str>::from(raw))))
    }
}

impl Serialize for Json {
    /// Writes the text as it is (with serde_json; other formats get the
    /// value re-read from the text).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue =
            serde_json::from_str(&self.0).map_err(<S::Error as serde::ser::Error>::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self::from)
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Json {}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 256;
        let text = self.as_str();
        if text.len() <= SHOWN {
            f.write_str(text)
        } else {
            let cut = (0..=SHOWN)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            write!(f, "{}... ({} bytes)", &text[..cut], text.len())
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of a `request`, `reply` or `event`: inline JSON, or a claim check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `payload`: the JSON itself.
    Inline(Json),
    /// `payload_ref`: an object in the shared S3 store holding the JSON.
    Ref(PayloadRef),
}

impl Payload {
    /// An inline payload serialised from any value.
    ///
    /// # Errors
    /// When serde cannot serialise the value.
    pub fn inline<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Json::from_value(value).map(Self::Inline)
    }

    /// The inline JSON, if this is not a claim check.
    pub fn as_inline(&self) -> Option<&Json> {
        match self {
            Self::Inline(json) => Some(json),
            Self::Ref(_) => None,
        }
    }
}

impl From<Json> for Payload {
    fn from(json: Json) -> Self {
        Self::Inline(json)
    }
}

/// A claim check: where a large payload waits in the S3 store, and how to
/// verify it once fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadRef {
    /// Bucket holding the object.
    pub bucket: String,
    /// Key of the object.
    pub key: String,
    /// Size of the object in bytes; checked after download.
    pub size: u64,
    /// SHA-256 of the object, 64 lowercase hex digits; checked after download.
    pub sha256: String,
    /// Media type of the object, usually `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

impl PayloadRef {
    /// Checks the fields a receiver relies on: non-empty bucket and key, and
    /// a SHA-256 of 64 hex digits (normalised to lowercase).
    pub(crate) fn normalise(mut self) -> Result<Self, &'static str> {
        if self.bucket.is_empty() {
            return Err("payload_ref.bucket is empty");
        }
        if self.key.is_empty() {
            return Err("payload_ref.key is empty");
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("payload_ref.sha256 must be 64 hex digits");
        }
        self.sha256.make_ascii_lowercase();
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_null() {
        assert_eq!(Json::null().as_str(), "null");
    }

    #[test]
    fn debug_cuts_long_payloads_on_a_char_boundary() {
        let long = Json::from_value(&"€".repeat(500)).unwrap();
        let shown = format!("{long:?}");
        assert!(shown.ends_with("(1502 bytes)"), "{shown}");
        assert!(shown.len() < 300);
    }

    #[test]
    fn sha256_is_checked_and_lowercased() {
        let r = PayloadRef {
            bucket: "b".into(),
            key: "k".into(),
            size: 1,
            sha256: "AB".repeat(32),
            content_type: None,
        };
        assert_eq!(r.clone().normalise().unwrap().sha256, "ab".repeat(32));
        let short = PayloadRef {
            sha256: "ab".into(),
            ..r
        };
        assert!(short.normalise().is_err());
    }
}
