//! Base64 helpers: strings, files and serde fields.
//!
//! The seed library's "Encoding Utils", done with bounded memory and typed
//! errors. Payloads carry bytes as base64 strings (standard alphabet,
//! padded), so this is what a handler reaches for when a route takes an image
//! or a PDF.
//!
//! ```
//! use ms_runtime::encoding;
//!
//! let text = encoding::encode(b"hello");
//! assert_eq!(text, "aGVsbG8=");
//! assert_eq!(encoding::decode(&text)?, b"hello");
//! assert_eq!(encoding::encode_url_safe(&[0xfb, 0xff]), "-_8=");
//!
//! let err = encoding::decode("aGV$bG8=").unwrap_err();
//! assert_eq!(err.to_string(), "invalid base64 byte 0x24 ('$') at offset 3");
//! # Ok::<(), encoding::EncodingError>(())
//! ```

pub mod base64;
mod stream;

use ::base64::Engine as _;
use ::base64::engine::general_purpose::{STANDARD, URL_SAFE};

pub use stream::{decode_file, decode_stream, encode_file, encode_stream};

/// Why base64 text could not be decoded, or a file could not be streamed.
///
/// ```
/// use ms_runtime::encoding::{self, EncodingError};
///
/// match encoding::decode("aGVs bG8=") {
///     // decode_stream would skip the space; decode takes none
///     Err(EncodingError::InvalidByte { offset, byte }) => assert_eq!((offset, byte), (4, b' ')),
///     other => panic!("expected InvalidByte, got {other:?}"),
/// }
/// assert!(matches!(encoding::decode("AAAAA"), Err(EncodingError::InvalidLength { length: 5 })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// A byte outside the alphabet, or padding in the wrong place.
    #[error("invalid base64 byte {byte:#04x} ({}) at offset {offset}", shown(*.byte))]
    InvalidByte {
        /// Offset of the byte in the input.
        offset: u64,
        /// The byte.
        byte: u8,
    },
    /// The input ends in the middle of a 4-character group.
    #[error(
        "base64 input of {length} significant characters is not a whole number of 4-character groups"
    )]
    InvalidLength {
        /// Number of base64 characters read (whitespace excluded).
        length: u64,
    },
    /// The last character has bits set that no encoder would set.
    #[error("invalid last base64 character {byte:#04x} ({}) at offset {offset}", shown(*.byte))]
    InvalidLastSymbol {
        /// Offset of the character in the input.
        offset: u64,
        /// The character.
        byte: u8,
    },
    /// Padding is missing or not allowed where it is.
    #[error("invalid base64 padding")]
    InvalidPadding,
    /// Reading or writing a file or stream failed.
    #[error("base64 stream i/o failed")]
    Io(
        #[from]
        #[source]
        std::io::Error,
    ),
}

fn shown(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", byte as char)
    } else {
        "not printable".to_owned()
    }
}

impl EncodingError {
    /// Maps the base64 crate's error, shifting offsets by `base` (the position
    /// of the decoded slice in the whole input).
    fn from_base64(e: ::base64::DecodeError, base: u64, positions: Option<&[u64]>) -> Self {
        let at = |i: usize| {
            positions
                .and_then(|p| p.get(i).copied())
                .unwrap_or(base + i as u64)
        };
        match e {
            ::base64::DecodeError::InvalidByte(i, byte) => Self::InvalidByte {
                offset: at(i),
                byte,
            },
            ::base64::DecodeError::InvalidLength(length) => Self::InvalidLength {
                length: length as u64,
            },
            ::base64::DecodeError::InvalidLastSymbol(i, byte) => Self::InvalidLastSymbol {
                offset: at(i),
                byte,
            },
            ::base64::DecodeError::InvalidPadding => Self::InvalidPadding,
        }
    }
}

/// Encodes bytes as standard, padded base64 (the protocol's form).
///
/// ```
/// use ms_runtime::encoding;
///
/// let png = b"\x89PNG";
/// assert_eq!(encoding::encode(png), "iVBORw==");
/// ```
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard, padded base64.
///
/// # Errors
/// [`EncodingError`] naming the offset of the first bad byte.
///
/// ```
/// use ms_runtime::encoding;
///
/// let bytes = encoding::decode("iVBORw==")?;
/// assert_eq!(bytes, b"\x89PNG");
/// # Ok::<(), encoding::EncodingError>(())
/// ```
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, EncodingError> {
    STANDARD
        .decode(text)
        .map_err(|e| EncodingError::from_base64(e, 0, None))
}

/// Encodes bytes as URL-safe, padded base64 (`-` and `_` instead of `+` and `/`).
///
/// ```
/// use ms_runtime::encoding;
///
/// let token = encoding::encode_url_safe([0xfb, 0xef, 0xff]);
/// assert_eq!(token, "--__"); // "++//" in the standard alphabet
/// ```
pub fn encode_url_safe(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE.encode(bytes)
}

/// Decodes URL-safe, padded base64.
///
/// # Errors
/// [`EncodingError`] naming the offset of the first bad byte.
///
/// ```
/// use ms_runtime::encoding;
///
/// assert_eq!(encoding::decode_url_safe("--__")?, [0xfb, 0xef, 0xff]);
/// assert!(encoding::decode("--__").is_err()); // not the standard alphabet
/// # Ok::<(), encoding::EncodingError>(())
/// ```
pub fn decode_url_safe(text: impl AsRef<[u8]>) -> Result<Vec<u8>, EncodingError> {
    URL_SAFE
        .decode(text)
        .map_err(|e| EncodingError::from_base64(e, 0, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_alphabets() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(encode(&bytes)).unwrap(), bytes);
        assert_eq!(decode_url_safe(encode_url_safe(&bytes)).unwrap(), bytes);
        assert!(
            encode_url_safe(&bytes)
                .bytes()
                .all(|b| b != b'+' && b != b'/')
        );
    }

    #[test]
    fn errors_name_the_offset() {
        match decode("AAAA AAA=") {
            Err(EncodingError::InvalidByte {
                offset: 4,
                byte: b' ',
            }) => {}
            other => panic!("{other:?}"),
        }
        match decode_url_safe("AA+A") {
            Err(EncodingError::InvalidByte {
                offset: 2,
                byte: b'+',
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode("AAAAA"),
            Err(EncodingError::InvalidLength { length: 5 })
        ));
        assert!(matches!(
            decode("AB=="),
            Err(EncodingError::InvalidLastSymbol {
                offset: 1,
                byte: b'B'
            })
        ));
        assert!(matches!(decode("AA"), Err(EncodingError::InvalidPadding)));
    }
}
