//! A serde adapter that writes bytes as a standard base64 string.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Page {
//!     #[serde(with = "ms_runtime::encoding::base64")]
//!     image: Vec<u8>,
//!     #[serde(with = "ms_runtime::encoding::base64")]
//!     thumbnail: bytes::Bytes,
//! }
//!
//! let page = Page { image: vec![1, 2, 3], thumbnail: bytes::Bytes::from_static(b"hi") };
//! let json = serde_json::to_string(&page)?;
//! assert_eq!(json, r#"{"image":"AQID","thumbnail":"aGk="}"#);
//! assert_eq!(serde_json::from_str::<Page>(&json)?, page);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Deserializer, Serializer};

/// Writes the bytes as one base64 string.
///
/// # Errors
/// Whatever the serializer reports.
///
/// ```
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// struct Thumbnail {
///     #[serde(serialize_with = "ms_runtime::encoding::base64::serialize")]
///     png: Vec<u8>,
/// }
///
/// let json = serde_json::to_string(&Thumbnail { png: b"\x89PNG".to_vec() })?;
/// assert_eq!(json, r#"{"png":"iVBORw=="}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn serialize<S: Serializer, T: AsRef<[u8]>>(
    bytes: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&super::encode(bytes))
}

/// Reads one base64 string into bytes; a bad string is a serde error naming
/// the offset.
///
/// # Errors
/// When the value is not a string or not valid base64.
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Upload {
///     #[serde(deserialize_with = "ms_runtime::encoding::base64::deserialize")]
///     data: Vec<u8>,
/// }
///
/// let upload: Upload = serde_json::from_str(r#"{"data":"aGVsbG8="}"#)?;
/// assert_eq!(upload.data, b"hello");
/// let bad = serde_json::from_str::<Upload>(r#"{"data":"aGV$bG8="}"#);
/// assert!(bad.is_err_and(|e| e.to_string().contains("at offset 3")));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn deserialize<'de, D: Deserializer<'de>, T: From<Vec<u8>>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    super::decode(text.as_bytes())
        .map(T::from)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    struct Blob {
        #[serde(with = "super")]
        #[allow(dead_code)] // only the error is inspected
        data: Vec<u8>,
    }

    #[test]
    fn bad_base64_is_a_serde_error_with_offset() {
        let e = serde_json::from_str::<Blob>(r#"{"data":"AA!A"}"#).unwrap_err();
        assert!(e.to_string().contains("at offset 2"), "{e}");
    }
}
